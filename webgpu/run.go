//go:build js && wasm

package webgpu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"syscall/js"
	"time"
)

// Run classifies one image, an inH x inW x 3 NHWC float32 tensor already
// normalized, and returns the logits (probabilities with Options.Softmax).
// It records one command buffer, submits it once and reads back only the
// outputs. The returned slice is overwritten by the next Run. After a
// device loss it returns an error matching ErrDeviceLost.
func (m *Model) Run(input []float32) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.prog
	if want := p.inH * p.inW * p.inC; len(input) != want {
		return nil, fmt.Errorf("input has %d values, want %dx%dx%d = %d", len(input), p.inH, p.inW, p.inC, want)
	}
	if err := m.usable(); err != nil {
		return nil, err
	}
	padChannels(m.padded, input, p.inC)
	m.write(p.input, m.padded)
	return m.execute()
}

// usable reports a closed model or a lost device.
func (m *Model) usable() error {
	if m.closed {
		return errors.New("webgpu: the model is closed")
	}
	return m.dev.Err()
}

// write queues a write of values (padded, as stored) into buffer id; it
// lands before the next execute.
func (m *Model) write(id bufferID, values []float32) {
	st := m.st
	if m.prog.buffers[id].exact {
		st = storeF32
	}
	encoded, staging := m.encoded, m.staging
	if n := len(values) * st.size(); n != len(encoded) { // not the input: op tests only
		encoded, staging = make([]byte, n), js.Global().Get("Uint8Array").New(n)
	}
	st.encode(encoded, values)
	js.CopyBytesToJS(staging, encoded)
	m.dev.gpu.WriteBuffer(m.buffers[id], 0, staging)
}

// execute runs every step in one command buffer and reads the outputs back.
func (m *Model) execute() ([]float32, error) {
	g := m.dev.gpu
	g.PushErrorScope("validation")
	enc := g.CreateCommandEncoder()
	pass := enc.BeginComputePass()
	for _, d := range m.dispatches {
		pass.SetPipeline(d.pipeline)
		pass.SetBindGroup(d.group)
		pass.DispatchWorkgroups(d.x, d.y)
	}
	pass.End()
	enc.CopyBufferToBuffer(m.buffers[m.prog.output], m.readback, int64(len(m.result)))
	g.Submit(enc.Finish())
	popped := g.PopErrorScope()
	if err := g.ReadInto(m.result, m.readback); err != nil {
		// A loss rejects the mapping; its lost promise may settle just after.
		select {
		case <-g.Lost():
		case <-time.After(time.Second):
		}
		return nil, m.dev.lostOr(fmt.Errorf("webgpu: reading the outputs back failed: %w", err))
	}
	if err := g.ScopeError(popped); err != nil {
		return nil, m.dev.lostOr(fmt.Errorf("webgpu: the inference was rejected: %w", err))
	}
	for i := range m.outputs {
		m.outputs[i] = math.Float32frombits(binary.LittleEndian.Uint32(m.result[4*i:]))
	}
	return m.outputs, nil
}
