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
  'ours-webgpu': { make: (net, w) => goEngine('/build/bench-simd.wasm', net, w, 'webgpu'), weights: 'safetensors' },
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

async function bench({ config, net, runs, warmup, input }) {
  const c = CONFIGS[config];
  if (!c) throw new Error(`unknown configuration ${config}`);
  const phase = (p) => postMessage({ phase: p });

  phase('fetching weights');
  let t = performance.now();
  const weights = new Uint8Array(await (await fetch(`/models/${net}.${c.weights}`)).arrayBuffer());
  const fetchMs = performance.now() - t;

  // Load: from the weight bytes in memory to a model ready to run, starting
  // the runtime (compiling its wasm) included, for ours and ONNX Runtime alike.
  phase('loading');
  t = performance.now();
  const engine = await c.make(net, weights);
  const loadMs = performance.now() - t;

  phase('first run');
  const first = await engine.run(input, true);
  for (let i = 0; i < warmup; i++) {
    phase(`warm-up ${i + 1}/${warmup}`);
    await engine.run(input, false); // V8 tiers wasm up after the first runs
  }
  const times = [];
  for (let i = 0; i < runs; i++) {
    phase(`run ${i + 1}/${runs}`);
    times.push((await engine.run(input, false)).ms);
  }
  return { fetchMs, loadMs, firstMs: first.ms, times, logits: first.logits, heapBytes: engine.heapBytes?.() ?? null, info: engine.info };
}

// goEngine starts a build of bench/wasm and loads the network into it.
async function goEngine(wasmURL, net, weights, backend) {
  const go = new Go();
  const t = performance.now();
  const { instance } = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
  go.run(instance); // runs main until it blocks, by which time goBench is set
  const startMs = performance.now() - t;
  const info = { startMs, ...(await globalThis.goBench.load(weights, net, backend)) };
  let nhwc = null;
  return {
    info,
    async run(input, wantLogits) {
      nhwc ??= toNHWC(input);
      return globalThis.goBench.run(nhwc, wantLogits);
    },
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

// toNHWC transposes ONNX's NCHW input into the layout our engine takes.
function toNHWC(nchw) {
  const plane = SIDE * SIDE;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) out[i * 3 + c] = nchw[c * plane + i];
  }
  return out;
}
