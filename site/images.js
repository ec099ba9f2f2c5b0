// Image mode: files arrive by drop, paste or the file picker; each gets a
// result card with a preview, the top-5 bars and the timings.
import { renderBars, timingText } from './bars.js';
import { formatBytes } from './format.js';
import { toast } from './notify.js';

const $ = (id) => document.getElementById(id);

// Previews below this size are drawn with hard pixel edges rather than blurred.
const PIXELATED_BELOW = 96;

export function setupImages(session) {
  const zone = $('drop-zone');
  const input = $('file-input');
  const results = $('results');
  // Classifications run one after another, in the order the files came.
  let queue = Promise.resolve();

  // The newest files go on top, in the order they came.
  const accept = (files) => {
    if (files.length === 0) return;
    $('results-head').hidden = false;
    const batch = document.createDocumentFragment();
    for (const file of files) {
      const card = resultCard(file);
      batch.append(card.li);
      queue = queue.then(() => classifyInto(session, file, card));
    }
    results.prepend(batch);
  };

  $('choose-files').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    accept([...input.files]);
    input.value = ''; // choosing the same file again fires change again
  });

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
}

/** Builds a card for file in its waiting state. */
function resultCard(file) {
  const li = document.createElement('li');
  li.className = 'card result pending';
  li.setAttribute('aria-busy', 'true');

  const preview = document.createElement('div');
  preview.className = 'preview';
  const img = document.createElement('img');
  img.alt = `Preview of ${file.name}`;
  img.src = URL.createObjectURL(file);
  img.onload = () => {
    if (img.naturalWidth < PIXELATED_BELOW) img.classList.add('pixelated');
    meta.textContent = `${img.naturalWidth}×${img.naturalHeight} · ${formatBytes(file.size)}`;
  };
  img.onerror = () => { preview.classList.add('no-preview'); img.remove(); };
  preview.append(img);

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
  return { li, status, bars, timings };
}

async function classifyInto(session, file, card) {
  try {
    const clf = await session.classifier();
    const r = await clf.classify(file);
    renderBars(card.bars, r.top);
    card.status.textContent = `${clf.model.name} says: ${r.top[0].label}`;
    card.timings.textContent = timingText(r);
    card.li.classList.remove('pending');
  } catch (e) {
    card.li.classList.remove('pending');
    card.li.classList.add('failed');
    card.status.textContent = e.message;
    card.status.setAttribute('role', 'alert');
  } finally {
    card.li.removeAttribute('aria-busy');
  }
}
