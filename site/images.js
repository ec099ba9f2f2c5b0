// Image mode: files arrive by drop, paste or the file picker; each gets a
// result card with a preview, the top-5 bars and the timings.
import { renderBars, timingText } from './bars.js';
import { formatBytes, formatDType } from './format.js';
import { drawHeatmap, featureMapSide, MIN_CAM_INPUT, MIN_MAP_SIDE, placeOverCrop, showsHeatmaps } from './heatmap.js';
import { describeInfo, PHASE_TEXT } from './models.js';
import { toast } from './notify.js';
import { ResNet, superseded } from './resnet.js';
import { kindOf } from './sniff.js';

const $ = (id) => document.getElementById(id);

// Previews below this size are drawn with hard pixel edges rather than blurred.
const PIXELATED_BELOW = 96;

export function setupImages(session) {
  const zone = $('drop-zone');
  const input = $('file-input');
  const results = $('results');
  // Classifications run one after another, in the order the files came.
  let queue = Promise.resolve();

  // The newest files go on top, in the order they came. A checkpoint
  // becomes a model (with the one labels file dropped along, if any), and
  // the files after it are classified with it.
  const accept = async (files) => {
    if (files.length === 0) return;
    const kinds = await Promise.all(files.map((f) => kindOf(f).catch(() => 'image')));
    const checkpoints = kinds.filter((k) => k === 'checkpoint').length;
    const labelFiles = files.filter((_, i) => kinds[i] === 'labels');
    const labels = checkpoints === 1 && labelFiles.length === 1 ? labelFiles[0] : undefined;
    $('results-head').hidden = false;
    const batch = document.createDocumentFragment();
    files.forEach((file, i) => {
      if (file === labels) return;
      const card = kinds[i] === 'checkpoint' ? modelCard(file) : resultCard(file);
      batch.append(card.li);
      if (kinds[i] === 'checkpoint') {
        const added = addInto(session, file, labels, card);
        queue = queue.then(() => added);
      } else if (kinds[i] === 'labels') {
        showFailure(card, checkpoints
          ? 'This text file was not used as a labels file: drop one checkpoint with one labels file to name its classes.'
          : 'This is a text file, not an image. To name a checkpoint’s classes, drop the labels file together with the checkpoint.');
      } else {
        queue = queue.then(() => classifyInto(session, file, card));
      }
    });
    results.prepend(batch);
  };

  $('choose-files').addEventListener('click', () => input.click());
  for (const picker of [input, $('checkpoint-input')]) {
    picker.addEventListener('change', () => {
      accept([...picker.files]);
      picker.value = ''; // choosing the same file again fires change again
    });
  }

  zone.addEventListener('dragenter', (e) => { e.preventDefault(); zone.classList.add('dragging'); });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; });
  zone.addEventListener('dragleave', (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length === 0) toast('Only files can be dropped here. Drag image files from your computer.', 'error');
    accept(files);
  });
  // A file dropped beside the zone would otherwise make the browser leave the page.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (e) => { if (!zone.contains(e.target)) e.preventDefault(); });
  }

  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length === 0) return; // ordinary text paste: not ours
    e.preventDefault();
    if ($('panel-images').hidden) $('tab-images').click();
    accept(files);
  });

  $('clear-results').addEventListener('click', () => {
    for (const img of results.querySelectorAll('img')) URL.revokeObjectURL(img.src);
    results.replaceChildren();
    $('results-head').hidden = true;
  });

  for (const format of ['csv', 'json']) {
    $(`export-${format}`).addEventListener('click', () => {
      // Every picture's card that is done, top to bottom as the page shows them.
      const records = [...results.querySelectorAll('.result:not(.model-file):not(.pending)')].map((li) => cardRecords.get(li)).filter(Boolean);
      if (records.length === 0) {
        toast('There are no results to export yet.', 'error');
        return;
      }
      const type = format === 'csv' ? 'text/csv;charset=utf-8' : 'application/json';
      const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
      download(new Blob([ResNet.exportResults(records, format)], { type }), `resnet-results-${stamp}.${format}`);
    });
  }
}

// The record of each picture's card for the export (ResNet.exportResults):
// its classification with the file name, or its error.
const cardRecords = new WeakMap();

/** Saves blob as a file called name, as a link with a download attribute does. */
function download(blob, name) {
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

/** Builds a card for file in its waiting state, with a preview of it if withPreview. */
function resultCard(file, withPreview = true) {
  const li = document.createElement('li');
  li.className = 'card result pending';
  li.setAttribute('aria-busy', 'true');

  const preview = document.createElement('div');
  preview.className = 'preview';
  if (withPreview) {
    const img = document.createElement('img');
    img.alt = `Preview of ${file.name}`;
    img.src = URL.createObjectURL(file);
    img.onload = () => {
      if (img.naturalWidth < PIXELATED_BELOW) img.classList.add('pixelated');
      meta.textContent = `${img.naturalWidth}×${img.naturalHeight} · ${formatBytes(file.size)}`;
    };
    img.onerror = () => { preview.classList.add('no-preview'); img.remove(); };
    preview.append(img);
  }

  const body = document.createElement('div');
  body.className = 'result-body';
  const head = document.createElement('div');
  head.className = 'result-head';
  const name = document.createElement('h3');
  name.className = 'result-name';
  name.textContent = file.name || 'Pasted image';
  const meta = document.createElement('span');
  meta.className = 'result-meta';
  meta.textContent = formatBytes(file.size);
  head.append(name, meta);

  const status = document.createElement('p');
  status.className = 'result-status';
  status.textContent = 'Classifying…';
  const bars = document.createElement('ol');
  bars.className = 'bars';
  bars.setAttribute('aria-label', `Top classes for ${file.name}`);
  const timings = document.createElement('p');
  timings.className = 'timings';
  body.append(head, status, bars, timings);
  li.append(preview, body);
  return { li, preview, status, bars, timings, name: file.name || 'Pasted image' };
}

// A classification that met a model change (resnet.js's superseded) is run
// again with the model selected now, at most this many times.
const MAX_ATTEMPTS = 20;

async function classifyInto(session, file, card) {
  try {
    let clf, r;
    for (let attempt = 1; !r; attempt++) {
      if (!session.current()) {
        card.status.textContent = session.failed
          ? 'Waiting for a model: the last one could not be loaded. Use “Try again” above, or choose another.'
          : 'Waiting for the model to load…';
      }
      clf = await session.classifier();
      card.status.textContent = 'Classifying…';
      try {
        // The top classes' maps come with the result when they can show something.
        r = await clf.classify(file, { cam: showsHeatmaps(clf.model) });
      } catch (e) {
        if (!superseded(e) || attempt >= MAX_ATTEMPTS) throw e;
      }
    }
    if (r.cams) addHeatmap(card, r, clf.model);
    else {
      renderBars(card.bars, r.top);
      card.bars.after(noHeatmapNote(clf.model));
    }
    card.status.textContent = `${clf.model.name} says: ${r.top[0].label}`;
    // Finished results are announced politely, one at a time (errors are alerts).
    $('results-announcer').textContent = `${card.name}: ${r.top[0].label}`;
    card.timings.textContent = timingText(r);
    cardRecords.set(card.li, { file: card.name, ...r });
    card.li.classList.remove('pending');
  } catch (e) {
    cardRecords.set(card.li, { file: card.name, model: session.current()?.model.name, date: new Date().toISOString(), error: e.message });
    showFailure(card, e.message);
  } finally {
    card.li.removeAttribute('aria-busy');
  }
}

// Numbers the cards' radio groups.
let heatmaps = 0;

/**
 * Gives a classified card its heatmap: a toggle that shows the map of the
 * class picked in the bars (the top one first) over the preview, placed on
 * the square the network saw, and a caption saying what it shows.
 */
function addHeatmap(card, r, model) {
  const layer = document.createElement('div');
  layer.className = 'cam-crop';
  layer.hidden = true;
  const canvas = document.createElement('canvas');
  canvas.className = 'cam-canvas';
  canvas.width = canvas.height = model.crop; // the map at the size the network saw, as `resnet classify -cam` draws it
  canvas.setAttribute('role', 'img');
  layer.append(canvas);
  card.preview.append(layer);
  placeOverCrop(layer, r.cams[0]);

  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'button small secondary cam-toggle';
  toggle.textContent = 'Heatmap';
  toggle.setAttribute('aria-pressed', 'false');
  toggle.setAttribute('aria-label', `Heatmap over ${card.name}`);
  const caption = document.createElement('p');
  caption.className = 'cam-caption';
  caption.hidden = true;
  const row = document.createElement('div');
  row.className = 'cam-row';
  row.append(toggle, caption);

  let shown = -1; // the index in r.top of the map on the canvas
  const show = (i, on) => {
    if (i !== shown) {
      const cam = r.cams[i];
      drawHeatmap(canvas, cam);
      canvas.dataset.class = String(cam.index);
      canvas.setAttribute('aria-label', `Heatmap of ${cam.label} over ${card.name}`);
      caption.textContent = `Where the network found evidence for “${cam.label}”: most in yellow, least in purple, within the outlined square it saw.`;
      shown = i;
    }
    toggle.setAttribute('aria-pressed', String(on));
    layer.hidden = caption.hidden = !on;
    card.li.classList.toggle('cam-on', on);
  };
  renderBars(card.bars, r.top, { name: `cam-${++heatmaps}`, checked: 0, onPick: (i) => show(i, true) });
  toggle.addEventListener('click', () => show(Math.max(shown, 0), toggle.getAttribute('aria-pressed') !== 'true'));
  card.bars.after(row);
}

/** Why a model's cards have no heatmap: its last feature map is too small to show where. */
function noHeatmapNote(model) {
  const side = featureMapSide(model.crop);
  return Object.assign(document.createElement('p'), {
    className: 'hint cam-note',
    textContent: `No heatmap: ${model.name} sees ${model.crop}×${model.crop} pixels, so its last feature map is ${side}×${side}, too coarse to show where the evidence is (heatmaps need ${MIN_MAP_SIDE}×${MIN_MAP_SIDE}: inputs of ${MIN_CAM_INPUT} pixels or more, such as ImageNet models’ 224).`,
  });
}

function showFailure(card, message) {
  if (!cardRecords.has(card.li)) cardRecords.set(card.li, { file: card.name, date: new Date().toISOString(), error: message });
  card.li.classList.remove('pending');
  card.li.removeAttribute('aria-busy');
  card.li.classList.add('failed');
  card.status.textContent = message;
  card.status.setAttribute('role', 'alert');
}

/** Builds a card for a checkpoint file being added as a model. */
function modelCard(file) {
  const card = resultCard(file, false);
  card.li.classList.add('model-file');
  card.preview.classList.add('checkpoint-icon');
  card.status.textContent = 'Reading the checkpoint…';
  const bar = document.createElement('div');
  bar.className = 'progress';
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-label', `Adding ${file.name}`);
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.append(Object.assign(document.createElement('div'), { className: 'progress-fill' }));
  card.status.after(bar);
  card.progress = (p) => {
    if (p.total) {
      const pct = Math.floor((p.loaded / p.total) * 100);
      bar.setAttribute('aria-valuenow', String(pct));
      bar.firstElementChild.style.width = `${pct}%`;
    }
    card.status.textContent = PHASE_TEXT[p.phase] ?? card.status.textContent;
  };
  card.bar = bar;
  return card;
}

/** Adds file as a model and tells in card how that went. */
async function addInto(session, file, labels, card) {
  try {
    const info = await session.addModel(file, { labels, onProgress: card.progress });
    card.bar.remove();
    card.li.classList.remove('pending');
    card.status.textContent = `Added as the model “${info.name}”: ${describeInfo(info)}. Classifying with it from now on.`;
    const where = info.stored ? `stored in this browser (${formatBytes(info.bytes)}, ${formatDType(info.dtype)})` : 'not stored: it works until this page is closed';
    card.timings.textContent = [where, ...(labels ? [`class names from ${labels.name}`] : []), ...info.notices].join(' · ');
  } catch (e) {
    card.bar.remove();
    showFailure(card, e.message);
  } finally {
    card.li.removeAttribute('aria-busy');
  }
}
