// The backend chosen by measurement: on SwiftShader, WebGPU measured
// against the CPU loses and the page says both times; a reload uses the
// remembered choice without measuring again (one remembered for another
// GPU is measured again); the person's override
// (WebGPU, CPU) is honoured and remembered, and Auto returns to the
// measurement; a browser without a WebGPU adapter runs the CPU without
// measuring and says why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import {
  appSuite, dropFiles, openApp, pngPayload, resultOf, screenshot, waitReady,
} from './harness.mjs';

const app = appSuite('backend');

const TIME = String.raw`\d+(\.\d+)? (ms|s)`;
const MEASURED = new RegExp(`^WebGPU ${TIME} vs CPU ${TIME} — using the CPU, the faster on this device`);

// Records the op of every request the page sends a worker, so that a test
// can tell whether a load measured (op 'measure'), and when the page asked
// for the WebGPU adapter ('requestAdapter').
const recordOps = () => {
  const post = Worker.prototype.postMessage;
  self.sentOps = [];
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (msg?.op) self.sentOps.push(msg.op);
    return post.call(this, msg, ...rest);
  };
  const request = navigator.gpu?.requestAdapter;
  if (request) {
    navigator.gpu.requestAdapter = function (...args) {
      self.sentOps.push('requestAdapter');
      return request.apply(this, args);
    };
  }
};
const sentOps = (page) => page.evaluate(() => self.sentOps);

/** Waits until the page's choice line has reason (its data-reason) and returns {reason, backend, text}. */
async function choiceLine(page, reason) {
  await page.waitForSelector(`#backend-choice[data-reason="${reason}"]:not([hidden])`, { timeout: 120_000 });
  return page.$eval('#backend-choice', (el) => ({
    reason: el.dataset.reason, backend: el.dataset.backend, text: el.querySelector('#backend-choice-text').textContent,
  }));
}

/** The measurements remembered in this browser: [{key, backend, gpuMs, cpuMs}]. */
const remembered = (page) => page.evaluate(() => Object.keys(localStorage)
  .filter((k) => k.startsWith('resnet.backend-choice:'))
  .map((key) => ({ key, ...JSON.parse(localStorage.getItem(key)) })));

/** What resnet.js's load reports as backendChoice for the page's model, read through the API. */
const apiChoice = (page) => page.evaluate(async () => {
  const { ResNet } = await import('./resnet.js');
  const clf = await ResNet.load({ model: 'fashion-resnet18' });
  try {
    return clf.backendChoice;
  } finally {
    clf.dispose();
  }
});

/** Drops one fixture image and checks its label; returns the card's text. */
async function classifyOne(page, im, name) {
  await dropFiles(page, [await pngPayload(im, name)]);
  const r = await resultOf(page, name, 120_000);
  assert.equal(r.top1, im.class, r.status);
  return page.locator('.result', { has: page.locator('.result-name', { hasText: name }) }).textContent();
}

test('on SwiftShader the measurement picks the CPU, the page says both times, and a reload does not measure again', async (t) => {
  const page = await app.newPage(t);
  await page.addInitScript(recordOps);
  await openApp(page, app.server.url);
  const measured = await choiceLine(page, 'measured');
  assert.equal(measured.backend, 'wasm');
  assert.match(measured.text, MEASURED);
  assert.match(await page.textContent('#backend'), /WASM/);
  assert.equal((await sentOps(page)).filter((op) => op === 'measure').length, 1);
  const [kept] = await remembered(page);
  assert.equal(kept.backend, 'wasm');
  assert.ok(kept.gpuMs > kept.cpuMs, `remembered ${JSON.stringify(kept)}`);
  assert.match(kept.key, /google\/swiftshader.*fashion-resnet18@[0-9a-f]{64}$/);
  assert.match(await classifyOne(page, app.images[0], 'measured.png'), /WASM/);
  await screenshot(page, 'desktop-backend-measured');

  await page.reload();
  await waitReady(page);
  const again = await choiceLine(page, 'remembered');
  assert.equal(again.backend, 'wasm');
  // The same numbers, from the first visit's measurement.
  assert.equal(again.text.split(' — ')[0], measured.text.split(' — ')[0]);
  assert.match(again.text, /measured on an earlier visit/);
  assert.equal((await apiChoice(page)).reason, 'remembered');
  const ops = await sentOps(page);
  assert.ok(!ops.includes('measure'), `ops after the reload: ${ops}`);
  // The remembered choice was made without waiting for the adapter.
  assert.ok(!ops.slice(0, ops.indexOf('load')).includes('requestAdapter'), `ops after the reload: ${ops}`);
  assert.match(await classifyOne(page, app.images[1], 'remembered.png'), /WASM/);

  // Measure again forgets the choice and measures anew.
  await page.click('#backend-remeasure');
  assert.equal((await choiceLine(page, 'measured')).backend, 'wasm');
  assert.equal((await sentOps(page)).filter((op) => op === 'measure').length, 1);
});

test('a choice remembered for another GPU runs at once, and is measured again once the page finds this one', async (t) => {
  const page = await app.newPage(t);
  await page.addInitScript(recordOps);
  await openApp(page, app.server.url);
  await choiceLine(page, 'measured');
  const [kept] = await remembered(page);
  const swiftshader = await page.evaluate(() => JSON.parse(localStorage.getItem('resnet.adapter')));
  assert.match(swiftshader, /google\/swiftshader/);
  // As if the measurement had been made with another GPU, the last one found.
  await page.evaluate(({ key, swiftshader }) => {
    const other = 'other-vendor/other-gpu//An earlier GPU';
    localStorage.setItem(key.replace(swiftshader, other), localStorage.getItem(key));
    localStorage.removeItem(key);
    localStorage.setItem('resnet.adapter', JSON.stringify(other));
  }, { key: kept.key, swiftshader });

  await page.reload();
  await waitReady(page);
  // The load used the other GPU's choice, then found SwiftShader and measured.
  const measured = await choiceLine(page, 'measured');
  assert.equal(measured.backend, 'wasm');
  assert.equal((await sentOps(page)).filter((op) => op === 'measure').length, 1);
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('resnet.adapter'))), swiftshader);
  assert.ok((await remembered(page)).some((r) => r.key === kept.key), 'the new measurement is not remembered for SwiftShader');
  assert.match(await classifyOne(page, app.images[1], 'other-gpu.png'), /WASM/);
});

test('the override to WebGPU is honoured and survives a reload; Auto returns to the remembered measurement', async (t) => {
  const page = await app.newPage(t);
  await page.addInitScript(recordOps);
  await openApp(page, app.server.url);
  const measured = await choiceLine(page, 'measured');

  await page.selectOption('#backend-select', 'webgpu');
  await waitReady(page);
  assert.deepEqual(await choiceLine(page, 'forced'), { reason: 'forced', backend: 'webgpu', text: 'Using WebGPU, as chosen.' });
  assert.match(await page.textContent('#backend'), /^WebGPU/);
  assert.match(await classifyOne(page, app.images[2], 'gpu.png'), /WebGPU/);

  await page.reload();
  await waitReady(page);
  assert.equal(await page.inputValue('#backend-select'), 'webgpu');
  assert.equal((await choiceLine(page, 'forced')).backend, 'webgpu');
  assert.match(await page.textContent('#backend'), /^WebGPU/);
  assert.match(await classifyOne(page, app.images[3], 'gpu-again.png'), /WebGPU/);
  assert.ok(!(await sentOps(page)).includes('measure'), 'a forced backend was measured');

  await page.selectOption('#backend-select', 'wasm');
  await waitReady(page);
  assert.deepEqual(await choiceLine(page, 'forced'), { reason: 'forced', backend: 'wasm', text: 'Using the CPU, as chosen.' });
  assert.match(await page.textContent('#backend'), /WASM/);

  await page.selectOption('#backend-select', 'auto');
  await waitReady(page);
  const auto = await choiceLine(page, 'remembered');
  assert.equal(auto.text.split(' — ')[0], measured.text.split(' — ')[0]);
  assert.match(await page.textContent('#backend'), /WASM/);
  assert.equal(await page.evaluate(() => localStorage.getItem('resnet.backend')), null);
  assert.ok(!(await sentOps(page)).includes('measure'), 'Auto measured again instead of using the remembered choice');
  await page.reload();
  await waitReady(page);
  assert.equal(await page.inputValue('#backend-select'), 'auto');
  assert.equal((await choiceLine(page, 'remembered')).backend, 'wasm');
});

test('the choice line and the override control at phone width', async (t) => {
  const page = await app.newPage(t, { width: 390, height: 844 });
  await openApp(page, app.server.url);
  await choiceLine(page, 'measured');
  const box = await page.locator('#backend-select').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, `the override control at ${JSON.stringify(box)} leaves the screen`);
  const line = await page.locator('#backend-choice').boundingBox();
  assert.ok(line.x + line.width <= 390, `the choice line at ${JSON.stringify(line)} leaves the screen`);
  await screenshot(page, 'phone-backend-measured');
});

test('without a WebGPU adapter nothing is measured and the CPU runs, saying why', async (t) => {
  // Chromium without the WebGPU flags: here navigator.gpu offers no adapter.
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('pageerror', (e) => assert.fail(`uncaught error in the page: ${e.message}`));
  await page.addInitScript(recordOps);
  await openApp(page, app.server.url);
  const choice = await choiceLine(page, 'fallback');
  assert.equal(choice.backend, 'wasm');
  assert.match(choice.text, /^Using the CPU\. The browser offers no WebGPU adapter, so nothing was measured\.$/);
  assert.match(await page.textContent('#backend'), /WASM/);
  assert.match(await classifyOne(page, app.images[4], 'no-gpu.png'), /WASM/);
  assert.ok(!(await sentOps(page)).includes('measure'), `ops: ${await sentOps(page)}`);
  assert.deepEqual(await remembered(page), []);
  assert.equal((await apiChoice(page)).reason, 'fallback');
  await screenshot(page, 'desktop-backend-no-webgpu');
});
