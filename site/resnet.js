// ResNet image classification that runs in the browser: a Go engine
// compiled to WebAssembly, on a Web Worker so the page never freezes, with
// the weights cached in IndexedDB.
//
//   import { ResNet } from './resnet.js';
//   const clf = await ResNet.load({ model: 'fashion-resnet18', onProgress, workers: 2 });
//   const { top, timings } = await clf.classify(fileOrImageOrCanvasOrVideoOrImageData);
//   clf.dispose();
//
// The module finds everything else next to itself: assets.json (the build's
// map from file names to content-hashed ones) and manifest.json (the models).

const base = new URL('.', import.meta.url);

// A module of one function that uses a SIMD instruction (i8x16.popcnt): it
// validates only where WebAssembly SIMD is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** An error with a stable code (see docs/app.md), e.g. 'unsupported-image'. */
export class ResNetError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ResNetError';
    this.code = code;
  }
}

const once = (fn) => { let p; return () => (p ??= fn()); };

async function fetchJSON(name) {
  const resp = await fetch(new URL(name, base));
  if (!resp.ok) throw new ResNetError('network', `Could not load ${name} (${resp.status} ${resp.statusText}).`);
  return resp.json();
}

const assets = once(() => fetchJSON('assets.json'));
const manifest = once(() => fetchJSON('manifest.json'));

const assetURL = async (name) => new URL((await assets())[name], base).href;

// The engine is compiled once and shared by every worker.
const wasmModule = once(async () => {
  const name = WebAssembly.validate(SIMD_PROBE) ? 'resnet-simd.wasm' : 'resnet.wasm';
  return WebAssembly.compileStreaming(fetch(await assetURL(name)));
});

/** One Web Worker running the Go program, with request/reply bookkeeping. */
class Engine {
  static async start(name = 'resnet') {
    const [workerURL, wasmExec, module] = await Promise.all([assetURL('worker.js'), assetURL('wasm_exec.js'), wasmModule()]);
    const engine = new Engine(new Worker(workerURL, { name }));
    engine.worker.postMessage({ wasmExec, module });
    engine.backend = (await engine.ready).backend;
    return engine;
  }

  constructor(worker) {
    this.worker = worker;
    this.nextID = 1;
    this.pending = new Map(); // id -> {resolve, reject, onProgress}
    this.ready = new Promise((resolve, reject) => { this.started = { resolve, reject }; });
    worker.onmessage = ({ data }) => this.receive(data);
    worker.onerror = (e) => this.fail(`The classifier's worker failed: ${e.message || 'it could not be loaded'}.`);
  }

  receive(msg) {
    if (msg.type === 'ready') return this.started.resolve(msg);
    if (msg.type === 'fatal') return this.fail(msg.message);
    if (msg.type === 'backend') return this.onBackend?.(msg); // e.g. the GPU was lost
    const call = this.pending.get(msg.id);
    if (!call) return;
    if (msg.type === 'progress') return call.onProgress?.(msg);
    this.pending.delete(msg.id);
    if (msg.ok) call.resolve(msg.result);
    else call.reject(new ResNetError(msg.error.code, msg.error.message));
  }

  fail(message) {
    this.onFail?.();
    this.dead = new ResNetError('engine', message);
    this.started.reject(this.dead);
    for (const call of this.pending.values()) call.reject(this.dead);
    this.pending.clear();
    this.terminate();
  }

  call(op, args = {}, { transfer = [], onProgress } = {}) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextID++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, op, ...args }, transfer);
    });
  }

  terminate() {
    this.worker.terminate();
    live.delete(this);
    if (idle === this) idle = null;
  }
}

// Workers are reused: a disposed classifier's worker waits for the next
// load, which then skips starting a Go program.
const live = new Set();
let idle = null;

async function acquireEngine() {
  const reused = idle;
  idle = null;
  if (reused) {
    await reused.disposing; // the previous model must be gone before the next load
    if (!reused.dead) return reused;
  }
  const engine = await Engine.start();
  live.add(engine);
  return engine;
}

function releaseEngine(engine) {
  if (engine.dead) return;
  if (idle) engine.terminate();
  else idle = engine;
}

// Cache queries may go to any running worker; Go serves them concurrently.
async function anyEngine() {
  const running = [...live].find((e) => !e.dead);
  if (running) return running;
  const engine = await acquireEngine();
  releaseEngine(engine);
  return engine;
}

// The control words of a pool's shared memory that the page touches
// (wasm/pool/pool.go lays them out): setting abort wakes and stops every
// worker waiting on a job or at a barrier.
const POOL_ABORT = 2;
const POOL_WAITED_WORDS = [0, 4]; // job, barrier phase

/** How many workers load() spreads each image over unless told. */
export const defaultWorkers = () => Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8));

/**
 * Web Workers that share each image: every one holds a slice of each
 * layer and they swap activations through a SharedArrayBuffer (see
 * docs/app.md). The engine that loaded the model coordinates them and
 * takes the first slice itself, from the whole model it keeps to fall
 * back on; the pool starts the other count - 1.
 */
class Pool {
  // file: the weights, when the coordinator could not cache them for the
  // workers to read.
  static async start(coordinator, model, file, count, bytes, onProgress) {
    const pool = new Pool(new SharedArrayBuffer(bytes));
    try {
      // Worker i of the pool is named for its slice, i + 1.
      pool.engines = await Promise.all(Array.from({ length: count - 1 }, (_, i) => Engine.start(`resnet-pool-${i + 1}`)));
      // A worker that crashes would leave the others waiting on it.
      for (const e of pool.engines) e.onFail = () => pool.abort();
      onProgress?.({ phase: 'workers', count });
      await Promise.all(pool.engines.map((e, i) => e.call('joinPool', { model, file, index: i + 1, count, memory: pool.memory })));
      const { backend } = await coordinator.call('usePool', { workers: count, memory: pool.memory });
      pool.backend = backend;
      return pool;
    } catch (e) {
      pool.stop();
      throw e;
    }
  }

  constructor(memory) {
    this.memory = memory;
    this.engines = [];
  }

  get size() { return this.engines.length + 1; } // the coordinator too

  abort() {
    const ctl = new Int32Array(this.memory, 0, 16);
    Atomics.store(ctl, POOL_ABORT, 1);
    for (const word of POOL_WAITED_WORDS) Atomics.notify(ctl, word);
  }

  stop() {
    this.abort();
    for (const e of this.engines) {
      e.onFail = null;
      e.terminate();
    }
    this.engines = [];
  }
}

// Reused between calls: getImageData on a fresh canvas costs more.
let scratch = null;

/** Reads the RGBA pixels of anything drawable, or copies an ImageData's. */
function pixelsOf(input) {
  if (input instanceof ImageData) {
    return { pixels: new Uint8ClampedArray(input.data), width: input.width, height: input.height };
  }
  const [width, height] =
    input instanceof HTMLVideoElement ? [input.videoWidth, input.videoHeight]
    : input instanceof HTMLImageElement ? [input.naturalWidth, input.naturalHeight]
    : [input.width, input.height];
  if (!width || !height) throw new ResNetError('bad-image', 'There is no picture to classify yet (the image or video has not loaded).');
  scratch ??= new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (scratch.canvas.width !== width || scratch.canvas.height !== height) {
    scratch.canvas.width = width;
    scratch.canvas.height = height;
  }
  scratch.drawImage(input, 0, 0);
  try {
    return { pixels: scratch.getImageData(0, 0, width, height).data, width, height };
  } catch (e) {
    throw new ResNetError('bad-image', `The pixels of this picture cannot be read (${e.message}); a picture from another site needs CORS.`);
  }
}

export class ResNet {
  /** The models of manifest.json, as published by the build. */
  static async models() {
    return (await manifest()).models;
  }

  /**
   * Loads a model by name (default: the manifest's default model) and
   * resolves to a classifier. onProgress receives events such as
   * {phase: 'download', loaded, total, backend}; phases are 'engine'
   * (starting the worker), then, with the backend's name, 'cache',
   * 'download', 'verify' and 'build'. backend is 'auto' (WebGPU on a
   * hardware GPU, else WebAssembly), 'webgpu' (WebGPU whenever it works,
   * software renderers too) or 'wasm'; when WebGPU is wanted but cannot
   * run, the classifier's notices say why. workers (default: the number of
   * cores, at most 8) is how many Web Workers share each image on the CPU;
   * more than one needs a cross-origin isolated page.
   */
  static async load({ model, onProgress, backend = 'auto', workers = defaultWorkers() } = {}) {
    onProgress?.({ phase: 'engine' });
    const [models, engine] = await Promise.all([ResNet.models(), acquireEngine()]);
    const entry = model === undefined ? (models.find((m) => m.default) ?? models[0]) : models.find((m) => m.name === model);
    try {
      if (!entry) throw new ResNetError('bad-request', `Unknown model ${model}; known: ${models.map((m) => m.name).join(', ')}.`);
      const withURL = { ...entry, url: new URL(entry.url, base).href };
      // A pool needs SharedArrayBuffer (cross-origin isolation) and
      // Atomics.waitAsync (its workers wait for images without blocking).
      const noPool = !self.crossOriginIsolated ? 'This page is not cross-origin isolated'
        : typeof Atomics.waitAsync !== 'function' ? 'This browser lacks Atomics.waitAsync' : '';
      const forPool = workers > 1 && !noPool;
      const info = await engine.call('load', { model: withURL, backend, forPool }, { onProgress: (e) => onProgress?.({ ...e, backend: engine.backend }) });
      let pool = null;
      if (workers > 1 && info.poolBytes) {
        if (noPool) {
          info.notices.push(`${noPool}, so the classifier runs on one worker instead of ${workers}.`);
        } else {
          try {
            pool = await Pool.start(engine, withURL, info.file, workers, info.poolBytes, onProgress);
            info.backend = pool.backend;
          } catch (e) {
            info.notices.push(`The ${workers} workers could not start (${e.message}); the classifier runs on one.`);
          }
        }
      }
      return new ResNet(engine, entry, info, pool);
    } catch (e) {
      releaseEngine(engine);
      throw e;
    }
  }

  /** Describes the weight cache: {available, files, bytes, usage, quota}. */
  static async cacheInfo() {
    return (await anyEngine()).call('cacheInfo');
  }

  /** Deletes every cached weights file; resolves to the new cacheInfo. */
  static async clearCache() {
    return (await anyEngine()).call('clearCache');
  }

  constructor(engine, entry, info, pool = null) {
    this.engine = engine;
    this.pool = pool; // null: one worker runs each image
    engine.onFail = () => this.stopPool(); // the pool cannot outlive its coordinator
    this.model = entry; // the manifest entry
    this.backend = info.backend; // e.g. 'Go WASM SIMD128'; updated by classify
    this.source = info.source; // 'cache' or 'network'
    this.notices = info.notices; // sentences for the user, e.g. no cache
    this.loadTimings = info.timings; // {weights, build} in ms
    this.onBackendChange = null; // called with {backend, notice} if the backend changes by itself
    engine.onBackend = (msg) => {
      this.backend = msg.backend;
      this.onBackendChange?.(msg);
    };
  }

  /**
   * Classifies a File or Blob (an encoded image), an HTMLImageElement,
   * HTMLCanvasElement, OffscreenCanvas, ImageBitmap, HTMLVideoElement (its
   * current frame) or ImageData. Resolves to {top: [{label, index, prob}],
   * backend, timings: {decode, preprocess, inference, total}} with times in
   * ms; for pixel inputs, decode is the time taken to read the pixels.
   * backend names what ran the network (an accelerator may fall back to
   * the CPU engine). With logits: true the result also has logits, the
   * network's raw output as a Float32Array.
   */
  async classify(input, { topK = 5, logits = false } = {}) {
    if (!this.engine) throw new ResNetError('no-model', 'This classifier has been disposed.');
    const start = performance.now();
    let request, transfer, readTime;
    if (input instanceof Blob) {
      const image = await input.arrayBuffer();
      request = { image };
      transfer = [image];
    } else {
      const { pixels, width, height } = pixelsOf(input);
      readTime = performance.now() - start;
      request = { pixels: pixels.buffer, width, height };
      transfer = [pixels.buffer];
    }
    const r = await this.engine.call('classify', { ...request, k: topK, logits }, { transfer });
    if (r.fallback) {
      this.stopPool(); // its workers are stopped or broken; the coordinator now runs alone
      this.onBackendChange?.({ backend: r.backend, notice: r.fallback });
    }
    this.backend = r.backend;
    return {
      top: r.top,
      ...(logits && { logits: r.logits }),
      backend: r.backend,
      timings: { ...r.timings, decode: readTime ?? r.timings.decode, total: performance.now() - start },
    };
  }

  /** How many Web Workers share each image. */
  get workers() { return this.pool?.size ?? 1; }

  stopPool() {
    this.pool?.stop();
    this.pool = null;
  }

  /** Frees the model's memory; the classifier cannot be used afterwards. */
  dispose() {
    const engine = this.engine;
    if (!engine) return;
    engine.onFail = null;
    this.stopPool();
    this.engine = null;
    engine.disposing = engine.call('dispose').catch(() => engine.terminate());
    releaseEngine(engine);
  }
}
