// Classifying files: drop, file picker, errors that leave the page usable,
// switching models, and the resnet.js library on every input type.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  dropFiles, fixtureImages, launchChromium, openApp, pngPayload, resultOf, scratchDir, screenshot, startServer, waitReady,
} from './harness.mjs';

let server, browser, scratch, images;

before(async () => {
  scratch = await scratchDir('classify');
  [server, images, browser] = await Promise.all([startServer(), fixtureImages(scratch.dir), launchChromium()]);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await scratch?.remove();
});

/** A page in a fresh context, closed when test t ends. */
async function newPage(t, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  t.after(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => assert.fail(`uncaught error in the page: ${e.message}`));
  return page;
}

/**
 * The bars of the result card of the file called name, once it has them:
 * [{label, pct, aria}], the label and percentage shown and the bar's
 * aria-label.
 */
function barsOf(page, name) {
  const card = page.locator('.result', { has: page.locator('.result-name', { hasText: name }) });
  return card.locator('.bar').evaluateAll((bars) => bars.map((li) => ({
    label: li.querySelector('.bar-label').textContent,
    pct: li.querySelector('.bar-pct').textContent,
    aria: li.getAttribute('aria-label'),
  })));
}

/**
 * The bars a card must show for each of pngs (base64), computed in page by
 * resnet.js on its own with the page's model: its top 5, as bars.js writes
 * them ("<label>: <percent>" for the aria-label).
 */
function expectedBars(page, pngs) {
  return page.evaluate(async (pngs) => {
    const { ResNet } = await import('./resnet.js');
    const { formatPercent } = await import('./format.js');
    const clf = await ResNet.load({ model: document.getElementById('model-select').value });
    const bars = [];
    for (const png of pngs) {
      const blob = new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' });
      const r = await clf.classify(blob);
      bars.push(r.top.map((c) => ({ label: c.label, pct: formatPercent(c.prob), aria: `${c.label}: ${formatPercent(c.prob)}` })));
    }
    clf.dispose();
    return bars;
  }, pngs);
}

test('dropped Fashion-MNIST images get their true labels', async (t) => {
  const page = await newPage(t);
  await openApp(page, server.url);
  await screenshot(page, 'desktop-empty');
  const model = await page.inputValue('#model-select');
  const labels = await page.$$eval('#model-labels li', (lis) => lis.map((li) => li.textContent));
  assert.equal(labels.length, 10);
  await dropFiles(page, await Promise.all(images.map((im) => pngPayload(im, `drop-${im.index}.png`))));
  for (const im of images) {
    const r = await resultOf(page, `drop-${im.index}.png`);
    assert.equal(r.top1, im.class, `test image ${im.index}: ${r.status}`);
    assert.equal(r.status, `${model} says: ${im.class}`, `test image ${im.index}`);
    // Five bars of five of the model's classes, the true one first, most
    // probable first, each named by its aria-label with its percentage.
    const bars = await barsOf(page, `drop-${im.index}.png`);
    assert.equal(bars.length, 5, `test image ${im.index}`);
    assert.equal(bars[0].label, im.class, `test image ${im.index}`);
    assert.equal(new Set(bars.map((b) => b.label)).size, 5, `test image ${im.index}: a class twice: ${bars.map((b) => b.label)}`);
    for (const b of bars) {
      assert.ok(labels.includes(b.label), `test image ${im.index}: "${b.label}" is none of the model's classes`);
      assert.equal(b.aria, `${b.label}: ${b.pct}`, `test image ${im.index}`);
    }
    const pcts = bars.map((b) => parseFloat(b.pct));
    assert.deepEqual(pcts, [...pcts].sort((a, b) => b - a), `test image ${im.index}: bars not most probable first`);
  }
  // The bars are the classifier's own top 5, names and percentages.
  const some = images.slice(0, 3);
  const want = await expectedBars(page, await Promise.all(some.map(async (im) => (await pngPayload(im, 'x.png')).bytes.toString('base64'))));
  for (const [i, im] of some.entries()) {
    assert.deepEqual(await barsOf(page, `drop-${im.index}.png`), want[i], `test image ${im.index}`);
  }
  await screenshot(page, 'desktop-results');
});

test('the file picker classifies the chosen files', async (t) => {
  const page = await newPage(t);
  await openApp(page, server.url);
  await page.setInputFiles('#file-input', images.slice(0, 3).map((im) => im.png));
  const model = await page.inputValue('#model-select');
  for (const im of images.slice(0, 3)) {
    const r = await resultOf(page, `${im.index}.png`);
    assert.equal(r.top1, im.class);
    assert.equal(r.status, `${model} says: ${im.class}`);
  }
});

test('a pasted image is classified', async (t) => {
  const page = await newPage(t);
  await openApp(page, server.url);
  const im = images[5];
  const png = (await pngPayload(im, 'x.png')).bytes.toString('base64');
  await page.evaluate((png) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, png);
  assert.equal((await resultOf(page, 'pasted.png')).top1, im.class);
});

test('a non-image file and a too-large image show errors and the page keeps working', async (t) => {
  const page = await newPage(t);
  await openApp(page, server.url);
  const notes = join(scratch.dir, 'notes.txt');
  await writeFile(notes, 'These are notes, not a picture.\n');
  await page.setInputFiles('#file-input', notes);
  const text = await resultOf(page, 'notes.txt');
  assert.ok(text.failed);
  assert.match(text.status, /not an image/);

  await dropFiles(page, [{ name: 'huge.png', type: 'image/png', bytes: pngHeader(10000, 8000) }]);
  const huge = await resultOf(page, 'huge.png');
  assert.ok(huge.failed);
  assert.match(huge.status, /too large: 10000×8000 pixels is 80 megapixels, and the limit is 50/);
  await screenshot(page, 'desktop-errors');

  const im = images[0];
  await dropFiles(page, [await pngPayload(im, 'after-errors.png')]);
  assert.equal((await resultOf(page, 'after-errors.png')).top1, im.class);
});

test('switching between the bundled models classifies with each', async (t) => {
  const page = await newPage(t);
  await openApp(page, server.url);
  const im = images[1];
  for (const model of ['fashion-resnet50', 'fashion-resnet18', 'fashion-resnet50']) {
    await page.selectOption('#model-select', model);
    await waitReady(page, model);
    const name = `switch-${model}-${Date.now()}.png`;
    await dropFiles(page, [await pngPayload(im, name)]);
    const r = await resultOf(page, name);
    assert.equal(r.top1, im.class);
    assert.equal(r.status, `${model} says: ${im.class}`);
    const bars = await barsOf(page, name);
    assert.equal(bars[0].label, im.class);
    assert.equal(bars[0].aria, `${im.class}: ${bars[0].pct}`);
  }
});

test('the page works from the keyboard', async (t) => {
  const page = await newPage(t);
  await openApp(page, server.url);
  const reached = [];
  for (let i = 0; i < 12 && !reached.includes('choose-files'); i++) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement.id));
  }
  for (const id of ['model-select', 'tab-images', 'choose-files']) assert.ok(reached.includes(id), `Tab never reaches #${id}: ${reached}`);

  // Enter on the button must open the file picker. Playwright's filechooser
  // event races a single key press (its interception is switched on
  // asynchronously), so watch the hidden input's click instead and then hand
  // it the file the way the picker would.
  await page.evaluate(() => {
    window.pickerOpened = false;
    document.getElementById('file-input').addEventListener('click', () => { window.pickerOpened = true; });
  });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.pickerOpened);
  const im = images[4];
  await page.setInputFiles('#file-input', im.png);
  assert.equal((await resultOf(page, `${im.index}.png`)).top1, im.class);

  await page.focus('#tab-images');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-webcam');
  assert.ok(await page.isVisible('#webcam-toggle'));
  assert.ok(await page.isHidden('#drop-zone'));

  await page.focus('#model-select');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.inputValue('#model-select'), 'fashion-resnet50');
  await waitReady(page, 'fashion-resnet50');
});

test('at phone width the page fits and results stay readable', async (t) => {
  const page = await newPage(t, { width: 375, height: 812 });
  await openApp(page, server.url);
  await screenshot(page, 'phone-empty');
  await dropFiles(page, await Promise.all(images.slice(0, 2).map((im) => pngPayload(im, `phone-${im.index}.png`))));
  await resultOf(page, `phone-${images[0].index}.png`);
  await dropFiles(page, [{ name: 'phone-notes.txt', type: 'text/plain', bytes: Buffer.from('not an image') }]);
  await resultOf(page, 'phone-notes.txt');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.equal(overflow, 0, 'the page scrolls sideways at 375px');
  await screenshot(page, 'phone-results');
});

test('a browser without WebAssembly SIMD gets the plain engine', async (t) => {
  const page = await newPage(t);
  // Answer the SIMD feature probe (the only 31-byte module resnet.js
  // validates) as a browser without SIMD would.
  await page.addInitScript(() => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => (bytes.byteLength === 31 ? false : validate(bytes));
  });
  const wasmRequests = [];
  page.on('request', (r) => { if (r.url().endsWith('.wasm')) wasmRequests.push(new URL(r.url()).pathname); });
  await openApp(page, server.url);
  assert.match(await page.textContent('#backend'), /^plain Go( on \d+ workers)?$/);
  // The plain engine only (fetched to compile it, and read again from the
  // HTTP cache for its copy in IndexedDB), never the SIMD build.
  assert.ok(wasmRequests.length >= 1 && wasmRequests.every((p) => /^\/resnet\.[0-9a-f]{10}\.wasm$/.test(p)), `wasm requests: ${wasmRequests}`);
  const im = images[6];
  await dropFiles(page, [await pngPayload(im, 'plain.png')]);
  assert.equal((await resultOf(page, 'plain.png')).top1, im.class);
});

test('resnet.js alone classifies a Blob, an <img>, a canvas and ImageData alike', async (t) => {
  const page = await newPage(t);
  await page.goto(server.url);
  const im = images[2];
  const png = (await pngPayload(im, 'x.png')).bytes.toString('base64');
  const results = await page.evaluate(async (png) => {
    const { ResNet } = await import('./resnet.js');
    const clf = await ResNet.load({});
    const blob = new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' });
    const img = new Image();
    img.src = URL.createObjectURL(blob);
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const imageData = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const kinds = {};
    for (const [kind, input] of Object.entries({ blob, img, canvas, imageData })) {
      const r = await clf.classify(input);
      kinds[kind] = { label: r.top[0].label, prob: r.top[0].prob, count: r.top.length, timings: Object.keys(r.timings).sort().join() };
    }
    clf.dispose();
    const unknown = await ResNet.load({ model: 'no-such-model' }).catch((e) => e);
    return { kinds, imageDataIntact: imageData.data.length === canvas.width * canvas.height * 4, unknownModel: unknown.code };
  }, png);
  assert.ok(results.imageDataIntact, 'classify detached the caller\'s ImageData');
  assert.equal(results.unknownModel, 'bad-request');
  for (const [kind, r] of Object.entries(results.kinds)) {
    assert.equal(r.label, im.class, kind);
    assert.equal(r.count, 5, kind);
    assert.equal(r.timings, 'decode,inference,preprocess,total', kind);
    // A gray PNG drawn on a canvas keeps its pixels exactly: same answer.
    assert.equal(r.prob, results.kinds.blob.prob, `${kind} probability`);
  }
});

test('resnet.js works in another page, found through assets.json', async (t) => {
  // A page of the same origin that is not the app's index.html, so without
  // its import map: the hashed resnet.js must import its own modules.
  const page = await newPage(t);
  const url = `${server.url}embed.html`;
  await page.route(url, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>embed</title>' }));
  await page.goto(url);
  const im = images[2];
  const png = (await pngPayload(im, 'x.png')).bytes.toString('base64');
  const top = await page.evaluate(async (png) => {
    const assets = await (await fetch('assets.json')).json();
    const { ResNet } = await import(`./${assets['resnet.js']}`);
    const clf = await ResNet.load({});
    const r = await clf.classify(new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' }));
    clf.dispose();
    return r.top[0].label;
  }, png);
  assert.equal(top, im.class);
});

/** The signature and header chunk of a w x h PNG, with no pixel data. */
function pngHeader(w, h) {
  const ihdr = Buffer.alloc(17);
  ihdr.write('IHDR');
  ihdr.writeUInt32BE(w, 4);
  ihdr.writeUInt32BE(h, 8);
  ihdr.set([8, 6, 0, 0, 0], 12);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(ihdr));
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), len, ihdr, crc]);
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
