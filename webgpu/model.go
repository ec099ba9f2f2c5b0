//go:build js && wasm

package webgpu

import (
	"sync"
	"syscall/js"

	"github.com/inbrowser/resnet/webgpu/jsgpu"
)

// Options select how a model is stored and what Run returns.
type Options struct {
	// F16 stores weights and activations as f16, halving memory and
	// bandwidth; sums stay f32 and the outputs are f32. Every device can:
	// shaders pack f16 values two to a u32 (core WGSL, no shader-f16).
	F16 bool
	// F16Arithmetic stores f16 as F16 does and also computes the convs in
	// f16, tiles and sums alike; the fully connected layer, pooling, the
	// bias, residual and ReLU stay f32, as do the outputs. It needs a
	// device with shader-f16 (Device.HasShaderF16): elsewhere Load fails
	// with ErrNoShaderF16.
	F16Arithmetic bool
	// Softmax makes Run return probabilities instead of logits.
	Softmax bool
	// ConvKernel forces one kernel on every conv instead of the one chosen
	// per layer, for measuring kernels (bench/gpu): "MxNxK/T" (positions x
	// channels x reduction per workgroup, positions per thread), or
	// "MxNxK/T:S" to split each reduction over S workgroups, "direct" for
	// convdirect.wgsl (maps of up to 256 positions: inputs up to 32x32; it
	// also computes the fc), or "gpu" for the per-layer choice made for
	// GPUs even on a software adapter.
	ConvKernel string
}

// Model is a plan loaded on a device for one input size: weights uploaded,
// pipelines compiled, buffers and bind groups made. Run is safe for
// concurrent use: submits are serialised, and a run's outputs are read
// back while the next one is submitted (Submit).
type Model struct {
	dev  *Device
	prog *program
	st   precision

	mu         sync.Mutex     // held while a run is submitted, not while it is read back
	buffers    []jsgpu.Buffer // activations, by bufferID
	owned      []jsgpu.Buffer // everything Close destroys
	dispatches []dispatch
	replayed   bool     // the slots' replays are made (the page allows making functions)
	staging    js.Value // Uint8Array the input's bytes are copied through
	closed     bool

	// free holds the slots no run is using: a run takes one to submit and
	// gives it back once read back (see runsInFlight).
	free chan *slot
}

// dispatch is one step ready to record.
type dispatch = jsgpu.Dispatch

// recordDispatch records d into pass.
func recordDispatch(pass jsgpu.ComputePass, d dispatch) {
	pass.SetPipeline(d.Pipeline)
	pass.SetBindGroup(d.Group)
	pass.DispatchWorkgroups(d.X, d.Y, d.Z)
}

// Close frees the model's GPU memory. The device stays open.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.owned {
		b.Destroy()
	}
	m.owned, m.closed = nil, true
}

// own records b for Close and returns it.
func (m *Model) own(b jsgpu.Buffer) jsgpu.Buffer {
	m.owned = append(m.owned, b)
	return b
}
