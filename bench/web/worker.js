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
  // No tfjs-wasm-2: asked for 2 threads in a Web Worker here, TF.js's wasm
  // backend reports 1 (getThreadsCount) and runs no faster than with 1.
  'tfjs-wasm-1': { make: (net, w) => tfEngine(w, net, 'wasm', 1), weights: 'safetensors' },
  'tfjs-webgpu': { make: (net, w) => tfEngine(w, net, 'webgpu'), weights: 'safetensors' },
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

// tfEngine builds the network with TensorFlow.js ops on backend ('wasm':
// XNNPACK with SIMD; 'webgpu') from the same
// safetensors weights, BatchNorm folded into the convs as TF.js's converter
// fuses it, in TF's native NHWC layout.
async function tfEngine(weights, net, backend, numThreads) {
  importScripts('/tfjs/core/tf-core.min.js', '/tfjs/cpu/tf-backend-cpu.min.js', `/tfjs/${backend}/tf-backend-${backend}.min.js`);
  const tf = self.tf;
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths('/tfjs/wasm/');
    tf.wasm.setThreadsCount(numThreads);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} did not start`);
  await tf.ready();
  const t = readSafetensors(weights);
  const conv = (name, bn, stride, pad) => {
    const w = t[`${name}.weight`];
    const [o, i, kh, kw] = w.shape;
    const g = t[`${bn}.weight`].data, b = t[`${bn}.bias`].data, m = t[`${bn}.running_mean`].data, v = t[`${bn}.running_var`].data;
    const hwio = new Float32Array(kh * kw * i * o);
    const bias = new Float32Array(o);
    for (let oc = 0; oc < o; oc++) {
      const scale = g[oc] / Math.sqrt(v[oc] + 1e-5);
      bias[oc] = b[oc] - m[oc] * scale;
      for (let ic = 0; ic < i; ic++) {
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) hwio[((y * kw + x) * i + ic) * o + oc] = w.data[((oc * i + ic) * kh + y) * kw + x] * scale;
        }
      }
    }
    const W = tf.tensor4d(hwio, [kh, kw, i, o]);
    const B = tf.tensor1d(bias);
    const padding = pad ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : 'valid';
    return (x, relu = true) => {
      const y = tf.add(tf.conv2d(x, W, stride, padding), B);
      return relu ? tf.relu(y) : y;
    };
  };
  const depth = Number(net.replace('resnet', ''));
  const blocks = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3] }[depth];
  const bottleneck = depth >= 50;
  const stem = conv('conv1', 'bn1', 2, 3);
  const layers = [];
  blocks.forEach((n, li) => {
    for (let bi = 0; bi < n; bi++) {
      const p = `layer${li + 1}.${bi}`;
      const stride = bi === 0 && li > 0 ? 2 : 1;
      const convs = bottleneck
        ? [conv(`${p}.conv1`, `${p}.bn1`, 1, 0), conv(`${p}.conv2`, `${p}.bn2`, stride, 1), conv(`${p}.conv3`, `${p}.bn3`, 1, 0)]
        : [conv(`${p}.conv1`, `${p}.bn1`, stride, 1), conv(`${p}.conv2`, `${p}.bn2`, 1, 1)];
      const down = t[`${p}.downsample.0.weight`] ? conv(`${p}.downsample.0`, `${p}.downsample.1`, stride, 0) : null;
      layers.push({ convs, down });
    }
  });
  const fcW = tf.transpose(tf.tensor2d(t['fc.weight'].data, t['fc.weight'].shape));
  const fcB = tf.tensor1d(t['fc.bias'].data);
  const forward = (x) => tf.tidy(() => {
    let h = tf.maxPool(stem(x), 3, 2, 1);
    for (const { convs, down } of layers) {
      const shortcut = down ? down(h, false) : h;
      let y = h;
      convs.forEach((c, i) => { y = c(y, i < convs.length - 1); });
      h = tf.relu(tf.add(y, shortcut));
    }
    return tf.add(tf.matMul(tf.mean(h, [1, 2]), fcW), fcB);
  });
  let x = null;
  return {
    info: { tfjs: tf.version_core, backend: tf.getBackend(), numThreads: backend === 'wasm' ? tf.wasm.getThreadsCount() : undefined },
    async run(input, wantLogits) {
      x ??= tf.tensor4d(toNHWC(input), [1, SIDE, SIDE, 3]);
      const start = performance.now();
      const out = forward(x);
      const logits = await out.data(); // waits for the GPU, as ours and ORT's do
      const ms = performance.now() - start;
      out.dispose();
      return { ms, logits: wantLogits ? logits : undefined };
    },
  };
}

// readSafetensors views an F32 safetensors file's tensors: {name: {shape, data}}.
function readSafetensors(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const out = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (e.dtype !== 'F32') throw new Error(`${name}: ${e.dtype}, want F32`);
    const [b, end] = e.data_offsets;
    out[name] = { shape: e.shape, data: new Float32Array(bytes.slice(8 + n + b, 8 + n + end).buffer) };
  }
  return out;
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
  await clf.workersReady; // the other workers join after the load (see schedulePool)
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
