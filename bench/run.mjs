// Browser benchmark: the Go engine (wasm CPU with and without SIMD128, and
// WebGPU) against ONNX Runtime Web and TensorFlow.js on ResNet-18/50 at
// 224x224, in Debian's headless Chromium. Builds bench/wasm twice, exports
// the models if missing, serves bench/web, runs the page and prints a
// Markdown table.
//
//   (cd bench && npm ci) && node bench/run.mjs [--nets resnet18,resnet50]
//     [--configs ours-simd,ours-plain,ours-workers-1,ours-workers-2,ort-wasm-1,ort-wasm-2,tfjs-wasm-1,ours-webgpu,ort-webgpu,tfjs-webgpu]
//     [--runs 10] [--gpu-runs 3] [--warmup 3] [--gpu-warmup 0] [--rounds 1] [--gpu-kernel MxNxK/T[:S]] [--serve]
//
// --serve only builds and serves, for a person to open the page.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
process.env.GOTOOLCHAIN ??= 'auto'; // go.mod asks for Go 1.27, which only 'auto' fetches
const repoRoot = join(here, '..');
const KNOWN = [
  'ours-simd', 'ours-plain', 'ours-workers-1', 'ours-workers-2', 'ort-wasm-1', 'ort-wasm-2', 'tfjs-wasm-1',
  'ours-webgpu', 'ort-webgpu', 'tfjs-webgpu',
];
const { values: args } = parseArgs({
  options: {
    nets: { type: 'string', default: 'resnet18,resnet50' },
    configs: { type: 'string', default: KNOWN.join(',') },
    runs: { type: 'string', default: '10' },
    'gpu-runs': { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    'gpu-warmup': { type: 'string', default: '0' },
    rounds: { type: 'string', default: '1' },
    // Forces one conv kernel on ours-webgpu (webgpu.Options.ConvKernel), for measuring.
    'gpu-kernel': { type: 'string', default: '' },
    serve: { type: 'boolean', default: false },
  },
});
const nets = args.nets.split(',');
const configs = args.configs.split(',');
for (const c of configs) {
  if (!KNOWN.includes(c)) {
    console.error(`unknown configuration ${c} (want some of ${KNOWN.join(',')})`);
    process.exit(2);
  }
}

// The flags the project runs Chromium with: headless, quiet, WebGPU on SwiftShader.
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic', '--no-first-run', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader',
  // Unrounded timestamp queries, for the per-dispatch GPU times of ours-webgpu.
  '--enable-dawn-features=allow_unsafe_apis',
];

// 1. The two builds of bench/wasm: SIMD128 (also the WebGPU configuration's) and plain.
const build = join(here, 'build');
await mkdir(build, { recursive: true });
const goEnv = { ...process.env, GOOS: 'js', GOARCH: 'wasm' };
delete goEnv.GOEXPERIMENT;
const builds = [];
if (configs.some((c) => c === 'ours-simd' || c === 'ours-webgpu')) builds.push(['bench-simd.wasm', { ...goEnv, GOEXPERIMENT: 'simd' }]);
if (configs.includes('ours-plain')) builds.push(['bench-plain.wasm', goEnv]);
for (const [name, env] of builds) {
  await run('go', ['build', '-o', join(build, name), './bench/wasm'], { cwd: repoRoot, env });
}
const goroot = (await run('go', ['env', 'GOROOT'], { cwd: repoRoot })).stdout.trim();

// 2. The models, exported from one seeded torchvision model each.
const models = join(here, 'models');
const missing = nets.filter((n) => !existsSync(join(models, `${n}.onnx`)) || !existsSync(join(models, `${n}.safetensors`)));
if (missing.length) {
  console.error(`exporting ${missing.join(', ')} ...`);
  await run('/usr/bin/python3', [join(here, 'export_models.py'), '--out', models, ...missing], { cwd: repoRoot });
}

// 2b. For the ours-workers rows, the app itself (cmd/build-wasm) with the
// same models in its manifest as bench-<net>: they run through site/resnet.js
// and its pool of Web Workers, served under /app/.
const app = join(build, 'app');
if (configs.some((c) => c.startsWith('ours-workers-'))) {
  const dir = join(build, 'app-weights');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await copyFile(join(repoRoot, 'weights/imagenet-classes.txt'), join(dir, 'imagenet-classes.txt'));
  const entries = [];
  for (const net of nets) {
    const file = `${net}.safetensors`;
    await link(join(models, file), join(dir, file));
    const bytes = await readFile(join(dir, file));
    entries.push({
      name: `bench-${net}`, arch: net, variant: 'v1.5', classes: 1000, input_size: 224, resize: 224, crop: 224,
      mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], labels: 'imagenet-classes.txt', dtype: 'F32',
      file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), accuracy: 0,
      source: 'bench/export_models.py: a seeded torchvision model with random weights, for timing only',
    });
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ version: 1, models: entries }, null, 2));
  await run('go', ['run', './cmd/build-wasm', '-out', app, '-weights', dir], { cwd: repoRoot });
}

// 3. A static server. COOP/COEP make the page cross-origin isolated, which
// ONNX Runtime needs for more than one thread (SharedArrayBuffer).
const MIME = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.map': 'application/json',
};
const ROOTS = {
  '/app/': app, '/build/': build, '/models/': models, '/ort/': join(here, 'node_modules/onnxruntime-web/dist'),
  '/tfjs/core/': join(here, 'node_modules/@tensorflow/tfjs-core/dist'),
  '/tfjs/cpu/': join(here, 'node_modules/@tensorflow/tfjs-backend-cpu/dist'),
  '/tfjs/wasm/': join(here, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
  '/tfjs/webgpu/': join(here, 'node_modules/@tensorflow/tfjs-backend-webgpu/dist'),
  '/': join(here, 'web'),
};
const server = createServer(async (req, res) => {
  let path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  if (path === '/') path = '/index.html';
  let file = path === '/wasm_exec.js' ? join(goroot, 'lib/wasm/wasm_exec.js') : null;
  for (const [prefix, dir] of Object.entries(ROOTS)) {
    if (file || !path.startsWith(prefix)) continue;
    const rel = normalize(path.slice(prefix.length));
    if (!rel.startsWith('..')) file = join(dir, rel);
  }
  const headers = {
    'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-store',
  };
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
    res.writeHead(200, { ...headers, 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'content-length': st.size });
    createReadStream(file).pipe(res);
  } catch {
    if (path !== '/favicon.ico') console.error(`404 ${path}`);
    res.writeHead(404, headers).end();
  }
}).listen(0, '127.0.0.1');
await once(server, 'listening');
// localhost in the URL: a secure context by name, which WebGPU requires.
const query = new URLSearchParams({
  nets: args.nets, configs: args.configs, runs: args.runs, gpuRuns: args['gpu-runs'], warmup: args.warmup, gpuWarmup: args['gpu-warmup'], rounds: args.rounds,
  gpuKernel: args['gpu-kernel'],
});
const url = `http://localhost:${server.address().port}/?${query}`;
if (args.serve) {
  console.log(`serving ${url} (Ctrl-C to stop)`);
} else {
  await bench();
  server.close();
}

async function bench() {
  const load = [loadavg()];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
  let results;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 600 } });
    page.on('console', (m) => console.error(`[page] ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    await page.goto(url);
    results = await (await page.waitForFunction(() => window.benchResults, null, { timeout: 0, polling: 1000 })).jsonValue();
    await mkdir(join(here, 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(here, 'artifacts', 'bench.png'), fullPage: true });
    results.chromium = browser.version();
  } finally {
    await browser.close();
  }
  load.push(loadavg());
  const cpuModel = (await readFile('/proc/cpuinfo', 'utf8')).match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown';
  const meta = {
    date: new Date().toISOString(), nproc: cpus().length, cpuModel, chromium: results.chromium,
    command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    loadavg: { before: load[0], after: load[1] },
  };
  await writeFile(join(here, 'artifacts', 'results.json'), JSON.stringify({ ...meta, ...results }, null, 2));
  console.log(markdown(meta, results));
}

function markdown(meta, { rows, crossOriginIsolated }) {
  const f = (x, d = 1) => (x == null ? '' : x.toFixed(d));
  const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
  const out = [
    `- date: ${meta.date}`,
    `- machine: ${meta.nproc} CPUs, ${meta.cpuModel}`,
    `- browser: Chromium ${meta.chromium} (headless, WebGPU on SwiftShader), crossOriginIsolated ${crossOriginIsolated}`,
    `- load average (1/5/15 min): before ${la(meta.loadavg.before)}, after ${la(meta.loadavg.after)}`,
    `- command: \`${meta.command}\``,
    '',
    '| network | configuration | load ms | first-run ms | median ms | min ms | runs | ours/theirs | vs 1 worker | logit diff | wasm heap MiB |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const cells = r.error
      ? [`error: ${r.error.split('\n')[0].replaceAll('|', '\\|')}`, '', '', '', '', '', '', '', '']
      : [f(r.loadMs, 0), f(r.firstMs), f(r.median), f(r.min), r.times.length, r.ratio == null ? '' : `${f(r.ratio, 2)} vs ${r.versus}`, r.speedup == null ? '' : `${f(r.speedup, 2)}x`,
        r.reference ? 'reference' : r.logitDiff == null ? '' : r.logitDiff.toExponential(1),
        r.heapBytes ? f(r.heapBytes / 2 ** 20, 0) : ''];
    out.push(`| ${[r.net, r.config, ...cells].join(' | ')} |`);
  }
  // Where our load time goes: starting the Go runtime, reading the
  // safetensors bytes, folding and packing (or uploading) the weights.
  const ours = rows.filter((r) => r.info?.parseMs != null);
  if (ours.length) out.push('', 'Load of ours: wasm start + checkpoint read + engine build (adapter)', '');
  for (const r of ours) {
    out.push(`- ${r.net} ${r.config}: ${f(r.info.startMs, 0)} + ${f(r.info.parseMs, 0)} + ${f(r.info.buildMs, 0)} ms (${r.info.adapter})`);
  }
  // Where the GPU time goes (the page shows every dispatch).
  const profiled = rows.filter((r) => r.profile);
  if (profiled.length) out.push('', 'GPU time of ours-webgpu by dispatch (timestamp queries): the sum, then the three slowest', '');
  for (const r of profiled) {
    const total = r.profile.reduce((s, d) => s + d.gpuNs, 0);
    const slowest = [...r.profile].sort((a, b) => b.gpuNs - a.gpuNs).slice(0, 3)
      .map((d) => `${d.layer} (${d.kernel}, ${d.output}) ${f(d.gpuNs / 1e6)} ms`);
    out.push(`- ${r.net}: ${f(total / 1e6)} ms over ${r.profile.length} dispatches; ${slowest.join('; ')}`);
  }
  return out.join('\n');
}
