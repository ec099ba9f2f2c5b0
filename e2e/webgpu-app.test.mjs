// The app on its WebGPU backend (Chromium's WebGPU on SwiftShader here):
// true labels through a real drop, and surviving a lost GPU device without
// a reload. (The automatic choice, by measurement: backend.test.mjs.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appSuite, dropFiles, openApp, pngPayload, resultOf, screenshot, waitReady,
} from './harness.mjs';

const app = appSuite('webgpu-app');

const backendChip = (page) => page.textContent('#backend');
const notices = (page) => page.$$eval('#notices li', (items) => items.map((li) => li.textContent));

test('dropped images get their true labels on the WebGPU backend', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, `${app.server.url}?backend=webgpu`);
  assert.match(await backendChip(page), /^WebGPU/);
  const picked = app.images.slice(0, 4);
  await dropFiles(page, await Promise.all(picked.map((im) => pngPayload(im, `gpu-${im.index}.png`))));
  for (const im of picked) {
    const r = await resultOf(page, `gpu-${im.index}.png`, 120_000);
    assert.equal(r.top1, im.class, `test image ${im.index}: ${r.status}`);
  }
  const card = page.locator('.result', { has: page.locator('.result-name', { hasText: `gpu-${picked[0].index}.png` }) });
  assert.match(await card.textContent(), /WebGPU/);
  await screenshot(page, 'desktop-webgpu-results');
});

test('a lost GPU device falls back to the WASM engine without a reload', async (t) => {
  const page = await app.newPage(t);
  await openApp(page, `${app.server.url}?backend=webgpu`);
  // Keep the device the worker asks for next, then make the page load
  // another model so that it asks.
  const [worker] = page.workers();
  assert.ok(worker, 'no engine worker');
  await worker.evaluate(() => {
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      self.lastGPUDevice = await request.apply(this, args);
      return self.lastGPUDevice;
    };
  });
  await page.selectOption('#model-select', 'fashion-resnet50');
  await waitReady(page, 'fashion-resnet50');
  assert.match(await backendChip(page), /^WebGPU/);
  assert.ok(await worker.evaluate(() => self.lastGPUDevice !== undefined), 'the worker did not ask for a new device');

  await worker.evaluate(() => self.lastGPUDevice.destroy());
  await page.waitForFunction(() => /WASM/.test(document.getElementById('backend').textContent), null, { timeout: 30_000 });
  assert.ok((await notices(page)).some((n) => /GPU was lost/.test(n)), `notices: ${await notices(page)}`);
  // The choice line no longer says WebGPU runs the network.
  assert.equal(await page.getAttribute('#backend-choice', 'data-reason'), 'fallback');
  assert.match(await page.textContent('#backend-choice-text'), /^Using the CPU\. The GPU was lost/);

  const im = app.images[3];
  await dropFiles(page, [await pngPayload(im, 'after-loss.png')]);
  const r = await resultOf(page, 'after-loss.png');
  assert.equal(r.top1, im.class, r.status);
  await screenshot(page, 'desktop-webgpu-lost');
});
