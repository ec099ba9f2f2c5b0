// Measures the browser app in Debian's headless Chromium: time from
// navigation to the first result on a first visit and on a cached reload,
// for each bundled model and for an ImageNet-sized ResNet-50 (98 MB,
// float32, the browser benchmark's seeded one), with where the load's time
// went; then each bundled model's per-image latency through resnet.js.
//
//   (cd e2e && npm ci) && node bench/app_latency.mjs [runs] [--plain] [--profile] [--throttled-runs N] [--models a,b]
//
// Every run is a fresh browser context (an empty IndexedDB): a first visit,
// then, once the page has settled, a reload. --profile runs each in a
// fresh profile kept on disk instead, as a person's browser is: its HTTP
// cache is on disk and V8 keeps the engine's compiled code for the reload.
// --plain answers resnet.js's SIMD probe with false, as a browser without
// WebAssembly SIMD would, so that the plain build runs.
// First visits are also timed with the network throttled to 50 Mbit/s
// (the harness's throttlingProxy: every request, the worker's too, shares
// one link of that speed).
// Prints Markdown tables of medians. Uses the e2e harness.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  dropFiles, fixtureImages, launchChromium, launchChromiumProfile, pngPayload, repoRoot, resultOf, scratchDir, startServer, throttlingProxy,
  waitReady,
} from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const PLAIN = args.includes('--plain');
const PROFILE = args.includes('--profile');
const RUNS = Number(args.find((a) => /^\d+$/.test(a)) ?? 10);
const THROTTLED_RUNS = Number(args[args.indexOf('--throttled-runs') + 1] || 3);
const ALL_MODELS = ['fashion-resnet18', 'fashion-resnet50', 'imagenet-resnet50'];
const MODELS = args.includes('--models') ? args[args.indexOf('--models') + 1].split(',') : ALL_MODELS;
const WARMUP = 10; // V8 runs new code in its baseline tier first
const THROTTLE = 50e6 / 8; // 50 Mbit/s in bytes per second
// How long a person looks at the first visit's result before coming back,
// after Auto's measurement of WebGPU against the CPU has ended (on
// SwiftShader it keeps the GPU process busy for seconds, and a reload
// meanwhile waits for it). V8 stores the engine's compiled code in the
// profile once enough of it has been optimised, after the first result: a
// reload at once found less of it (its compile took up to 230 ms longer
// than a later reload's).
const LOOK_MS = 3000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
const fmt = (ms) => (ms === undefined ? '–' : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);

// The ImageNet-sized model: bench/export_models.py's seeded ResNet-50,
// served next to the bundled models from a weights folder of its own.
async function weightsWithImageNetModel(dir) {
  const models = join(repoRoot, 'bench/models');
  if (!existsSync(join(models, 'resnet50.safetensors'))) {
    console.error('exporting the seeded resnet50 ...');
    await promisify(execFile)('/usr/bin/python3', [join(repoRoot, 'bench/export_models.py'), '--out', models, 'resnet50'], { cwd: repoRoot });
  }
  const manifest = JSON.parse(await readFile(join(repoRoot, 'weights/manifest.json'), 'utf8'));
  for (const m of manifest.models) await copyFile(join(repoRoot, 'weights', m.file), join(dir, m.file));
  for (const f of new Set(manifest.models.map((m) => m.labels).concat('imagenet-classes.txt'))) {
    await copyFile(join(repoRoot, 'weights', f), join(dir, f));
  }
  await copyFile(join(models, 'resnet50.safetensors'), join(dir, 'imagenet-resnet50.safetensors'));
  const bytes = await readFile(join(dir, 'imagenet-resnet50.safetensors'));
  manifest.models.push({
    name: 'imagenet-resnet50', arch: 'resnet50', variant: 'v1.5', classes: 1000, input_size: 224, resize: 256, crop: 224,
    mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], labels: 'imagenet-classes.txt', dtype: 'F32',
    file: 'imagenet-resnet50.safetensors', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), accuracy: 0,
    source: 'bench/export_models.py: a seeded torchvision model with random weights, for timing only',
  });
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

const scratch = await scratchDir('bench');
const weightsDir = await scratchDir('bench-weights');
await weightsWithImageNetModel(weightsDir.dir);
process.env.E2E_WEIGHTS = weightsDir.dir;
const [server, images, browser] = await Promise.all([startServer(), fixtureImages(scratch.dir), launchChromium()]);
const network = await throttlingProxy(server.url);
network.setRate(THROTTLE);
const png = await pngPayload(images[0], 'x.png');

/**
 * One fresh context: a first visit with model chosen (as a person who chose
 * it before), then, unless firstOnly, a reload. Returns per visit the time
 * from navigation to the first result and the load's timings.
 */
async function visits(model, { throttle = false, firstOnly = false } = {}) {
  const profile = PROFILE ? await scratchDir('profile') : null;
  const context = profile ? await launchChromiumProfile(profile.dir) : await browser.newContext();
  try {
    await context.addInitScript((model) => localStorage.setItem('resnet.model', model), model);
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
    const page = context.pages()[0] ?? await context.newPage();
    const out = {};
    for (const visit of firstOnly ? ['first'] : ['first', 'reload']) {
      await (visit === 'first' ? page.goto(throttle ? network.url : server.url) : page.reload());
      await dropFiles(page, [{ ...png, name: `${visit}.png` }]);
      await resultOf(page, `${visit}.png`, 300_000);
      await waitReady(page, model);
      out[visit] = {
        toResult: await page.evaluate(() => window.firstResultAt),
        // The page shows the steps since issue 15; before, there are none.
        ...JSON.parse(await page.evaluate(() => document.getElementById('load-steps')?.dataset.timings ?? '{}')),
      };
      if (visit === 'first' && !firstOnly) {
        await page.waitForFunction(() => !document.getElementById('backend-choice-text').textContent.startsWith('Measuring'), null, { timeout: 120_000 });
        await page.waitForTimeout(LOOK_MS);
      }
    }
    out.engine = await page.textContent('#backend');
    return out;
  } finally {
    await context.close();
    await profile?.remove();
  }
}

const STEPS = ['start', 'cacheRead', 'download', 'verify', 'parse', 'build', 'afterDownload', 'workers'];
const stepTable = [];
const addRow = (what, samples) => {
  const med = (k) => {
    const values = samples.map((s) => s[k]).filter((v) => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  stepTable.push(`| ${what} | ${fmt(med('toResult'))} | ${STEPS.map((k) => fmt(med(k))).join(' | ')} |`);
};

try {
  let engine = '';
  for (const model of MODELS) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await visits(model));
    engine = runs[0].engine;
    addRow(`${model}: first visit, unthrottled`, runs.map((r) => r.first));
    addRow(`${model}: cached reload`, runs.map((r) => r.reload));
    const slow = [];
    for (let i = 0; i < THROTTLED_RUNS; i++) slow.push(await visits(model, { throttle: true, firstOnly: true }));
    addRow(`${model}: first visit at 50 Mbit/s`, slow.map((r) => r.first));
  }
  const where = PROFILE ? 'a fresh profile on disk each' : 'a fresh context each';
  console.log(`Time from navigation to the first result, and the load's steps (resnet.js loadTimings); medians of ${RUNS} runs (${THROTTLED_RUNS} throttled), ${where}; ${engine}.`);
  console.log('For a cached file verify is the wait for the hash after parse and build, which it runs beside; a download is hashed and built as it arrives: parse and build count the time they ran, afterDownload the time from the last byte to the build\'s end; workers join after the first result (shown when they had joined by then).\n');
  console.log(`| visit | to first result | ${STEPS.join(' | ')} |\n|---|--:|${STEPS.map(() => '--:|').join('')}`);
  console.log(stepTable.join('\n'));

  // Per-image latency of the bundled models, loaded through the API.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await waitReady(page);
  const rows = [];
  const base64 = png.bytes.toString('base64');
  for (const model of MODELS.filter((m) => m.startsWith('fashion-'))) {
    const r = await page.evaluate(async ({ model, base64, runs, warmup }) => {
      const { ResNet } = await import('./resnet.js');
      const clf = await ResNet.load({ model });
      await clf.workersReady;
      const file = new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'x.png', { type: 'image/png' });
      // A webcam-sized frame: the same picture scaled to 320x240.
      const bitmap = await createImageBitmap(file);
      const canvas = new OffscreenCanvas(320, 240);
      canvas.getContext('2d').drawImage(bitmap, 40, 0, 240, 240);
      const frame = canvas.getContext('2d').getImageData(0, 0, 320, 240);
      const out = { file: [], frame: [] };
      for (const [kind, input] of [['file', file], ['frame', frame]]) {
        for (let i = 0; i < warmup + runs; i++) {
          const t = (await clf.classify(input)).timings;
          if (i >= warmup) out[kind].push(t);
        }
      }
      clf.dispose();
      return out;
    }, { model, base64, runs: Math.max(RUNS, 20), warmup: WARMUP });
    for (const kind of ['file', 'frame']) {
      const what = kind === 'file' ? '28x28 PNG file' : '320x240 ImageData';
      const pick = (k) => r[kind].map((t) => t[k]);
      rows.push([`${model}: ${what}, total per image (median / p90)`, `${fmt(median(pick('total')))} / ${fmt(p90(pick('total')))}`]);
      rows.push([`${model}: ${what}, decode / preprocess / inference (median)`,
        `${fmt(median(pick('decode')))} / ${fmt(median(pick('preprocess')))} / ${fmt(median(pick('inference')))}`]);
    }
  }
  await context.close();
  console.log(`\n| per image (${Math.max(RUNS, 20)} runs after ${WARMUP} warm-up) | value |\n|---|---|`);
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
} finally {
  await browser.close();
  await network.close();
  await server.close();
  await scratch.remove();
  await weightsDir.remove();
}
