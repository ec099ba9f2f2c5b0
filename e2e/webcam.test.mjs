// Webcam mode with Chromium's fake camera playing a Y4M video of a
// Fashion-MNIST test image; and a denied and a missing camera.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  dropFiles, fixtureImages, launchChromium, openApp, pngPayload, resultOf, scratchDir, screenshot, startServer,
} from './harness.mjs';

let server, scratch, images;

before(async () => {
  scratch = await scratchDir('webcam');
  [server, images] = await Promise.all([startServer(), fixtureImages(scratch.dir)]);
});

after(async () => {
  await server?.close();
  await scratch?.remove();
});

/**
 * Opens the app on the webcam tab, in a browser launched with flags and
 * closed when test t ends.
 */
async function webcamPage(t, flags) {
  const browser = await launchChromium(flags);
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => assert.fail(`uncaught error in the page: ${e.message}`));
  await openApp(page, server.url);
  await page.click('#tab-webcam');
  return page;
}

test('the live top-1 of the camera is the true label of what it shows', async (t) => {
  const im = images[0];
  const page = await webcamPage(t, [
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${im.y4m}`,
  ]);
  await page.click('#webcam-toggle');
  // Let a few frames through so that frames per second have a value.
  await page.waitForFunction(() => Number(document.getElementById('webcam-fps').textContent) > 0, null, { timeout: 15_000 });
  assert.equal(await page.textContent('#webcam-bars .bar.top .bar-label'), im.class);
  assert.equal(await page.getAttribute('#webcam-toggle', 'aria-pressed'), 'true');
  const transform = await page.$eval('#webcam-video', (v) => getComputedStyle(v).transform);
  assert.equal(transform, 'matrix(-1, 0, 0, 1, 0, 0)', 'the preview is not mirrored');
  assert.match(await page.textContent('#webcam-skipped'), /^\d+$/);
  await screenshot(page, 'desktop-webcam');

  await page.setViewportSize({ width: 375, height: 812 });
  await screenshot(page, 'phone-webcam');

  await page.click('#webcam-toggle');
  assert.equal(await page.getAttribute('#webcam-toggle', 'aria-pressed'), 'false');
  assert.ok(await page.isVisible('#webcam-placeholder'));
});

for (const { name, flags, message } of [
  // A camera exists but nobody grants it: headless Chromium denies the prompt.
  { name: 'denied', flags: ['--use-fake-device-for-media-stream'], message: /Camera access was denied/ },
  { name: 'missing', flags: [], message: /No camera was found/ },
]) {
  test(`a ${name} camera is explained and the page keeps working`, async (t) => {
    const page = await webcamPage(t, flags);
    await page.click('#webcam-toggle');
    await page.waitForSelector('#webcam-error:not([hidden])');
    assert.match(await page.textContent('#webcam-error'), message);
    assert.equal(await page.getAttribute('#webcam-toggle', 'aria-pressed'), 'false');
    await screenshot(page, `desktop-camera-${name}`);

    await page.click('#tab-images');
    const im = images[1];
    await dropFiles(page, [await pngPayload(im, `after-camera-${name}.png`)]);
    assert.equal((await resultOf(page, `after-camera-${name}.png`)).top1, im.class);
  });
}
