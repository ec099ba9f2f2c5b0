//go:build js && wasm

package jsgpu

import (
	"syscall/js"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// Usage is a set of GPUBufferUsage flags.
type Usage int

// GPUBufferUsage flags.
const (
	UsageMapRead Usage = 0x0001
	UsageCopySrc Usage = 0x0004
	UsageCopyDst Usage = 0x0008
	UsageUniform Usage = 0x0040
	UsageStorage Usage = 0x0080
)

const (
	mapModeRead   = 0x0001 // GPUMapMode.READ
	shaderCompute = 0x0004 // GPUShaderStage.COMPUTE
)

// Buffer is a GPUBuffer.
type Buffer struct{ v js.Value }

// CreateBuffer creates a buffer of size bytes (a multiple of 4).
func (d *Device) CreateBuffer(size int64, usage Usage) Buffer {
	return Buffer{d.v.Call("createBuffer", map[string]any{"size": size, "usage": int(usage)})}
}

// CreateBufferWith creates a buffer holding data, copied in through a
// mapping at creation; len(data) must be a multiple of 4.
func (d *Device) CreateBufferWith(data []byte, usage Usage) Buffer {
	b := Buffer{d.v.Call("createBuffer", map[string]any{"size": len(data), "usage": int(usage), "mappedAtCreation": true})}
	js.CopyBytesToJS(jsutil.Uint8View(b.v.Call("getMappedRange")), data)
	b.v.Call("unmap")
	return b
}

// ReadInto maps the buffer for reading, copies its first len(dst) bytes
// into dst and unmaps it. The buffer needs UsageMapRead.
func (d *Device) ReadInto(dst []byte, b Buffer) error {
	if _, err := d.wait(b.v.Call("mapAsync", mapModeRead, 0, len(dst))); err != nil {
		return err
	}
	js.CopyBytesToGo(dst, jsutil.Uint8View(b.v.Call("getMappedRange", 0, len(dst))))
	b.v.Call("unmap")
	return nil
}

// Destroy frees the buffer's memory now rather than at garbage collection.
func (b Buffer) Destroy() { b.v.Call("destroy") }

// BindingType is how a shader binds a buffer.
type BindingType string

// GPUBufferBindingType values.
const (
	BindUniform         BindingType = "uniform"
	BindReadOnlyStorage BindingType = "read-only-storage"
	BindStorage         BindingType = "storage"
)

// BindGroupLayout is a GPUBindGroupLayout.
type BindGroupLayout struct{ v js.Value }

// CreateBindGroupLayout lays out the buffers of a compute shader's group
// 0: binding i has type types[i].
func (d *Device) CreateBindGroupLayout(types ...BindingType) BindGroupLayout {
	entries := make([]any, len(types))
	for i, t := range types {
		entries[i] = map[string]any{"binding": i, "visibility": shaderCompute, "buffer": map[string]any{"type": string(t)}}
	}
	return BindGroupLayout{d.v.Call("createBindGroupLayout", map[string]any{"entries": entries})}
}

// BindGroup is a GPUBindGroup.
type BindGroup struct{ v js.Value }

// CreateBindGroup binds buffers, whole, to bindings 0, 1, ... of layout.
func (d *Device) CreateBindGroup(layout BindGroupLayout, buffers ...Buffer) BindGroup {
	entries := make([]any, len(buffers))
	for i, b := range buffers {
		entries[i] = map[string]any{"binding": i, "resource": map[string]any{"buffer": b.v}}
	}
	return BindGroup{d.v.Call("createBindGroup", map[string]any{"layout": layout.v, "entries": entries})}
}

// ComputePipeline is a GPUComputePipeline.
type ComputePipeline struct{ v js.Value }

// PendingPipeline is a pipeline being compiled.
type PendingPipeline struct {
	d       *Device
	promise js.Value
}

// CreateComputePipelineAsync starts compiling the entry point "main" of
// WGSL code with layout as its only bind group; the browser compiles it in
// the background until Wait.
func (d *Device) CreateComputePipelineAsync(code string, layout BindGroupLayout) PendingPipeline {
	module := d.v.Call("createShaderModule", map[string]any{"code": code})
	pipelineLayout := d.v.Call("createPipelineLayout", map[string]any{"bindGroupLayouts": []any{layout.v}})
	return PendingPipeline{d, d.v.Call("createComputePipelineAsync", map[string]any{
		"layout": pipelineLayout, "compute": map[string]any{"module": module, "entryPoint": "main"}})}
}

// Wait returns the compiled pipeline, or the GPUPipelineError with the
// compiler's message.
func (p PendingPipeline) Wait() (ComputePipeline, error) {
	v, err := p.d.wait(p.promise)
	return ComputePipeline{v}, err
}
