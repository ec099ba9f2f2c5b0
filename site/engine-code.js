// A copy of the engine's WebAssembly bytes in IndexedDB, which a reload
// compiles from instead of the HTTP cache. Measured in Chromium on a 2-core
// machine (docs/app.md): the HTTP cache hands the 8 MB engine to the page
// at about 40 MB/s (200 ms) and streams it through the main thread,
// IndexedDB a stored Blob at about 150 MB/s (55 ms), and compiling the
// bytes takes 45 ms. The copy is checked against the SHA-256 in the
// engine's content-hashed file name before it is used, and replaced when
// the engine changes.

const DB = 'resnet-engine';
const STORE = 'code'; // hashed file name -> Blob of the engine

// How long after a compile from the network the copy is stored: its bytes
// are read again from the HTTP cache, which should not compete with the
// first result.
const STORE_DELAY_MS = 3000;

// The copy is stored only while this many times its size stays free of
// the origin's quota: the weights matter more.
const QUOTA_MARGIN = 4;

/** The result of an IndexedDB request, as a promise. */
export const idbRequest = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

let opened = null;
function database() {
  opened ??= (async () => {
    const opening = indexedDB.open(DB, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    return idbRequest(opening);
  })();
  opened.catch(() => { opened = null; }); // tried again next time
  return opened;
}

const fileName = (url) => new URL(url).pathname.split('/').pop();

// The start of the SHA-256 that the build put in the file name
// (cmd/build-wasm's hashedName: stem.HASH.wasm).
const hashInName = (url) => fileName(url).split('.').at(-2);

/** The lowercase hex SHA-256 of bytes (WebCrypto: secure contexts only). */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The stored copy of the engine at url (an ArrayBuffer), or null. */
async function storedBytes(url) {
  const db = await database();
  const blob = await idbRequest(db.transaction(STORE).objectStore(STORE).get(fileName(url)));
  return blob instanceof Blob ? blob.arrayBuffer() : null;
}

// Counts forgetEngine calls: a copy being stored when one comes is dropped.
let forgets = 0;
let pendingStore = null;

/** Stores the engine at url (read again from the HTTP cache), replacing any other. */
async function store(url) {
  const forgetsBefore = forgets;
  const response = await fetch(url);
  if (!response.ok) return;
  const blob = await response.blob();
  const { quota = Infinity, usage = 0 } = await navigator.storage?.estimate?.() ?? {};
  if (quota - usage < QUOTA_MARGIN * blob.size || forgets !== forgetsBefore) return;
  const db = await database();
  const txn = db.transaction(STORE, 'readwrite');
  txn.objectStore(STORE).clear();
  txn.objectStore(STORE).put(blob, fileName(url));
  await new Promise((resolve, reject) => {
    txn.oncomplete = resolve;
    txn.onerror = txn.onabort = () => reject(txn.error);
  });
}

/**
 * Compiles the engine at url: from the stored copy when there is one and
 * its SHA-256 matches the file name's, else from the network (the HTTP
 * cache), storing a copy for next time. A copy that cannot be read or is
 * damaged is fetched again; one that cannot be stored (no IndexedDB, a
 * full quota) only costs the next load the slower read.
 */
export async function compileEngine(url) {
  const checkable = globalThis.crypto?.subtle !== undefined && /^[0-9a-f]+$/.test(hashInName(url));
  if (checkable) {
    const bytes = await storedBytes(url).catch(() => null);
    if (bytes) {
      const [module, hash] = await Promise.all([WebAssembly.compile(bytes).catch(() => null), sha256Hex(bytes)]);
      if (module && hash.startsWith(hashInName(url))) return module;
    }
  }
  const module = await WebAssembly.compileStreaming(fetch(url));
  if (checkable) pendingStore = setTimeout(() => store(url).catch(() => {}), STORE_DELAY_MS);
  return module;
}

/** Deletes the stored copy, and drops one about to be stored (ResNet.clearCache). */
export async function forgetEngine() {
  forgets++;
  clearTimeout(pendingStore);
  const db = await database();
  await idbRequest(db.transaction(STORE, 'readwrite').objectStore(STORE).clear());
}
