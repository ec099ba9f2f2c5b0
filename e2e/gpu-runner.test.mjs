// The GPU runner (bench/gpu/run.mjs): the Go WebGPU backend under Node on
// Dawn's bindings, here on SwiftShader and on lavapipe, at a small input so
// that it takes seconds. It must match the CPU engine, time every dispatch,
// run every forced tiling correctly, and run f16 arithmetic where offered.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, scratchDir } from './harness.mjs';

const run = promisify(execFile);

test('the Go WebGPU backend under Node matches the CPU engine and times each dispatch', { timeout: 300_000 }, async () => {
  const scratch = await scratchDir('gpu-runner');
  const env = { ...process.env, VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' };
  const kernels = '16x32x32/2:3,gpu';
  const { stdout } = await run('node', [
    'bench/gpu/run.mjs', '--nets', 'resnet18,resnet50', '--size', '64', '--runs', '2', '--warmup', '0',
    '--profile-runs', '1', '--kernels', kernels, '--out', scratch.dir, '--check',
  ], { cwd: repoRoot, env, maxBuffer: 1 << 24 });
  const results = JSON.parse(await readFile(join(scratch.dir, 'results.json'), 'utf8'));
  assert.match(results.adapter, /swiftshader/i);
  assert.equal(results.nets.length, 2);
  for (const { net, modes, sweep } of results.nets) {
    const f32 = modes.find((m) => m.mode === 'f32');
    assert.ok(f32.diff <= 1e-4, `${net}: f32 logits differ from the CPU engine's by ${f32.diff} of the largest`);
    assert.ok(f32.sameTop1);
    // One timed dispatch per step: the image's padding, the stem, the
    // max-pool, 19 or 52 convs and downsamples, the average pool and the fc.
    assert.equal(f32.dispatches.length, net === 'resnet18' ? 24 : 57);
    for (const d of f32.dispatches) assert.ok(d.gpuNs > 0, `${net} ${d.layer}: no GPU time`);
    assert.ok(f32.gpuMs < 2 * f32.medianMs, `${net}: ${f32.gpuMs} GPU ms in a ${f32.medianMs} ms run`);
    // f16 storage (two values a u32, core WGSL) runs everywhere.
    const f16 = modes.find((m) => m.mode === 'f16');
    assert.ok(f16.diff <= 1e-2 && f16.sameTop1, `${net}: f16 logits differ from the CPU engine's by ${f16.diff}`);
    // f16 arithmetic needs shader-f16, which SwiftShader lacks: Load
    // refuses it with ErrNoShaderF16's message, and the row says so
    // (lavapipe runs it: below).
    const arith = modes.find((m) => m.mode === 'f16-arith');
    assert.ok(!results.adapterInfo.features.includes('shader-f16'), 'SwiftShader offers shader-f16 now: check the f16-arith row instead');
    assert.match(arith.unavailable ?? '', /no shader-f16.*f16 arithmetic needs the WebGPU feature shader-f16/);
    assert.deepEqual(sweep.map((t) => t.kernel), kernels.split(','));
    for (const t of sweep) {
      assert.ok(t.diff <= 1e-4, `${net} kernel ${t.kernel}: logits differ by ${t.diff}`);
      // Every layer timed; split-K adds a dispatch per conv that sums the splits.
      assert.deepEqual(Object.keys(t.layers), [...new Set(f32.dispatches.map((d) => d.layer))]);
      assert.ok(t.dispatchCount > f32.dispatches.length, `${net} ${t.kernel}: ${t.dispatchCount} dispatches`);
    }
  }
  assert.match(stdout, /\| resnet50 \| f32 \|/);
  assert.match(stdout, /\| resnet50 \| f16 arithmetic \| unavailable on this adapter \(no shader-f16\) \|/);
  assert.match(stdout, /Conv kernels, resnet18 f32/);
  await scratch.remove();
});

test('every shader, f16 arithmetic included, passes Dawn\'s validation on its Null adapter', { timeout: 300_000 }, async (t) => {
  // Dawn's Null adapter (backend=null) offers shader-f16 and checks each
  // shader with Tint, each bind group against its layout and a run's
  // commands, without executing anything: every kernel in every mode,
  // where lavapipe runs only the kernels of CPU adapters.
  const scratch = await scratchDir('gpu-validate');
  const { stdout } = await run('node', ['bench/gpu/run.mjs', '--validate', '--out', scratch.dir], { cwd: repoRoot, maxBuffer: 1 << 24 });
  t.diagnostic(`${stdout.trim().split('\n').length} lines`);
  assert.match(stdout, /Null adapter's own check: a shader with an f16 type error is rejected/);
  for (const net of ['resnet18', 'resnet50']) {
    for (const mode of ['f32', 'f16 storage', 'f16 arithmetic']) {
      for (const kernel of ['', ' kernel 64x64x16/64', ' kernel direct', ' kernel 16x32x32/2:3']) {
        assert.ok(stdout.includes(`- ${net} ${mode}${kernel}: every shader compiles and binds`), `${net} ${mode}${kernel}:\n${stdout}`);
      }
    }
  }
  await scratch.remove();
});

test('f16 storage gives the bundled ResNet-18 the f32 path’s top-1 on Fashion-MNIST test images', { timeout: 300_000 }, async (t) => {
  // SwiftShader takes a second or more an image and mode, so CI runs the
  // first 10 (BENCHMARKS.md has more, and the command for all 10,000).
  // worst > 0: f16 storage really ran.
  const scratch = await scratchDir('gpu-parity');
  const env = { ...process.env, VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' };
  const { stdout } = await run('node', [
    'bench/gpu/run.mjs', '--parity', '--models', 'fashion-resnet18', '--images', '10', '--out', scratch.dir, '--check',
  ], { cwd: repoRoot, env, maxBuffer: 1 << 24 });
  t.diagnostic(stdout.trim().split('\n').at(-1));
  const [r] = JSON.parse(await readFile(join(scratch.dir, 'parity.json'), 'utf8'));
  assert.equal(r.images, 10);
  assert.equal(r.agree, 10, `${r.agree} of 10 images have the same top-1`);
  assert.ok(r.worst > 0 && r.worst <= 1e-2, `f16 logits differ from f32 by ${r.worst} of the largest`);
  assert.ok(r.correct.f32 >= 8, `${r.correct.f32} of 10 right in f32: the inputs are not the test images as the model sees them`);
  await scratch.remove();
});

// Mesa's lavapipe (a CPU Vulkan; test.sh installs Mesa 25 where Debian has an older one) is
// the one adapter here that offers shader-f16, so the f16-arithmetic
// shaders run for real on it, in every kernel the CPU adapters use.
const LAVAPIPE = { ...process.env, VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.json' };

test('f16 arithmetic runs on lavapipe and matches the CPU engine within 1e-2', { timeout: 600_000 }, async () => {
  const scratch = await scratchDir('gpu-lavapipe');
  await run('node', [
    'bench/gpu/run.mjs', '--nets', 'resnet18,resnet50', '--size', '64', '--runs', '2', '--warmup', '0',
    '--profile-runs', '1', '--modes', 'f32,f16,f16-arith', '--out', scratch.dir, '--check',
  ], { cwd: repoRoot, env: LAVAPIPE, maxBuffer: 1 << 24 });
  const results = JSON.parse(await readFile(join(scratch.dir, 'results.json'), 'utf8'));
  assert.match(results.adapter, /llvmpipe/);
  assert.ok(results.adapterInfo.features.includes('shader-f16'), `lavapipe offers no shader-f16: ${results.adapterInfo.features}`);
  for (const { net, modes } of results.nets) {
    const f32 = modes.find((m) => m.mode === 'f32');
    assert.ok(f32.diff <= 1e-4 && f32.sameTop1, `${net}: f32 logits differ from the CPU engine's by ${f32.diff}`);
    const arith = modes.find((m) => m.mode === 'f16-arith');
    assert.equal(arith.unavailable, undefined);
    assert.ok(arith.f16Arithmetic, `${net}: the f16-arith load did not compute in f16`);
    // diff > 0: f16 really ran, not f32 under another name.
    assert.ok(arith.diff > 0 && arith.diff <= 1e-2 && arith.sameTop1, `${net}: f16-arithmetic logits differ from the CPU engine's by ${arith.diff}`);
    assert.equal(arith.dispatches.length, f32.dispatches.length);
  }
  await scratch.remove();
});

test('f16 arithmetic gives both bundled models the f32 path’s top-1 on Fashion-MNIST test images (lavapipe)', { timeout: 600_000 }, async (t) => {
  // The first 50 images; BENCHMARKS.md has all 10,000 and the command.
  const scratch = await scratchDir('gpu-lavapipe-parity');
  const { stdout } = await run('node', [
    'bench/gpu/run.mjs', '--parity', '--images', '50', '--out', scratch.dir, '--check',
  ], { cwd: repoRoot, env: LAVAPIPE, maxBuffer: 1 << 24 });
  for (const line of stdout.trim().split('\n').slice(-4)) t.diagnostic(line);
  const rows = JSON.parse(await readFile(join(scratch.dir, 'parity.json'), 'utf8'));
  assert.deepEqual(rows.map((r) => `${r.model} ${r.mode}`), [
    'fashion-resnet18 f16', 'fashion-resnet18 f16-arith', 'fashion-resnet50 f16', 'fashion-resnet50 f16-arith',
  ]);
  for (const r of rows) {
    assert.equal(r.agree, 50, `${r.model} ${r.mode}: ${r.agree} of 50 images have the same top-1`);
    assert.ok(r.worst > 0 && r.worst <= 1e-2, `${r.model} ${r.mode}: logits differ from f32 by ${r.worst} of the largest`);
  }
  await scratch.remove();
});
