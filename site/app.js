// The page: model selection and loading, the cache panel, and the two input
// modes (images.js, webcam.js). All classification goes through resnet.js.
import { ResNet, defaultWorkers } from './resnet.js';
import { formatBytes, formatMs, formatPercent } from './format.js';
import { setupImages } from './images.js';
import { setupWebcam } from './webcam.js';
import { toast } from './notify.js';

const $ = (id) => document.getElementById(id);

// Models with this name prefix are the bundled Fashion-MNIST ones; the page
// explains what they can and cannot recognise.
const FASHION_PREFIX = 'fashion-';

// The classifier in use, and the one being loaded while a load runs.
let markStarted;
const session = {
  clf: null,
  loading: null,
  // Settles once the first load has begun, so that files dropped while the
  // page starts wait for the model instead of failing.
  started: new Promise((resolve) => { markStarted = resolve; }),
  /** The loaded classifier, or null while none is ready. */
  current() { return this.clf; },
  /** Resolves to the classifier, waiting for a load in progress. */
  async classifier() {
    await this.started;
    const clf = this.loading ? await this.loading : this.clf;
    if (!clf) throw new Error('No model is loaded. Choose a model above.');
    return clf;
  },
};

const PHASE_TEXT = {
  engine: 'Starting the classifier…',
  cache: 'Looking for the weights in this browser’s cache…',
  verify: 'Checking the weights…',
  build: 'Preparing the network…',
  workers: 'Starting the workers…',
};

function showProgress(event) {
  if (event.backend) showBackend(event.backend);
  const bar = $('load-progress');
  if (event.phase === 'download') {
    const pct = Math.floor((event.loaded / event.total) * 100);
    bar.hidden = false;
    bar.setAttribute('aria-valuenow', String(pct));
    bar.firstElementChild.style.width = `${pct}%`;
    $('load-text').textContent = `Downloading the weights: ${formatBytes(event.loaded)} of ${formatBytes(event.total)} (${pct}%)`;
    return;
  }
  if (event.phase !== 'verify') bar.hidden = true;
  $('load-text').textContent = PHASE_TEXT[event.phase] ?? '';
}

function showBackend(name) {
  $('backend').textContent = name;
  $('backend').classList.remove('pending');
}

// Counts loads; a load whose number is no longer the latest was superseded
// by another model choice and must not touch the page.
let latestLoad = 0;

const noticeItem = (text) => Object.assign(document.createElement('li'), { textContent: text });

// ?backend=webgpu|wasm|auto picks the engine (tests and curious users);
// auto runs WebGPU on a hardware GPU and WebAssembly otherwise.
const BACKEND = new URLSearchParams(location.search).get('backend') ?? 'auto';

// How many Web Workers share each image on the CPU: ?workers=N, else one
// per core. The page offers 1 up to the number of cores (at least 2).
const MAX_WORKERS = Math.max(2, defaultWorkers());
const initialWorkers = () => {
  const asked = Number(new URLSearchParams(location.search).get('workers'));
  return Number.isInteger(asked) && asked >= 1 && asked <= MAX_WORKERS ? asked : defaultWorkers();
};

async function loadModel(name) {
  session.clf?.dispose();
  session.clf = null;
  const started = performance.now();
  const number = ++latestLoad;
  const current = () => number === latestLoad;
  $('load-retry').hidden = true;
  $('load-status').classList.remove('failed');
  $('load-text').textContent = `Loading ${name}…`;
  $('notices').replaceChildren();
  const workers = Number($('workers-select').value);
  const loading = ResNet.load({ model: name, backend: BACKEND, workers, onProgress: (e) => { if (current()) showProgress(e); } });
  session.loading = loading;
  try {
    const clf = await loading;
    if (!current()) return clf.dispose();
    session.clf = clf;
    $('load-progress').hidden = true;
    showBackend(clf.backend);
    const how = clf.source === 'cache' ? 'from this browser’s cache' : `downloaded (${formatBytes(clf.model.bytes)})`;
    $('load-text').textContent = `Ready: ${clf.model.name}, ${how}, in ${formatMs(performance.now() - started)}.`;
    $('notices').replaceChildren(...clf.notices.map(noticeItem));
    clf.onBackendChange = ({ backend, notice }) => {
      showBackend(backend);
      $('notices').append(noticeItem(notice));
    };
  } catch (e) {
    if (!current()) return;
    $('load-progress').hidden = true;
    $('load-status').classList.add('failed');
    $('load-text').textContent = `The model could not be loaded. ${e.message}`;
    $('load-retry').hidden = false;
  } finally {
    if (current()) session.loading = null;
  }
  await refreshCache();
}

function describeModel(m) {
  $('accuracy').hidden = !m.accuracy;
  $('accuracy').textContent = `${formatPercent(m.accuracy)} test accuracy`;
  $('model-knows').textContent = m.labels.length <= 40
    ? `${m.name} recognises these ${m.labels.length} classes`
    : `${m.name} recognises ${m.labels.length} classes, among them`;
  $('model-labels').replaceChildren(...m.labels.slice(0, 40).map((l) => Object.assign(document.createElement('li'), { textContent: l })));
  $('model-note').hidden = !m.name.startsWith(FASHION_PREFIX);
}

async function refreshCache() {
  try {
    const info = await ResNet.cacheInfo();
    $('clear-cache').disabled = !info.available || info.files.length === 0;
    if (!info.available) {
      $('cache-text').textContent = 'Weights cache: not available in this browser; weights are downloaded on every visit.';
      return;
    }
    const files = info.files.length === 1 ? '1 model' : `${info.files.length} models`;
    const usage = info.quota ? ` · site storage ${formatBytes(info.usage)} of ${formatBytes(info.quota)}` : '';
    $('cache-text').textContent = info.files.length === 0
      ? `Weights cache: empty${usage}`
      : `Weights cache: ${formatBytes(info.bytes)} (${files})${usage}`;
  } catch (e) {
    $('cache-text').textContent = `Weights cache: unknown (${e.message}).`;
  }
}

function setupTabs(webcam) {
  const tabs = [$('tab-images'), $('tab-webcam')];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (tab !== $('tab-webcam')) webcam.stop();
  };
  for (const tab of tabs) {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  }
}

async function main() {
  // On a phone the model details would push the drop zone off the screen.
  $('model-about').open = !matchMedia('(max-width: 640px)').matches;
  setupImages(session);
  setupTabs(setupWebcam(session));
  $('clear-cache').addEventListener('click', async () => {
    try {
      await ResNet.clearCache();
      toast('The weights cache is cleared. The next visit downloads the weights again.');
    } catch (e) {
      toast(e.message, 'error');
    }
    await refreshCache();
  });

  let models;
  try {
    models = await ResNet.models();
  } catch (e) {
    $('load-text').textContent = `The list of models could not be loaded. ${e.message}`;
    $('load-status').classList.add('failed');
    markStarted();
    return;
  }
  const select = $('model-select');
  for (const m of models) {
    select.append(new Option(`${m.name} · ${formatBytes(m.bytes)}`, m.name, m.default, m.default));
  }
  const chosen = () => models.find((m) => m.name === select.value);
  select.disabled = false;
  select.addEventListener('change', () => { describeModel(chosen()); loadModel(select.value); });
  const workers = $('workers-select');
  for (let n = 1; n <= MAX_WORKERS; n++) workers.append(new Option(String(n), String(n)));
  workers.value = String(initialWorkers());
  workers.disabled = false;
  workers.addEventListener('change', () => loadModel(select.value));
  $('load-retry').addEventListener('click', () => loadModel(select.value));
  describeModel(chosen());
  const firstLoad = loadModel(select.value);
  markStarted();
  await firstLoad;
}

main();
