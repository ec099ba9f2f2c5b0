// Heatmaps (class activation maps) and the export of results, with a
// seeded ImageNet-size ResNet-18 (224x224 inputs, 7x7 maps) made by
// Debian's PyTorch and served in a test manifest beside the bundled model
// (its entries written by tools/pyutil/manifest.py, read by the page):
// the map the API returns is PyTorch's; the card draws exactly that map
// over the square the network saw, for the top class and a picked one,
// from the keyboard too; the bundled 32-pixel model shows a note instead;
// the WebGPU backend returns the CPU engine's maps; the webcam's live
// heatmap follows the top class; CSV and JSON hold every result.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CAM_PHOTO, camModelWeights, fixtureImages, launchChromium, openApp, repoRoot, resultOf, scratchDir, screenshot, startServer, waitReady,
} from './harness.mjs';

const MODEL = 'seeded-resnet18';
const SMALL_GPU_MODEL = 'seeded-resnet18-112'; // the same weights at 112x112: 4x4 maps

let scratch, weightsDir, server, browser, images, reference, viridis;

before(async () => {
  scratch = await scratchDir('cam');
  weightsDir = await scratchDir('cam-weights');
  await camModelWeights(weightsDir.dir, scratch.dir);
  process.env.E2E_WEIGHTS = weightsDir.dir; // this test file's own process
  [server, browser, images] = await Promise.all([startServer(), launchChromium(), fixtureImages(scratch.dir)]);
  reference = JSON.parse(await readFile(join(scratch.dir, 'cams.json'), 'utf8'));
  // engine/cam's table, read from its Go source: the page's must be the same.
  const go = await readFile(join(repoRoot, 'engine/cam/viridis.go'), 'utf8');
  viridis = [...go.matchAll(/\{(\d+), (\d+), (\d+)\}/g)].map((m) => m.slice(1, 4).map(Number));
  assert.equal(viridis.length, 256);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await scratch?.remove();
  await weightsDir?.remove();
});

/** A page in a fresh context of b that opens the app with model chosen. */
async function appPage(t, { model = MODEL, viewport = { width: 1280, height: 900 }, b = browser, query = '' } = {}) {
  const context = await b.newContext({ viewport, acceptDownloads: true });
  t.after(() => context.close());
  await context.addInitScript((model) => localStorage.setItem('resnet.model', model), model);
  const page = await context.newPage();
  page.on('pageerror', (e) => assert.fail(`uncaught error in the page: ${e.message}`));
  await openApp(page, `${server.url}${query}`);
  await waitReady(page, model);
  return page;
}

/** Drops files [{name, path}] on the drop zone as real drop events. */
async function drop(page, files) {
  const payload = await Promise.all(files.map(async (f) => ({ name: f.name, base64: (await readFile(f.path)).toString('base64') })));
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
    const zone = document.getElementById('drop-zone');
    for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, payload);
}

const photo = { name: 'chelsea.png', path: CAM_PHOTO };
const portrait = () => ({ name: 'portrait.png', path: join(scratch.dir, 'portrait.png') });
const card = (page, name) => page.locator('.result', { has: page.locator('.result-name', { hasText: name }) });

/** What resnet.js's classify returns for a file, with cam, its maps' values as arrays. */
async function apiResult(page, file, { model = MODEL, backend = 'auto', cam = true, workers } = {}) {
  return page.evaluate(async ({ model, base64, name, backend, cam, workers }) => {
    const { ResNet } = await import('./resnet.js');
    const clf = await ResNet.load({ model, backend, ...(workers && { workers }) });
    try {
      const blob = new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name);
      const r = await clf.classify(blob, { cam });
      const plain = (m) => m && { ...m, values: [...m.values] };
      return { top: r.top, backend: r.backend, cam: plain(r.cam), cams: r.cams?.map(plain) };
    } finally {
      clf.dispose();
    }
  }, { model, base64: (await readFile(file.path)).toString('base64'), name: file.name, backend, cam, workers });
}

/** Largest difference of two maps relative to the largest magnitude of want. */
function relativeDiff(got, want) {
  assert.equal(got.length, want.length, 'map sizes');
  const scale = Math.max(...want.map(Math.abs));
  return Math.max(...got.map((v, i) => Math.abs(v - want[i]))) / scale;
}

/**
 * The heatmap of cam as RGBA at size x size, computed here on its own: the
 * map scaled by its minimum and maximum, resized as PyTorch's
 * interpolate(bilinear, align_corners=False) does, coloured with viridis.
 */
function expectedHeatmap(cam, size) {
  const lo = Math.min(...cam.values), hi = Math.max(...cam.values);
  const norm = cam.values.map((v) => (v - lo) / (hi - lo));
  const coord = (i, n) => {
    const src = Math.max(0, ((i + 0.5) * n) / size - 0.5);
    const a = Math.min(Math.floor(src), n - 1);
    return [a, Math.min(a + 1, n - 1), src - a];
  };
  const out = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    const [y0, y1, fy] = coord(y, cam.height);
    for (let x = 0; x < size; x++) {
      const [x0, x1, fx] = coord(x, cam.width);
      const at = (yy, xx) => norm[yy * cam.width + xx];
      const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
      const c = viridis[Math.round(Math.min(1, Math.max(0, v)) * 255)];
      out.set([...c, 255], 4 * (y * size + x));
    }
  }
  return out;
}

/** The pixels of a card's heatmap canvas, and the class it says it shows. */
function canvasOf(page, name) {
  return card(page, name).locator('canvas.cam-canvas').evaluate((c) => ({
    width: c.width, height: c.height, klass: Number(c.dataset.class),
    pixels: [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data],
  }));
}

/** Asserts that a canvas holds exactly cam's heatmap but for rounding at a few pixels. */
function assertHeatmap(t, canvas, cam, what) {
  assert.equal(canvas.klass, cam.index, `${what}: the canvas names class ${canvas.klass}, not ${cam.index}`);
  const want = expectedHeatmap(cam, canvas.width);
  let off = 0, worst = 0;
  for (let i = 0; i < want.length; i += 4) {
    const d = Math.max(...[0, 1, 2, 3].map((c) => Math.abs(canvas.pixels[i + c] - want[i + c])));
    if (d) off++;
    worst = Math.max(worst, d);
  }
  // A value on a colour boundary may round the other way: one step of viridis.
  assert.ok(off <= want.length / 4 / 1000 && worst <= 4, `${what}: ${off} pixels differ from the map, by up to ${worst}`);
  t.diagnostic(`${what}: ${off} of ${want.length / 4} pixels differ from the map`);
}

/** Where an element is on the screen. */
const boxOf = (locator) => locator.evaluate((el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });

/**
 * Asserts that a card's heatmap lies on the crop the network saw: the
 * crop's rectangle in the picture's pixels, scaled to the preview where
 * the picture is shown whole (object-fit: contain).
 */
async function assertPlacedOnCrop(page, name, cam) {
  const c = card(page, name);
  const img = await boxOf(c.locator('.preview img'));
  const layer = await boxOf(c.locator('.cam-crop'));
  const { width: w, height: h } = cam.input;
  const scale = Math.min(img.w / w, img.h / h);
  const x0 = img.x + (img.w - w * scale) / 2, y0 = img.y + (img.h - h * scale) / 2;
  const want = { x: x0 + cam.crop.x * scale, y: y0 + cam.crop.y * scale, w: cam.crop.width * scale, h: cam.crop.height * scale };
  for (const k of ['x', 'y', 'w', 'h']) assert.ok(Math.abs(layer[k] - want[k]) < 0.6, `${name}: the heatmap's ${k} is ${layer[k]}, the crop's ${want[k]}`);
}

// torchvision's Resize(256) + CenterCrop(224) of a w x h picture, worked
// out here: the shorter side to 256, the longer truncated, the crop's
// offset rounded half to even.
function torchvisionCrop(w, h) {
  const [rw, rh] = w <= h ? [256, Math.trunc((256 * h) / w)] : [Math.trunc((256 * w) / h), 256];
  const off = (n) => { const o = (n - 224) / 2; return Math.abs(o % 1) === 0.5 ? 2 * Math.round(o / 2) : Math.round(o); };
  return { x: (off(rw) * w) / rw, y: (off(rh) * h) / rh, width: (224 * w) / rw, height: (224 * h) / rh };
}

// The manifest make_cam_model.py wrote through tools/pyutil/manifest.py
// (its own entries, and the bundled one it read and wrote back) passes the
// build's Go parser, and resnet.js reads every field of the published
// entries under the names they have: a renamed field would show here as a
// missing value (the default model's accuracy and default flag too, which
// the seeded ones lack).
test('the entries tools/pyutil/manifest.py wrote reach the page’s list of models, every field read', async (t) => {
  const written = JSON.parse(await readFile(join(weightsDir.dir, 'manifest.json'), 'utf8')).models;
  const page = await appPage(t);
  const listed = await page.evaluate(async () => {
    const { ResNet } = await import('./resnet.js');
    return ResNet.listModels();
  });
  assert.deepEqual(listed.map((m) => m.name), written.map((m) => m.name));
  for (const entry of written) {
    const info = listed.find((m) => m.name === entry.name);
    const classNames = (await readFile(join(weightsDir.dir, entry.labels), 'utf8')).trimEnd().split('\n');
    const want = {
      name: entry.name, arch: entry.arch, variant: entry.variant, classes: entry.classes, labels: 'file', classNames,
      bytes: entry.bytes, dtype: entry.dtype, accuracy: entry.accuracy || null, source: entry.source,
      added: false, default: Boolean(entry.default),
    };
    assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, info[k]])), want, entry.name);
  }
  assert.ok(written.some((m) => m.default && m.accuracy > 0), 'a default entry with an accuracy is among them');
});

test('the API’s maps are PyTorch’s, with the crop in the picture’s pixels', async (t) => {
  const page = await appPage(t);
  let worst = 0;
  for (const [file, size] of [[photo, [451, 300]], [portrait(), [200, 300]]]) {
    const r = await apiResult(page, file);
    const ref = reference[file.name];
    assert.deepEqual(r.top.map((c) => c.index), ref.top, `${file.name}: top-5`);
    assert.equal(r.cam.index, ref.top[0], 'cam: true is the top class');
    assert.equal(r.cams.length, 5);
    r.cams.forEach((m, i) => {
      assert.deepEqual([m.index, m.width, m.height, m.values.length], [ref.top[i], 7, 7, 49], `${file.name}: map ${i}`);
      const d = relativeDiff(m.values, ref.cams[i]);
      assert.ok(d <= 1e-4, `${file.name}: class ${m.index}'s map differs from PyTorch's by ${d} of its largest value`);
      worst = Math.max(worst, d);
    });
    assert.deepEqual(r.cam.input, { width: size[0], height: size[1] });
    const want = torchvisionCrop(...size);
    for (const k of ['x', 'y', 'width', 'height']) assert.ok(Math.abs(r.cam.crop[k] - want[k]) < 1e-9, `${file.name}: crop ${k} ${r.cam.crop[k]}, want ${want[k]}`);
  }
  t.diagnostic(`the top-5 maps of both pictures against PyTorch's: at most ${worst.toExponential(2)} of the largest value`);
  // A class outside the top five: its own map, the top five's still there.
  const other = await apiResult(page, photo, { cam: 7 });
  assert.equal(other.cam.index, 7);
  assert.equal(other.cam.label, 'cock');
  assert.deepEqual(other.cams.map((m) => m.index), reference['chelsea.png'].top);
  assert.ok(relativeDiff(other.cam.values, other.cams[0].values) > 0.01, 'class 7 got the top class’s map');
  // Without cam: no maps.
  const plain = await apiResult(page, photo, { cam: false });
  assert.equal(plain.cam, undefined);
  assert.equal(plain.cams, undefined);
});

test('each card shows the map the API returns over the square the network saw, for the top class and a picked one, by keyboard and mouse', async (t) => {
  const page = await appPage(t);
  await drop(page, [photo, portrait()]);
  for (const f of [photo, portrait()]) assert.ok(!(await resultOf(page, f.name, 60_000)).failed);
  const api = { [photo.name]: await apiResult(page, photo), 'portrait.png': await apiResult(page, portrait()) };

  // The toggle, from the keyboard: the top class's map over the crop.
  const toggle = card(page, 'chelsea.png').locator('.cam-toggle');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  assert.ok(await card(page, 'chelsea.png').locator('.cam-crop').isHidden(), 'the heatmap shows before it is asked for');
  await toggle.focus();
  assert.notEqual(await toggle.evaluate((el) => getComputedStyle(el).boxShadow), 'none', 'the focused toggle has no focus ring');
  await page.keyboard.press('Space');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  assert.ok(await card(page, 'chelsea.png').locator('.cam-crop').isVisible());
  const first = await canvasOf(page, 'chelsea.png');
  assert.equal(first.width, 224);
  assertHeatmap(t, first, api[photo.name].cams[0], 'chelsea.png, top class');
  await assertPlacedOnCrop(page, 'chelsea.png', api[photo.name].cam);
  assert.match(await card(page, 'chelsea.png').locator('.cam-caption').textContent(), new RegExp(`evidence for “${api[photo.name].top[0].label}”`));

  // Shift+Tab reaches the class picker; the arrow key picks the second class.
  await page.keyboard.press('Shift+Tab');
  const radio = await page.evaluate(() => ({ type: document.activeElement.type, checked: document.activeElement.checked, ring: getComputedStyle(document.activeElement).outlineStyle }));
  assert.deepEqual(radio, { type: 'radio', checked: true, ring: 'solid' }, 'the checked radio with a focus ring');
  await page.keyboard.press('ArrowDown');
  const second = await canvasOf(page, 'chelsea.png');
  assertHeatmap(t, second, api[photo.name].cams[1], 'chelsea.png, second class');
  assert.ok(second.pixels.some((v, i) => v !== first.pixels[i]), 'the second class drew the first class’s map');

  // The mouse: the portrait's fourth bar, with the overlay still off, turns it on.
  await card(page, 'portrait.png').locator('label.bar-label').nth(3).click();
  assert.equal(await card(page, 'portrait.png').locator('.cam-toggle').getAttribute('aria-pressed'), 'true');
  assertHeatmap(t, await canvasOf(page, 'portrait.png'), api['portrait.png'].cams[3], 'portrait.png, fourth class');
  await assertPlacedOnCrop(page, 'portrait.png', api['portrait.png'].cam);
  await page.mouse.move(0, 0);
  await screenshot(page, 'desktop-cam-overlays');
  await card(page, 'chelsea.png').screenshot({ path: join(repoRoot, 'e2e/artifacts/desktop-cam-card.png') });

  // The toggle again hides it; pressed again, the picked class comes back.
  await toggle.click();
  assert.ok(await card(page, 'chelsea.png').locator('.cam-crop').isHidden());
  await toggle.click();
  assert.equal((await canvasOf(page, 'chelsea.png')).klass, api[photo.name].cams[1].index);
});

test('phone width: the heatmaps fit and the page does not scroll sideways', async (t) => {
  const page = await appPage(t, { viewport: { width: 375, height: 812 } });
  await drop(page, [photo, portrait()]);
  for (const f of [photo, portrait()]) assert.ok(!(await resultOf(page, f.name, 60_000)).failed);
  await card(page, 'chelsea.png').locator('.cam-toggle').click();
  await card(page, 'portrait.png').locator('label.bar-label').nth(1).click();
  const api = await apiResult(page, portrait());
  assertHeatmap(t, await canvasOf(page, 'portrait.png'), api.cams[1], 'portrait.png at phone width');
  await assertPlacedOnCrop(page, 'portrait.png', api.cam);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, 'the page scrolls sideways at phone width');
  await card(page, 'portrait.png').scrollIntoViewIfNeeded();
  await screenshot(page, 'phone-cam-overlays');
});

test('the bundled 32-pixel model shows a note instead of the heatmap control', async (t) => {
  const page = await appPage(t, { model: 'fashion-resnet18' });
  const im = images[0];
  await drop(page, [{ name: 'fashion.png', path: im.png }]);
  assert.equal((await resultOf(page, 'fashion.png')).top1, im.class);
  const c = card(page, 'fashion.png');
  assert.equal(await c.locator('.cam-toggle, .bar-pick, canvas').count(), 0, 'a heatmap control for a 1x1 map');
  assert.equal(
    await c.locator('.cam-note').textContent(),
    'No heatmap: fashion-resnet18 sees 32×32 pixels, so its last feature map is 1×1, too coarse to show where the evidence is (heatmaps need 4×4: inputs of 97 pixels or more, such as ImageNet models’ 224).',
  );
  // The API still answers, with a 1x1 map.
  const r = await apiResult(page, { name: 'fashion.png', path: im.png }, { model: 'fashion-resnet18' });
  assert.deepEqual([r.cam.width, r.cam.height, r.cam.values.length], [1, 1, 1]);
  await screenshot(page, 'desktop-cam-note');
});

test('on WebGPU (SwiftShader) the maps are the CPU engine’s, at 112x112', async (t) => {
  const page = await appPage(t);
  const gpu = await apiResult(page, photo, { model: SMALL_GPU_MODEL, backend: 'webgpu', workers: 1 });
  const cpu = await apiResult(page, photo, { model: SMALL_GPU_MODEL, backend: 'wasm', workers: 1 });
  assert.match(gpu.backend, /^WebGPU/);
  assert.doesNotMatch(cpu.backend, /WebGPU/);
  assert.deepEqual(gpu.top.map((c) => c.index), cpu.top.map((c) => c.index));
  gpu.cams.forEach((m, i) => {
    assert.deepEqual([m.width, m.height], [4, 4]);
    const d = relativeDiff(m.values, cpu.cams[i].values);
    assert.ok(d <= 1e-4, `class ${m.index}: WebGPU's map differs from the CPU engine's by ${d} of its largest value`);
    t.diagnostic(`class ${m.index}: WebGPU against the CPU engine ${d.toExponential(2)}`);
  });
});

/** Parses RFC 4180 CSV: quoted fields, doubled quotes, CRLF. */
function parseCSV(text) {
  const rows = [];
  let row = [], field = '', inQuotes = false, wasQuoted = false, i = 0;
  const end = () => {
    // Text is quoted; only numbers may stand bare.
    assert.ok(wasQuoted || /^-?\d+(\.\d+)?(e-?\d+)?$/.test(field), `an unquoted field that is not a number: ${JSON.stringify(field)}`);
    row.push(field);
    field = '';
    wasQuoted = false;
  };
  while (i < text.length) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (ch === '"') { inQuotes = false; i++; continue; }
      field += ch; i++;
    } else if (ch === '"' && field === '') { inQuotes = wasQuoted = true; i++; }
    else if (ch === ',') { end(); i++; }
    else if (ch === '\r' && text[i + 1] === '\n') { end(); rows.push(row); row = []; i += 2; }
    else if (ch === '"' || ch === '\r' || ch === '\n') { assert.fail(`a stray quote or line end at ${i}: ${JSON.stringify(text.slice(i - 10, i + 10))}`); }
    else { field += ch; i++; }
  }
  assert.ok(row.length === 0 && field === '', 'the last row has no line end');
  return rows;
}

test('the export buttons download every result as CSV and JSON, from the keyboard', async (t) => {
  const page = await appPage(t);
  const notes = join(scratch.dir, 'notes "1", 2.txt');
  await writeFile(notes, 'not a picture\n');
  await drop(page, [photo, portrait(), { name: 'notes "1", 2.txt', path: notes }]);
  for (const f of ['chelsea.png', 'portrait.png', 'notes "1", 2.txt']) await resultOf(page, f, 60_000);
  const shown = await page.$$eval('#results > .result', (cards) => cards.map((c) => ({
    file: c.querySelector('.result-name').textContent,
    labels: [...c.querySelectorAll('.bar-label')].map((l) => l.textContent),
    pcts: [...c.querySelectorAll('.bar-pct')].map((l) => l.textContent),
    status: c.querySelector('.result-status').textContent,
  })));
  assert.equal(shown.length, 3);

  const downloadBy = async (press) => {
    const [download] = await Promise.all([page.waitForEvent('download'), press()]);
    return { name: download.suggestedFilename(), bytes: await readFile(await download.path()) };
  };
  await page.focus('#export-csv');
  assert.notEqual(await page.$eval('#export-csv', (el) => getComputedStyle(el).boxShadow), 'none', 'the focused export button has no focus ring');
  const csv = await downloadBy(() => page.keyboard.press('Enter'));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'export-json');
  const json = await downloadBy(() => page.keyboard.press('Space'));
  assert.match(csv.name, /^resnet-results-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.csv$/);
  assert.match(json.name, /^resnet-results-.*\.json$/);

  // CSV: UTF-8 with a byte-order mark, every text field quoted, one row a card.
  assert.deepEqual([...csv.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const rows = parseCSV(csv.bytes.toString('utf8').slice(1));
  const header = rows[0];
  assert.deepEqual(header.slice(0, 8), ['file', 'model', 'model_source', 'backend', 'date', 'label_1', 'index_1', 'prob_1']);
  assert.deepEqual(header.slice(-5), ['decode_ms', 'preprocess_ms', 'inference_ms', 'total_ms', 'error']);
  const records = rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
  const { results } = JSON.parse(json.bytes.toString('utf8'));
  assert.equal(records.length, 3);
  assert.equal(results.length, 3);
  const manifest = await page.evaluate(async () => (await (await fetch('manifest.json')).json()).models);
  const source = manifest.find((m) => m.name === MODEL).source;
  shown.forEach((s, i) => {
    const c = records[i], j = results[i];
    assert.equal(c.file, s.file);
    assert.equal(j.file, s.file);
    assert.ok(Math.abs(Date.parse(c.date) - Date.now()) < 600_000 && c.date === j.date, `date ${c.date}`);
    if (s.labels.length === 0) {
      assert.equal(c.error, s.status, 'the failed card’s message');
      assert.equal(j.error, s.status);
      assert.equal(c.label_1, '');
      return;
    }
    assert.deepEqual([c.model, c.model_source, c.error], [MODEL, source, '']);
    assert.deepEqual([j.model, j.modelSource], [MODEL, source]);
    assert.match(c.backend, /WASM|plain Go/);
    assert.deepEqual([1, 2, 3, 4, 5].map((k) => c[`label_${k}`]), s.labels);
    assert.deepEqual(j.top.map((p) => p.label), s.labels);
    for (let k = 1; k <= 5; k++) {
      assert.equal(Number(c[`prob_${k}`]), j.top[k - 1].prob, 'CSV and JSON probabilities');
      assert.equal(Number(c[`index_${k}`]), j.top[k - 1].index);
      const pct = Number(s.pcts[k - 1].replace('%', ''));
      assert.ok(Math.abs(j.top[k - 1].prob * 100 - pct) < 0.01, `${s.file}: ${j.top[k - 1].prob} shown as ${s.pcts[k - 1]}`);
    }
    for (const step of ['decode', 'preprocess', 'inference', 'total']) {
      assert.ok(Number(c[`${step}_ms`]) >= 0 && Number(c[`${step}_ms`]) === j.timings[step], `${step}: ${c[`${step}_ms`]}`);
    }
    assert.ok(j.timings.inference > 0);
  });
  assert.deepEqual(results[0].top.map((p) => p.index), reference['chelsea.png'].top);
});

test('the webcam’s live heatmap follows the top class, frame after frame', async (t) => {
  const camBrowser = await launchChromium([
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${images[2].y4m}`,
  ]);
  t.after(() => camBrowser.close());
  const page = await appPage(t, { b: camBrowser, model: 'fashion-resnet18' });
  await page.click('#tab-webcam');
  // The bundled model: a note, no toggle.
  assert.ok(await page.isHidden('#webcam-heatmap'));
  assert.match(await page.textContent('#webcam-heatmap-note'), /^No heatmap with fashion-resnet18: its 32-pixel input is too small/);

  // Records whether each frame's classify request to the engine asks for
  // the map.
  await page.evaluate(() => {
    window.posts = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message, ...rest) {
      if (message?.op === 'classify') window.posts.push({ cam: Boolean(message.cam) });
      return post.call(this, message, ...rest);
    };
  });
  await page.selectOption('#model-select', MODEL);
  await waitReady(page, MODEL);
  assert.ok(await page.isHidden('#webcam-heatmap-note'));
  await page.focus('#webcam-toggle');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => Number(document.getElementById('webcam-fps').textContent) > 0, null, { timeout: 60_000 });
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'webcam-heatmap');
  await page.keyboard.press('Space');
  assert.equal(await page.getAttribute('#webcam-heatmap', 'aria-pressed'), 'true');
  await page.waitForFunction(() => !document.getElementById('webcam-cam-crop').hidden);

  // The live loop goes on with the map asked for every frame. What it costs
  // the frame rate is measured by bench/webcam_heatmap.mjs, not here.
  const from = await page.evaluate(() => window.posts.length);
  await page.waitForFunction((from) => window.posts.slice(from).filter((p) => p.cam).length >= 20, from, { timeout: 60_000 });
  assert.ok(await page.evaluate((from) => window.posts.slice(from).every((p) => p.cam), from), 'a frame without its map with the heatmap on');

  // The overlay shows the latest frame's top class, over the crop.
  const top1 = await page.evaluate(() => new Promise((resolve) => {
    const bars = document.getElementById('webcam-bars');
    new MutationObserver((_, o) => {
      o.disconnect();
      requestAnimationFrame(() => resolve({ label: bars.querySelector('.bar-label').textContent, shown: document.getElementById('webcam-cam-canvas').getAttribute('aria-label') }));
    }).observe(bars, { childList: true });
  }));
  assert.equal(top1.shown, `Heatmap of ${top1.label} over the camera picture`);
  // The 320x240 camera fills the 4:3 frame; the layer is mirrored, as the video.
  const frame = await boxOf(page.locator('.video-frame'));
  const layer = await boxOf(page.locator('#webcam-cam-crop'));
  const crop = torchvisionCrop(320, 240);
  const s = frame.w / 320;
  const want = { x: frame.x + frame.w - (crop.x + crop.width) * s, y: frame.y + crop.y * s, w: crop.width * s, h: crop.height * s };
  for (const k of ['x', 'y', 'w', 'h']) assert.ok(Math.abs(layer[k] - want[k]) < 0.6, `the live heatmap's ${k} is ${layer[k]}, the crop's ${want[k]}`);
  await screenshot(page, 'desktop-webcam-heatmap');

  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.getElementById('webcam-cam-crop').hidden);
  const asked = () => page.evaluate(() => window.posts.filter((p) => p.cam).length);
  const camBefore = await asked();
  await page.waitForTimeout(1000);
  assert.equal(await asked(), camBefore, 'maps still asked for with the heatmap off');
});
