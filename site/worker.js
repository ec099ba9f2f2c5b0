// The Web Worker that runs the Go classifier. resnet.js sends where
// wasm_exec.js is, read at once; perhaps a cached weights file to read
// meanwhile; then the compiled WebAssembly module once it is ready. Once
// started, the Go program installs its own onmessage and answers every
// later message (docs/app.md describes the protocol).
self.onmessage = async ({ data }) => {
  try {
    if (data.wasmExec) {
      importScripts(data.wasmExec);
      return;
    }
    if (data.cached) {
      // The Go program's load takes it (wasm/weights.go, cachedWeights).
      self.cachedRead = { key: data.cached.key, blob: data.cached.blob, read: readCached(data.cached) };
      return;
    }
    const go = new Go();
    const instance = await WebAssembly.instantiate(data.module, go.importObject);
    self.wasmMemory = instance.exports.mem; // its size is reported with loads (wasm/jsvalue.go)
    go.run(instance).then(() => {
      self.postMessage({ type: 'fatal', message: 'The classifier stopped unexpectedly. Reload the page to start it again.' });
    });
  } catch (e) {
    self.postMessage({ type: 'fatal', message: `The classifier could not start: ${e.message}` });
  }
};

// Reads a cached file's Blob and begins its SHA-256 where WebCrypto is:
// {bytes, digest? (a promise of the ArrayBuffer), ms (since the page began
// looking the file up)}. WebCrypto copies the bytes on this thread when
// asked, which here comes while the worker waits for the engine, not
// while the Go program builds the model.
async function readCached({ blob, startedAt }) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const digest = self.crypto?.subtle?.digest('SHA-256', bytes);
  digest?.catch(() => {}); // the Go program reports a failed hash
  return { bytes, digest, ms: performance.timeOrigin + performance.now() - startedAt };
}
