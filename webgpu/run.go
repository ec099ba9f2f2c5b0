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

// runsInFlight is how many runs of a model may be submitted and not yet
// read back. Two let the next input be written and its pass submitted
// while the previous run's outputs are mapped and copied out (a webcam's
// consecutive frames); the GPU's queue runs them in order, so they share
// every buffer but the readbacks.
const runsInFlight = 2

// slot is what a run in flight has to itself: the readback buffers its
// outputs, and with RunFeatureMap the last block's output, are copied to.
type slot struct {
	readback jsgpu.Buffer
	replay   jsgpu.Replay // the dispatches and the copy into readback, in one call
	result   []byte

	// The feature map's readback, made on the first run on this slot that
	// asks for it: Run never touches it.
	mapReadback jsgpu.Buffer
	mapBytes    []byte
}

// Pending is a run submitted to the GPU whose outputs are not read back
// yet. Wait for it exactly once.
type Pending struct {
	m          *Model
	slot       *slot // nil once waited for
	featureMap bool
	popped     js.Value // the submit's validation error scope
}

// Run classifies one image, an inH x inW x C NHWC float32 tensor already
// normalized, and returns the logits (probabilities with Options.Softmax),
// a slice of the caller's. It records one command buffer, submits it once
// and reads back only the outputs: Submit, then Wait. After a device loss
// it returns an error matching ErrDeviceLost.
func (m *Model) Run(input []float32) ([]float32, error) {
	r, err := m.Submit(input, false)
	if err != nil {
		return nil, err
	}
	logits, _, err := r.Wait()
	return logits, err
}

// RunFeatureMap is Run that also returns the last block's output (see
// engine.FeatureMap), the one thing besides the outputs it reads back:
// after the pass, a second command buffer copies it to a readback buffer
// made on the first call, and it is mapped after the outputs. Run pays
// nothing for it.
func (m *Model) RunFeatureMap(input []float32) ([]float32, engine.FeatureMap, error) {
	r, err := m.Submit(input, true)
	if err != nil {
		return nil, engine.FeatureMap{}, err
	}
	return r.Wait()
}

// Submit queues the write of input and the run of the network on it, and
// returns without waiting for the GPU; Wait reads its outputs (and, with
// featureMap, the last block's output) back. input may be reused once
// Submit returns. While one run is read back the next can be submitted;
// with runsInFlight runs not yet waited for, Submit waits for one of them
// to be read back (so a goroutine must Wait before its next Submits).
func (m *Model) Submit(input []float32, featureMap bool) (*Pending, error) {
	p := m.prog
	if want := p.inH * p.inW * p.inC; len(input) != want {
		return nil, fmt.Errorf("input has %d values, want %dx%dx%d = %d", len(input), p.inH, p.inW, p.inC, want)
	}
	return m.submit(input, featureMap, nil)
}

// submit takes a free slot and submits the pass into it, after writing
// input (nil: the caller wrote the buffers, as the op tests do), with
// timer's timestamps if not nil.
func (m *Model) submit(input []float32, featureMap bool, timer *timer) (*Pending, error) {
	s := <-m.free
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(); err != nil {
		m.free <- s
		return nil, err
	}
	if input != nil {
		m.writeImage(input)
	}
	g := m.dev.gpu
	g.PushErrorScope("validation")
	if timer == nil && m.replayed {
		s.replay.Submit()
	} else {
		m.record(timer, s.readback)
	}
	if featureMap {
		m.copyFeatureMap(s)
	}
	return &Pending{m: m, slot: s, featureMap: featureMap, popped: g.PopErrorScope()}, nil
}

// Wait reads the run's outputs back and returns them, with the last
// block's output if Submit asked for it; both are the caller's.
func (r *Pending) Wait() ([]float32, engine.FeatureMap, error) {
	m, s, g := r.m, r.slot, r.m.dev.gpu
	if s == nil {
		return nil, engine.FeatureMap{}, errors.New("webgpu: this run was waited for already")
	}
	r.slot = nil
	defer func() { m.free <- s }()
	if err := g.ReadInto(s.result, s.readback); err != nil {
		// A loss rejects the mapping; its lost promise may settle just after.
		select {
		case <-g.Lost():
		case <-time.After(time.Second):
		}
		return nil, engine.FeatureMap{}, m.dev.lostOr(fmt.Errorf("webgpu: reading the outputs back failed: %w", err))
	}
	if err := g.ScopeError(r.popped); err != nil {
		return nil, engine.FeatureMap{}, m.dev.lostOr(fmt.Errorf("webgpu: the inference was rejected: %w", err))
	}
	outputs := make([]float32, len(s.result)/4)
	for i := range outputs {
		outputs[i] = math.Float32frombits(binary.LittleEndian.Uint32(s.result[4*i:]))
	}
	if !r.featureMap {
		return outputs, engine.FeatureMap{}, nil
	}
	if err := g.ReadInto(s.mapBytes, s.mapReadback); err != nil {
		return nil, engine.FeatureMap{}, m.dev.lostOr(fmt.Errorf("webgpu: reading the feature map back failed: %w", err))
	}
	p := m.prog
	padded := make([]float32, len(s.mapBytes)/m.st.size())
	m.st.decode(padded, s.mapBytes)
	c := p.mapChannel
	return outputs, engine.FeatureMap{H: p.mapH, W: p.mapW, C: c, Values: unpadChannels(padded, c)}, nil
}

// copyFeatureMap submits the copy of the last block's output into s's
// feature map readback buffer, making that buffer first if needed.
func (m *Model) copyFeatureMap(s *slot) {
	p, g := m.prog, m.dev.gpu
	if s.mapBytes == nil {
		s.mapBytes = make([]byte, p.mapH*p.mapW*pad4(p.mapChannel)*m.st.size())
		s.mapReadback = m.own(g.CreateBuffer(int64(len(s.mapBytes)), jsgpu.UsageMapRead|jsgpu.UsageCopyDst))
	}
	enc := g.CreateCommandEncoder()
	enc.CopyBufferToBuffer(m.buffers[p.featureMap], s.mapReadback, int64(len(s.mapBytes)))
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

// record records every step and the copy of the outputs into readback
// from Go, with timestamps if timer is not nil, and submits them.
func (m *Model) record(timer *timer, readback jsgpu.Buffer) {
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
	enc.CopyBufferToBuffer(m.buffers[m.prog.output], readback, int64(4*m.prog.outputs))
	g.Submit(enc.Finish())
}

// execute runs input (nil: the caller wrote the buffers) through the
// network and reads the outputs back, with timer's timestamps if not nil.
func (m *Model) execute(input []float32, timer *timer) ([]float32, error) {
	r, err := m.submit(input, false, timer)
	if err != nil {
		return nil, err
	}
	outputs, _, err := r.Wait()
	return outputs, err
}
