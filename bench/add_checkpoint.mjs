// Measures adding a PyTorch checkpoint in the page, in Debian's headless
// Chromium: the time from handing resnet.js the file to the first result
// (by phase), and the WebAssembly memory of the workers that converted and
// loaded it (which never shrinks, so it is their peak).
//
//   (cd e2e && npm ci) && node bench/add_checkpoint.mjs [runs]
//
// The checkpoints are seeded torchvision ResNet-18 and ResNet-50 with 1000
// classes saved by Debian's PyTorch with torch.save(state_dict()) (45 and
// 98 MB, as torchvision's own files). Each run uses a fresh browser context
// (empty IndexedDB). Prints a Markdown table of medians.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchChromium, repoRoot, scratchDir, startServer, waitReady } from '../e2e/harness.mjs';

const RUNS = Number(process.argv[2] ?? 3);
const PHOTO = join(repoRoot, 'engine/preprocess/testdata/chelsea.png');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const scratch = await scratchDir('bench-add');
await promisify(execFile)('/usr/bin/python3', ['-c', `
import torch, torchvision
for arch in ("resnet18", "resnet50"):
    torch.manual_seed(0)
    torch.save(getattr(torchvision.models, arch)().state_dict(), "${scratch.dir}/" + arch + ".pth")
`]);
const files = createServer(async (req, res) => {
  const path = join(scratch.dir, req.url.split('/').pop());
  const { size } = await stat(path);
  res.writeHead(200, { 'content-length': size, 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' });
  createReadStream(path).pipe(res);
});
files.listen(0, '127.0.0.1');
await once(files, 'listening');
const filesURL = `http://127.0.0.1:${files.address().port}`;
files.unref();

const [server, browser] = await Promise.all([startServer(), launchChromium()]);
const rows = [];
try {
  for (const arch of ['resnet18', 'resnet50']) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(server.url);
      await waitReady(page);
      runs.push(await page.evaluate(async ({ url, photo }) => {
        const { ResNet } = await import('./resnet.js');
        const file = new File([await (await fetch(url)).blob()], url.split('/').pop());
        const image = await (await fetch(photo)).blob();
        const t0 = performance.now();
        const at = {};
        const { model, memoryBytes } = await ResNet.addModel(file, { onProgress: (e) => { at[e.phase] ??= performance.now() - t0; } });
        const added = performance.now() - t0;
        const clf = await ResNet.load({ model: model.name });
        const ready = performance.now() - t0;
        await clf.classify(image);
        const first = performance.now() - t0;
        const r = {
          read: at.convert, convert: at.store - at.convert, store: added - at.store, load: ready - added,
          classify: first - ready, first, addMemory: memoryBytes, loadMemory: clf.memoryBytes, workers: clf.workers, bytes: file.size,
        };
        clf.dispose();
        return r;
      }, { url: `${filesURL}/${arch}.pth`, photo: `data:image/png;base64,${(await import('node:fs')).readFileSync(PHOTO).toString('base64')}` }));
      await context.close();
    }
    const m = (k) => median(runs.map((r) => r[k]));
    const ms = (k) => `${Math.round(m(k))} ms`;
    const mib = (k) => `${(m(k) / 2 ** 20).toFixed(1)} MiB`;
    rows.push([`${arch}.pth (${(runs[0].bytes / 1e6).toFixed(1)} MB)`, ms('read'), ms('convert'), ms('store'), ms('load'), ms('classify'), ms('first'), mib('addMemory'), mib('loadMemory'), String(runs[0].workers)]);
  }
} finally {
  await browser.close();
  await server.close();
  await scratch.remove();
}
console.log(`${RUNS} runs each, medians; times from addModel(file) on.\n`);
console.log('| file | read + hash | convert | store | load (+ pool) | first classify | to first result | wasm memory, converting worker | wasm memory, loading worker | workers |');
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
