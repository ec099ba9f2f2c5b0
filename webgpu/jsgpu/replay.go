//go:build js && wasm

package jsgpu

import (
	"sync"
	"syscall/js"
)

// replaySource makes a function that records a fixed list of dispatches in
// one compute pass, then a buffer copy, and submits them: the hundreds of
// calls of a network's pass made in JavaScript, where each costs
// nanoseconds, instead of from Go, where each is a round trip.
const replaySource = `return (device, pipelines, groups, sizes, src, dst, size) => () => {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (let i = 0; i < pipelines.length; i++) {
    pass.setPipeline(pipelines[i]);
    pass.setBindGroup(0, groups[i]);
    pass.dispatchWorkgroups(sizes[3 * i], sizes[3 * i + 1], sizes[3 * i + 2]);
  }
  pass.end();
  encoder.copyBufferToBuffer(src, 0, dst, 0, size);
  device.queue.submit([encoder.finish()]);
};`

// replayMaker is replaySource's outer function, made once per worker; it is
// undefined where the page's Content-Security-Policy forbids making
// functions from source.
var replayMaker = sync.OnceValue(func() (maker js.Value) {
	defer func() {
		if recover() != nil { // an EvalError thrown by the Function constructor
			maker = js.Undefined()
		}
	}()
	return js.Global().Get("Function").New(replaySource).Invoke()
})

// Dispatch is one dispatch of a Replay: a pipeline, its bind group 0 and
// its workgroup counts.
type Dispatch struct {
	Pipeline ComputePipeline
	Group    BindGroup
	X, Y, Z  int
}

// Replay submits a recorded list of dispatches and a copy with one call.
type Replay struct{ run js.Value }

// NewReplay prepares dispatches, then a copy of size bytes from the start
// of src to the start of dst, for Submit. It returns false where the page
// forbids making functions: the caller then records them itself.
func (d *Device) NewReplay(dispatches []Dispatch, src, dst Buffer, size int64) (Replay, bool) {
	maker := replayMaker()
	if maker.IsUndefined() {
		return Replay{}, false
	}
	pipelines, groups, sizes := make([]any, len(dispatches)), make([]any, len(dispatches)), make([]any, 0, 3*len(dispatches))
	for i, x := range dispatches {
		pipelines[i], groups[i] = x.Pipeline.v, x.Group.v
		sizes = append(sizes, x.X, x.Y, x.Z)
	}
	return Replay{maker.Invoke(d.v, pipelines, groups, sizes, src.v, dst.v, size)}, true
}

// Submit records the dispatches and the copy into a new command buffer and
// submits it.
func (r Replay) Submit() { r.run.Invoke() }
