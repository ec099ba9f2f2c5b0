//go:build js && wasm

package webgpu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/webgpu/jsgpu"
)

// Load uploads plan for inH x inW inputs: every weight once, repacked for
// the shaders; every pipeline compiled (createComputePipelineAsync); every
// buffer allocated. A buffer over the device's limits gives a *LimitError.
func (d *Device) Load(plan *engine.Plan, inH, inW int, opts Options) (*Model, error) {
	st := precF32
	switch {
	case opts.F16Arithmetic && !d.f16:
		return nil, fmt.Errorf("webgpu: %w; adapter %q", ErrNoShaderF16, d.adapter)
	case opts.F16Arithmetic:
		st = precF16Arithmetic
	case opts.F16:
		st = precF16Storage
	}
	choose := gpuKernel
	if d.fallback {
		choose = softwareKernel
	}
	switch opts.ConvKernel {
	case "":
	case "gpu":
		choose = gpuKernel
	default:
		k, err := parseKernel(opts.ConvKernel)
		if err != nil {
			return nil, err
		}
		choose = func(step) convKernel { return k }
	}
	p, err := compile(plan, inH, inW, opts.Softmax, choose)
	if err != nil {
		return nil, err
	}
	if err := p.check(d.limits, st); err != nil {
		return nil, err
	}
	return d.load(p, st)
}

// load makes the GPU objects of p; on any error it destroys what it made.
func (d *Device) load(p *program, st precision) (*Model, error) {
	if err := d.Err(); err != nil {
		return nil, err
	}
	m := &Model{dev: d, prog: p, st: st}
	g := d.gpu
	g.PushErrorScope("out-of-memory")
	g.PushErrorScope("validation")
	sources, layouts, pending := m.startPipelines() // they compile while the weights upload
	for _, b := range p.buffers {
		m.buffers = append(m.buffers, m.own(g.CreateBuffer(b.bytes(st), jsgpu.UsageStorage|jsgpu.UsageCopyDst|jsgpu.UsageCopySrc)))
	}
	absent := m.own(g.CreateBuffer(16, jsgpu.UsageStorage)) // bound where a conv has no residual
	bindings := make([][]jsgpu.Buffer, len(p.steps))
	for i, s := range p.steps {
		bindings[i] = m.upload(s, absent)
	}
	slots := make([]*slot, runsInFlight)
	for i := range slots {
		slots[i] = &slot{result: make([]byte, 4*p.outputs)}
		slots[i].readback = m.own(g.CreateBuffer(int64(4*p.outputs), jsgpu.UsageMapRead|jsgpu.UsageCopyDst))
	}

	pipelines := map[string]jsgpu.ComputePipeline{}
	var compileErr error
	for src, pp := range pending {
		pl, err := pp.Wait()
		if err != nil && compileErr == nil {
			compileErr = fmt.Errorf("webgpu: a shader does not compile (%s): %w", st, err)
		}
		pipelines[src] = pl
	}
	if compileErr == nil {
		for i, s := range p.steps {
			x, y, z := s.workgroups()
			m.dispatches = append(m.dispatches, dispatch{Pipeline: pipelines[sources[i]], Group: g.CreateBindGroup(layouts[s.op], bindings[i]...), X: x, Y: y, Z: z})
		}
	}
	validation, outOfMemory := g.ScopeError(g.PopErrorScope()), g.ScopeError(g.PopErrorScope())
	if err := errors.Join(compileErr, validation, outOfMemory); err != nil {
		m.Close()
		return nil, d.lostOr(fmt.Errorf("webgpu: loading the model failed: %w", err))
	}

	m.staging = js.Global().Get("Uint8Array").New(4 * p.inH * p.inW * p.inC)
	m.free = make(chan *slot, len(slots))
	for _, s := range slots {
		s.replay, m.replayed = g.NewReplay(m.dispatches, m.buffers[p.output], s.readback, int64(len(s.result)))
		m.free <- s
	}
	return m, nil
}

// startPipelines starts compiling one pipeline per distinct shader source
// and returns each step's source, the bind group layout of each op and the
// pipelines being compiled, by source.
func (m *Model) startPipelines() ([]string, map[opKind]jsgpu.BindGroupLayout, map[string]jsgpu.PendingPipeline) {
	g := m.dev.gpu
	sources := make([]string, len(m.prog.steps))
	layouts := map[opKind]jsgpu.BindGroupLayout{}
	pending := map[string]jsgpu.PendingPipeline{}
	for i, s := range m.prog.steps {
		if _, ok := layouts[s.op]; !ok {
			layouts[s.op] = g.CreateBindGroupLayout(bindingTypes(s.op)...)
		}
		sources[i] = m.prog.source(s, m.st)
		if _, ok := pending[sources[i]]; !ok {
			pending[sources[i]] = g.CreateComputePipelineAsync(sources[i], layouts[s.op])
		}
	}
	return sources, layouts, pending
}

// upload makes the uniform buffer of step s and, for a conv, its weight and
// bias buffers, and returns the buffers its shader binds, in order.
func (m *Model) upload(s step, absent jsgpu.Buffer) []jsgpu.Buffer {
	g := m.dev.gpu
	params := m.own(g.CreateBufferWith(uniformBytes(s.params()), jsgpu.UsageUniform))
	src, dst := m.buffers[s.src], m.buffers[s.dst]
	residual := absent
	if s.residual != noBuffer {
		residual = m.buffers[s.residual]
	}
	bias := func() jsgpu.Buffer {
		values := convBias(s.conv)
		b := make([]byte, 4*len(values))
		precF32.encode(b, values)
		return m.own(g.CreateBufferWith(b, jsgpu.UsageStorage))
	}
	switch s.op {
	case opConv, opMatVec:
		weights := convWeights(s.conv)
		weightBytes := make([]byte, len(weights)*m.st.size())
		m.st.encode(weightBytes, weights)
		return []jsgpu.Buffer{params, src, m.own(g.CreateBufferWith(weightBytes, jsgpu.UsageStorage)), bias(), residual, dst}
	case opSplitSum:
		return []jsgpu.Buffer{params, src, bias(), residual, dst}
	}
	return []jsgpu.Buffer{params, src, dst}
}

// bindingTypes lists the bindings of an op's shader, in @binding order.
func bindingTypes(op opKind) []jsgpu.BindingType {
	uniform, read, write := jsgpu.BindUniform, jsgpu.BindReadOnlyStorage, jsgpu.BindStorage
	switch op {
	case opConv, opMatVec: // params, input, weights, bias, residual (conv only), output
		return []jsgpu.BindingType{uniform, read, read, read, read, write}
	case opSplitSum: // params, partial sums, bias, residual, output
		return []jsgpu.BindingType{uniform, read, read, read, write}
	}
	return []jsgpu.BindingType{uniform, read, write}
}

// uniformBytes encodes a uniform block, padded to a multiple of 16 bytes as
// uniform structs are.
func uniformBytes(words []uint32) []byte {
	b := make([]byte, 16*ceilDiv(4*len(words), 16))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}
