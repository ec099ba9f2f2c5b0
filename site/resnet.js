// ResNet image classification that runs in the browser: a Go engine
// compiled to WebAssembly, on a Web Worker so the page never freezes, with
// the weights cached in IndexedDB.
//
//   import { ResNet } from './resnet.<hash>.js'; // the name assets.json gives
//   const clf = await ResNet.load({ model: 'fashion-resnet18', onProgress, workers: 2 });
//   const { top, timings } = await clf.classify(fileOrImageOrCanvasOrVideoOrImageData);
//   clf.dispose();
//
// The module finds everything else next to itself: assets.json (the build's
// map from file names to content-hashed ones) and manifest.json (the models).

import { compileEngine, forgetEngine, idbRequest } from './engine-code.js';

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

/**
 * Whether a classify call failed only because the classifier went away
 * meanwhile (disposed, its worker stopped or moved on to another model):
 * the caller may retry with the classifier loaded now.
 */
export const superseded = (e) => e instanceof ResNetError && ['disposed', 'stopped', 'no-model'].includes(e.code);

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
  return compileEngine(await assetURL(name));
});

/** One Web Worker running the Go program, with request/reply bookkeeping. */
class Engine {
  /**
   * Starts a worker. cachedFile, which returns a promise of preload's
   * answer, is for the worker that will load that model: a cached file
   * found before the compiled module is ready is read on the worker's
   * thread meanwhile, not on the page's, which compiles the engine (see
   * readCachedFile).
   */
  static async start(name = 'resnet', cachedFile = null) {
    const started = performance.now();
    const [workerURL, wasmExec] = await Promise.all([assetURL('worker.js'), assetURL('wasm_exec.js')]);
    // The worker starts, and reads wasm_exec.js, while the module compiles.
    const engine = new Engine(new Worker(workerURL, { name }));
    engine.worker.postMessage({ wasmExec });
    let moduleSent = false;
    cachedFile?.()?.then((file) => {
      if (file?.blob && !moduleSent) engine.worker.postMessage({ cached: { key: file.key, blob: file.blob, startedAt: file.startedAt } });
    });
    try {
      const module = await wasmModule();
      moduleSent = true;
      engine.worker.postMessage({ module });
    } catch (e) {
      engine.ready.catch(() => {}); // the compile's error is the one to report
      engine.terminate();
      throw e;
    }
    engine.backend = (await engine.ready).backend;
    engine.startMs = performance.now() - started; // reported by the first load on it
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

  /** Stops the worker; calls still waiting for it are rejected, never left hanging. */
  terminate() {
    this.worker.terminate();
    this.dead ??= new ResNetError('stopped', 'The classifier was stopped before it answered.');
    this.started.reject(this.dead);
    for (const call of this.pending.values()) call.reject(this.dead);
    this.pending.clear();
    live.delete(this);
    if (idle === this) idle = null;
  }
}

// Workers are reused: a disposed classifier's worker waits for the next
// load, which then skips starting a Go program.
const live = new Set();
let idle = null;

async function acquireEngine(cachedFile) {
  await startingAny?.catch(() => {}); // an engine anyEngine is starting becomes the idle one
  const reused = idle;
  idle = null;
  if (reused) {
    await reused.disposing; // the previous model must be gone before the next load
    if (!reused.dead) return reused;
  }
  const engine = await Engine.start('resnet', cachedFile);
  live.add(engine);
  return engine;
}

function releaseEngine(engine) {
  if (engine.dead) return;
  if (idle) engine.terminate();
  else idle = engine;
}

// Cache queries may go to any running worker; Go serves them concurrently.
// Calls while none runs share the one being started.
let startingAny = null;

function anyEngine(cachedFile) {
  const running = [...live].find((e) => !e.dead);
  if (running) return Promise.resolve(running);
  startingAny ??= acquireEngine(cachedFile).then((engine) => {
    releaseEngine(engine);
    return engine;
  }).finally(() => { startingAny = null; });
  return startingAny;
}

// How often callAny tries another worker when the one it used was stopped.
const CALL_ATTEMPTS = 3;

/**
 * Sends a cache request to any running worker. A worker can be stopped
 * while the request waits (a model change releases it); the request then
 * goes to another one.
 */
async function callAny(op, args) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await anyEngine()).call(op, args);
    } catch (e) {
      if (e.code !== 'stopped' || attempt === CALL_ATTEMPTS) throw e;
    }
  }
}

// How long after its load a classifier waits for a first image before it
// starts what the load left for later, its pool and the backend's
// measurement, anyway; an image being classified then is waited for (see
// afterFirstResult).
const LATER_WORK_DELAY_MS = 300;

// How many times a classifier starts its pool again after it failed.
const MAX_POOL_RESTARTS = 2;

/** How many workers load() spreads each image over unless told. */
export const defaultWorkers = () => Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8));

// The backend load() measured for a device and model is kept in
// localStorage under this prefix, so that later loads skip measuring.
const CHOICE_PREFIX = 'resnet.backend-choice:';

/**
 * The WebGPU adapter the worker would get (wasm/gpu.go asks for the same
 * power preference), or why there is none: {adapter} or {why}. Asked once
 * a page: a request waits behind the GPU's work, such as a measurement.
 */
const gpuAdapter = once(async () => {
  let adapter = null;
  if (navigator.gpu) {
    try {
      adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch { /* the same answer as no adapter */ }
  }
  storedChoice.set(ADAPTER_KEY, adapter && adapterIdentity(adapter));
  if (adapter) return { adapter };
  return { why: navigator.gpu ? 'The browser offers no WebGPU adapter, so nothing was measured.' : 'WebGPU is not available in this browser, so nothing was measured.' };
});

/** The adapter's identity, which names the device in choiceKey. */
function adapterIdentity(adapter) {
  const { vendor = '', architecture = '', device = '', description = '' } = adapter.info ?? {};
  return [vendor, architecture, device, description].join('/');
}

// The identity of the adapter gpuAdapter found last, on an earlier visit
// too: a choice remembered for it is made without asking for the adapter
// first, whose first request held the page's thread for 40-60 ms on the
// 2-core VM (see planBackend).
const ADAPTER_KEY = 'resnet.adapter';
const lastAdapter = () => {
  const identity = storedChoice.get(ADAPTER_KEY);
  return typeof identity === 'string' ? identity : null;
};

/**
 * Where a measured choice is remembered: the device (the adapter's
 * identity and the number of cores), the number of CPU workers and the
 * model's file, so that a new file, GPU or worker count measures again.
 */
function choiceKey(identity, entry, workers) {
  return `${CHOICE_PREFIX}${identity}|${navigator.hardwareConcurrency} cores|${workers} workers|${entry.name}@${entry.sha256}`;
}

/** The backend measured for key, or null. */
function rememberedChoice(key) {
  const known = storedChoice.get(key);
  return known?.backend === 'webgpu' || known?.backend === 'wasm' ? known : null;
}

// localStorage may be missing or refuse (an opaque origin, a full quota):
// the choice is then measured on every load.
const storedChoice = {
  get(key) {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch {
      return null;
    }
  },
  set(key, choice) {
    try {
      localStorage.setItem(key, JSON.stringify(choice));
    } catch { /* not remembered */ }
  },
};

/**
 * What load asks the worker for and the choice it reports, before the
 * load: a backend the caller forced, a remembered measurement, or the CPU
 * now and a measurement later (measure: the key to remember it under). A
 * choice remembered for the adapter found last time is made before this
 * page asks for the adapter (confirm: the key it assumed; see
 * scheduleConfirmation).
 */
async function planBackend(backend, entry, workers) {
  if (!['auto', 'webgpu', 'wasm'].includes(backend)) throw new ResNetError('bad-request', `backend must be 'auto', 'webgpu' or 'wasm', not ${backend}.`);
  const choice = (backend, reason, { gpuMs = null, cpuMs = null, why } = {}) => ({ backend, reason, gpuMs, cpuMs, ...(why && { why }) });
  if (backend !== 'auto') return { ask: backend, choice: choice(backend, 'forced') };
  const assumed = lastAdapter() && choiceKey(lastAdapter(), entry, workers);
  const guess = assumed && rememberedChoice(assumed);
  if (guess) return { ask: guess.backend, choice: choice(guess.backend, 'remembered', guess), confirm: assumed };
  const { adapter, why } = await gpuAdapter();
  if (!adapter) return { ask: 'wasm', choice: choice('wasm', 'fallback', { why }) };
  const key = choiceKey(adapterIdentity(adapter), entry, workers);
  const known = rememberedChoice(key);
  if (known) return { ask: known.backend, choice: choice(known.backend, 'remembered', known) };
  return { ask: 'wasm', choice: choice('wasm', 'measuring'), measure: key };
}

/**
 * Web Workers that share each image: every one holds a slice of each
 * layer and they swap activations through a SharedArrayBuffer (see
 * docs/app.md). The engine that loaded the model coordinates them and
 * takes the first slice itself, from the whole model it keeps to fall
 * back on; the pool starts the other count - 1.
 */
class Pool {
  // info is the coordinator's load result: file (a Blob of its verified
  // weights), poolBytes, poolControl and load, the number of the load,
  // which the pool joins only if it is still the loaded one.
  static async start(coordinator, model, info, count) {
    const { file, load } = info;
    const pool = new Pool(new SharedArrayBuffer(info.poolBytes), info.poolControl);
    try {
      // Worker i of the pool is named for its slice, i + 1.
      pool.engines = await Promise.all(Array.from({ length: count - 1 }, (_, i) => Engine.start(`resnet-pool-${i + 1}`)));
      // A worker that crashes would leave the others waiting on it.
      for (const e of pool.engines) e.onFail = () => pool.abort();
      await Promise.all(pool.engines.map((e, i) => e.call('joinPool', { model, file, index: i + 1, count, memory: pool.memory })));
      const { backend } = await coordinator.call('usePool', { workers: count, memory: pool.memory, load });
      pool.backend = backend;
      return pool;
    } catch (e) {
      pool.stop();
      throw e;
    }
  }

  // control: the layout of the memory's control words, from
  // wasm/pool/pool.go: {header, abort, waited}.
  constructor(memory, control) {
    this.memory = memory;
    this.control = control;
    this.engines = [];
  }

  get size() { return this.engines.length + 1; } // the coordinator too

  // Setting the abort word wakes and stops every worker waiting on a job
  // or at a barrier.
  abort() {
    const { header, abort, waited } = this.control;
    const ctl = new Int32Array(this.memory, 0, header);
    Atomics.store(ctl, abort, 1);
    for (const word of waited) Atomics.notify(ctl, word);
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

/**
 * classify's {cam, cams} from the worker's maps (wasm/classify.go's
 * camReply): those of the top classes, then the asked class's if it was
 * not among them; asked is classify's cam option.
 */
function mapsOf(wire, topLength, asked, labels) {
  const maps = wire.maps.map(({ index, values }) => ({
    index, label: labels[index], width: wire.width, height: wire.height, values,
    crop: { ...wire.crop }, input: { ...wire.image },
  }));
  return { cam: asked === true ? maps[0] : maps.find((m) => m.index === asked), cams: maps.slice(0, topLength) };
}

// Columns of exportResults' CSV after the top classes' (label, index, prob).
const CSV_TIMINGS = ['decode', 'preprocess', 'inference', 'total'];

/**
 * One CSV field: text in double quotes (quotes doubled), numbers as they
 * are. Text a spreadsheet would take for a formula (=, +, -, @, tab or
 * carriage return first) gets a leading apostrophe, as OWASP advises.
 */
function csvField(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = String(v ?? '');
  return `"${(/^[=+\-@\t\r]/.test(text) ? `'${text}` : text).replaceAll('"', '""')}"`;
}

// Tabs of the page tell each other when the weight cache changed.
const cacheChannel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('resnet-weight-cache') : null;
const cacheChanged = () => cacheChannel?.postMessage('changed');

// The largest weights file the page reads (a ResNet-152 in float32 is
// 240 MB); the worker holds the same bound (wasm/entry.go).
const MAX_WEIGHT_BYTES = 2 ** 30;

// Added models that the browser could not store (no IndexedDB, a full
// quota): they last as long as the page. name -> {entry, file}
const unstored = new Map();

/** The entries of the added models: stored ones, then this page's unstored ones. */
async function addedEntries() {
  const { models } = await callAny('listModels');
  const names = new Set(models.map((m) => m.name));
  return [...models, ...[...unstored.values()].map((u) => u.entry).filter((e) => !names.has(e.name))];
}

// The weights cache belongs to the worker (wasm/cache.go, which creates
// and upgrades it); preload looks a stored file up in it too, as the worker
// would, so that reading it need not wait for the engine. The worker then
// checks the file's SHA-256 as it checks its own reads.
const CACHE_DB = 'resnet-weights';
const FILES_STORE = 'files';

// What preload started for the model named preloadedFor (undefined: the
// default one): a promise of null, the cached file found ({key, blob,
// startedAt}) or its download begun ({key, body, startedAt}). The next load
// takes it, whichever model it loads, and waits for it only if it may be
// that model's; a download that load does not take is cancelled.
let preloaded = null;
let preloadedFor;

async function takePreloaded(entry) {
  const started = preloaded;
  preloaded = null;
  if (!started) return null;
  const mayBeIt = preloadedFor === undefined || preloadedFor === entry.name;
  const file = mayBeIt ? await started : null;
  if (file?.key === cacheKey(entry)) return file;
  if (!mayBeIt) started.then((other) => other?.body?.cancel());
  else file?.body?.cancel();
  return null;
}

const cacheKey = (entry) => `${entry.name}@${entry.sha256}`;

// readCachedFile's answer when the cache surely lacks the file (not when
// it cannot be read: the worker then tries, and says what is wrong).
const NOT_STORED = Symbol('not stored');

/**
 * Finds entry's file in the worker's cache: {key, blob, startedAt (ms since
 * the epoch, as performance.timeOrigin + performance.now(), which a worker
 * can compare)}, NOT_STORED, or null when it cannot tell (the worker then
 * reads the cache itself). The blob's bytes are read by the worker: on a
 * 2-core machine, read here they held up the engine's own read from
 * IndexedDB and its compile on this thread by about 100 ms.
 */
async function readCachedFile(entry) {
  const startedAt = performance.timeOrigin + performance.now();
  let created = false;
  try {
    const opening = indexedDB.open(CACHE_DB);
    // Nothing stored yet: the worker creates the database, not this read.
    opening.onupgradeneeded = () => {
      created = true;
      opening.transaction.abort();
    };
    const db = await idbRequest(opening);
    let stored;
    try {
      stored = await idbRequest(db.transaction(FILES_STORE).objectStore(FILES_STORE).get(cacheKey(entry)));
    } finally {
      db.close(); // a worker upgrading the database would wait for it
    }
    if (stored === undefined) return NOT_STORED;
    if (!(stored instanceof Blob)) return null; // an older page's Uint8Array: the worker reads it
    return { key: cacheKey(entry), blob: stored, startedAt };
  } catch {
    return created ? NOT_STORED : null;
  }
}

/**
 * Starts downloading entry's file: {key, body (the response's stream, for
 * the worker to read), startedAt (ms since the epoch)}, or null where the
 * browser cannot hand a stream to a worker or the server answered with an
 * error (the worker then fetches the file itself and reports that).
 */
async function startDownload(entry) {
  if (!TRANSFERABLE_STREAMS) return null;
  const startedAt = Date.now();
  const response = await fetch(new URL(entry.url, base));
  if (!response.ok) {
    response.body?.cancel();
    return null;
  }
  return { key: cacheKey(entry), body: gathered(response.body), startedAt };
}

/**
 * A stream of body's bytes that reads body as fast as they arrive and
 * hands each read everything that came since the last one, as one chunk.
 * The browser stops downloading while a few unread megabytes wait, and a
 * stream transferred to a worker costs a round trip between the threads
 * per chunk: read in the network's own chunks (360 of about 31 kB for an
 * 11 MB file at 50 Mbit/s), the worker took 1.3 s to catch up.
 */
function gathered(body) {
  const reader = body.getReader();
  let parts = [];
  let ended = false;
  let failure = null;
  let wake = () => {};
  (async () => {
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        parts.push(r.value);
        wake();
      }
    } catch (e) {
      failure = e;
    }
    ended = true;
    wake();
  })();
  return new ReadableStream({
    async pull(controller) {
      while (!parts.length && !ended) await new Promise((resolve) => { wake = resolve; });
      if (parts.length) {
        const chunk = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
        let at = 0;
        for (const p of parts) {
          chunk.set(p, at);
          at += p.byteLength;
        }
        parts = [];
        controller.enqueue(chunk);
      } else if (failure) {
        controller.error(failure);
      } else {
        controller.close();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

const TRANSFERABLE_STREAMS = (() => {
  try {
    const stream = new ReadableStream();
    structuredClone(stream, { transfer: [stream] });
    return true;
  } catch {
    return false;
  }
})();

/** Describes a model entry (bundled or added) as resnet.d.ts's ModelInfo. */
function infoOf(entry) {
  const added = entry.added ?? null;
  return {
    name: entry.name,
    arch: entry.arch,
    variant: entry.variant,
    classes: entry.classes,
    labels: added ? added.labels : 'file',
    classNames: entry.labels,
    official: added?.official ?? null,
    bytes: entry.bytes,
    dtype: entry.dtype,
    accuracy: entry.accuracy || null,
    source: entry.source,
    added: Boolean(added),
    stored: !added || !unstored.has(entry.name),
    default: Boolean(entry.default),
    file: added?.file ?? null,
  };
}

/** The bytes of a labels file given as text, a list of names or a File. */
async function labelsText(labels) {
  if (labels === undefined || labels === null) return undefined;
  if (Array.isArray(labels)) return labels.join('\n');
  if (labels instanceof Blob) return labels.text();
  if (typeof labels === 'string') return labels;
  throw new ResNetError('bad-request', 'labels must be text, an array of class names or a File.');
}

/** A checkpoint given to addModel as a Uint8Array the worker may keep. */
async function checkpointBytes(source) {
  if (source instanceof Blob) {
    if (source.size > MAX_WEIGHT_BYTES) {
      throw new ResNetError('file-too-large', `${source.name || 'This file'} is ${Math.round(source.size / 1e6)} MB; the page takes weights files up to ${Math.round(MAX_WEIGHT_BYTES / 1e6)} MB (a ResNet-152 in float32 is 240 MB).`);
    }
    try {
      return { bytes: new Uint8Array(await source.arrayBuffer()), own: true };
    } catch (e) {
      throw new ResNetError('file-too-large', `${source.name || 'This file'} could not be read into memory (${e.message}). Close other tabs, or try a smaller (f16) file.`);
    }
  }
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), own: false };
  if (ArrayBuffer.isView(source)) return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength), own: false };
  throw new ResNetError('bad-request', 'addModel takes a File, Blob, ArrayBuffer, typed array or URL.');
}

export class ResNet {
  /**
   * Writes results as a file's text, format 'csv' or 'json'. Each record
   * is what classify resolved to with file (the picture's name) added, or
   * {file, model, date, error} for a picture that could not be classified.
   * CSV: a header row, then one row a record (file, model, model_source,
   * backend, date, label_i, index_i, prob_i for each of the top classes,
   * decode_ms, preprocess_ms, inference_ms, total_ms, error); UTF-8 with a
   * byte-order mark, so that spreadsheets read it as UTF-8; text quoted;
   * CRLF line ends (RFC 4180). JSON: {exported, results: [{file, model,
   * modelSource, backend, date, top, timings, error?}]}.
   */
  static exportResults(records, format) {
    const rows = records.map((r) => ({
      file: r.file ?? '', model: r.model ?? '', modelSource: r.modelSource ?? '', backend: r.backend ?? '',
      date: r.date ?? '', top: (r.top ?? []).map(({ index, label, prob }) => ({ index, label, prob })),
      timings: r.timings ? Object.fromEntries(CSV_TIMINGS.map((k) => [k, r.timings[k]])) : null,
      ...(r.error && { error: String(r.error) }),
    }));
    if (format === 'json') return `${JSON.stringify({ exported: new Date().toISOString(), results: rows }, null, 2)}\n`;
    if (format !== 'csv') throw new ResNetError('bad-request', 'The export format must be "csv" or "json".');
    const k = Math.max(0, ...rows.map((r) => r.top.length));
    const ranks = Array.from({ length: k }, (_, i) => i + 1);
    const header = ['file', 'model', 'model_source', 'backend', 'date',
      ...ranks.flatMap((i) => [`label_${i}`, `index_${i}`, `prob_${i}`]), ...CSV_TIMINGS.map((t) => `${t}_ms`), 'error'];
    const lines = [header.map(csvField), ...rows.map((r) => [
      r.file, r.model, r.modelSource, r.backend, r.date,
      ...ranks.flatMap((i) => { const c = r.top[i - 1]; return c ? [c.label, c.index, c.prob] : ['', '', '']; }),
      ...CSV_TIMINGS.map((t) => r.timings?.[t] ?? ''), r.error ?? '',
    ].map(csvField))];
    return `\uFEFF${lines.map((l) => l.join(',')).join('\r\n')}\r\n`;
  }

  /** The models of manifest.json, as published by the build. */
  static async models() {
    return (await manifest()).models;
  }

  /**
   * Lists every model load() takes, as ModelInfo (see resnet.d.ts): the
   * bundled ones, then those added with addModel.
   */
  static async listModels() {
    const [bundled, added] = await Promise.all([ResNet.models(), addedEntries()]);
    return [...bundled, ...added].map(infoOf);
  }

  /** torchvision's official ImageNet checkpoints that addModel recognises. */
  static async officialCheckpoints() {
    return (await manifest()).official ?? [];
  }

  /**
   * Adds a PyTorch ResNet checkpoint as a model: a File, Blob, ArrayBuffer
   * or typed array holding a .pth (torch.save of a state_dict, or a
   * training checkpoint holding one) or a .safetensors file, or the URL of
   * one. The architecture comes from the tensors; torchvision's official
   * ImageNet checkpoints are recognised by their SHA-256. The weights are
   * converted to safetensors (dtype 'f32', 'f16' or 'int8') and stored in this
   * browser with the model; when they cannot be stored (a full quota) the
   * model lasts as long as the page and the result's notices say so.
   * Options: name (default: the file's name), labels (a labels file's text,
   * a File, or an array of class names), variant ('v1.5', torchvision's
   * default, or 'v1': where a Bottleneck puts its stride), onProgress
   * (phases 'download', 'read', 'convert' with loaded/total, 'store').
   * Resolves to {model: ModelInfo, notices}.
   */
  static async addModel(source, { name, labels, variant, dtype = 'f32', onProgress } = {}) {
    let file, url, fileName, transfer = [];
    if (typeof source === 'string' || source instanceof URL) {
      url = new URL(source, location.href);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ResNetError('bad-request', `${url.href} is not an http(s) URL.`);
      fileName = decodeURIComponent(url.pathname.split('/').pop() || url.hostname);
      url = url.href;
    } else {
      const { bytes, own } = await checkpointBytes(source);
      file = bytes;
      if (own) transfer = [bytes.buffer]; // ours alone: move it instead of copying
      fileName = source.name;
    }
    const [{ models, official }, text] = await Promise.all([manifest(), labelsText(labels)]);
    // A worker of its own, which no model change can stop while it converts
    // (the file is moved to it); the next load reuses it.
    const engine = await acquireEngine();
    let r;
    try {
      r = await engine.call('addModel', {
        file, url, fileName, name, labels: text, variant, dtype,
        official: JSON.stringify(official ?? []), reserved: models.map((m) => m.name),
      }, { transfer, onProgress });
    } finally {
      releaseEngine(engine);
    }
    if (r.stored) unstored.delete(r.model.name);
    else unstored.set(r.model.name, { entry: r.model, file: r.file });
    cacheChanged();
    return { model: infoOf(r.model), notices: r.notices, memoryBytes: r.memoryBytes };
  }

  /** Removes a model added with addModel, and its weights. */
  static async removeModel(name) {
    if ((await ResNet.models()).some((m) => m.name === name)) throw new ResNetError('bad-request', `${name} is a bundled model; only added models can be removed.`);
    unstored.delete(name);
    await callAny('removeModel', { name });
    cacheChanged();
  }

  /**
   * Changes an added model's variant ('v1.5' or 'v1': the stride
   * placement, which weights do not show); the next load uses it.
   */
  static async updateModel(name, { variant }) {
    const entry = (await addedEntries()).find((e) => e.name === name);
    if (!entry) throw new ResNetError('bad-request', `No added model is called ${name}.`);
    if (variant !== 'v1' && variant !== 'v1.5') throw new ResNetError('bad-request', 'variant must be "v1" or "v1.5".');
    const changed = { ...entry, variant };
    const kept = unstored.get(name);
    if (kept) kept.entry = changed;
    else await callAny('updateModel', { model: changed });
    cacheChanged();
    return infoOf(changed);
  }

  /**
   * Loads a model by name (default: the manifest's default model): a
   * bundled one or one added with addModel. Resolves to a classifier.
   * onProgress receives events such as
   * {phase: 'download', loaded, total, backend}; phases are 'engine'
   * (starting the worker), then, with the backend's name, 'cache',
   * 'download' and 'build'. backend is 'auto' (the faster of
   * WebGPU and the CPU on this device, measured: see backendChoice),
   * 'webgpu' (WebGPU whenever it works, software renderers too) or 'wasm'
   * (the CPU); when WebGPU is wanted but cannot run, the classifier's
   * notices say why. workers (default: the number of cores, at most 8) is
   * how many Web Workers share each image on the CPU; more than one needs
   * a cross-origin isolated page.
   */
  static async load({ model, onProgress, backend = 'auto', workers = defaultWorkers() } = {}) {
    onProgress?.({ phase: 'engine' });
    // The adapter, which names the device a measurement is remembered for,
    // is found while the worker starts, unless one was found before.
    if (backend === 'auto' && !lastAdapter()) gpuAdapter();
    const [models, engine] = await Promise.all([ResNet.models(), acquireEngine()]);
    // A worker started for an earlier call (the page's model list) counts
    // here, once: a reused one started before any of this.
    const engineStart = engine.startMs;
    engine.startMs = 0;
    try {
      let entry = model === undefined ? (models.find((m) => m.default) ?? models[0]) : models.find((m) => m.name === model);
      let withURL = entry && { ...entry, url: new URL(entry.url, base).href };
      if (!entry) {
        entry = withURL = (await addedEntries()).find((m) => m.name === model);
      }
      if (!entry) throw new ResNetError('bad-request', `Unknown model ${model}; known: ${models.map((m) => m.name).join(', ')}.`);
      const file = unstored.get(entry.name)?.file;
      const preread = file ? null : await takePreloaded(entry);
      const plan = await planBackend(backend, entry, workers);
      const info = await engine.call('load', { model: withURL, file, preread: preread ?? undefined, backend: plan.ask }, {
        onProgress: (e) => onProgress?.({ ...e, backend: engine.backend }),
        transfer: preread?.body ? [preread.body] : [],
      });
      info.timings = { start: engineStart, ...info.timings };
      // WebGPU was asked for but could not run: the worker's last notice
      // says why. (It sends poolBytes only when the CPU runs the network.)
      if (plan.ask === 'webgpu' && info.poolBytes !== undefined) {
        plan.choice = { ...plan.choice, backend: 'wasm', reason: 'fallback', why: info.notices.at(-1) };
      }
      if (file) info.notices.push('This model is not stored in the browser: it works until this page is closed.');
      if (info.source === 'network') cacheChanged();
      const clf = new ResNet(engine, entry, info, plan.choice);
      if (workers > 1 && info.poolBytes) {
        // A pool needs SharedArrayBuffer (cross-origin isolation) and
        // Atomics.waitAsync (its workers wait for images without blocking).
        const noPool = !self.crossOriginIsolated ? 'This page is not cross-origin isolated'
          : typeof Atomics.waitAsync !== 'function' ? 'This browser lacks Atomics.waitAsync' : '';
        if (noPool) info.notices.push(`${noPool}, so the classifier runs on one worker instead of ${workers}.`);
        else clf.schedulePool(withURL, info, workers);
      }
      if (plan.measure) clf.scheduleMeasurement(info, plan.measure);
      if (plan.confirm) clf.scheduleConfirmation(info, plan.confirm, entry, workers);
      return clf;
    } catch (e) {
      releaseEngine(engine);
      throw e;
    }
  }

  /**
   * Starts what a later load({model}) needs, so that it finishes sooner:
   * the engine, and, for a bundled model, the read of its weights from
   * this browser's cache, or their download if it has none, which then
   * run while the engine compiles and starts; with backend 'auto', also
   * the request for the WebGPU adapter (unless one was found on an earlier
   * visit: see planBackend). Calling it is optional; a load of
   * another model ignores it.
   */
  static preload({ model, backend = 'auto' } = {}) {
    anyEngine(() => preloaded).catch(() => {}); // a load reports what went wrong
    preloadedFor = model;
    preloaded = ResNet.models().then(async (models) => {
      const entry = model === undefined ? (models.find((m) => m.default) ?? models[0]) : models.find((m) => m.name === model);
      if (!entry) return null;
      const cached = await readCachedFile(entry);
      return cached === NOT_STORED ? startDownload(entry) : cached;
    }).catch(() => null);
    // Last: in page marks, the step after Chromium's first request for an
    // adapter came 40-60 ms later.
    if (backend === 'auto' && !lastAdapter()) gpuAdapter();
  }

  /** Describes the weight cache: {available, files, bytes, usage, quota}. */
  static async cacheInfo() {
    return callAny('cacheInfo');
  }

  /**
   * Deletes every cached weights file and added model; resolves to the new
   * cacheInfo. Every running worker is told, so that a download under way
   * is not stored afterwards.
   */
  static async clearCache() {
    const engines = [...live].filter((e) => !e.dead);
    // A worker stopped meanwhile has no download to forget any more.
    const results = await Promise.allSettled(engines.map((e) => e.call('clearCache')));
    const failed = results.find((r) => r.status === 'rejected' && r.reason.code !== 'stopped');
    if (failed) throw failed.reason;
    const cleared = results.find((r) => r.status === 'fulfilled');
    const info = cleared ? cleared.value : await callAny('clearCache');
    await forgetEngine().catch(() => {}); // only a copy of what the HTTP cache holds
    cacheChanged();
    return info;
  }

  /**
   * Forgets every measured backend choice (of every device and model):
   * the next load of a model with backend 'auto' measures again.
   */
  static forgetBackendChoices() {
    try {
      for (const key of Object.keys(localStorage)) if (key.startsWith(CHOICE_PREFIX)) localStorage.removeItem(key);
    } catch { /* nothing was remembered */ }
  }

  /** Calls fn when another tab changes the weight cache (loads, adds, removes, clears). */
  static onCacheChange(fn) {
    cacheChannel?.addEventListener('message', () => fn());
  }

  constructor(engine, entry, info, choice) {
    this.engine = engine;
    this.pool = null; // null: one worker runs each image
    this.workersReady = Promise.resolve(); // see schedulePool
    this.poolPlan = null; // what schedulePool was given, to start the workers again
    this.poolRestarts = 0;
    this.backendChoice = choice; // which backend runs the network and why (resnet.d.ts's BackendChoice)
    this.backendReady = Promise.resolve(choice); // see scheduleMeasurement
    // Settles once the first image has its answer, or LATER_WORK_DELAY_MS
    // after the load if no image is being classified then: the pool and
    // the measurement wait for it, so that the first result neither waits
    // for them nor shares the cores with them.
    this.classifying = 0;
    this.afterFirstResult = new Promise((resolve) => {
      this.firstResult = resolve;
      setTimeout(() => this.classifying === 0 && resolve(), LATER_WORK_DELAY_MS);
    });
    engine.onFail = () => this.stopPool(); // the pool cannot outlive its coordinator
    this.model = entry; // the manifest entry
    this.backend = info.backend; // e.g. 'Go WASM SIMD128'; updated by classify
    this.source = info.source; // 'cache', 'network' or 'page'
    this.notices = info.notices; // sentences for the user, e.g. no cache
    this.loadTimings = info.timings; // ms per step: start, cacheRead or download, verify, parse, build, afterDownload; workers once they joined
    this.memoryBytes = info.memoryBytes; // the coordinator's WebAssembly memory after loading
    this.onBackendChange = null; // called with {backend, notice?} if the backend changes by itself
    engine.onBackend = (msg) => { // the GPU was lost
      this.backend = msg.backend;
      this.gpuFailed(msg.notice);
      this.onBackendChange?.(msg);
    };
  }

  /** After WebGPU failed, the choice says that the CPU runs the network and why. */
  gpuFailed(why) {
    if (this.backendChoice.backend === 'webgpu') this.backendChoice = { ...this.backendChoice, backend: 'wasm', reason: 'fallback', why };
  }

  /**
   * Starts the pool's other workers after the first result (see
   * afterFirstResult). workersReady settles once they joined (the backend
   * then says "on N workers") or could not (a notice says why).
   */
  schedulePool(model, info, count) {
    this.poolPlan = { model, info, count };
    this.workersReady = this.afterFirstResult.then(() => this.engine && this.startPool(model, info, count));
  }

  /**
   * Measures WebGPU against the CPU after the first result and once the
   * pool has joined, so that the CPU is timed as it will run; the worker
   * keeps the faster (wasm/gpu.go's measure) and the choice is remembered
   * under key. backendReady resolves to the new backendChoice.
   */
  scheduleMeasurement(info, key) {
    this.backendReady = this.afterFirstResult.then(() => this.workersReady).then(() => this.measure(info, key));
  }

  /**
   * After the first result, asks for the adapter that planBackend assumed
   * was still this device's (key: the choice it used): if another one is
   * found, WebGPU and the CPU are measured again for it, as on a first load.
   */
  scheduleConfirmation(info, key, entry, workers) {
    this.backendReady = this.afterFirstResult.then(() => this.workersReady).then(async () => {
      const { adapter } = await gpuAdapter();
      const found = adapter && choiceKey(adapterIdentity(adapter), entry, workers);
      return !found || found === key ? this.backendChoice : this.measure(info, found);
    });
  }

  async measure(info, key) {
    const engine = this.engine;
    if (!engine) return this.backendChoice;
    let r;
    try {
      r = await engine.call('measure', { load: info.load, file: info.file });
    } catch (e) {
      if (this.engine !== engine || superseded(e)) return this.backendChoice;
      r = { unavailable: `The measurement failed (${e.message}); the CPU runs the network.` };
    }
    if (this.engine !== engine) return this.backendChoice;
    if (r.unavailable) {
      this.backendChoice = { backend: 'wasm', reason: 'fallback', gpuMs: null, cpuMs: null, why: r.unavailable };
    } else {
      const choice = { backend: r.chosen, gpuMs: r.gpuMs, cpuMs: r.cpuMs };
      storedChoice.set(key, choice);
      this.backendChoice = { ...choice, reason: 'measured' };
      if (r.chosen === 'webgpu') {
        this.poolPlan = null; // the CPU's workers are not needed
        this.stopPool();
      }
    }
    this.backend = r.backend ?? this.backend;
    this.onBackendChange?.({ backend: this.backend });
    return this.backendChoice;
  }

  /** Starts the pool's other workers now; resolves as workersReady does. */
  startPool(model, info, count) {
    const engine = this.engine;
    const started = performance.now();
    this.workersReady = Pool.start(engine, model, info, count).then((pool) => {
      if (this.engine !== engine) return pool.stop(); // disposed meanwhile
      this.pool = pool;
      this.loadTimings.workers = performance.now() - started;
      this.backend = pool.backend;
      this.onBackendChange?.({ backend: pool.backend, notice: this.poolRestarts ? `The ${count} workers are running again.` : undefined });
    }, (e) => {
      if (this.engine !== engine) return;
      const notice = `The ${count} workers could not start (${e.message}); the classifier runs on one.`;
      this.notices.push(notice);
      this.onBackendChange?.({ backend: this.backend, notice });
    });
    return this.workersReady;
  }

  /**
   * After the pool failed (a worker crashed, or fell so far behind that the
   * coordinator gave up on it), starts fresh workers: a worker that was
   * only slow once does not cost the pool for the rest of the page's life.
   * A pool that keeps failing is given up after MAX_POOL_RESTARTS.
   */
  restartPool() {
    if (!this.poolPlan || this.poolRestarts >= MAX_POOL_RESTARTS) return;
    this.poolRestarts++;
    const { model, info, count } = this.poolPlan;
    this.startPool(model, info, count);
  }

  /**
   * Classifies a File or Blob (an encoded image), an HTMLImageElement,
   * HTMLCanvasElement, OffscreenCanvas, ImageBitmap, HTMLVideoElement (its
   * current frame) or ImageData. Resolves to {top: [{label, index, prob}],
   * backend, timings: {decode, preprocess, inference, total}} with times in
   * ms; for pixel inputs, decode is the time taken to read the pixels.
   * backend names what ran the network (an accelerator may fall back to
   * the CPU engine). With logits: true the result also has logits, the
   * network's raw output as a Float32Array. With cam: true (the top class)
   * or a class index it has cam, that class's activation map, and cams,
   * one map for each class of top, in its order (see resnet.d.ts's
   * ClassActivationMap; docs/cam.md). model, modelSource and date (ISO
   * 8601) say which model gave the result and when, for exportResults.
   */
  async classify(input, { topK = 5, logits = false, cam = false } = {}) {
    const disposed = () => new ResNetError('disposed', 'This classifier has been disposed.');
    if (!this.engine) throw disposed();
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
    if (!this.engine) throw disposed(); // while the file was read
    this.classifying++;
    let r;
    try {
      r = await this.engine.call('classify', { ...request, k: topK, logits, ...(cam !== false && { cam }) }, { transfer });
    } finally {
      this.classifying--;
      this.firstResult();
    }
    if (r.model !== this.model.name) throw disposed(); // its worker moved on to the next model meanwhile
    if (r.fallback) {
      this.stopPool(); // its workers are stopped or broken; the coordinator now runs alone
      this.gpuFailed(r.fallback);
      this.onBackendChange?.({ backend: r.backend, notice: r.fallback });
      this.restartPool();
    }
    this.backend = r.backend;
    return {
      top: r.top,
      ...(logits && { logits: r.logits }),
      ...(r.cam && mapsOf(r.cam, r.top.length, cam, this.model.labels)),
      backend: r.backend,
      timings: { ...r.timings, decode: readTime ?? r.timings.decode, total: performance.now() - start },
      model: this.model.name,
      modelSource: this.model.source,
      date: new Date().toISOString(),
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
