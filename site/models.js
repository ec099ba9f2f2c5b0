// The model panel's list of models: the selector (bundled and added
// models), the person's added models with their controls, and the "Classify
// real photos" help panel, whose URL field and options feed addModel.
import { ResNet } from './resnet.js';
import { formatBytes, formatDType, formatPercent } from './format.js';
import { toast } from './notify.js';

const $ = (id) => document.getElementById(id);

/** 'resnet50' -> 'ResNet-50' */
export const archTitle = (arch) => arch.replace(/^resnet/, 'ResNet-');

/** What an added model is, in a phrase: the official title, or its architecture and classes. */
export function describeInfo(info) {
  if (info.official) return info.official.title;
  const classes = {
    imagenet: `${info.classes} classes, assumed to be ImageNet’s`,
    file: `${info.classes} classes named by a labels file`,
    index: `${info.classes} classes, numbered 0 to ${info.classes - 1}`,
  }[info.labels];
  return `${archTitle(info.arch)} (${info.variant}), ${classes}`;
}

/** Runs a change the person asked for; a failure is shown, not thrown. */
const act = (change) => change().catch((e) => toast(e.message, 'error'));

/** The selector's text for a model. */
const optionText = (info) => `${info.name} · ${formatBytes(info.bytes)}${info.stored ? '' : ' · this visit only'}`;

/**
 * Sets up the selector, the added-model list and the help panel. chosen(name)
 * is called when the person picks a model; changed() after an added one
 * was removed; add(source, onProgress) adds a model from a URL. Returns
 * {refresh(selected), current()}: refresh rebuilds the lists (selecting
 * selected if given) and resolves to the models; current is the selected
 * model's info.
 */
export function setupModelPanel({ chosen, changed, add }) {
  const select = $('model-select');
  let models = [];

  select.addEventListener('change', () => chosen(select.value));

  async function refresh(selected = select.value) {
    models = await ResNet.listModels();
    const bundled = document.createElement('optgroup');
    bundled.label = 'Bundled (Fashion-MNIST)';
    const added = document.createElement('optgroup');
    added.label = 'Your models';
    for (const m of models) {
      (m.added ? added : bundled).append(new Option(optionText(m), m.name));
    }
    select.replaceChildren(bundled, ...(added.children.length ? [added] : []));
    const fallback = models.find((m) => m.default) ?? models[0];
    select.value = models.some((m) => m.name === selected) ? selected : fallback.name;
    select.disabled = false;
    renderAdded(models.filter((m) => m.added));
    return models;
  }

  function renderAdded(list) {
    $('added-row').hidden = list.length === 0;
    $('added-list').replaceChildren(...list.map((m) => {
      const li = document.createElement('li');
      const text = document.createElement('div');
      const name = Object.assign(document.createElement('strong'), { textContent: m.name });
      const meta = Object.assign(document.createElement('span'), {
        className: 'added-meta',
        textContent: `${describeInfo(m)} · ${formatDType(m.dtype)} · ${formatBytes(m.bytes)}${m.stored ? '' : ' · not stored: this visit only'}`,
      });
      text.append(name, meta);
      li.append(text);
      const controls = document.createElement('div');
      controls.className = 'added-controls';
      if (Number(m.arch.replace('resnet', '')) >= 50) {
        const variant = document.createElement('select');
        variant.setAttribute('aria-label', `Stride placement of ${m.name}`);
        variant.append(new Option('v1.5 (torchvision)', 'v1.5'), new Option('v1 (paper)', 'v1'));
        variant.value = m.variant;
        variant.addEventListener('change', () => act(async () => {
          await ResNet.updateModel(m.name, { variant: variant.value });
          await refresh();
          if (select.value === m.name) chosen(m.name);
        }));
        controls.append(variant);
      }
      const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'button small secondary', textContent: 'Remove' });
      remove.setAttribute('aria-label', `Remove ${m.name}`);
      remove.addEventListener('click', () => act(async () => {
        remove.disabled = true;
        await ResNet.removeModel(m.name);
        await changed();
      }));
      controls.append(remove);
      li.append(controls);
      return li;
    }));
  }

  setupHelp(add);
  return { refresh, current: () => models.find((m) => m.name === select.value) };
}

/** The help panel: the official checkpoints' links and the URL field. */
async function setupHelp(add) {
  $('choose-checkpoint').addEventListener('click', () => $('checkpoint-input').click());
  const form = $('url-form');
  const bar = $('url-progress');
  const status = $('url-status');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const url = $('url-input').value.trim();
    $('url-submit').disabled = true;
    status.classList.remove('failed');
    status.textContent = 'Starting the download…';
    try {
      const info = await add(url, (p) => {
        if (p.phase === 'download' && p.total) {
          const pct = Math.floor((p.loaded / p.total) * 100);
          bar.hidden = false;
          bar.setAttribute('aria-valuenow', String(pct));
          bar.firstElementChild.style.width = `${pct}%`;
          status.textContent = `Downloading: ${formatBytes(p.loaded)} of ${formatBytes(p.total)} (${pct}%)`;
        } else if (p.phase === 'download') {
          status.textContent = `Downloading: ${formatBytes(p.loaded)}`;
        } else {
          bar.hidden = true;
          status.textContent = PHASE_TEXT[p.phase] ?? status.textContent;
        }
      });
      status.textContent = `Added ${info.name}: ${describeInfo(info)}.`;
      $('url-input').value = '';
    } catch (err) {
      status.classList.add('failed');
      status.textContent = err.message;
    } finally {
      bar.hidden = true;
      $('url-submit').disabled = false;
    }
  });
  const list = $('official-list');
  try {
    const officials = await ResNet.officialCheckpoints();
    list.replaceChildren(...officials.map((o) => {
      const li = document.createElement('li');
      const name = Object.assign(document.createElement('span'), { textContent: `${archTitle(o.arch)} ${o.weights} · ${formatPercent(o.acc1 / 100)} top-1` });
      const url = Object.assign(document.createElement('code'), { textContent: o.url });
      li.append(name, url);
      return li;
    }));
  } catch (e) {
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: `The list could not be loaded (${e.message}).` }));
  }
}

/** What each phase of adding a model is doing, for progress lines. */
export const PHASE_TEXT = {
  read: 'Reading the checkpoint…',
  convert: 'Converting the weights…',
  store: 'Storing the model in this browser…',
};
