// The Web Worker that runs the Go classifier. resnet.js sends two
// messages: where wasm_exec.js is, read at once, then the compiled
// WebAssembly module once it is ready. Once started, the Go program
// installs its own onmessage and answers every later message (docs/app.md
// describes the protocol).
self.onmessage = async ({ data }) => {
  try {
    if (data.wasmExec) {
      importScripts(data.wasmExec);
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
