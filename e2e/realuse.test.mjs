// The page under real use: model and worker switches, clears and retries
// at any moment never leave a card pending or show an internal error, and
// the page remembers and refreshes what a person expects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appSuite, dropFiles, openApp, pngPayload, resultOf, storedKeys, throttlingProxy, waitReady } from './harness.mjs';

const app = appSuite('realuse');

// Messages a person must never see on a card: they describe the page's
// own bookkeeping, not their file.
const INTERNAL = /disposed|stopped before it answered|internal error|No model is loaded/;

/** A small seeded random generator (mulberry32), so a failing run can be repeated. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Drops count fixture images named prefix-i.png; returns [{name, class}]. */
async function dropBatch(page, prefix, count, offset = 0) {
  const batch = Array.from({ length: count }, (_, i) => app.images[(i + offset) % app.images.length]);
  const named = batch.map((im, i) => ({ im, name: `${prefix}-${i}.png` }));
  await dropFiles(page, await Promise.all(named.map(({ im, name }) => pngPayload(im, name))));
  return named.map(({ im, name }) => ({ name, class: im.class }));
}

/** Every card on the page, once none is pending (within timeout): [{name, failed, status}]. */
async function settledCards(page, timeout = 120_000) {
  await page.waitForFunction(() => document.querySelectorAll('.result.pending').length === 0, null, { timeout, polling: 250 });
  return page.$$eval('.result', (cards) => cards.map((c) => ({
    name: c.querySelector('.result-name').textContent,
    failed: c.classList.contains('failed'),
    status: c.querySelector('.result-status').textContent,
  })));
}

/** Checks that each dropped image got its class from whichever model ran it. */
async function assertClassified(page, dropped) {
  for (const d of dropped) {
    const r = await resultOf(page, d.name, 120_000);
    assert.ok(!r.failed, `${d.name}: ${r.status}`);
    assert.match(r.status, new RegExp(`^fashion-resnet(18|50) says: ${d.class}$`), d.name);
  }
}

test('a model switch while images classify, after quick worker switches, answers every image', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, `${app.server.url}?workers=2`);
  // 2 -> 1 -> 2 leaves a spare worker parked, which the next switch used to
  // terminate with calls still waiting on it.
  await page.selectOption('#workers-select', '1');
  await page.selectOption('#workers-select', '2');
  await waitReady(page);
  const dropped = await dropBatch(page, 'switch', 10);
  await sleep(150);
  await page.selectOption('#model-select', 'fashion-resnet50');
  await assertClassified(page, dropped);
  const later = await dropBatch(page, 'later', 3, 4);
  await assertClassified(page, later);
});

test('two quick model switches classify every image with a model, never "disposed"', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, app.server.url);
  const dropped = await dropBatch(page, 'quick', 10);
  await page.selectOption('#model-select', 'fashion-resnet50');
  await sleep(150);
  await page.selectOption('#model-select', 'fashion-resnet18');
  await assertClassified(page, dropped);
  for (const c of await settledCards(page)) assert.doesNotMatch(c.status, INTERNAL, c.name);
});

/**
 * Records every result card's last status and state in window.cards, also
 * after "Clear results" took it off the page (its classification goes on).
 */
function trackCards() {
  window.cards = {};
  const follow = (card) => {
    const name = card.querySelector('.result-name').textContent;
    const record = () => {
      window.cards[name] = {
        status: card.querySelector('.result-status').textContent,
        pending: card.classList.contains('pending'),
        failed: card.classList.contains('failed'),
      };
    };
    record();
    new MutationObserver(record).observe(card, { subtree: true, childList: true, characterData: true, attributes: true });
  };
  new MutationObserver((changes) => {
    for (const c of changes) for (const n of c.addedNodes) if (n.classList?.contains('result')) follow(n);
  }).observe(document, { subtree: true, childList: true });
}

test('chaos: batches while models, workers, results and the cache change at random', async (t) => {
  const page = await app.newPage(t);
  await page.addInitScript(trackCards);
  // On the CPU: a backend measurement on SwiftShader stalls animation
  // frames, which the clicks below wait for.
  await openApp(page, `${app.server.url}?workers=2&backend=wasm`);
  const rand = random(20);
  const actions = [
    async () => page.selectOption('#model-select', rand() < 0.5 ? 'fashion-resnet18' : 'fashion-resnet50'),
    async () => page.selectOption('#workers-select', rand() < 0.5 ? '1' : '2'),
    async () => { // a quick there-and-back, which parks a spare worker
      const now = await page.inputValue('#workers-select');
      await page.selectOption('#workers-select', now === '1' ? '2' : '1');
      await page.selectOption('#workers-select', now);
    },
    async () => { if (await page.isVisible('#clear-results')) await page.click('#clear-results'); },
    // Checked and clicked in one step: a cache refresh may disable the
    // button between two steps of Playwright's.
    async () => page.evaluate(() => { const b = document.getElementById('clear-cache'); if (!b.disabled) b.click(); }),
  ];
  for (let round = 0; round < 10; round++) {
    await dropBatch(page, `chaos${round}`, 2 + Math.floor(rand() * 5), round);
    for (let i = 0, n = 1 + Math.floor(rand() * 3); i < n; i++) {
      await sleep(Math.floor(rand() * 400));
      await actions[Math.floor(rand() * actions.length)]();
    }
  }
  // Every card, on the page or cleared from it, ends in a result or a clear message.
  await page.waitForFunction(() => Object.values(window.cards).every((c) => !c.pending), null, { timeout: 180_000, polling: 500 })
    .catch(async () => assert.fail(`cards left pending: ${await page.evaluate(() => JSON.stringify(Object.entries(window.cards).filter(([, c]) => c.pending)))}`));
  const cards = await page.evaluate(() => window.cards);
  assert.ok(Object.keys(cards).length >= 20, 'too few cards were dropped');
  for (const [name, c] of Object.entries(cards)) {
    assert.doesNotMatch(c.status, INTERNAL, name);
    if (!c.failed) assert.match(c.status, /^fashion-resnet(18|50) says: \S/, name);
  }
  await waitReady(page);
  const last = await dropBatch(page, 'final', 5, 2);
  await assertClassified(page, last);
});

test('files dropped while the model cannot download wait for Try again, then classify', async (t) => {
  const page = await app.newPage(t);
  let failing = true;
  await page.context().route('**/*.safetensors', (route) => (failing ? route.abort('connectionrefused') : route.continue()));
  await page.goto(app.server.url);
  await page.waitForFunction(() => document.getElementById('load-status').classList.contains('failed'), null, { timeout: 60_000 });
  const dropped = await dropBatch(page, 'waiting', 2);
  await page.waitForFunction(() => /Try again/.test(document.querySelector('.result .result-status')?.textContent ?? ''));
  failing = false;
  await page.click('#load-retry');
  await assertClassified(page, dropped);
});

test('the last chosen model is remembered across a reload', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, app.server.url);
  await page.selectOption('#model-select', 'fashion-resnet50');
  await waitReady(page, 'fashion-resnet50');
  await page.reload();
  await waitReady(page, 'fashion-resnet50');
  assert.equal(await page.inputValue('#model-select'), 'fashion-resnet50');
});

test('a clear during a download is not undone, and other tabs see the change', async (t) => {
  const page = await app.newPage(t);
  const other = await page.context().newPage();
  // On the CPU: a backend measurement on SwiftShader keeps the GPU process
  // busy for seconds, and animation frames (which Playwright's clicks wait
  // for) wait for it in every tab.
  const slow = await throttlingProxy(app.server.url);
  t.after(() => slow.close());
  const url = `${slow.url}?backend=wasm`;
  await openApp(page, url);
  await page.waitForFunction(() => /\(1 model\)/.test(document.getElementById('cache-text').textContent));
  await openApp(other, url);

  // Slow the download of the other model (24 MB: 6 s), and clear while
  // it runs.
  slow.setRate(4e6);
  await page.selectOption('#model-select', 'fashion-resnet50');
  await page.waitForFunction(() => /Downloading/.test(document.getElementById('load-text').textContent), null, { timeout: 30_000 });
  await page.click('#clear-cache');
  await waitReady(page, 'fashion-resnet50');
  assert.deepEqual(await storedKeys(page, 'files'), [], 'the download was stored after the clear');
  assert.match(await page.textContent('#notices'), /cache was cleared during the download/);
  // The other tab's cache line follows without a reload.
  await other.waitForFunction(() => /Weights cache: empty/.test(document.getElementById('cache-text').textContent), null, { timeout: 10_000 });
});

test('the file picker offers only what the page reads', async (t) => {
  const page = await app.newPage(t);
  await page.goto(app.server.url);
  const accept = (await page.getAttribute('#file-input', 'accept')).split(',');
  assert.ok(!accept.includes('image/*'), 'image/* lets a person pick SVG and AVIF, which the classifier refuses');
  for (const type of ['image/jpeg', 'image/png', 'image/gif', 'image/bmp', 'image/tiff', 'image/webp', '.pth', '.safetensors']) {
    assert.ok(accept.includes(type), type);
  }
});

test('a damaged image gets a plain-language message', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, app.server.url);
  const png = (await pngPayload(app.images[0], 'cut.png')).bytes;
  await dropFiles(page, [{ name: 'cut.png', type: 'image/png', bytes: png.subarray(0, png.length - 40) }]);
  const r = await resultOf(page, 'cut.png');
  assert.ok(r.failed);
  assert.equal(r.status, 'This PNG file is damaged or cut off, so it cannot be read. Try saving the picture again.');
});

test('finished results are announced politely', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, app.server.url);
  const [d] = await dropBatch(page, 'spoken', 1);
  await assertClassified(page, [d]);
  assert.equal(await page.getAttribute('#results-announcer', 'aria-live'), 'polite');
  assert.equal(await page.textContent('#results-announcer'), `${d.name}: ${d.class}`);
});
