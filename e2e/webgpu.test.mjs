// Browser tests of the WebGPU backend (webgpu/): the package's Go tests,
// built for js/wasm, run in a worker of headless Chromium on SwiftShader,
// each test group on a fresh page. WEBGPU_BENCH=N adds perf mode: N timed
// runs of ResNet-18 and ResNet-50 at 224x224 on WebGPU and on the CPU engine.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { launchChromium, repoRoot, scratchDir } from './harness.mjs';

const run = promisify(execFile);
let scratch, server, url, browser;

before(async () => {
  scratch = await scratchDir('webgpu');
  const wasm = join(scratch.dir, 'webgpu.test.wasm');
  // The SIMD128 build, so that the CPU engine's timings are the app's.
  await run('go', ['test', '-c', '-o', wasm, './webgpu/'], {
    cwd: repoRoot, env: { ...process.env, GOOS: 'js', GOARCH: 'wasm', GOEXPERIMENT: 'simd' },
  });
  const goroot = (await run('go', ['env', 'GOROOT'], { cwd: repoRoot })).stdout.trim();
  const files = {
    '/': [join(repoRoot, 'webgpu/testpage/index.html'), 'text/html'],
    '/worker.js': [join(repoRoot, 'webgpu/testpage/worker.js'), 'text/javascript'],
    '/wasm_exec.js': [join(goroot, 'lib/wasm/wasm_exec.js'), 'text/javascript'],
    '/webgpu.test.wasm': [wasm, 'application/wasm'],
  };
  server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    const golden = path.match(/^\/engine\/testdata\/([\w.-]+)$/);
    const [file, type] = files[path] ?? (golden ? [join(repoRoot, 'engine/testdata', golden[1]), 'application/octet-stream'] : []);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  // localhost, not 127.0.0.1 in the URL: a secure context by name.
  url = `http://localhost:${server.address().port}/`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
  await scratch?.remove();
});

/**
 * Runs the Go tests matching pattern in a fresh page of b with extra flags
 * and fails unless they pass; their log lines become test diagnostics.
 * Returns their output.
 */
async function goTest(t, pattern, { flags = [], b = browser, noGPU = false } = {}) {
  const page = await b.newPage();
  try {
    await page.goto(url);
    const args = ['-test.v', '-test.timeout=4m', `-test.run=${pattern}`, ...flags];
    const { code, output } = await page.evaluate(([args, noGPU]) => runGoTest(args, { noGPU }), [args, noGPU]);
    for (const line of output.split('\n')) {
      if (line.trim() && !line.startsWith('=== ')) t.diagnostic(line);
    }
    assert.doesNotMatch(output, /no tests to run/);
    assert.equal(code, 0, `go test exited with ${code}:\n${output}`);
    return output;
  } finally {
    await page.close();
  }
}

test('every WebGPU kernel matches the CPU engine op by op', (t) => goTest(t, '^TestOp(Conv|MaxPool|AveragePoolFC|Softmax)$', { flags: ['-webgpu.require'] }));

test('narrow goldens (32x32) match the CPU engine end to end', (t) => goTest(t, '^TestNarrowGoldens$', { flags: ['-webgpu.require'] }));

test('narrow goldens read back the last block and its class activation maps as PyTorch computes them (80x48)', (t) => goTest(t, '^TestFeatureMapGoldens$', { flags: ['-webgpu.require'] }));

test('two runs in flight, the second submitted before the first is read back, each get their own logits', (t) => goTest(t, '^TestOverlappedRuns$', { flags: ['-webgpu.require'] }));

test('one run is one input write, one submit and one readback of the logits; the feature map only when asked', (t) => goTest(t, '^TestRunTraffic$', { flags: ['-webgpu.require'] }));

test('ResNet-18 and ResNet-50 at 224x224 match the CPU engine', (t) => {
  const flags = ['-webgpu.require', '-webgpu.full'];
  if (process.env.WEBGPU_BENCH) flags.push(`-webgpu.bench=${process.env.WEBGPU_BENCH}`);
  return goTest(t, '^TestFullSize$', { flags });
});

test('f16 arithmetic runs where the adapter has shader-f16, and is refused with ErrNoShaderF16 where not', async (t) => {
  const output = await goTest(t, '^TestF16Arithmetic(NeedsShaderF16)?$', { flags: ['-webgpu.require'] });
  // One of the two runs, the other skips; a skipped f16 arithmetic is
  // reported as skipped, not as passing.
  if (/--- SKIP: TestF16Arithmetic \(/.test(output)) {
    assert.match(output, /--- PASS: TestF16ArithmeticNeedsShaderF16/);
    t.skip(`f16 arithmetic not run: ${output.match(/adapter "[^"]*" has no shader-f16/)?.[0]}`);
  } else {
    assert.match(output, /--- PASS: TestF16Arithmetic \(/);
  }
});

test('a lost device is reported and a new one works without reloading', (t) => goTest(t, '^TestDeviceLoss$', { flags: ['-webgpu.require'] }));

test('Open reports each way WebGPU can be missing as unavailable', (t) => goTest(t, '^TestOpenUnavailable$', { flags: ['-webgpu.require'] }));

test('a page without navigator.gpu gets the unavailable error', (t) => goTest(t, '^TestUnavailableBrowser$', { flags: ['-webgpu.unavailable'], noGPU: true }));

test('Chromium without the WebGPU flags (no adapter) gets the unavailable error', async (t) => {
  const plain = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
  try {
    await goTest(t, '^TestUnavailableBrowser$', { flags: ['-webgpu.unavailable'], b: plain });
  } finally {
    await plain.close();
  }
});
