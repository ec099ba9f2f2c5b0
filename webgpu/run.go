//go:build js && wasm

package webgpu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/wasm/jsutil"
	"github.com/inbrowser/resnet/webgpu/jsgpu"
)

// Run classifies one image, an inH x inW x C NHWC float32 tensor already
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
	m.writeImage(input)
	return m.execute(nil, false)
}

// RunFeatureMap is Run that also returns the last block's output (see
// engine.FeatureMap), the one thing besides the outputs it reads back:
// after the pass, a second command buffer copies it to a readback buffer
// made on the first call, and it is mapped after the outputs. Run pays
// nothing for it. Both results are overwritten by the next call.
func (m *Model) RunFeatureMap(input []float32) ([]float32, engine.FeatureMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.prog
	if want := p.inH * p.inW * p.inC; len(input) != want {
		return nil, engine.FeatureMap{}, fmt.Errorf("input has %d values, want %dx%dx%d = %d", len(input), p.inH, p.inW, p.inC, want)
	}
	if err := m.usable(); err != nil {
		return nil, engine.FeatureMap{}, err
	}
	m.writeImage(input)
	outputs, err := m.execute(nil, true)
	if err != nil {
		return nil, engine.FeatureMap{}, err
	}
	if err := m.dev.gpu.ReadInto(m.mapBytes, m.mapReadback); err != nil {
		return nil, engine.FeatureMap{}, m.dev.lostOr(fmt.Errorf("webgpu: reading the feature map back failed: %w", err))
	}
	m.st.decode(m.mapPadded, m.mapBytes)
	c, cp := p.mapChannel, pad4(p.mapChannel)
	for i := range p.mapH * p.mapW {
		copy(m.mapValues[i*c:(i+1)*c], m.mapPadded[i*cp:])
	}
	return outputs, engine.FeatureMap{H: p.mapH, W: p.mapW, C: c, Values: m.mapValues}, nil
}

// copyFeatureMap submits the copy of the last block's output into the
// feature map's readback buffer, making that buffer first if needed.
func (m *Model) copyFeatureMap() {
	p, g := m.prog, m.dev.gpu
	values := p.mapH * p.mapW * pad4(p.mapChannel)
	if m.mapBytes == nil {
		m.mapBytes = make([]byte, values*m.st.size())
		m.mapPadded = make([]float32, values)
		m.mapValues = make([]float32, p.mapH*p.mapW*p.mapChannel)
		m.mapReadback = m.own(g.CreateBuffer(int64(len(m.mapBytes)), jsgpu.UsageMapRead|jsgpu.UsageCopyDst))
	}
	enc := g.CreateCommandEncoder()
	enc.CopyBufferToBuffer(m.buffers[p.featureMap], m.mapReadback, int64(len(m.mapBytes)))
	g.Submit(enc.Finish())
}

// writeImage queues the write of the caller's image, as it is: a copy of
// its bytes and one writeBuffer; the first dispatch lays it out.
func (m *Model) writeImage(input []float32) {
	js.CopyBytesToJS(m.staging, jsutil.Float32Bytes(input))
	m.dev.gpu.WriteBuffer(m.buffers[m.prog.input], 0, m.staging)
}

// usable reports a closed model or a lost device.
func (m *Model) usable() error {
	if m.closed {
		return errors.New("webgpu: the model is closed")
	}
	return m.dev.Err()
}

// record records every step and the readback copy from Go, with timestamps
// if timer is not nil, and submits them.
func (m *Model) record(timer *timer) {
	g := m.dev.gpu
	enc := g.CreateCommandEncoder()
	if timer == nil {
		pass := enc.BeginComputePass()
		for _, d := range m.dispatches {
			recordDispatch(pass, d)
		}
		pass.End()
	} else {
		for i, d := range m.dispatches {
			pass := enc.BeginTimedComputePass(timer.queries, 2*i, 2*i+1)
			recordDispatch(pass, d)
			pass.End()
		}
		timer.resolve(enc)
	}
	enc.CopyBufferToBuffer(m.buffers[m.prog.output], m.readback, int64(len(m.result)))
	g.Submit(enc.Finish())
}

// execute runs every step in one command buffer and reads the outputs back.
// With timer, each dispatch gets a compute pass of its own that writes
// timestamps, and timer's readback receives them. With featureMap, a
// second command buffer copies the last block's output for RunFeatureMap.
func (m *Model) execute(timer *timer, featureMap bool) ([]float32, error) {
	g := m.dev.gpu
	g.PushErrorScope("validation")
	if timer == nil && m.replayed {
		m.replay.Submit()
	} else {
		m.record(timer)
	}
	if featureMap {
		m.copyFeatureMap()
	}
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
