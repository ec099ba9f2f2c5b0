// The GPU runner: the Go WebGPU backend (bench/wasm, the same Go code the
// page runs) under Node, on Dawn's bindings (npm `webgpu`). For each
// network it makes seeded random weights, then, in each mode (f32; f16,
// f16 storage with f32 arithmetic, on every adapter; f16-arith, f16
// arithmetic, where the adapter has shader-f16, else its row says it is
// unavailable): times single inferences, times every dispatch with
// timestamp queries, and compares the logits with the CPU engine's. It prints Markdown tables and writes results.json, the weights,
// the input and the logits to --out, for bench/gpu/torch_cuda.py.
//
//   (cd bench/gpu && npm ci) && node bench/gpu/run.mjs [--nets resnet18,resnet50]
//     [--size 224] [--runs 50] [--warmup 100] [--profile-runs 5] [--modes f32,f16,f16-arith]
//     [--seed 1] [--out bench/gpu/artifacts] [--wasm FILE] [--check]
//     [--kernels 32x32x32/4,16x32x32/2:4,gpu,...]
//     [--dawn 'disable-dawn-features=timestamp_quantization enable-dawn-features=vulkan_enable_f16_on_nvidia']
//   node bench/gpu/run.mjs --parity [--models fashion-resnet18,fashion-resnet50] [--images 10000] [--check]
//     [--fashion /usr/share/datasets/fashion-mnist] [--weights weights]
//   node bench/gpu/run.mjs --validate [--nets resnet18,resnet50] [--size 224]
//
// --kernels also profiles f32 with each of these conv kernels forced on
// every conv (webgpu.Options.ConvKernel: a tiling "MxNxK/T", split-K over S
// workgroups "MxNxK/T:S", "direct" (inputs up to 32x32), or "gpu", the
// per-layer choice for GPUs) and
// prints each layer's time per kernel: the measurements the per-layer
// choice is made from.
// --parity runs the bundled models (--models, from the manifest in
// --weights) on the first --images Fashion-MNIST test images (the
// t10k-*.gz files in --fashion, made into the networks' inputs by
// bench/gpu/fashion inside the wasm, so no Go is needed) on WebGPU in
// f32, with f16 storage and, where the adapter has shader-f16, with f16 arithmetic, and
// prints for each f16 mode how often its top-1 classes agree with f32's and
// the largest |f16 - f32| over the image's largest |f32 logit|, with each
// mode's accuracy; with --check it exits 1 below 99.9% agreement or above 1e-2.
// --validate loads the networks in every mode and under several kernels on
// Dawn's Null adapter (backend=null: it offers shader-f16 but runs nothing),
// where Dawn checks each shader with Tint, its bind groups and one Run's
// commands: the only check of the f16-arithmetic shaders on a machine
// whose adapters lack shader-f16. It first makes sure the Null adapter
// rejects a shader with an f16 type error, and exits 1 if anything fails.
// Without --wasm it builds bench/wasm with GOEXPERIMENT=simd. --check exits
// 1 when a mode's logits differ from the CPU engine's by more than 1e-4 (f32)
// or 1e-2 (f16) of the largest logit, or a mode fails. On a machine without
// a GPU, point Dawn at SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json,
// or at Mesa 25's lavapipe, which also runs f16 arithmetic:
// VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import fs, { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');
const { values: args } = parseArgs({
  options: {
    nets: { type: 'string', default: 'resnet18,resnet50' },
    size: { type: 'string', default: '224' },
    runs: { type: 'string', default: '50' },
    // A GPU's clocks settle after a few hundred milliseconds of work.
    warmup: { type: 'string', default: '100' },
    'profile-runs': { type: 'string', default: '5' },
    modes: { type: 'string', default: 'f32,f16,f16-arith' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: join(here, 'artifacts') },
    wasm: { type: 'string' },
    check: { type: 'boolean', default: false },
    kernels: { type: 'string', default: '' },
    // Dawn's toggles: timestamps are rounded to 65.5 µs unless quantization
    // is off; Dawn hides shader-f16 on NVIDIA's Vulkan driver, pending its
    // own f16 conformance failures there (crbug.com/42251215), unless
    // vulkan_enable_f16_on_nvidia is on (likely why the H200 run, without
    // it, offered none).
    dawn: { type: 'string', default: 'disable-dawn-features=timestamp_quantization enable-dawn-features=vulkan_enable_f16_on_nvidia' },
    parity: { type: 'boolean', default: false },
    models: { type: 'string', default: 'fashion-resnet18,fashion-resnet50' },
    images: { type: 'string', default: '10000' },
    fashion: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    weights: { type: 'string', default: join(repoRoot, 'weights') },
    validate: { type: 'boolean', default: false },
  },
});
const size = Number(args.size);
const runs = Number(args.runs);
const warmup = Number(args.warmup);
const profileRuns = Number(args['profile-runs']);
const TOLERANCE = { f32: 1e-4, f16: 1e-2, 'f16-arith': 1e-2 }; // of the largest |logit|
// What each mode asks webgpu.Options for, and its name in the tables.
const MODES = {
  f32: { options: {}, label: 'f32' },
  f16: { options: { f16: true }, label: 'f16 storage' },
  'f16-arith': { options: { f16Arithmetic: true }, label: 'f16 arithmetic', feature: 'shader-f16' },
};

// 1. The Go side: bench/wasm, built here unless given (the GPU machine has no Go).
await mkdir(args.out, { recursive: true });
let wasmFile = args.wasm;
let wasmExec = wasmFile && join(wasmFile, '..', 'wasm_exec.js');
if (!wasmFile) {
  const build = join(here, 'build');
  await mkdir(build, { recursive: true });
  const env = { ...process.env, GOOS: 'js', GOARCH: 'wasm', GOEXPERIMENT: 'simd', GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'auto' };
  const run = promisify(execFile);
  wasmFile = join(build, 'bench.wasm');
  await run('go', ['build', '-o', wasmFile, './bench/wasm'], { cwd: repoRoot, env });
  const goroot = (await run('go', ['env', 'GOROOT'], { cwd: repoRoot, env })).stdout.trim();
  wasmExec = join(build, 'wasm_exec.js');
  await copyFile(join(goroot, 'lib/wasm/wasm_exec.js'), wasmExec);
}

// 2. WebGPU as a browser offers it: the GPU* classes and navigator.gpu.
Object.assign(globalThis, globals);
const dawn = [...(args.dawn ? args.dawn.split(' ') : []), ...(args.validate ? ['backend=null'] : [])];
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create(dawn) }, configurable: true });
const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
const adapterInfo = adapter && { ...Object.fromEntries(['vendor', 'architecture', 'device', 'description'].map((k) => [k, adapter.info[k]])), features: [...adapter.features].sort() };
// Node's file system for the Go side, which wasm_exec.js would otherwise
// stub: --parity reads the manifest and the data set from Go.
globalThis.fs = fs;
await import(pathToFileURL(wasmExec));
const go = new globalThis.Go();
const { instance } = await WebAssembly.instantiate(readFileSync(wasmFile), go.importObject);
go.run(instance); // returns once main blocks; goBench is then set
const bench = globalThis.goBench;
if (args.parity) process.exit(await parity());
if (args.validate) process.exit(await validate());

// A seeded N(0, 1) input, NHWC: the same bytes every run and for PyTorch.
function randomInput(n, seed) {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  const next = () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number(s >> 11n) / 2 ** 53;
  };
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return x;
}
const input = randomInput(size * size * 3, Number(args.seed));
await writeFile(join(args.out, `input-${size}.f32`), input);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { date: new Date().toISOString(), size, runs, warmup, seed: Number(args.seed), adapterInfo, nets: [] };
let failed = false;
for (const net of args.nets.split(',')) {
  const weights = await bench.random(net, Number(args.seed));
  await writeFile(join(args.out, `${net}.safetensors`), weights);
  const cpu = await bench.load(weights, net, 'cpu', { size });
  const reference = (await bench.run(input, true)).logits;
  await writeFile(join(args.out, `${net}-cpu.f32`), reference);
  const entry = { net, modes: [] };
  results.nets.push(entry);
  for (const mode of args.modes.split(',')) {
    if (!MODES[mode]) throw new Error(`--modes: unknown mode ${mode} (want ${Object.keys(MODES)})`);
    const row = { mode, label: MODES[mode].label };
    entry.modes.push(row);
    try {
      Object.assign(row, await bench.load(weights, net, 'webgpu', { size, ...MODES[mode].options }));
    } catch (e) {
      // A mode the adapter cannot run is reported as such, not as a failure.
      const missing = MODES[mode].feature;
      if (missing && !adapterInfo?.features.includes(missing)) row.unavailable = `unavailable on this adapter (no ${missing}): ${e.message ?? e}`;
      else failed = true;
      row.error = String(e.message ?? e);
      continue;
    }
    const first = await bench.run(input, true);
    await writeFile(join(args.out, `${net}-webgpu-${mode}.f32`), first.logits);
    Object.assign(row, compare(first.logits, reference));
    if (!(row.diff <= TOLERANCE[mode])) failed = true;
    for (let i = 0; i < warmup; i++) await bench.run(input, false);
    const times = [];
    for (let i = 0; i < runs; i++) times.push((await bench.run(input, false)).ms);
    Object.assign(row, { firstMs: first.ms, medianMs: median(times), minMs: Math.min(...times), times });
    if (row.timestamps && profileRuns > 0) {
      const profiles = [];
      for (let i = 0; i < profileRuns; i++) profiles.push(await bench.profile(input));
      row.dispatches = profiles[0].map((d, i) => ({ ...d, gpuNs: median(profiles.map((p) => p[i].gpuNs)) }));
      row.gpuMs = row.dispatches.reduce((s, d) => s + d.gpuNs, 0) / 1e6;
    }
    console.error(`${net} ${mode}: ${row.medianMs.toFixed(2)} ms, diff ${row.diff.toExponential(1)}`);
  }
  entry.sweep = [];
  for (const kernel of args.kernels ? args.kernels.split(',') : []) {
    const row = { kernel };
    entry.sweep.push(row);
    try {
      await bench.load(weights, net, 'webgpu', { size, kernel });
      Object.assign(row, compare((await bench.run(input, true)).logits, reference));
      const times = [];
      for (let i = 0; i < warmup + runs; i++) times.push((await bench.run(input, false)).ms);
      row.medianMs = median(times.slice(warmup));
      const profiles = [];
      for (let i = 0; i < Math.max(profileRuns, 1); i++) profiles.push(await bench.profile(input));
      // Per layer: a split-K conv and the dispatch that sums its splits count together.
      row.layers = {};
      row.kernels = {};
      profiles[0].forEach((d, i) => {
        row.layers[d.layer] = (row.layers[d.layer] ?? 0) + median(profiles.map((p) => p[i].gpuNs));
        if (d.tile) row.kernels[d.layer] = d.tile;
      });
      row.dispatchCount = profiles[0].length;
      if (!(row.diff <= TOLERANCE.f32)) failed = true;
    } catch (e) {
      row.error = String(e.message ?? e);
      failed = true;
    }
    console.error(`${net} kernel ${kernel}: ${row.error ?? `${row.medianMs.toFixed(2)} ms`}`);
  }
}
results.adapter = results.nets.flatMap((n) => n.modes).find((r) => r.adapter)?.adapter ?? 'none';
await writeFile(join(args.out, 'results.json'), JSON.stringify(results, null, 2));
console.log(markdown(results));
process.exit(args.check && failed ? 1 : 0);

// compare returns the largest |a - b| over the largest |b|, and whether the
// top-1 classes agree.
function compare(got, want) {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  const argmax = (x) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);
  return { diff: worst / scale, sameTop1: argmax(got) === argmax(want) };
}

function markdown(r) {
  const f = (x, d = 2) => (x == null ? '' : x.toFixed(d));
  const out = [
    `- date: ${r.date}; adapter: ${r.adapter}; input ${r.size}x${r.size}, batch 1; median of ${r.runs} runs after ${r.warmup} warm-up`,
    `- adapter features: ${r.adapterInfo?.features.join(', ') ?? 'none'}`,
    '',
    '| network | mode | ms/image (median) | min ms | first ms | GPU ms (sum of dispatches) | vs CPU engine (max diff / max logit) | same top-1 |',
    '|---|---|--:|--:|--:|--:|--:|---|',
  ];
  for (const n of r.nets) {
    for (const m of n.modes) {
      if (m.error) {
        out.push(`| ${n.net} | ${m.label} | ${m.unavailable ? 'unavailable on this adapter (no shader-f16)' : `error: ${m.error.split('\n')[0].replaceAll('|', '\\|')}`} | | | | | |`);
        continue;
      }
      out.push(`| ${n.net} | ${m.label} | ${f(m.medianMs)} | ${f(m.minMs)} | ${f(m.firstMs)} | ${f(m.gpuMs)} | ${m.diff.toExponential(1)} | ${m.sameTop1 ? 'yes' : 'NO'} |`);
    }
  }
  for (const n of r.nets) {
    for (const m of n.modes.filter((x) => x.dispatches)) {
      out.push('', `Per dispatch, ${n.net} ${m.label} (median of ${profileRuns} profiled runs, each dispatch in its own timed pass):`, '');
      out.push('| # | layer | kernel | output | workgroups | GPU µs | share | GFLOP/s |', '|--:|---|---|---|--:|--:|--:|--:|');
      const total = m.dispatches.reduce((s, d) => s + d.gpuNs, 0);
      m.dispatches.forEach((d, i) => {
        const gflops = d.flops && d.gpuNs ? f(d.flops / d.gpuNs, 1) : '';
        out.push(`| ${i} | ${d.layer} | ${d.kernel} | ${d.output} | ${d.workgroups} | ${f(d.gpuNs / 1e3, 1)} | ${f((100 * d.gpuNs) / total, 1)}% | ${gflops} |`);
      });
    }
  }
  for (const n of r.nets.filter((x) => x.sweep?.some((t) => t.layers))) {
    const ok = n.sweep.filter((t) => t.layers);
    const layers = n.modes.find((m) => m.dispatches)?.dispatches;
    if (!layers) continue;
    out.push('', `Conv kernels, ${n.net} f32: GPU µs per layer with each kernel forced on every conv (best in bold; "gpu" is the per-layer choice, its kernel in brackets):`, '');
    out.push(`| layer | kernel | output | ${ok.map((t) => t.kernel).join(' | ')} |`, `|---|---|---|${ok.map(() => '--:|').join('')}`);
    for (const d of layers.filter((x, i) => i === 0 || x.layer !== layers[i - 1].layer)) {
      const best = Math.min(...ok.map((t) => t.layers[d.layer]));
      const cells = ok.map((t) => {
        const cell = f(t.layers[d.layer] / 1e3, 1) + (t.kernel === 'gpu' && t.kernels[d.layer] ? ` (${t.kernels[d.layer]})` : '');
        return t.layers[d.layer] === best && d.flops ? `**${cell}**` : cell;
      });
      out.push(`| ${d.layer} | ${d.kernel} | ${d.output} | ${cells.join(' | ')} |`);
    }
    const sum = (t) => Object.values(t.layers).reduce((s, x) => s + x, 0) / 1e6;
    out.push(`| GPU ms, sum | | | ${ok.map((t) => f(sum(t))).join(' | ')} |`);
    out.push(`| ms/image (median) | | | ${ok.map((t) => f(t.medianMs)).join(' | ')} |`);
    const names = [...new Set(layers.map((d) => d.layer))];
    const bestSum = names.reduce((s, name) => s + Math.min(...ok.map((t) => t.layers[name])), 0) / 1e6;
    out.push('', `The best kernel for each layer would sum to ${f(bestSum)} GPU ms.`);
  }
  return out.join('\n');
}

// parity runs --parity (see the top) and returns the exit status.
async function parity() {
  // f16 storage runs everywhere; f16 arithmetic where the adapter can.
  const f16Modes = ['f16', ...(adapterInfo?.features.includes('shader-f16') ? ['f16-arith'] : [])];
  const rows = [];
  for (const model of args.models.split(',')) {
    const images = Number(args.images);
    const data = (name) => resolve(args.fashion, `t10k-${name}-idx${name === 'images' ? 3 : 1}-ubyte.gz`);
    const { inputs, labels, crop, weights: file } = await bench.fashion(resolve(args.weights), model, images, data('images'), data('labels'));
    const weights = readFileSync(file);
    const values = crop * crop * 3;
    const logits = {};
    for (const mode of ['f32', ...f16Modes]) {
      await bench.load(weights, '', 'webgpu', { size: crop, ...MODES[mode].options });
      const started = Date.now();
      logits[mode] = [];
      for (let i = 0; i < images; i++) {
        logits[mode].push((await bench.run(inputs.subarray(i * values, (i + 1) * values), true)).logits);
        if ((i + 1) % 50 === 0) console.error(`${model} ${mode}: ${i + 1} of ${images} images, ${((Date.now() - started) / (i + 1)).toFixed(0)} ms each`);
      }
    }
    const argmax = (x) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);
    const correct = (mode) => logits[mode].filter((x, i) => argmax(x) === labels[i]).length;
    for (const mode of f16Modes) {
      const row = { model, mode, images, agree: 0, worst: 0, worstImage: -1, correct: { f32: correct('f32'), [mode]: correct(mode) } };
      for (let i = 0; i < images; i++) {
        const [a, b] = [logits.f32[i], logits[mode][i]];
        if (argmax(a) === argmax(b)) row.agree++;
        const ratio = compare(b, a).diff;
        if (ratio > row.worst) [row.worst, row.worstImage] = [ratio, i];
      }
      rows.push(row);
    }
  }
  const pct = (n, d) => `${((100 * n) / d).toFixed(2)}%`;
  console.log([
    `- date: ${new Date().toISOString()}; adapter: ${adapterInfo ? `${adapterInfo.vendor} ${adapterInfo.description}` : 'none'}; the first ${args.images} Fashion-MNIST test images`,
    ...(f16Modes.includes('f16-arith') ? [] : ['- f16 arithmetic: unavailable on this adapter (no shader-f16)']),
    '',
    '| model | f16 mode | images | same top-1 as f32 | largest \\|Δlogit\\| / max\\|logit\\| (image) | top-1 accuracy f32 | f16 mode |',
    '|---|---|--:|--:|--:|--:|--:|',
    ...rows.map((r) => `| ${r.model} | ${MODES[r.mode].label} | ${r.images} | ${r.agree} (${pct(r.agree, r.images)}) | ${r.worst.toExponential(1)} (${r.worstImage}) | ${pct(r.correct.f32, r.images)} | ${pct(r.correct[r.mode], r.images)} |`),
  ].join('\n'));
  await writeFile(join(args.out, 'parity.json'), JSON.stringify(rows, null, 2));
  const holds = rows.every((r) => r.agree >= 0.999 * r.images && r.worst <= 1e-2);
  return args.check && !holds ? 1 : 0;
}

// validate runs --validate (see the top) and returns the exit status.
async function validate() {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter?.features.has('shader-f16')) {
    console.log('validate: no Null adapter with shader-f16 (backend=null) in this Dawn');
    return 1;
  }
  // The check must be able to fail: a type error in f16 code is refused.
  const device = await adapter.requestDevice({ requiredFeatures: ['shader-f16'] });
  device.pushErrorScope('validation'); // the error is expected: not printed
  const bad = device.createShaderModule({ code: 'enable f16;\nfn f() -> f16 { return 1.0f; }' });
  const rejected = (await bad.getCompilationInfo()).messages.some((m) => m.type === 'error');
  await device.popErrorScope();
  device.destroy();
  console.log(`- Null adapter's own check: a shader with an f16 type error is ${rejected ? 'rejected' : 'ACCEPTED'}`);
  let ok = rejected;
  for (const net of args.nets.split(',')) {
    const weights = await bench.random(net, 1);
    for (const mode of Object.keys(MODES)) {
      // The per-layer choice, and kernels that the choice for this adapter
      // would not make (a software adapter's two, a split everywhere). The
      // direct kernel takes maps of up to 256 positions: on every conv, it
      // runs at 32x32, whose largest map (the stem's) is 16x16.
      for (const kernel of ['', '64x64x16/64', 'direct', '16x32x32/2:3']) {
        const what = `${net} ${MODES[mode].label}${kernel ? ` kernel ${kernel}` : ''}`;
        try {
          const side = kernel === 'direct' ? 32 : size;
          const info = await bench.load(weights, net, 'webgpu', { size: side, kernel, ...MODES[mode].options });
          if (mode === 'f16-arith' && !info.f16Arithmetic) throw new Error('f16 arithmetic was not used');
          await bench.run(randomInput(side * side * 3, 1), false); // records and submits every dispatch
          console.log(`- ${what}: every shader compiles and binds, and a run is submitted`);
        } catch (e) {
          ok = false;
          console.log(`- ${what}: FAILED: ${e.message ?? e}`);
        }
      }
    }
  }
  return ok ? 0 : 1;
}
