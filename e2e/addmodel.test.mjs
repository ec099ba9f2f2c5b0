// A person's own PyTorch checkpoint: dropped, picked or downloaded by URL,
// it becomes a model of the page whose logits equal the CLI's on the same
// file and photo; it survives a reload, can be removed, and bad files get
// one clear message each while the page keeps working.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  dropFiles, launchChromium, openApp, repoRoot, resultOf, scratchDir, screenshot, startServer, storedKeys, waitReady,
} from './harness.mjs';

const run = promisify(execFile);
const PHOTO = join(repoRoot, 'engine/preprocess/testdata/chelsea.png'); // a cat

let server, browser, scratch, files, cli, reference;

// Serves the test's files to the page, with CORS under /cors/ and without
// under /plain/, as another site would.
async function startFileServer(dir) {
  const srv = createServer(async (req, res) => {
    const [, mode, name] = req.url.split('/');
    const path = join(dir, basename(decodeURIComponent(name ?? '')));
    try {
      const { size } = await stat(path);
      const headers = { 'content-length': size, 'content-type': 'application/octet-stream' };
      if (mode === 'cors') Object.assign(headers, { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' });
      res.writeHead(200, headers);
      createReadStream(path).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() };
}

before(async () => {
  scratch = await scratchDir('addmodel');
  cli = join(scratch.dir, 'resnet');
  const made = run('/usr/bin/python3', ['e2e/make_checkpoints.py', scratch.dir, PHOTO], { cwd: repoRoot, maxBuffer: 1 << 24 });
  const built = run('go', ['build', '-o', cli, './cmd/resnet'], { cwd: repoRoot, env: { ...process.env, GOEXPERIMENT: 'simd' } });
  [server, browser] = await Promise.all([startServer(), launchChromium(), made, built]);
  files = await startFileServer(scratch.dir);
  reference = JSON.parse(await readFile(join(scratch.dir, 'reference.json'), 'utf8'));
});

after(async () => {
  await browser?.close();
  await server?.close();
  files?.close();
  await scratch?.remove();
});

/** A page in a fresh context, and the requests for weights it makes. */
async function freshPage(t, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  t.after(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => assert.fail(`uncaught error in the page: ${e.message}`));
  const weightRequests = [];
  context.on('request', (r) => { if (/\.(safetensors|pth)$/.test(r.url())) weightRequests.push(r.url()); });
  return { page, weightRequests };
}

/**
 * Drops test files (and the photo) on the drop zone as real drop events;
 * the page fetches them from the file server, which is much faster than
 * passing large files through the test's protocol. names: [{file, as?}].
 */
async function drop(page, names) {
  const list = names.map((n) => ({ url: n.file === 'photo' ? null : `${files.url}/cors/${n.file}`, as: n.as ?? n.file }));
  const photo = (await readFile(PHOTO)).toString('base64');
  await page.evaluate(async ({ list, photo }) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = f.url ? await (await fetch(f.url)).arrayBuffer() : Uint8Array.from(atob(photo), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.as));
    }
    const zone = document.getElementById('drop-zone');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, { list, photo });
}

/** Waits for the card of an added checkpoint file; returns {failed, status, details}. */
async function addedCard(page, name, timeout = 120_000) {
  const card = page.locator('.result.model-file', { has: page.locator('.result-name', { hasText: name }) });
  await card.and(page.locator(':not(.pending)')).waitFor({ timeout });
  return {
    failed: await card.evaluate((el) => el.classList.contains('failed')),
    status: await card.locator('.result-status').textContent(),
    details: await card.locator('.timings').textContent(),
  };
}

/** The CLI's top-5 and logits for weights on the photo. */
async function cliResult(weights, ...flags) {
  const { stdout } = await run(cli, ['classify', '-json', '-weights', join(scratch.dir, weights), ...flags, PHOTO], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}

/** The page's own classification through resnet.js, with logits. */
async function pageResult(page, model) {
  return page.evaluate(async ({ model, photo }) => {
    const { ResNet } = await import('./resnet.js');
    const clf = await ResNet.load({ model, workers: 1 });
    try {
      const blob = new Blob([Uint8Array.from(atob(photo), (c) => c.charCodeAt(0))], { type: 'image/png' });
      const r = await clf.classify(blob, { logits: true });
      return { top: r.top, logits: [...r.logits] };
    } finally {
      clf.dispose();
    }
  }, { model, photo: (await readFile(PHOTO)).toString('base64') });
}

/** Largest difference between two logit vectors, relative to the largest logit. */
function relativeDiff(got, want) {
  assert.equal(got.length, want.length, 'number of logits');
  const scale = Math.max(...want.map(Math.abs));
  return Math.max(...got.map((v, i) => Math.abs(v - want[i]))) / scale;
}

function assertSameAsCLI(got, want, what) {
  assert.deepEqual(got.top.map((c) => [c.index, c.label]), want.top.map((c) => [c.index, c.label]), `${what}: top-5`);
  const d = relativeDiff(got.logits, want.logits);
  assert.ok(d <= 1e-5, `${what}: logits differ from the CLI's by ${d} of the largest`);
}

/** The status line of the photo's result card, once it is classified. */
async function photoStatus(page) {
  const r = await resultOf(page, 'chelsea.png', 120_000);
  assert.ok(!r.failed, r.status);
  return r.status;
}

test('a dropped .pth becomes a model that classifies like the CLI, and stays after a reload until removed', async (t) => {
  const { page, weightRequests } = await freshPage(t);
  await openApp(page, server.url);
  const want = await cliResult('seeded-resnet18.pth');

  const started = Date.now();
  await drop(page, [{ file: 'seeded-resnet18.pth' }, { file: 'photo', as: 'chelsea.png' }]);
  // The card shows the progress while the file is read and converted.
  await page.locator('.result.model-file.pending .progress').waitFor({ timeout: 60_000 });
  await screenshot(page, 'desktop-checkpoint-adding');
  const card = await addedCard(page, 'seeded-resnet18.pth');
  assert.ok(!card.failed, card.status);
  assert.equal(card.status, 'Added as the model “seeded-resnet18”: ResNet-18 (v1.5), 1000 classes, assumed to be ImageNet’s. Classifying with it from now on.');
  assert.match(card.details, /^stored in this browser \(47 MB, f32\)$/);
  assert.equal(await photoStatus(page), `seeded-resnet18 says: ${want.top[0].label}`);
  t.diagnostic(`drop to first result, ResNet-18 .pth: ${Date.now() - started} ms`);
  assert.match(await page.textContent('#model-added-note'), /assumed to be ImageNet’s classes/);
  assert.equal(await page.inputValue('#model-select'), 'seeded-resnet18');
  assert.match(await page.textContent('#added-list'), /seeded-resnet18/);
  await screenshot(page, 'desktop-checkpoint-added');

  const got = await pageResult(page, 'seeded-resnet18');
  assertSameAsCLI(got, want, 'the page');
  const torch = relativeDiff(got.logits, reference['seeded-resnet18@256']);
  assert.ok(torch <= 1e-4, `logits differ from PyTorch's by ${torch} of the largest`);

  // A reload lists the model, comes back to it and needs no weights request.
  weightRequests.length = 0;
  await page.reload();
  assert.match(await waitReady(page, 'seeded-resnet18'), /from this browser’s cache/);
  assert.equal(await page.locator('#model-select optgroup[label="Your models"] option').textContent(), 'seeded-resnet18 · 47 MB');
  await drop(page, [{ file: 'photo', as: 'chelsea.png' }]);
  assert.equal(await photoStatus(page), `seeded-resnet18 says: ${want.top[0].label}`);
  assert.deepEqual(weightRequests, [], 'the reload requested weights');

  // Removal removes the model and its weights, and the page goes back to a bundled model.
  await page.click('button[aria-label="Remove seeded-resnet18"]');
  await waitReady(page, 'fashion-resnet18');
  assert.equal(await page.locator('#model-select option[value="seeded-resnet18"]').count(), 0);
  assert.ok(await page.isHidden('#added-row'));
  assert.deepEqual(await storedKeys(page, 'models'), []);
  assert.ok(!(await storedKeys(page, 'files')).some((k) => k.startsWith('seeded-resnet18@')));
});

test('a ResNet-50 .safetensors from the file picker classifies like the CLI', async (t) => {
  const { page } = await freshPage(t);
  await openApp(page, server.url);
  const want = await cliResult('seeded-resnet50.safetensors');
  const started = Date.now();
  await page.setInputFiles('#checkpoint-input', join(scratch.dir, 'seeded-resnet50.safetensors'));
  const card = await addedCard(page, 'seeded-resnet50.safetensors');
  assert.ok(!card.failed, card.status);
  assert.match(card.status, /“seeded-resnet50”: ResNet-50 \(v1\.5\), 1000 classes/);
  const ready = await waitReady(page, 'seeded-resnet50');
  t.diagnostic(`pick to ready, ResNet-50 safetensors: ${Date.now() - started} ms (${ready})`);
  const got = await pageResult(page, 'seeded-resnet50');
  assertSameAsCLI(got, want, 'the page');

  // The stride placement cannot be seen in weights: switched to the paper's
  // v1, the page's logits are the CLI's with -v1.
  await page.selectOption('select[aria-label="Stride placement of seeded-resnet50"]', 'v1');
  // The list shows v1 once the page has stored it. (waitForFunction takes
  // an async predicate's promise for true at once, so the check is on the
  // page's text.)
  await page.waitForFunction(() => /ResNet-50 \(v1\)/.test(document.getElementById('added-list').textContent));
  const v1 = await pageResult(page, 'seeded-resnet50');
  assertSameAsCLI(v1, await cliResult('seeded-resnet50.safetensors', '-v1'), 'the page with v1');
  assert.ok(relativeDiff(v1.logits, got.logits) > 1e-3, 'v1 gave v1.5’s logits');
  const memory = await page.evaluate(async () => {
    const { ResNet } = await import('./resnet.js');
    const clf = await ResNet.load({ model: 'seeded-resnet50', workers: 1 });
    clf.dispose();
    return clf.memoryBytes;
  });
  t.diagnostic(`wasm memory of a worker that loaded the added ResNet-50: ${(memory / 2 ** 20).toFixed(1)} MiB`);
});

test('a 10-class training checkpoint dropped with its labels file uses those labels', async (t) => {
  const { page } = await freshPage(t);
  await openApp(page, server.url);
  const want = await cliResult('ten-classes.pth', '-labels', join(scratch.dir, 'ten-classes.txt'));
  await drop(page, [{ file: 'ten-classes.pth' }, { file: 'ten-classes.txt' }, { file: 'photo', as: 'chelsea.png' }]);
  const card = await addedCard(page, 'ten-classes.pth');
  assert.equal(card.status, 'Added as the model “ten-classes”: ResNet-18 (v1.5), 10 classes named by a labels file. Classifying with it from now on.');
  assert.match(card.details, /class names from ten-classes\.txt/);
  assert.equal(await photoStatus(page), `ten-classes says: ${want.top[0].label}`);
  assertSameAsCLI(await pageResult(page, 'ten-classes'), want, 'the page');

  // A labels file of the wrong length is refused and nothing is stored.
  await page.click('#clear-results');
  await drop(page, [{ file: 'ten-classes.pth', as: 'again.pth' }, { file: 'nine-classes.txt' }]);
  const bad = await addedCard(page, 'again.pth');
  assert.ok(bad.failed);
  assert.equal(bad.status, 'The labels file has 9 lines, but the model has 10 classes: one class name a line, in the model’s order.');
  assert.deepEqual(await storedKeys(page, 'models'), ['ten-classes']);

  // Stored at half precision: half the size, logits within 1e-3 of float32's.
  await page.click('#real-photos summary');
  await page.selectOption('#store-dtype', 'f16');
  await drop(page, [{ file: 'ten-classes.pth', as: 'half.pth' }]);
  const half = await addedCard(page, 'half.pth');
  assert.match(half.details, /^stored in this browser \(22 MB, f16\)/);
  const got = await pageResult(page, 'half');
  const d = relativeDiff(got.logits, want.logits);
  assert.ok(d <= 1e-3, `f16 logits differ from float32's by ${d} of the largest`);

  // Stored as int8: a quarter of the size, and the logits the CLI gives for
  // the same checkpoint converted by `resnet convert -dtype int8`.
  await page.selectOption('#store-dtype', 'int8');
  await drop(page, [{ file: 'ten-classes.pth', as: 'quarter.pth' }]);
  const quarter = await addedCard(page, 'quarter.pth');
  assert.match(quarter.details, /^stored in this browser \(11 MB, int8\)/);
  await run(cli, ['convert', join(scratch.dir, 'ten-classes.pth'), join(scratch.dir, 'quarter.safetensors'), '-dtype', 'int8']);
  const want8 = await cliResult('quarter.safetensors', '-labels', join(scratch.dir, 'ten-classes.txt'));
  const got8 = await pageResult(page, 'quarter');
  assert.deepEqual(got8.top.map((c) => c.index), want8.top.map((c) => c.index), 'int8: top-5');
  const d8 = relativeDiff(got8.logits, want8.logits);
  assert.ok(d8 <= 1e-5, `int8 logits differ from the CLI's by ${d8} of the largest`);
  t.diagnostic(`int8 logits against float32's: ${relativeDiff(got8.logits, want.logits).toExponential(2)} of the largest`);
});

test('torchvision’s official checkpoints are recognised by their hash, not their name', async (t) => {
  const { page } = await freshPage(t);
  const sha = createHash('sha256').update(await readFile(join(scratch.dir, 'seeded-resnet18.pth'))).digest('hex');
  const official = {
    name: 'resnet18-test', arch: 'resnet18', weights: 'TEST_V9', file: `resnet18-${sha.slice(0, 8)}.pth`,
    url: `https://example.invalid/resnet18-${sha.slice(0, 8)}.pth`, acc1: 71.5, acc5: 90.1, resize: 232, crop: 224,
  };
  // The table is published in the build's manifest.json; inject one entry.
  await page.route('**/manifest.json', async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    json.official.push(official);
    await route.fulfill({ response, json });
  });
  await openApp(page, server.url);
  await drop(page, [{ file: 'seeded-resnet18.pth', as: 'my-weights.pth' }]);
  const card = await addedCard(page, 'my-weights.pth');
  assert.equal(card.status, 'Added as the model “my-weights”: torchvision ResNet-18, TEST_V9, 71.5% top-1. Classifying with it from now on.');
  await waitReady(page, 'my-weights');
  assert.equal(await page.textContent('#accuracy'), '71.5% ImageNet top-1');
  // Its own preprocessing: resize 232, not 256.
  const got = await pageResult(page, 'my-weights');
  assert.ok(relativeDiff(got.logits, reference['seeded-resnet18@232']) <= 1e-4, 'logits differ from PyTorch’s at resize 232');
  assert.ok(relativeDiff(got.logits, reference['seeded-resnet18@256']) > 1e-3, 'the logits are those of resize 256');

  // Other bytes under the official name are not official.
  await drop(page, [{ file: 'other-resnet18.safetensors', as: official.file }]);
  const other = await addedCard(page, official.file);
  assert.match(other.status, /: ResNet-18 \(v1\.5\), 1000 classes, assumed to be ImageNet’s\./);
});

test('bad files get one clear message each, store nothing, and the page keeps working', async (t) => {
  const { page } = await freshPage(t);
  await openApp(page, server.url);
  const cases = [
    ['not-a-checkpoint.zip', /not a file written by torch\.save/],
    ['vgg-like.pth', /not a ResNet checkpoint/],
    ['truncated.pth', /truncated|runs past the end|not a valid zip/],
    ['corrupt.pth', /CRC|corrupt/],
    ['nan.pth', /NaN/],
    ['evil.pth', /unsupported pickle global posix\.system|os\.system|posix\.system/],
  ];
  await drop(page, cases.map(([file]) => ({ file })));
  for (const [file, message] of cases) {
    const card = await addedCard(page, file);
    assert.ok(card.failed, `${file} was accepted`);
    assert.match(card.status, message, file);
    assert.ok(card.status.length < 400, `${file}: the message is too long: ${card.status}`);
  }
  await screenshot(page, 'desktop-checkpoint-bad');
  assert.deepEqual(await storedKeys(page, 'models'), []);
  // A file larger than the page takes is refused before it is read.
  const huge = await page.evaluate(async () => {
    const { ResNet } = await import('./resnet.js');
    class Huge extends File { get size() { return 3 * 2 ** 30; } }
    try {
      await ResNet.addModel(new Huge([new Uint8Array(8)], 'huge.pth'));
      return 'accepted';
    } catch (e) {
      return `${e.code}: ${e.message}`;
    }
  });
  assert.match(huge, /^file-too-large: huge\.pth is 3221 MB; the page takes weights files up to 1074 MB/);
  // The page still classifies with the model it had.
  await drop(page, [{ file: 'photo', as: 'chelsea.png' }]);
  assert.match(await photoStatus(page), /^fashion-resnet18 says: /);
});

test('the help panel downloads a checkpoint by URL, and says why when a site refuses', async (t) => {
  const { page } = await freshPage(t);
  await openApp(page, server.url);
  await page.click('#real-photos summary');
  assert.match(await page.textContent('#official-list'), /ResNet-50 IMAGENET1K_V2 · 80\.9% top-1\s*https:\/\/download\.pytorch\.org\/models\/resnet50-11ad3fa6\.pth/);
  await page.fill('#url-input', `${files.url}/plain/ten-classes.pth`);
  await page.click('#url-submit');
  await page.waitForFunction(() => document.getElementById('url-status').classList.contains('failed'), null, { timeout: 60_000 });
  assert.match(await page.textContent('#url-status'), /may not allow downloads from other pages \(CORS\).*save the file, then drop it here/);
  await screenshot(page, 'desktop-help-cors');

  await page.fill('#url-input', `${files.url}/cors/ten-classes.pth`);
  await page.click('#url-submit');
  await page.waitForFunction(() => /^Added /.test(document.getElementById('url-status').textContent), null, { timeout: 120_000 });
  assert.equal(await page.textContent('#url-status'), 'Added ten-classes: ResNet-18 (v1.5), 10 classes, numbered 0 to 9.');
  await waitReady(page, 'ten-classes');
  await screenshot(page, 'desktop-help-panel');
});

test('with the quota used up an added model still classifies, uncached, and says so', async (t) => {
  const { page } = await freshPage(t);
  const cdp = await page.context().newCDPSession(page);
  // Room for the bundled model (11 MB), not for the checkpoint (45 MB).
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 30_000_000 });
  await openApp(page, server.url);
  await drop(page, [{ file: 'ten-classes.pth' }, { file: 'photo', as: 'chelsea.png' }]);
  const card = await addedCard(page, 'ten-classes.pth');
  assert.ok(!card.failed, card.status);
  assert.match(card.details, /not stored: it works until this page is closed/);
  assert.match(await photoStatus(page), /^ten-classes says: class \d$/);
  assert.match(await page.textContent('#notices'), /not stored in the browser/);
  assert.deepEqual(await storedKeys(page, 'models'), [], 'a half-written model is in IndexedDB');
  assert.ok(!(await storedKeys(page, 'files')).some((k) => k.startsWith('ten-classes@')));
});

test('phone width: adding, the selector, the help panel and a bad file', async (t) => {
  const { page } = await freshPage(t, { width: 390, height: 844 });
  await openApp(page, server.url);
  await drop(page, [{ file: 'ten-classes.pth' }, { file: 'vgg-like.pth' }]);
  await page.locator('.result.model-file.pending .progress').first().waitFor({ timeout: 60_000 });
  await screenshot(page, 'phone-checkpoint-adding');
  assert.ok((await addedCard(page, 'vgg-like.pth')).failed);
  await addedCard(page, 'ten-classes.pth');
  await waitReady(page, 'ten-classes');
  await screenshot(page, 'phone-checkpoint-added');
  await page.click('#real-photos summary');
  await page.locator('#real-photos').scrollIntoViewIfNeeded();
  await screenshot(page, 'phone-help-panel');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, 'the page scrolls sideways at phone width');
});
