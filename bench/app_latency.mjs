// Measures the browser app in Debian's headless Chromium: time to the first
// result on a first visit and on a cached reload, and the per-image latency
// of each bundled model through resnet.js.
//
//   (cd e2e && npm ci) && node bench/app_latency.mjs [runs] [--plain]
//
// --plain answers resnet.js's SIMD probe with false, as a browser without
// WebAssembly SIMD would, so that the plain build runs. Prints a Markdown
// table. Uses the e2e harness (server, fixtures, browser).
import { readFile } from 'node:fs/promises';
import {
  dropFiles, fixtureImages, launchChromium, pngPayload, resultOf, scratchDir, startServer, waitReady,
} from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const PLAIN = args.includes('--plain');
const RUNS = Number(args.find((a) => /^\d+$/.test(a)) ?? 50);
const WARMUP = 10; // V8 runs new code in its baseline tier first

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

const scratch = await scratchDir('bench');
const [server, images, browser] = await Promise.all([startServer(), fixtureImages(scratch.dir), launchChromium()]);
try {
  const rows = [];

  // First visit (empty IndexedDB), then a reload in the same context.
  const context = await browser.newContext();
  if (PLAIN) {
    await context.addInitScript(() => {
      const validate = WebAssembly.validate;
      WebAssembly.validate = (bytes) => (bytes.byteLength === 31 ? false : validate(bytes));
    });
  }
  // Records when the first result card is filled, in ms since navigation.
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('.result:not(.pending)')) {
        window.firstResultAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  const page = await context.newPage();
  for (const [visit, what] of [['first', 'first visit (download, verify, build, classify)'], ['reload', 'cached reload']]) {
    await (visit === 'first' ? page.goto(server.url) : page.reload());
    await dropFiles(page, [await pngPayload(images[0], `${visit}.png`)]);
    await resultOf(page, `${visit}.png`, 120_000);
    rows.push([`time from navigation to the first result, ${what}`, fmt(await page.evaluate(() => window.firstResultAt))]);
  }
  rows.push(['engine', await page.textContent('#backend')]);
  await waitReady(page);

  const models = await page.evaluate(async () => (await (await fetch('manifest.json')).json()).models.map((m) => m.name));
  const png = (await readFile(images[0].png)).toString('base64');
  for (const model of models) {
    const r = await page.evaluate(async ({ model, png, runs, warmup }) => {
      const { ResNet } = await import('./resnet.js');
      const loadStart = performance.now();
      const clf = await ResNet.load({ model });
      const load = performance.now() - loadStart;
      const file = new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], 'x.png', { type: 'image/png' });
      // A webcam-sized frame: the same picture scaled to 320x240.
      const bitmap = await createImageBitmap(file);
      const canvas = new OffscreenCanvas(320, 240);
      canvas.getContext('2d').drawImage(bitmap, 40, 0, 240, 240);
      const frame = canvas.getContext('2d').getImageData(0, 0, 320, 240);
      const out = { load, loadTimings: clf.loadTimings, file: [], frame: [] };
      for (const [kind, input] of [['file', file], ['frame', frame]]) {
        for (let i = 0; i < warmup + runs; i++) {
          const t = (await clf.classify(input)).timings;
          if (i >= warmup) out[kind].push(t);
        }
      }
      clf.dispose();
      return out;
    }, { model, png, runs: RUNS, warmup: WARMUP });
    rows.push([`${model}: load from cache, total (worker start, IndexedDB read, verify, build)`, fmt(r.load)]);
    rows.push([`${model}: load from cache, IndexedDB read + SHA-256 / parse + fold + pack`, `${fmt(r.loadTimings.weights)} / ${fmt(r.loadTimings.build)}`]);
    for (const kind of ['file', 'frame']) {
      const what = kind === 'file' ? '28x28 PNG file' : '320x240 ImageData';
      const pick = (k) => r[kind].map((t) => t[k]);
      rows.push([`${model}: ${what}, total per image (median / p90)`, `${fmt(median(pick('total')))} / ${fmt(p90(pick('total')))}`]);
      rows.push([`${model}: ${what}, decode / preprocess / inference (median)`,
        `${fmt(median(pick('decode')))} / ${fmt(median(pick('preprocess')))} / ${fmt(median(pick('inference')))}`]);
    }
  }
  console.log(`| measurement (${RUNS} runs after ${WARMUP} warm-up) | value |\n|---|---|`);
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
} finally {
  await browser.close();
  await server.close();
  await scratch.remove();
}
