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
	// bandwidth; sums stay f32 and the outputs are f32. It needs HasF16.
	F16 bool
	// Softmax makes Run return probabilities instead of logits.
	Softmax bool
}

// Model is a plan loaded on a device for one input size: weights uploaded,
// pipelines compiled, buffers and bind groups made. Run is safe for
// concurrent use (runs are serialised).
type Model struct {
	dev  *Device
	prog *program
	st   storage

	mu         sync.Mutex
	buffers    []jsgpu.Buffer // activations, by bufferID
	owned      []jsgpu.Buffer // everything Close destroys
	dispatches []dispatch
	readback   jsgpu.Buffer
	staging    js.Value  // Uint8Array the input is copied through
	padded     []float32 // the input with its channels padded
	encoded    []byte    // padded, as stored
	result     []byte
	outputs    []float32
	closed     bool
}

// dispatch is one step ready to record.
type dispatch struct {
	pipeline jsgpu.ComputePipeline
	group    jsgpu.BindGroup
	x, y     int
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
