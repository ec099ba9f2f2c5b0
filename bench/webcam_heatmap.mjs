// What the webcam's live heatmap costs the frame rate, in Debian's headless
// Chromium: e2e/make_cam_model.py's seeded 224-pixel ResNet-18, the page's
// worker pool, Chromium's fake 320x240 camera showing a Fashion-MNIST
// picture.
//
//   (cd e2e && npm ci) && node bench/webcam_heatmap.mjs [frames]
//
// A frame's time is the time from one frame's classify request to the next
// (the classification, the bars and the map drawn, then the next video
// frame). Other load on a shared machine moves the rate by more than 10%
// within seconds, so the heatmap is switched every 3 frames and the median
// frame times of the two sets compared: both meet the same load. Runs until
// each set has `frames` frames (60) or 3 minutes have passed. Uses the e2e
// harness.
import { cpus, loadavg } from 'node:os';
import {
  camModelWeights, fixtureImages, launchChromium, openApp, scratchDir, startServer, waitReady,
} from '../e2e/harness.mjs';

const FRAMES = Number(process.argv[2] ?? 60);
const MODEL = 'seeded-resnet18';
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const scratch = await scratchDir('bench-cam');
const weightsDir = await scratchDir('bench-cam-weights');
await camModelWeights(weightsDir.dir, scratch.dir);
process.env.E2E_WEIGHTS = weightsDir.dir;
const [server, images] = await Promise.all([startServer(), fixtureImages(scratch.dir)]);
const browser = await launchChromium([
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${images[2].y4m}`,
]);
const loadBefore = loadavg()[0];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript((model) => localStorage.setItem('resnet.model', model), MODEL);
  const page = await context.newPage();
  await openApp(page, server.url);
  await waitReady(page, MODEL);
  await page.click('#tab-webcam');
  await page.click('#webcam-toggle');
  await page.waitForFunction(() => Number(document.getElementById('webcam-fps').textContent) > 0, null, { timeout: 60_000 });
  await page.waitForTimeout(3000); // the pool's workers join

  // Each classify request's time and whether it asks for the map; every
  // third one switches the heatmap for the frames after it.
  await page.evaluate(() => {
    window.posts = [];
    const toggle = document.getElementById('webcam-heatmap');
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message, ...rest) {
      if (message?.op === 'classify') {
        window.posts.push({ t: performance.now(), cam: Boolean(message.cam) });
        if (window.posts.length % 3 === 0) toggle.click();
      }
      return post.call(this, message, ...rest);
    };
  });
  let cycles;
  for (const started = Date.now(); !cycles || (Math.min(cycles.off.length, cycles.on.length) < FRAMES && Date.now() - started < 180_000);) {
    await page.waitForTimeout(5000);
    const posts = await page.evaluate(() => window.posts);
    cycles = { off: [], on: [] };
    for (let i = 0; i + 1 < posts.length; i++) cycles[posts[i].cam ? 'on' : 'off'].push(posts[i + 1].t - posts[i].t);
  }
  const fps = { off: 1000 / median(cycles.off), on: 1000 / median(cycles.on) };
  const version = browser.version();
  console.log(`${new Date().toISOString().slice(0, 10)}, ${cpus().length}x ${cpus()[0].model}, Chromium ${version}, load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after`);
  console.log(`command: node bench/webcam_heatmap.mjs ${FRAMES}\n`);
  console.log('| heatmap | frames | frames per second (median frame time) |\n|---|--:|--:|');
  console.log(`| off | ${cycles.off.length} | ${fps.off.toFixed(2)} |`);
  console.log(`| on | ${cycles.on.length} | ${fps.on.toFixed(2)} |`);
  const change = 100 * (1 - fps.on / fps.off);
  console.log(`\nwith the heatmap: ${Math.abs(change).toFixed(1)}% ${change >= 0 ? 'slower' : 'faster'}`);
} finally {
  await browser.close();
  await server.close();
  await scratch.remove();
  await weightsDir.remove();
}
