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
	st := storeF32
	if opts.F16 {
		if !d.f16 {
			return nil, errors.New("this WebGPU device lacks shader-f16; load without Options.F16")
		}
		st = storeF16
	}
	p, err := compile(plan, inH, inW, opts.Softmax)
	if err != nil {
		return nil, err
	}
	if err := p.check(d.limits, st); err != nil {
		return nil, err
	}
	return d.load(p, st)
}

// load makes the GPU objects of p; on any error it destroys what it made.
func (d *Device) load(p *program, st storage) (*Model, error) {
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
	m.readback = m.own(g.CreateBuffer(int64(4*p.outputs), jsgpu.UsageMapRead|jsgpu.UsageCopyDst))

	pipelines := map[string]jsgpu.ComputePipeline{}
	var compileErr error
	for src, pp := range pending {
		pl, err := pp.Wait()
		if err != nil && compileErr == nil {
			compileErr = fmt.Errorf("webgpu: a %s shader does not compile: %w", st.wgsl(), err)
		}
		pipelines[src] = pl
	}
	if compileErr == nil {
		for i, s := range p.steps {
			x, y := s.workgroups()
			m.dispatches = append(m.dispatches, dispatch{pipelines[sources[i]], g.CreateBindGroup(layouts[s.op], bindings[i]...), x, y})
		}
	}
	validation, outOfMemory := g.ScopeError(g.PopErrorScope()), g.ScopeError(g.PopErrorScope())
	if err := errors.Join(compileErr, validation, outOfMemory); err != nil {
		m.Close()
		return nil, d.lostOr(fmt.Errorf("webgpu: loading the model failed: %w", err))
	}

	inputValues := p.buffers[p.input].values
	m.padded = make([]float32, inputValues)
	m.encoded = make([]byte, inputValues*st.size())
	m.staging = js.Global().Get("Uint8Array").New(len(m.encoded))
	m.result = make([]byte, 4*p.outputs)
	m.outputs = make([]float32, p.outputs)
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
	if s.op != opConv {
		return []jsgpu.Buffer{params, src, dst}
	}
	residual := absent
	if s.residual != noBuffer {
		residual = m.buffers[s.residual]
	}
	weights := convWeights(s.conv)
	weightBytes := make([]byte, len(weights)*m.st.size())
	m.st.encode(weightBytes, weights)
	bias := convBias(s.conv)
	biasBytes := make([]byte, 4*len(bias))
	storeF32.encode(biasBytes, bias)
	return []jsgpu.Buffer{params, src, m.own(g.CreateBufferWith(weightBytes, jsgpu.UsageStorage)),
		m.own(g.CreateBufferWith(biasBytes, jsgpu.UsageStorage)), residual, dst}
}

// bindingTypes lists the bindings of an op's shader, in @binding order.
func bindingTypes(op opKind) []jsgpu.BindingType {
	if op == opConv { // params, input, weights, bias, residual, output
		return []jsgpu.BindingType{jsgpu.BindUniform, jsgpu.BindReadOnlyStorage, jsgpu.BindReadOnlyStorage,
			jsgpu.BindReadOnlyStorage, jsgpu.BindReadOnlyStorage, jsgpu.BindStorage}
	}
	return []jsgpu.BindingType{jsgpu.BindUniform, jsgpu.BindReadOnlyStorage, jsgpu.BindStorage}
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
