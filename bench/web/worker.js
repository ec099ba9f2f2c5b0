// Benchmarks one configuration on one network, then is terminated: every
// configuration gets a fresh worker, so no JIT state, heap or GPU device
// carries over from the previous one. The page posts
// {config, net, runs, warmup, input} (input: Float32Array NCHW 1x3x224x224)
// and gets {phase} messages, then {result} or {error}.
importScripts('/wasm_exec.js');

const SIDE = 224;

// Each configuration: which engine, which build or bundle, which settings.
const CONFIGS = {
  'ours-simd': { make: (net, w) => goEngine('/build/bench-simd.wasm', net, w, 'cpu'), weights: 'safetensors' },
  'ours-plain': { make: (net, w) => goEngine('/build/bench-plain.wasm', net, w, 'cpu'), weights: 'safetensors' },
  'ours-webgpu': { make: (net, w, kernel) => goEngine('/build/bench-simd.wasm', net, w, 'webgpu', kernel), weights: 'safetensors' },
  'ours-workers-1': { make: (net) => appEngine(net, 1) },
  'ours-workers-2': { make: (net) => appEngine(net, 2) },
  'ort-wasm-1': { make: (net, w) => ortEngine(w, 'wasm', 1), weights: 'onnx' },
  'ort-wasm-2': { make: (net, w) => ortEngine(w, 'wasm', 2), weights: 'onnx' },
  'ort-webgpu': { make: (net, w) => ortEngine(w, 'webgpu', 1), weights: 'onnx' },
};

onmessage = async ({ data }) => {
  try {
    postMessage({ result: await bench(data) });
  } catch (e) {
    postMessage({ error: String(e?.stack ?? e) });
  }
};

async function bench({ config, net, runs, warmup, input, gpuKernel }) {
  const c = CONFIGS[config];
  if (!c) throw new Error(`unknown configuration ${config}`);
  const phase = (p) => postMessage({ phase: p });

  phase('fetching weights');
  let t = performance.now();
  // The app rows fetch (and cache) their weights themselves, inside load.
  const weights = c.weights ? new Uint8Array(await (await fetch(`/models/${net}.${c.weights}`)).arrayBuffer()) : null;
  const fetchMs = performance.now() - t;

  // Load: from the weight bytes in memory to a model ready to run, starting
  // the runtime (compiling its wasm) included, for ours and ONNX Runtime alike.
  phase('loading');
  t = performance.now();
  const engine = await c.make(net, weights, gpuKernel);
  const loadMs = performance.now() - t;

  phase('first run');
  const first = await engine.run(input, true);
  phase(`${warmup} warm-up runs`);
  for (let i = 0; i < warmup; i++) {
    await engine.run(input, false); // V8 tiers wasm up after the first runs
  }
  // No progress messages while timing: each would make the page redraw,
  // which in a headless Chromium rasterizes on the CPU the runs share.
  phase(`${runs} timed runs`);
  const times = [];
  for (let i = 0; i < runs; i++) {
    times.push((await engine.run(input, false)).ms);
  }
  // Where the GPU time goes: one more run with a timestamp per dispatch.
  const profile = engine.profile ? await engine.profile(input) : null;
  return { fetchMs, loadMs, firstMs: first.ms, times, logits: first.logits, heapBytes: engine.heapBytes?.() ?? null, info: engine.info, profile };
}

// goEngine starts a build of bench/wasm and loads the network into it.
async function goEngine(wasmURL, net, weights, backend, kernel = '') {
  const go = new Go();
  const t = performance.now();
  const { instance } = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
  go.run(instance); // runs main until it blocks, by which time goBench is set
  const startMs = performance.now() - t;
  const info = { startMs, ...(await globalThis.goBench.load(weights, net, backend, { kernel })) };
  let nhwc = null;
  return {
    info,
    async run(input, wantLogits) {
      nhwc ??= toNHWC(input);
      return globalThis.goBench.run(nhwc, wantLogits);
    },
    profile: info.timestamps ? (input) => globalThis.goBench.profile(nhwc ?? toNHWC(input)) : null,
    heapBytes: () => instance.exports.mem.buffer.byteLength,
  };
}

// ortEngine makes an ONNX Runtime Web session on execution provider ep.
async function ortEngine(weights, ep, numThreads) {
  // The wasm bundle for the wasm EP (the plain build), the WebGPU bundle for webgpu.
  const ort = await import(ep === 'webgpu' ? '/ort/ort.webgpu.min.mjs' : '/ort/ort.wasm.min.mjs');
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = numThreads; // more than 1 needs crossOriginIsolated
  ort.env.logLevel = 'warning';
  const session = await ort.InferenceSession.create(weights, { executionProviders: [ep], graphOptimizationLevel: 'all' });
  let feeds = null;
  return {
    info: { ort: ort.env.versions?.web ?? '', ep, numThreads, crossOriginIsolated: self.crossOriginIsolated },
    async run(input, wantLogits) {
      feeds ??= { input: new ort.Tensor('float32', input, [1, 3, SIDE, SIDE]) };
      const t = performance.now();
      const out = await session.run(feeds);
      const ms = performance.now() - t;
      return { ms, logits: wantLogits ? out.logits.data.slice() : undefined };
    },
  };
}

// appEngine loads bench-<net> through the app's library, site/resnet.js
// (served under /app/), spread over the given number of Web Workers, and
// times the network as the app reports it: from the preprocessed tensor to
// the logits, the workers' hand-offs included. The app has no logits API,
// so these rows have no logit check (the Go and browser tests compare
// several workers with one).
async function appEngine(net, workers) {
  const assets = await (await fetch('/app/assets.json')).json(); // the build's content-hashed names
  const { ResNet } = await import(`/app/${assets['resnet.js']}`);
  const clf = await ResNet.load({ model: `bench-${net}`, backend: 'wasm', workers });
  if (clf.workers !== workers) throw new Error(`${workers} workers did not start: ${clf.notices.join(' ')}`);
  const pixels = new Uint8ClampedArray(SIDE * SIDE * 4);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24; // any picture will do
  const image = new ImageData(pixels, SIDE, SIDE);
  return {
    info: { backend: clf.backend },
    async run() {
      return { ms: (await clf.classify(image)).timings.inference };
    },
  };
}

// toNHWC transposes ONNX's NCHW input into the layout our engine takes.
function toNHWC(nchw) {
  const plane = SIDE * SIDE;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) out[i * 3 + c] = nchw[c * plane + i];
  }
  return out;
}
