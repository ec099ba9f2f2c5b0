// Shared set-up of the browser tests: the app's server, the Fashion-MNIST
// test images, Debian's Chromium, and helpers that act as a user would.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// go.mod asks for Go 1.27, which the go command fetches itself only with
// GOTOOLCHAIN=auto (test.sh sets it; a script run by hand may not).
process.env.GOTOOLCHAIN ??= 'auto';
export const artifacts = fileURLToPath(new URL('artifacts/', import.meta.url));

// Test-set images, one per class, that the bundled models classify
// correctly with a top-1 probability of at least 0.85, both as PNG files and
// through the fake camera's path (checked with the Go engine, classifying
// the gray image and a simulated 320x240 camera frame of it).
export const FIXTURE_INDICES = [0, 1, 2, 7, 8, 9, 10, 13, 18, 19];

// The flags the project runs Chromium with (see the README): headless,
// quiet, WebGPU on SwiftShader for the WebGPU backend.
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic', '--no-first-run', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader',
];

const run = promisify(execFile);

/** A scratch directory removed by the returned cleanup function. */
export async function scratchDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), `resnet-e2e-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Builds the app and serves it: cmd/build-wasm -serve on a free port.
 * E2E_WEIGHTS names another weights folder than the module's weights/.
 */
export async function startServer() {
  const scratch = await scratchDir('dist');
  const bin = join(scratch.dir, 'build-wasm');
  await run('go', ['build', '-o', bin, './cmd/build-wasm'], { cwd: repoRoot });
  const args = ['-out', join(scratch.dir, 'dist'), '-serve', '127.0.0.1:0'];
  if (process.env.E2E_WEIGHTS) args.push('-weights', process.env.E2E_WEIGHTS);
  const proc = spawn(bin, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(proc, 'exit');
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = line.match(/^serving (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    exited.then(([code]) => reject(new Error(`build-wasm exited with ${code} before serving`)));
  });
  return {
    url,
    async close() {
      proc.kill();
      await exited;
      await scratch.remove();
    },
  };
}

/**
 * A slow network in front of the server at url, for tests and benchmarks:
 * an HTTP proxy whose responses share one link of setRate(bytes a second)
 * (Infinity at first), chunk by chunk in the order they come. Chromium's
 * own emulation (CDP Network.emulateNetworkConditions) is not used: in
 * about one visit in ten it never began the page's module and preload
 * requests (no connection was opened), and the page never loaded.
 * Returns {url, setRate, close}.
 */
export async function throttlingProxy(url) {
  const upstream = new URL(url);
  let rate = Infinity;
  let linkFreeAt = 0; // performance.now() when the chunks already sent are through
  const sockets = new Set();
  const proxy = createServer((req, res) => {
    const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, async (up) => {
      res.writeHead(up.statusCode, up.headers);
      try {
        for await (const chunk of up) {
          if (rate !== Infinity) {
            linkFreeAt = Math.max(performance.now(), linkFreeAt) + (chunk.length / rate) * 1000;
            await sleep(linkFreeAt - performance.now());
          }
          res.write(chunk);
        }
        res.end();
      } catch {
        res.destroy();
      }
    });
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy()); // the page cancelled, or the response ended
    req.pipe(out);
  });
  proxy.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    url: `http://127.0.0.1:${proxy.address().port}${upstream.pathname}`,
    setRate(bytesPerSecond) { rate = bytesPerSecond; },
    async close() {
      for (const socket of sockets) socket.destroy();
      proxy.close();
      await once(proxy, 'close');
    },
  };
}

/**
 * Writes the fixture images (PNG, and a Y4M video of each for the fake
 * camera) and returns [{index, label, class, png, y4m}].
 */
export async function fixtureImages(dir) {
  await run('go', ['run', './cmd/fashion-images', '-out', dir, '-index', FIXTURE_INDICES.join(','), '-video', '320x240'], { cwd: repoRoot });
  return JSON.parse(await readFile(join(dir, 'images.json'), 'utf8'));
}

/** The heatmap tests' photo: 451x300, a cat. */
export const CAM_PHOTO = join(repoRoot, 'engine/preprocess/testdata/chelsea.png');

/**
 * Fills weightsDir with the bundled default model and e2e/make_cam_model.py's
 * seeded ImageNet-size ResNet-18s (at 224 and at 112), and writes into
 * outDir PyTorch's maps for CAM_PHOTO (cams.json) and a portrait cut of it.
 */
export async function camModelWeights(weightsDir, outDir) {
  const manifest = JSON.parse(await readFile(join(repoRoot, 'weights/manifest.json'), 'utf8'));
  manifest.models = manifest.models.filter((m) => m.default);
  for (const m of manifest.models) await copyFile(join(repoRoot, 'weights', m.file), join(weightsDir, m.file));
  for (const f of ['fashion-mnist-classes.txt', 'imagenet-classes.txt']) await copyFile(join(repoRoot, 'weights', f), join(weightsDir, f));
  await writeFile(join(weightsDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  await run('/usr/bin/python3', ['e2e/make_cam_model.py', outDir, CAM_PHOTO, weightsDir], { cwd: repoRoot });
}

/**
 * Sets up a test file of the app: before its tests, the app built and
 * served, the fixture images written and Chromium started; after them, all
 * of it gone. Returns {server, images, browser} (filled in before the first
 * test) and newPage(t, viewport?, {allow}?), which opens a page in a fresh
 * browser context that closes when test t ends and fails t on any uncaught
 * error in the page but those allow matches.
 */
export function appSuite(name) {
  const app = {
    // allow: a RegExp of the uncaught errors a test injects on purpose.
    async newPage(t, viewport = { width: 1280, height: 900 }, { allow } = {}) {
      const context = await app.browser.newContext({ viewport });
      t.after(() => context.close());
      const page = await context.newPage();
      page.on('pageerror', (e) => {
        if (!allow?.test(e.message)) assert.fail(`uncaught error in the page: ${e.message}`);
      });
      return page;
    },
  };
  let scratch;
  before(async () => {
    scratch = await scratchDir(name);
    [app.server, app.images, app.browser] = await Promise.all([startServer(), fixtureImages(scratch.dir), launchChromium()]);
  });
  after(async () => {
    await app.browser?.close();
    await app.server?.close();
    await scratch?.remove();
  });
  return app;
}

/** Launches Chromium headless; extraArgs adds flags such as a fake camera. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_FLAGS, ...extraArgs] });
}

/**
 * Launches Chromium headless on a profile kept in userDataDir, as a
 * person's browser is: unlike a context of launchChromium, its HTTP cache
 * is on disk and V8 keeps compiled code (the engine's included) across
 * visits. Returns the one browser context.
 */
export function launchChromiumProfile(userDataDir, extraArgs = []) {
  return chromium.launchPersistentContext(userDataDir, { executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_FLAGS, ...extraArgs] });
}

/** Opens the app in page and waits until a model is ready. */
export async function openApp(page, url) {
  await page.goto(url);
  await waitReady(page);
}

/**
 * Waits until the model panel says a model (or the given one) is ready and
 * returns what it says; fails on a load error.
 */
export async function waitReady(page, model = '') {
  await page.waitForFunction((model) => {
    const text = document.getElementById('load-text').textContent;
    if (document.getElementById('load-status').classList.contains('failed')) throw new Error(text);
    return text.startsWith(`Ready: ${model}`);
  }, model, { timeout: 60_000 });
  return page.textContent('#load-text');
}

/**
 * Drops files on the drop zone through real dragenter, dragover and drop
 * events carrying a DataTransfer; the Files are made in the page from the
 * bytes of files = [{name, type, bytes: Buffer}].
 */
export async function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: f.name, type: f.type, base64: f.bytes.toString('base64') }));
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const zone = document.getElementById('drop-zone');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, payload);
}

/**
 * Waits for the result card of the file called name and returns what it
 * shows: {top1, status, failed}.
 */
export async function resultOf(page, name, timeout = 30_000) {
  const card = page.locator('.result', { has: page.locator('.result-name', { hasText: name }) });
  await card.and(page.locator(':not(.pending)')).waitFor({ timeout });
  const failed = await card.evaluate((el) => el.classList.contains('failed'));
  return {
    failed,
    status: await card.locator('.result-status').textContent(),
    top1: failed ? null : await card.locator('.bar.top .bar-label').textContent(),
  };
}

/** Saves a screenshot of page as e2e/artifacts/name.png. */
export async function screenshot(page, name) {
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Reads a fixture image as a drop payload under a new name. */
export async function pngPayload(image, name) {
  return { name, type: 'image/png', bytes: await readFile(image.png) };
}

/**
 * Changes the value stored under key in a store of the weight cache (or of
 * another database of the page's): change(value) returns the new one (it
 * may be async, e.g. to read a Blob). Reads and writes in two
 * transactions, as IndexedDB ends one that waits.
 */
export function changeStored(page, store, key, change, database = 'resnet-weights') {
  return page.evaluate(async ({ store, key, change, database }) => {
    const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    const db = await request(indexedDB.open(database));
    const value = await request(db.transaction(store).objectStore(store).get(key));
    const changed = await (0, eval)(change)(value);
    await request(db.transaction(store, 'readwrite').objectStore(store).put(changed, key));
    db.close();
  }, { store, key, change: change.toString(), database });
}

/** Waits until the page's backend chip says the classifier runs on n workers. */
export async function waitWorkers(page, n) {
  await page.waitForFunction((n) => document.getElementById('backend').textContent.endsWith(` on ${n} workers`), n, { timeout: 60_000 });
}

/**
 * The keys of one object store of the weight cache's IndexedDB (or of
 * another database of the page's), read in page.
 */
export function storedKeys(page, store, database = 'resnet-weights') {
  return page.evaluate(({ store, database }) => new Promise((resolve, reject) => {
    const open = indexedDB.open(database);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const req = open.result.transaction(store).objectStore(store).getAllKeys();
      req.onsuccess = () => { open.result.close(); resolve(req.result); };
      req.onerror = () => reject(req.error);
    };
  }), { store, database });
}
