// Several Web Workers sharing each image (wasm/pool): the same results as
// one worker, and a page that keeps classifying when a worker crashes or
// is terminated, or when the page is not cross-origin isolated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  appSuite, dropFiles, openApp, pngPayload, resultOf, screenshot, waitWorkers,
} from './harness.mjs';

const app = appSuite('workers');

/** The Playwright handle of the page's pool worker called name. */
async function poolWorker(page, name) {
  for (const w of page.workers()) {
    if (await w.evaluate(() => self.name).catch(() => '') === name) return w;
  }
  throw new Error(`no worker called ${name}`);
}

test('two workers give the same logits as one, for both bundled models', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, `${app.server.url}?workers=2`);
  await waitWorkers(page, 2);
  assert.match(await page.textContent('#load-steps'), / · other workers\s[\d.]+ m?s$/);
  assert.equal(await page.inputValue('#workers-select'), '2');
  await screenshot(page, 'workers-2');
  const pngs = await Promise.all(app.images.map(async (im) => (await pngPayload(im, '')).bytes.toString('base64')));
  for (const model of ['fashion-resnet18', 'fashion-resnet50']) {
    const runs = await page.evaluate(async ({ model, pngs }) => {
      const { ResNet } = await import('./resnet.js');
      const out = {};
      for (const workers of [1, 2]) {
        const clf = await ResNet.load({ model, backend: 'wasm', workers });
        // The first image runs on the coordinator alone while the other
        // workers start; the rest run on all of them.
        const atLoad = clf.workers;
        const results = [];
        for (const [i, png] of pngs.entries()) {
          const blob = new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' });
          const r = await clf.classify(blob, { logits: true });
          results.push({ label: r.top[0].label, logits: [...r.logits], backend: r.backend });
          if (i === 0) await clf.workersReady;
        }
        out[workers] = { atLoad, backend: clf.backend, workers: clf.workers, results };
        clf.dispose();
      }
      return out;
    }, { model, pngs });
    assert.equal(runs[1].workers, 1);
    assert.equal(runs[2].atLoad, 1, 'load waited for the other workers');
    assert.doesNotMatch(runs[2].results[0].backend, /workers/);
    assert.equal(runs[2].workers, 2, `${model} did not start 2 workers: ${runs[2].backend}`);
    assert.match(runs[2].backend, /on 2 workers$/);
    assert.match(runs[2].results[1].backend, /on 2 workers$/);
    app.images.forEach((im, i) => {
      const one = runs[1].results[i], two = runs[2].results[i];
      assert.equal(two.label, im.class, `${model}, image ${im.index}: top-1 with 2 workers`);
      assert.equal(two.logits.length, 10);
      const scale = Math.max(...one.logits.map(Math.abs));
      two.logits.forEach((v, k) => {
        assert.ok(Math.abs(v - one.logits[k]) <= 1e-5 * scale, `${model}, image ${im.index}, logit ${k}: ${v} vs ${one.logits[k]}`);
      });
    });
  }
});

/** Resolves when the Playwright worker handle w has closed (ended or terminated). */
const closed = (w) => new Promise((resolve) => w.once('close', resolve));

// The page's answer to a broken pool: finish every image on the
// coordinator's own copy of the model, say so, terminate the broken pool's
// workers, start fresh ones, and keep working.
async function expectFallback(page, names, brokenClosed) {
  for (const [i, name] of names.entries()) {
    const r = await resultOf(page, name, 60_000);
    assert.equal(r.top1, app.images[i % app.images.length].class, `${name}: ${r.status}`);
  }
  assert.match(await page.textContent('#notices'), /on 2 workers failed \(.+\); classifying with Go WASM SIMD128 instead\./);
  await Promise.race([brokenClosed, sleep(10_000).then(() => { throw new Error('the broken worker was not terminated'); })]);
  await waitWorkers(page, 2);
  assert.match(await page.textContent('#notices'), /The 2 workers are running again\./);
  const after = 'after-fallback.png';
  await dropFiles(page, [await pngPayload(app.images[0], after)]);
  assert.equal((await resultOf(page, after)).top1, app.images[0].class);
  assert.match(await page.textContent('#backend'), /on 2 workers$/);
}

/** Opens the app on two workers; returns the page, its pool worker and a promise of that worker's end. */
async function poolPage(t, allow) {
  const page = await app.newPage(t, undefined, { allow });
  await openApp(page, `${app.server.url}?workers=2`);
  await waitWorkers(page, 2);
  const worker = await poolWorker(page, 'resnet-pool-1');
  return { page, worker, workerClosed: closed(worker) };
}

/** Drops one fixture image per class, named prefix-<index>.png; returns the names. */
async function dropAll(page, prefix) {
  const names = app.images.map((im) => `${prefix}-${im.index}.png`);
  await dropFiles(page, await Promise.all(app.images.map((im, i) => pngPayload(im, names[i]))));
  return names;
}

test('the other workers start only once a slow first image has its answer', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, `${app.server.url}?workers=1`); // no pool of the page's own
  const png = (await pngPayload(app.images[0], '')).bytes.toString('base64');
  const events = await page.evaluate(async (png) => {
    const { ResNet } = await import('./resnet.js');
    const events = [];
    const NativeWorker = window.Worker;
    window.Worker = class extends NativeWorker {
      constructor(url, options) {
        super(url, options);
        if (options?.name?.startsWith('resnet-pool')) events.push('pool started');
      }
    };
    // The first image reaches its worker 1 s late: still being classified
    // past the load's wait for a first image (LATER_WORK_DELAY_MS).
    const post = NativeWorker.prototype.postMessage;
    let held = false;
    NativeWorker.prototype.postMessage = function (msg, transfer) {
      if (msg?.op !== 'classify' || held) return post.call(this, msg, transfer);
      held = true;
      setTimeout(() => {
        events.push('first image sent');
        post.call(this, msg, transfer);
      }, 1000);
    };
    try {
      const clf = await ResNet.load({ model: 'fashion-resnet18', backend: 'wasm', workers: 2 });
      await clf.classify(new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' }));
      await clf.workersReady;
      events.push(`${clf.workers} workers`);
      clf.dispose();
    } finally {
      window.Worker = NativeWorker;
      NativeWorker.prototype.postMessage = post;
    }
    return events;
  }, png);
  assert.deepEqual(events, ['first image sent', 'pool started', '2 workers']);
});

test('a worker that crashes makes the page fall back, then start fresh workers', async (t) => {
  const { page, worker, workerClosed } = await poolPage(t);
  // An uncaught exception in the worker's JavaScript.
  await worker.evaluate(() => { setTimeout(() => { throw new Error('injected crash'); }); });
  await expectFallback(page, await dropAll(page, 'crash'), workerClosed);
  await screenshot(page, 'workers-crashed');
});

test('a worker whose Go program exits (a Go panic, its fatal message posted) is replaced', async (t) => {
  const { page, worker, workerClosed } = await poolPage(t);
  // The worker's next wait for a job (within a second) panics in Go, which
  // ends the Go program as any unrecovered panic or fatal error does:
  // exit code 2, and site/worker.js posts its fatal message.
  await worker.evaluate(() => { Atomics.waitAsync = () => { throw new Error('injected: no waitAsync'); }; });
  await expectFallback(page, await dropAll(page, 'exit'), workerClosed);
});

test('a worker left dead mid-call by an exception through its WebAssembly frames is replaced', async (t) => {
  const { page, worker, workerClosed } = await poolPage(t, /injected: through the frames/);
  // A throwing getter read by Go (Value.Get) unwinds the instance in the
  // middle of a call, as a trap does; the error surfaces as an unhandled
  // rejection, which the page never hears of: only the coordinator's
  // deadline finds that the worker no longer answers.
  await worker.evaluate(() => {
    const waitAsync = Atomics.waitAsync;
    Atomics.waitAsync = (...args) => ({ get async() { throw new Error('injected: through the frames'); }, value: waitAsync(...args).value });
  });
  await expectFallback(page, await dropAll(page, 'unwound'), workerClosed);
});

test('a worker that is slow once (blocked past the deadline, then alive) does not cost the pool for good', async (t) => {
  const { page, worker, workerClosed } = await poolPage(t);
  // Blocks the worker's thread for longer than the coordinator waits for a
  // job (5 s plus 20 times the slowest job): it misses the deadline, but
  // it is not dead.
  await worker.evaluate(() => { setTimeout(() => { const end = Date.now() + 8000; while (Date.now() < end); }); });
  await expectFallback(page, await dropAll(page, 'slow'), workerClosed);
  // Still working on two workers afterwards, image after image.
  for (let i = 0; i < 3; i++) {
    await dropFiles(page, [await pngPayload(app.images[i], `later-${i}.png`)]);
    assert.equal((await resultOf(page, `later-${i}.png`)).top1, app.images[i].class);
  }
  assert.match(await page.textContent('#backend'), /on 2 workers$/);
});

test('a worker that closes itself while images are classified makes the page fall back', async (t) => {
  const { page, worker, workerClosed } = await poolPage(t);
  const names = [];
  for (let i = 0; i < 30; i++) names.push(`term-${i}.png`);
  await dropFiles(page, await Promise.all(names.map((n, i) => pngPayload(app.images[i % app.images.length], n))));
  // The worker ends between two images (its event loop runs only while it
  // waits for the next one): no error event, it just stops answering.
  await worker.evaluate(() => self.close());
  await expectFallback(page, names, workerClosed);
});

test('a worker terminated while a classification is in flight: every image still gets its answer', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, app.server.url);
  const im = app.images[2];
  const png = (await pngPayload(im, '')).bytes.toString('base64');
  const r = await page.evaluate(async (png) => {
    const { ResNet } = await import('./resnet.js');
    const clf = await ResNet.load({ model: 'fashion-resnet50', backend: 'wasm', workers: 2 });
    await clf.workersReady;
    const before = clf.backend;
    const blob = new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' });
    await clf.classify(blob); // warm
    const pending = clf.classify(blob);
    // Reaching into the pool (not an API): kill a worker, with no warning,
    // while the image is on its way through the coordinator and the pool.
    const broken = clf.pool;
    broken.engines[0].worker.terminate();
    const results = [await pending, await clf.classify(blob)];
    const brokenGone = clf.pool !== broken && broken.engines.length === 0;
    clf.dispose();
    return { before, labels: results.map((x) => x.top[0].label), backends: results.map((x) => x.backend), brokenGone };
  }, png);
  assert.match(r.before, /on 2 workers$/);
  assert.deepEqual(r.labels, [im.class, im.class]);
  // The image in flight, or at the latest the next one, found the pool
  // broken and ran on the coordinator's own copy; the broken pool is gone
  // (a fresh one may be starting).
  assert.ok(r.backends.some((b) => !/workers/.test(b)), `backends: ${r.backends}`);
  assert.ok(r.brokenGone, 'the broken pool is still in use');
});

test('a page that is not cross-origin isolated runs one worker and says why', async (t) => {
  const page = await app.newPage(t);
  // Serve the page without the headers that make it cross-origin isolated.
  await page.route('**/*', async (route) => {
    const resp = await route.fetch();
    const headers = { ...resp.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    await route.fulfill({ response: resp, headers });
  });
  await openApp(page, `${app.server.url}?workers=2`);
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
  assert.doesNotMatch(await page.textContent('#backend'), /workers/);
  assert.match(await page.textContent('#notices'), /not cross-origin isolated/);
  await dropFiles(page, [await pngPayload(app.images[1], 'isolated.png')]);
  assert.equal((await resultOf(page, 'isolated.png')).top1, app.images[1].class);
});

test('a browser without Atomics.waitAsync runs one worker and says why', async (t) => {
  const page = await app.newPage(t);
  await page.addInitScript(() => { delete Atomics.waitAsync; });
  await openApp(page, `${app.server.url}?workers=2`);
  assert.doesNotMatch(await page.textContent('#backend'), /workers/);
  assert.match(await page.textContent('#notices'), /lacks Atomics\.waitAsync/);
  await dropFiles(page, [await pngPayload(app.images[3], 'no-wait-async.png')]);
  assert.equal((await resultOf(page, 'no-wait-async.png')).top1, app.images[3].class);
});
