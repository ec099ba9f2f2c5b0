// The page: model selection and loading, the cache panel, and the two input
// modes (images.js, webcam.js). All classification goes through resnet.js.
import { ResNet, defaultWorkers } from './resnet.js';
import { formatBytes, formatMs, formatPercent } from './format.js';
import { setupImages } from './images.js';
import { setupModelPanel, describeInfo } from './models.js';
import { setupWebcam } from './webcam.js';
import { toast } from './notify.js';

const $ = (id) => document.getElementById(id);

// Models with this name prefix are the bundled Fashion-MNIST ones; the page
// explains what they can and cannot recognise.
const FASHION_PREFIX = 'fashion-';

// The last model chosen, so that a reload comes back to it.
const MODEL_KEY = 'resnet.model';

/** A promise with its resolve and reject, and whether it has settled. */
function deferred() {
  const d = { settled: false };
  d.promise = new Promise((resolve, reject) => {
    d.resolve = (v) => { d.settled = true; resolve(v); };
    d.reject = (e) => { d.settled = true; reject(e); };
  });
  return d;
}

// The classifier in use. Files and frames ask it for the classifier; while
// a model loads, or after a load failed, they wait for the next one that
// is ready (a retry, another model), so no file is ever dropped.
const session = {
  clf: null,
  next: deferred(), // resolves with the next classifier that is ready
  failed: false, // the last load failed; waiting files say so
  /** The loaded classifier, or null while none is ready. */
  current() { return this.clf; },
  /** Resolves to the loaded classifier, waiting for the next one if none is ready. */
  classifier() { return this.clf ? Promise.resolve(this.clf) : this.next.promise; },
  /** A load has begun: the current classifier goes. */
  unload() {
    this.clf?.dispose();
    this.clf = null;
    this.failed = false;
    if (this.next.settled) this.next = deferred();
  },
  ready(clf) {
    this.clf = clf;
    this.next.resolve(clf);
    for (const fn of this.watchers) fn(clf);
  },
  watchers: [],
  /** Calls fn(clf) with each classifier that becomes ready. */
  watch(fn) { this.watchers.push(fn); },
  /** No model can ever load (the list of models failed): waiting files fail. */
  fail(error) {
    this.next.reject(error);
    this.next.promise.catch(() => {});
  },
};

const PHASE_TEXT = {
  engine: 'Starting the classifier…',
  cache: 'Looking for the weights in this browser’s cache…',
  build: 'Preparing the network…',
};

// The load's steps (ResNet.loadTimings), in order. The worker
// start and the read or download of the weights run side by side, both
// begun with the page by ResNet.preload; a download is hashed and built as
// it arrives (afterDownload: from its last byte to the build's end), and a
// cached file's integrity check runs beside the parse and build, its step
// the wait after them.
function showSteps(timings) {
  const step = (key, name) => (timings[key] === undefined ? null : `${name}\u00a0${formatMs(timings[key])}`);
  const read = step('cacheRead', 'cache read') ?? step('download', 'download');
  const verify = step('verify', 'integrity check');
  const cached = timings.cacheRead !== undefined;
  const steps = [
    // A load on a worker already running (a model switch) has no start.
    [timings.start > 0 ? step('start', 'worker start') : null, read].filter(Boolean).join(' alongside '),
    !cached && verify && timings.download !== undefined ? `${verify} during the download` : null,
    !cached && timings.download === undefined ? verify : null,
    step('parse', 'parse'),
    timings.afterDownload === undefined ? step('build', 'build')
      : `${step('build', 'build')}, done ${formatMs(timings.afterDownload)} after the download`,
    cached && verify ? `${verify} after the build` : null,
    step('workers', 'other workers'),
  ];
  $('load-steps').textContent = steps.filter(Boolean).join(' · ');
  $('load-steps').dataset.timings = JSON.stringify(timings); // exact values, for benchmarks and tests
  $('load-steps').hidden = false;
}

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
  bar.hidden = true;
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

// The backend the person picked (webgpu or wasm); absent for Auto, which
// lets resnet.js measure which is faster on this device.
const BACKEND_KEY = 'resnet.backend';
const BACKENDS = ['auto', 'webgpu', 'wasm'];

// ?backend=webgpu|wasm|auto picks the backend for this visit (tests and
// curious users), else the person's remembered pick, else auto.
const initialBackend = () => {
  const asked = new URLSearchParams(location.search).get('backend') ?? localStorage.getItem(BACKEND_KEY);
  return BACKENDS.includes(asked) ? asked : 'auto';
};

const BACKEND_NAMES = { webgpu: 'WebGPU', wasm: 'the CPU' };

/** Says which backend runs the network and why (resnet.js's backendChoice). */
function showChoice(choice) {
  const name = BACKEND_NAMES[choice.backend];
  const times = choice.gpuMs !== null ? `WebGPU ${formatMs(choice.gpuMs)} vs CPU ${formatMs(choice.cpuMs)} — using ${name}` : '';
  $('backend-choice-text').textContent = {
    measuring: 'Measuring WebGPU against the CPU on this device…',
    measured: `${times}, the faster on this device.`,
    remembered: `${times}, the faster on this device (measured on an earlier visit).`,
    forced: `Using ${name}, as chosen.`,
    fallback: `Using the CPU. ${choice.why ?? ''}`,
  }[choice.reason];
  const line = $('backend-choice');
  line.dataset.reason = choice.reason;
  line.dataset.backend = choice.backend;
  line.hidden = false;
  $('backend-remeasure').hidden = choice.reason !== 'measured' && choice.reason !== 'remembered';
}

// How many Web Workers share each image on the CPU: ?workers=N, else one
// per core. The page offers 1 up to the number of cores (at least 2).
const MAX_WORKERS = Math.max(2, defaultWorkers());
const initialWorkers = () => {
  const asked = Number(new URLSearchParams(location.search).get('workers'));
  return Number.isInteger(asked) && asked >= 1 && asked <= MAX_WORKERS ? asked : defaultWorkers();
};

// How long after a download the cache line is read again: Chromium's
// storage estimate counts a write about a second after it commits, and
// the engine's copy is stored 3 s after it was fetched (engine-code.js).
const STORAGE_SETTLE_MS = 5000;

// The page's first load began with the page (ResNet.preload), so its time
// counts from then.
let firstLoad = true;

async function loadModel(name) {
  session.unload();
  const started = firstLoad ? 0 : performance.now();
  const took = firstLoad ? (ms) => `${formatMs(ms)} after the page opened` : (ms) => `in ${formatMs(ms)}`;
  firstLoad = false;
  const number = ++latestLoad;
  const current = () => number === latestLoad;
  $('load-retry').hidden = true;
  $('load-status').classList.remove('failed');
  $('load-text').textContent = `Loading ${name}…`;
  $('load-steps').hidden = true;
  $('notices').replaceChildren();
  $('backend-choice').hidden = true;
  const workers = Number($('workers-select').value);
  try {
    const clf = await ResNet.load({ model: name, backend: $('backend-select').value, workers, onProgress: (e) => { if (current()) showProgress(e); } });
    if (!current()) return clf.dispose();
    session.ready(clf);
    $('load-progress').hidden = true;
    showBackend(clf.backend);
    const how = { cache: 'from this browser’s cache', page: 'from this page’s memory' }[clf.source] ?? `downloaded (${formatBytes(clf.model.bytes)})`;
    $('load-text').textContent = `Ready: ${clf.model.name}, ${how}, ${took(performance.now() - started)}.`;
    showSteps(clf.loadTimings);
    $('notices').replaceChildren(...clf.notices.map(noticeItem));
    showChoice(clf.backendChoice);
    if (clf.source === 'network') setTimeout(refreshCache, STORAGE_SETTLE_MS);
    clf.onBackendChange = ({ backend, notice }) => {
      showBackend(backend);
      if (notice) $('notices').append(noticeItem(notice));
      if (current()) {
        showSteps(clf.loadTimings);
        showChoice(clf.backendChoice);
      }
    };
  } catch (e) {
    if (!current()) return;
    session.failed = true;
    $('load-progress').hidden = true;
    $('load-status').classList.add('failed');
    $('load-text').textContent = `The model could not be loaded. ${e.message}`;
    $('load-retry').hidden = false;
  }
  await refreshCache();
}

// What the page can say of an added model's class names.
const ADDED_NOTE = {
  official: (m) => `${m.official.title}: torchvision’s published weights, recognised by their SHA-256, with their own preprocessing.`,
  imagenet: () => 'Not one of torchvision’s published checkpoints: its 1000 outputs are assumed to be ImageNet’s classes, in torchvision’s order.',
  file: () => 'Class names from the labels file added with it.',
  index: (m) => `No labels file was added with it, so its classes are numbered 0 to ${m.classes - 1}.`,
};

function describeModel(m) {
  $('accuracy').hidden = !m.accuracy;
  $('accuracy').textContent = m.official ? `${formatPercent(m.accuracy)} ImageNet top-1` : `${formatPercent(m.accuracy)} test accuracy`;
  const n = m.classNames.length;
  $('model-knows').textContent = n <= 40 ? `${m.name} recognises these ${n} classes` : `${m.name} recognises ${n} classes, among them`;
  $('model-labels').replaceChildren(...m.classNames.slice(0, 40).map((l) => Object.assign(document.createElement('li'), { textContent: l })));
  $('model-note').hidden = !m.name.startsWith(FASHION_PREFIX) || m.added;
  $('model-added-note').hidden = !m.added;
  $('model-added-note').textContent = m.added ? ADDED_NOTE[m.official ? 'official' : m.labels](m) : '';
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
  // The engine starts, and the chosen model's weights are read from the
  // cache (or downloaded), while the page sets itself up.
  ResNet.preload({ model: localStorage.getItem(MODEL_KEY) ?? undefined, backend: initialBackend() });
  // On a phone the model details would push the drop zone off the screen.
  $('model-about').open = !matchMedia('(max-width: 640px)').matches;
  const panel = setupModelPanel({
    chosen: (name) => choose(name),
    changed: () => cacheChanged(),
    add: (source, onProgress) => addModel(source, { onProgress }),
  });
  const choose = (name) => {
    localStorage.setItem(MODEL_KEY, name);
    describeModel(panel.current());
    loadModel(name);
  };
  // Adds a checkpoint as a model, then switches to it: files queued after
  // it wait for that load.
  async function addModel(source, { labels, onProgress } = {}) {
    const { model, notices } = await ResNet.addModel(source, {
      labels, onProgress, dtype: $('store-dtype').value, variant: $('add-variant').value,
    });
    await panel.refresh(model.name);
    choose(model.name);
    await refreshCache();
    return Object.assign(model, { notices });
  }
  session.addModel = addModel;
  setupImages(session);
  setupTabs(setupWebcam(session));
  $('clear-cache').addEventListener('click', async () => {
    try {
      await ResNet.clearCache();
      toast('The weights cache is cleared. The next visit downloads the weights again.');
    } catch (e) {
      toast(e.message, 'error');
    }
    await cacheChanged();
  });
  // The cache changed (cleared here, or anything in another tab): update
  // its line and the list of models, leaving a model that is gone.
  async function cacheChanged() {
    await refreshCache();
    const shown = $('model-select').value;
    try {
      await panel.refresh();
    } catch (e) {
      toast(`The list of models could not be updated (${e.message}).`, 'error');
      return;
    }
    if ($('model-select').value !== shown) choose($('model-select').value);
  }
  ResNet.onCacheChange(cacheChanged);
  try {
    await panel.refresh(localStorage.getItem(MODEL_KEY) ?? undefined);
  } catch (e) {
    $('load-text').textContent = `The list of models could not be loaded. ${e.message}`;
    $('load-status').classList.add('failed');
    session.fail(new Error(`No model can be loaded: the list of models could not be loaded (${e.message}). Reload the page to try again.`));
    return;
  }
  const select = $('model-select');
  const workers = $('workers-select');
  for (let n = 1; n <= MAX_WORKERS; n++) workers.append(new Option(String(n), String(n)));
  workers.value = String(initialWorkers());
  workers.disabled = false;
  workers.addEventListener('change', () => loadModel(select.value));
  const backend = $('backend-select');
  backend.value = initialBackend();
  backend.addEventListener('change', () => {
    // Auto forgets the pick: the remembered measurement, or a new one, decides.
    if (backend.value === 'auto') localStorage.removeItem(BACKEND_KEY);
    else localStorage.setItem(BACKEND_KEY, backend.value);
    loadModel(select.value);
  });
  $('backend-remeasure').addEventListener('click', () => {
    ResNet.forgetBackendChoices();
    loadModel(select.value);
  });
  $('load-retry').addEventListener('click', () => loadModel(select.value));
  describeModel(panel.current());
  await loadModel(select.value);
}

main();
