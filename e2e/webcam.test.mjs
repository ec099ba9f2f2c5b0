// Webcam mode with Chromium's fake camera playing a Y4M video of a
// Fashion-MNIST test image; and a denied and a missing camera.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  artifacts, dropFiles, fixtureImages, launchChromium, openApp, pngPayload, resultOf, scratchDir, screenshot, startServer,
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
 * closed when test t ends; init, a function, runs in the page before its
 * scripts.
 */
async function webcamPage(t, flags, init, query = '') {
  const browser = await launchChromium(flags);
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => assert.fail(`uncaught error in the page: ${e.message}`));
  if (init) await page.addInitScript(init);
  await openApp(page, server.url + query);
  await page.click('#tab-webcam');
  return page;
}

const fakeCamera = (im) => [
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${im.y4m}`,
];

/**
 * Runs in the page before its scripts: makes getUserMedia wait
 * window.cameraDelay ms before asking for the camera (a person slow to
 * allow it), keeps every stream it gave in window.cameraStreams, and counts
 * in window.probe what the page does with the camera: appFrames, the
 * requestVideoFrameCallback callbacks of the page's frame loops;
 * probeFrames, the frames the video presented, counted by the test's own
 * loop (startProbe); classifyCalls, the classify requests sent to the
 * engine's worker.
 */
function cameraProbe() {
  window.cameraDelay = 0;
  window.cameraStreams = [];
  window.probe = { appFrames: 0, probeFrames: 0, classifyCalls: 0, inFlight: 0, maxInFlight: 0 };
  const media = navigator.mediaDevices;
  const getUserMedia = media.getUserMedia.bind(media);
  media.getUserMedia = async (constraints) => {
    await new Promise((resolve) => setTimeout(resolve, window.cameraDelay));
    const stream = await getUserMedia(constraints);
    window.cameraStreams.push(stream);
    return stream;
  };
  const rvfc = HTMLVideoElement.prototype.requestVideoFrameCallback;
  HTMLVideoElement.prototype.requestVideoFrameCallback = function (callback) {
    return rvfc.call(this, (...args) => {
      if (callback.isProbe) window.probe.probeFrames++;
      else window.probe.appFrames++;
      return callback(...args);
    });
  };
  window.startProbe = () => {
    const video = document.getElementById('webcam-video');
    const frame = () => video.requestVideoFrameCallback(frame);
    frame.isProbe = true;
    frame();
  };
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, ...rest) {
    if (message?.op === 'classify') {
      const { probe } = window;
      probe.classifyCalls++;
      probe.maxInFlight = Math.max(probe.maxInFlight, ++probe.inFlight);
      const reply = ({ data }) => {
        if (data.id !== message.id || data.type === 'progress') return;
        probe.inFlight--;
        this.removeEventListener('message', reply);
      };
      this.addEventListener('message', reply);
    }
    return post.call(this, message, ...rest);
  };
}

/**
 * What the camera really does and what the page says about it: live, a
 * stream with a live track is shown; tracks, the live tracks of every
 * stream the page got; loops, the frame loops the video element counts
 * (data-frame-loops); and the toggle's text, aria-pressed and focus.
 */
function cameraState(page) {
  return page.evaluate(() => {
    const video = document.getElementById('webcam-video');
    const toggle = document.getElementById('webcam-toggle');
    const live = (s) => s.getTracks().filter((t) => t.readyState === 'live').length;
    return {
      shown: video.srcObject ? live(video.srcObject) : 0,
      tracks: window.cameraStreams.reduce((n, s) => n + live(s), 0),
      loops: video.dataset.frameLoops,
      text: toggle.textContent,
      pressed: toggle.getAttribute('aria-pressed'),
      focused: document.activeElement === toggle,
      ...window.probe,
    };
  });
}

/** Asserts that the camera is off, everywhere, and the toggle says so. */
async function assertOff(page, when) {
  const s = await cameraState(page);
  assert.deepEqual(
    { shown: s.shown, tracks: s.tracks, loops: s.loops, text: s.text, pressed: s.pressed },
    { shown: 0, tracks: 0, loops: '0', text: 'Start camera', pressed: 'false' },
    when,
  );
  assert.ok(await page.isVisible('#webcam-placeholder') || await page.isHidden('#panel-webcam'), `${when}: no placeholder`);
  return s;
}

/** Waits until the camera runs, then asserts that everything says so. */
async function assertRunning(page, when) {
  await page.waitForFunction(() => document.getElementById('webcam-toggle').textContent === 'Stop camera', null, { timeout: 15_000 });
  const s = await cameraState(page);
  assert.deepEqual(
    { shown: s.shown, tracks: s.tracks, loops: s.loops, text: s.text, pressed: s.pressed },
    { shown: 1, tracks: 1, loops: '1', text: 'Stop camera', pressed: 'true' },
    when,
  );
  return s;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('the live top-1 of the camera is the true label of what it shows', async (t) => {
  const im = images[0];
  const page = await webcamPage(t, fakeCamera(im));
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

test('leaving the tab while the camera starts leaves it off, and a click cancels a start', async (t) => {
  const im = images[2];
  const page = await webcamPage(t, fakeCamera(im), cameraProbe);
  await assertOff(page, 'at first');

  // Start, then leave the tab before the camera is allowed.
  await page.evaluate(() => { window.cameraDelay = 1500; });
  await page.click('#webcam-toggle');
  let s = await cameraState(page);
  assert.equal(s.pressed, 'true', 'while starting, the toggle is not pressed');
  assert.notEqual(s.text, 'Start camera', 'while starting, the toggle says Start camera');
  await page.click('#tab-images');
  const left = await assertOff(page, 'just after leaving the tab');
  // The camera would have been up by now: nothing may have come of it.
  await sleep(3000);
  s = await assertOff(page, 'after the start that was in flight completed');
  assert.equal(s.appFrames, left.appFrames, 'frames were handled behind the Images tab');
  assert.equal(s.classifyCalls, left.classifyCalls, 'frames were classified behind the Images tab');
  assert.equal(await page.evaluate(() => window.cameraStreams.length), 1, 'getUserMedia was not called once');

  // Back on the tab, a second click while starting cancels the start.
  await page.click('#tab-webcam');
  await page.click('#webcam-toggle');
  await page.click('#webcam-toggle');
  const cancelled = await assertOff(page, 'just after cancelling');
  await sleep(3000);
  s = await assertOff(page, 'after the cancelled start completed');
  assert.equal(s.appFrames, cancelled.appFrames, 'a cancelled start handled frames');
  assert.equal(s.classifyCalls, cancelled.classifyCalls, 'a cancelled start classified frames');

  // And the camera still starts, once, and classifies what it sees.
  await page.evaluate(() => { window.cameraDelay = 0; });
  await page.click('#webcam-toggle');
  await assertRunning(page, 'after starting again');
  await page.waitForFunction(() => document.querySelector('#webcam-bars .bar.top'), null, { timeout: 15_000 });
  assert.equal(await page.textContent('#webcam-bars .bar.top .bar-label'), im.class);
});

test('quick Stop and Start keep one frame loop and the toggle tells the truth', async (t) => {
  const im = images[0];
  const page = await webcamPage(t, fakeCamera(im), cameraProbe);
  await page.click('#webcam-toggle');
  await assertRunning(page, 'after the first start');
  for (let i = 0; i < 10; i++) {
    await page.click('#webcam-toggle');
    await assertOff(page, `after stop ${i + 1}`);
    await page.click('#webcam-toggle');
    const s = await cameraState(page);
    // Starting (asked for, not yet live) or already running: pressed either way.
    assert.equal(s.pressed, 'true', `after start ${i + 1}`);
    assert.notEqual(s.text, 'Start camera', `after start ${i + 1}`);
    // Running: shown, with its frame loop. Starting: no frame loop yet (the
    // stream may be attached while play() is pending).
    const expected = s.text === 'Stop camera' ? { shown: 1, loops: '1' } : { shown: s.shown, loops: '0' };
    assert.deepEqual({ shown: s.shown, loops: s.loops }, expected, `after start ${i + 1}, which says ${s.text}`);
    assert.ok(s.tracks <= 1, `after start ${i + 1}: ${s.tracks} live camera tracks`);
    // Every other time the camera comes up before the next stop; otherwise
    // the stop cancels the start or catches it just after.
    if (i % 2 === 0) await assertRunning(page, `after start ${i + 1}`);
  }
  await assertRunning(page, 'after 10 toggles');
  await sleep(500); // let classifications that began before a stop end

  // Over two seconds, the page's callbacks are as many as the frames the
  // video presented (one loop), and no frame is skipped twice.
  await page.evaluate(() => window.startProbe());
  await sleep(300);
  const before = { ...(await cameraState(page)), skipped: Number(await page.textContent('#webcam-skipped')) };
  await sleep(2000);
  const after = { ...(await cameraState(page)), skipped: Number(await page.textContent('#webcam-skipped')) };
  const frames = after.probeFrames - before.probeFrames;
  const appFrames = after.appFrames - before.appFrames;
  const skipped = after.skipped - before.skipped;
  t.diagnostic(`in 2 s: ${frames} frames presented, ${appFrames} frame callbacks, ${skipped} skipped, ${after.classifyCalls - before.classifyCalls} classified`);
  assert.ok(frames >= 10, `only ${frames} frames in 2 s`);
  assert.ok(Math.abs(appFrames - frames) <= 2, `${appFrames} frame callbacks for ${frames} frames: more than one loop`);
  assert.ok(skipped <= frames + 1, `${skipped} frames skipped of ${frames}`);
  assert.equal(after.loops, '1');
  assert.ok(after.classifyCalls > before.classifyCalls, 'no frame was classified');

  await page.click('#webcam-toggle');
  await assertOff(page, 'after the last stop');
  const stopped = await cameraState(page);
  await sleep(1000);
  assert.equal((await cameraState(page)).appFrames, stopped.appFrames, 'a frame loop ran on after the stop');
});

test('on WebGPU the next frame is submitted while the previous one is read back, and every result is the true label', async (t) => {
  const im = images[1];
  const page = await webcamPage(t, fakeCamera(im), cameraProbe, '?backend=webgpu');
  assert.match(await page.textContent('#backend'), /^WebGPU/);
  await page.click('#webcam-toggle');
  await assertRunning(page, 'after the start');
  // Every result shown names what the camera shows.
  await page.evaluate(() => {
    window.labels = [];
    const bars = document.getElementById('webcam-bars');
    new MutationObserver(() => window.labels.push(bars.querySelector('.bar.top .bar-label')?.textContent)).observe(bars, { childList: true });
  });
  await page.waitForFunction(() => window.labels.length >= 6, null, { timeout: 120_000 });
  const s = await cameraState(page);
  const labels = await page.evaluate(() => window.labels);
  const fps = await page.textContent('#webcam-fps');
  t.diagnostic(`${labels.length} results, ${s.classifyCalls} frames sent, at most ${s.maxInFlight} at once; ${fps} frames per second`);
  assert.deepEqual(new Set(labels), new Set([im.class]), `results: ${labels}`);
  assert.equal(s.maxInFlight, 2, 'no frame was submitted while the previous one was in flight');
  assert.ok(Number(fps) > 0, `frames per second: ${fps}`);
  await page.click('#webcam-toggle');
  await assertOff(page, 'after the stop');
});

test('on the CPU engine one frame at a time is classified', async (t) => {
  const page = await webcamPage(t, fakeCamera(images[1]), cameraProbe);
  assert.doesNotMatch(await page.textContent('#backend'), /WebGPU/);
  await page.click('#webcam-toggle');
  await assertRunning(page, 'after the start');
  await page.waitForFunction(() => window.probe.classifyCalls >= 10, null, { timeout: 60_000 });
  assert.equal((await cameraState(page)).maxInFlight, 1);
});

/** Saves e2e/artifacts/name.png: the element selector and 16px around it. */
async function elementShot(page, selector, name) {
  const box = await page.locator(selector).boundingBox();
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), clip: { x: box.x - 16, y: box.y - 16, width: box.width + 32, height: box.height + 32 } });
}

// The focus ring of style.css (--focus), as getComputedStyle writes it.
const focusRing = (page) => page.evaluate(() => {
  const probe = document.body.appendChild(document.createElement('div'));
  probe.style.boxShadow = 'var(--focus)';
  const ring = getComputedStyle(probe).boxShadow;
  probe.remove();
  return ring;
});

test('from the keyboard, the selected tab shows its focus ring and the camera button keeps focus', async (t) => {
  const page = await webcamPage(t, fakeCamera(images[3]), cameraProbe);
  const focused = () => page.evaluate(() => document.activeElement.id);
  const ring = (id) => page.$eval(`#${id}`, (el) => getComputedStyle(el).boxShadow);
  const FOCUS_RING = await focusRing(page);
  assert.match(FOCUS_RING, /^rgba?\(.+\) 0px 0px 0px 3px$/);

  // Arrow keys move to the selected tab: its ring shows over its raised look.
  await page.focus('#tab-webcam');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'tab-webcam');
  assert.equal(await page.getAttribute('#tab-webcam', 'aria-selected'), 'true');
  assert.ok((await ring('tab-webcam')).includes(FOCUS_RING), `the focused selected tab has no focus ring: ${await ring('tab-webcam')}`);
  await elementShot(page, '.tabs', 'focus-selected-tab');

  // Tab reaches the camera button; Space starts the camera, and focus stays
  // on the button while it starts and once it runs.
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'webcam-toggle');
  await page.evaluate(() => { window.cameraDelay = 1500; });
  await page.keyboard.press('Space');
  assert.equal((await cameraState(page)).pressed, 'true', 'Space did not start the camera');
  assert.equal(await focused(), 'webcam-toggle', 'focus left the button while the camera starts');
  assert.ok((await ring('webcam-toggle')).includes(FOCUS_RING), 'the focused camera button has no focus ring');
  await elementShot(page, '#webcam-toggle', 'focus-camera-button-starting');
  await assertRunning(page, 'after Space');
  assert.equal(await focused(), 'webcam-toggle', 'focus left the button once the camera ran');
  await elementShot(page, '#webcam-toggle', 'focus-camera-button-running');

  // Enter stops it, focus staying; Enter again starts it.
  await page.keyboard.press('Enter');
  await assertOff(page, 'after Enter');
  assert.equal(await focused(), 'webcam-toggle');
  await page.evaluate(() => { window.cameraDelay = 0; });
  await page.keyboard.press('Enter');
  await assertRunning(page, 'after Enter again');
  assert.equal(await focused(), 'webcam-toggle');
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
