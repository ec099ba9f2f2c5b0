// Runs the Go test binary webgpu.test.wasm (GOOS=js GOARCH=wasm go test -c)
// with the command line the page posts; posts each line of its output and
// then its exit code.
importScripts('wasm_exec.js');

if (new URL(location.href).searchParams.has('nogpu')) {
  // As in a browser without WebGPU, before any Go code runs.
  Object.defineProperty(WorkerNavigator.prototype, 'gpu', { value: undefined, configurable: true });
}

// wasm_exec.js's stand-in file system sends stdout and stderr here.
const decoder = new TextDecoder();
let partial = '';
globalThis.fs.writeSync = (fd, bytes) => {
  partial += decoder.decode(bytes);
  const lines = partial.split('\n');
  partial = lines.pop();
  for (const line of lines) postMessage({ line });
  return bytes.length;
};

onmessage = async ({ data }) => {
  const go = new Go();
  go.argv = ['webgpu.test', ...data.args];
  go.exit = (code) => {
    if (partial) postMessage({ line: partial });
    postMessage({ exit: code });
  };
  const { instance } = await WebAssembly.instantiateStreaming(fetch('webgpu.test.wasm'), go.importObject);
  await go.run(instance);
};
