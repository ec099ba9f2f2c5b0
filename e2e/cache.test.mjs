// The weight cache: a reload makes no weight request, a damaged entry is
// detected and fetched again, stale versions go, a full quota only costs
// the cache, and the clear button empties it. Likewise for the engine's
// copy in IndexedDB.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  changeStored, dropFiles, fixtureImages, launchChromium, openApp, pngPayload, resultOf, scratchDir, screenshot, startServer, storedKeys,
  throttlingProxy, waitReady, waitWorkers,
} from './harness.mjs';

let server, browser, scratch, images;

before(async () => {
  scratch = await scratchDir('cache');
  [server, images, browser] = await Promise.all([startServer(), fixtureImages(scratch.dir), launchChromium()]);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await scratch?.remove();
});

/**
 * A page in a fresh context (empty IndexedDB), closed when test t ends, and
 * the weight requests it makes.
 */
async function freshPage(t) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => assert.fail(`uncaught error in the page: ${e.message}`));
  const weightRequests = [];
  // context-wide: the weights are fetched by the Web Worker, not the page.
  context.on('request', (r) => { if (r.url().endsWith('.safetensors')) weightRequests.push(r.url()); });
  return { page, weightRequests };
}

async function classifyOne(page, name) {
  const im = images[3];
  await dropFiles(page, [await pngPayload(im, name)]);
  assert.equal((await resultOf(page, name)).top1, im.class);
}

test('the first visit shows the download progress', async (t) => {
  const { page } = await freshPage(t);
  // A network of about 2 MB/s: the download starts with the page, and the
  // progress shows from when the worker has started and reads it.
  const slow = await throttlingProxy(server.url);
  t.after(() => slow.close());
  slow.setRate(2e6);
  await page.goto(slow.url);
  await page.waitForFunction(() => {
    const pct = Number(document.getElementById('load-progress').getAttribute('aria-valuenow'));
    return pct >= 20 && pct < 90;
  }, null, { timeout: 30_000 });
  assert.match(await page.textContent('#load-text'), /Downloading the weights: [\d.]+ MB of [\d.]+ MB \(\d+%\)/);
  assert.match(await page.textContent('#backend'), /Go WASM/);
  await screenshot(page, 'desktop-downloading');
  await waitReady(page);
  assert.ok(await page.isHidden('#load-progress'));
});

test('a reload loads the weights from IndexedDB without requesting them', async (t) => {
  const { page, weightRequests } = await freshPage(t);
  // What the page (ResNet.preload) started while the worker started, and
  // handed it with the load: the file found in the cache, the download,
  // or nothing, leaving both to the worker; what the page sent the worker
  // before its first load; and the sizes of the Blobs the page read.
  await page.addInitScript(() => {
    const read = Blob.prototype.arrayBuffer;
    window.blobsRead = [];
    Blob.prototype.arrayBuffer = function () {
      window.blobsRead.push(this.size);
      return read.call(this);
    };
    const Started = window.Worker;
    window.enginesStarted = 0; // not counting the pool's
    window.Worker = class extends Started {
      constructor(url, options) {
        super(url, options);
        if (options?.name === 'resnet') window.enginesStarted++;
      }
    };
    const post = Worker.prototype.postMessage;
    window.sent = [];
    Worker.prototype.postMessage = function (msg, ...rest) {
      if (msg?.op === 'load') window.preread = msg.preread ? Object.keys(msg.preread).sort().join(',') : 'nothing';
      if (!window.preread) window.sent.push(msg.cached ? `cached ${msg.cached.blob.size}` : Object.keys(msg)[0]);
      return post.call(this, msg, ...rest);
    };
  });
  await openApp(page, server.url);
  assert.equal(weightRequests.length, 1, 'the first visit downloads the weights once');
  assert.match(await page.textContent('#load-text'), /downloaded/);
  assert.equal(await page.evaluate(() => window.preread), 'body,key,startedAt', 'the page did not start the download');
  assert.equal(await page.evaluate(() => window.enginesStarted), 1, 'the page started more than one engine for its model');
  assert.match(await page.textContent('#load-steps'), /^worker start\s[\d.]+ m?s alongside download\s[\d.]+ m?s · integrity check\s[\d.]+ m?s during the download · parse\s[\d.]+ m?s · build\s[\d.]+ m?s, done [\d.]+ m?s after the download/);
  await classifyOne(page, 'first-visit.png');

  await page.reload();
  assert.match(await waitReady(page), /from this browser’s cache/);
  assert.equal(weightRequests.length, 1, `the reload requested weights again: ${weightRequests}`);
  assert.equal(await page.evaluate(() => window.preread), 'blob,key,startedAt', 'the page did not find the cached file');
  // The worker read the file while the engine compiled, not the page.
  const sent = await page.evaluate(() => window.sent);
  const cached = sent.find((m) => m.startsWith('cached'));
  assert.deepEqual(sent.map((m) => m.split(' ')[0]).slice(0, 3), ['wasmExec', 'cached', 'module'], `the page sent ${sent}`);
  assert.ok(!(await page.evaluate(() => window.blobsRead)).includes(Number(cached.split(' ')[1])), 'the page read the cached file itself');
  assert.equal(await page.evaluate(() => window.enginesStarted), 1, 'the page started more than one engine for its model');
  assert.match(await page.textContent('#load-text'), /, [\d.]+ m?s after the page opened\.$/);
  assert.match(await page.textContent('#load-steps'), /^worker start\s[\d.]+ m?s alongside cache read\s[\d.]+ m?s · parse\s[\d.]+ m?s · build\s[\d.]+ m?s · integrity check\s[\d.]+ m?s after the build( · other workers|$)/);
  await classifyOne(page, 'cached-visit.png');
  assert.match(await page.textContent('#cache-text'), /^Weights cache: \d+(\.\d)? MB \(1 model\) · site storage [\d.]+ [kMG]B of [\d.]+ [kMG]B$/);

  // Files are stored as Blobs; one stored as a Uint8Array by an earlier
  // version of the page is still used.
  const [key] = await storedKeys(page, 'files');
  await changeStored(page, 'files', key, async (blob) => {
    if (!(blob instanceof Blob)) throw new Error(`stored as ${blob?.constructor?.name}, not as a Blob`);
    return new Uint8Array(await blob.arrayBuffer());
  });
  await page.reload();
  assert.match(await waitReady(page), /from this browser’s cache/);
  assert.equal(weightRequests.length, 1, 'a file stored as a Uint8Array was downloaded again');
  assert.equal(await page.evaluate(() => window.preread), 'nothing', 'the page read a file it does not store that way');
  await classifyOne(page, 'cached-uint8array.png');
});

test('a damaged cache entry is deleted and fetched again, and stale versions go', async (t) => {
  const { page, weightRequests } = await freshPage(t);
  await openApp(page, server.url);
  const [key] = await storedKeys(page, 'files');
  assert.match(key, /^fashion-resnet18@[0-9a-f]{64}$/);

  // Flip bytes in the middle of the stored weights, and store an older
  // "version" of the same model next to them.
  await changeStored(page, 'files', key, async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 64; i++) bytes[i] ^= 0xff;
    return new Blob([bytes]);
  });
  const staleKey = 'fashion-resnet18@' + '0'.repeat(64);
  await changeStored(page, 'files', staleKey, () => new Blob([new Uint8Array(16)]));
  await changeStored(page, 'entries', staleKey, () => ({ name: 'fashion-resnet18', sha256: '0'.repeat(64), bytes: 16, storedAt: 0 }));

  await page.reload();
  await waitReady(page);
  assert.equal(weightRequests.length, 2, 'the damaged weights were not downloaded again');
  assert.match(await page.textContent('#notices'), /cached weights were damaged/);
  assert.deepEqual(await storedKeys(page, 'files'), [key], 'the stale version is still stored');
  assert.deepEqual(await storedKeys(page, 'entries'), [key]);
  await screenshot(page, 'desktop-cache-repaired');
  await classifyOne(page, 'after-repair.png');

  // The repaired entry is good: the next reload uses it.
  await page.reload();
  assert.match(await waitReady(page), /from this browser’s cache/);
  assert.equal(weightRequests.length, 2);
});

// The engine's copy in IndexedDB (site/engine-code.js).
const ENGINE_DB = 'resnet-engine';
const ENGINE_STORE = 'code';

/** Waits until the page has stored a copy of the engine that hashes to its name; returns the name. */
async function storedEngine(page) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const name = await page.evaluate(async ({ database, store }) => {
      // Opening the database before the page has would create it without its store.
      if (!(await indexedDB.databases()).some((d) => d.name === database)) return null;
      const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
      const db = await request(indexedDB.open(database));
      try {
        const names = await request(db.transaction(store).objectStore(store).getAllKeys());
        if (names.length !== 1) return null;
        const blob = await request(db.transaction(store).objectStore(store).get(names[0]));
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
        const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
        return hex.startsWith(names[0].split('.').at(-2)) ? names[0] : null;
      } finally {
        db.close();
      }
    }, { database: ENGINE_DB, store: ENGINE_STORE });
    if (name) return name;
    assert.ok(Date.now() < deadline, 'no intact copy of the engine was stored within 30 s');
    await page.waitForTimeout(250);
  }
}

test('a reload compiles the engine from its copy in IndexedDB; a damaged copy is replaced, and clearing drops it', async (t) => {
  const { page } = await freshPage(t);
  const engineRequests = [];
  page.on('request', (r) => { if (r.url().endsWith('.wasm')) engineRequests.push(r.url()); });
  await openApp(page, server.url);
  const name = await storedEngine(page);
  assert.match(name, /^resnet-simd\.[0-9a-f]{10}\.wasm$/);

  // With the engine's URL refused, a reload still starts: from the copy.
  await page.route('**/*.wasm', (route) => route.abort());
  await page.reload();
  assert.match(await waitReady(page), /from this browser’s cache/);
  await classifyOne(page, 'engine-copy.png');
  await page.unroute('**/*.wasm');

  // One byte changed: the copy is not used, the engine is fetched again
  // and the copy replaced.
  await changeStored(page, ENGINE_STORE, name, async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    bytes[bytes.length >> 1] ^= 1;
    return new Blob([bytes]);
  }, ENGINE_DB);
  const before = engineRequests.length;
  await page.reload();
  await waitReady(page);
  assert.ok(engineRequests.length > before, 'the damaged copy was used: the engine was not fetched again');
  await classifyOne(page, 'engine-refetched.png');
  assert.equal(await storedEngine(page), name);

  await page.click('#clear-cache');
  await page.waitForFunction(() => /empty/.test(document.getElementById('cache-text').textContent));
  assert.deepEqual(await storedKeys(page, ENGINE_STORE, ENGINE_DB), []);
});

test('with the storage quota used up the app runs uncached and says so', async (t) => {
  const { page, weightRequests } = await freshPage(t);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 1_000_000 });
  // Two workers: without a cache they get the weights from the page, not
  // from the network.
  await openApp(page, `${server.url}?workers=2`);
  await waitWorkers(page, 2);
  assert.match(await page.textContent('#notices'), /not enough storage space to cache the weights/);
  await classifyOne(page, 'uncached.png');
  await screenshot(page, 'desktop-quota-notice');
  await page.reload();
  await waitReady(page);
  assert.equal(weightRequests.length, 2, 'without a cache the reload downloads again');
});

test('the clear button empties the cache', async (t) => {
  const { page } = await freshPage(t);
  await openApp(page, server.url);
  await page.waitForFunction(() => /1 model/.test(document.getElementById('cache-text').textContent));
  await page.click('#clear-cache');
  await page.waitForFunction(() => /empty/.test(document.getElementById('cache-text').textContent));
  assert.deepEqual(await storedKeys(page, 'files'), []);
  assert.ok(await page.isDisabled('#clear-cache'));
  await page.reload();
  assert.match(await waitReady(page), /downloaded/);
});
