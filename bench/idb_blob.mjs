// How fast Chromium's IndexedDB stores and reads back a weights-sized file
// as a Uint8Array, an ArrayBuffer or a Blob (and, for comparison, the Cache
// API), in an in-memory profile (as Playwright's contexts and the other
// benchmarks use) and an on-disk one (as a person's browser). The weight
// cache stores Blobs because of it (wasm/cache.go).
//
//   (cd e2e && npm ci) && node bench/idb_blob.mjs [megabytes]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { launchChromium, startServer } from '../e2e/harness.mjs';

const MB = Number(process.argv[2] ?? 47); // fashion-resnet50 in f16 is 47 MB

async function measure(page) {
  return page.evaluate(async (n) => {
    const out = {};
    // Incompressible, as weights are: Chromium compresses large values.
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(n, i + 65536)));
    const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    const open = indexedDB.open('idb-blob-bench', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('s');
    const db = await request(open);
    const put = (key, value) => new Promise((resolve, reject) => {
      const txn = db.transaction('s', 'readwrite');
      txn.objectStore('s').put(value, key);
      txn.oncomplete = resolve;
      txn.onerror = () => reject(txn.error);
    });
    const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
    const bytesOf = async (v) => (v instanceof Blob ? new Uint8Array(await v.arrayBuffer()) : v);
    for (const [kind, value] of [['Uint8Array', data], ['ArrayBuffer', data.buffer.slice(0)], ['Blob', new Blob([data])]]) {
      const reads = [];
      const write = await time(() => put(kind, value));
      for (let i = 0; i < 3; i++) reads.push(await time(async () => bytesOf(await request(db.transaction('s').objectStore('s').get(kind)))));
      out[`IndexedDB ${kind}`] = { write, read: Math.min(...reads) };
    }
    const cache = await caches.open('idb-blob-bench');
    const reads = [];
    const write = await time(() => cache.put('/weights', new Response(data)));
    for (let i = 0; i < 3; i++) reads.push(await time(async () => (await cache.match('/weights')).arrayBuffer()));
    out['Cache API'] = { write, read: Math.min(...reads) };
    const digests = [];
    for (let i = 0; i < 3; i++) digests.push(await time(() => crypto.subtle.digest('SHA-256', data)));
    out['crypto.subtle SHA-256'] = { read: Math.min(...digests) };
    return out;
  }, MB * 1e6);
}

const server = await startServer();
const profile = await mkdtemp(join(tmpdir(), 'idb-blob-'));
try {
  const browser = await launchChromium();
  const memory = await measure(await (await browser.newContext()).newPage().then(async (p) => { await p.goto(server.url); return p; }));
  await browser.close();
  const disk = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--no-first-run', '--disable-background-networking'] });
  const page = await disk.newPage();
  await page.goto(server.url);
  const onDisk = await measure(page);
  await disk.close();
  const f = (ms) => (ms === undefined ? '–' : `${ms.toFixed(0)} ms`);
  console.log(`${MB} MB of random bytes; write once, read back: best of 3\n`);
  console.log('| stored as | write, in memory | read, in memory | write, on disk | read, on disk |\n|---|--:|--:|--:|--:|');
  for (const k of Object.keys(memory)) console.log(`| ${k} | ${f(memory[k].write)} | ${f(memory[k].read)} | ${f(onDisk[k].write)} | ${f(onDisk[k].read)} |`);
} finally {
  await server.close();
  await rm(profile, { recursive: true, force: true });
}
