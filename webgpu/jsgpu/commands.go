//go:build js && wasm

package jsgpu

import "syscall/js"

// CommandEncoder is a GPUCommandEncoder.
type CommandEncoder struct{ v js.Value }

// CreateCommandEncoder starts recording a command buffer.
func (d *Device) CreateCommandEncoder() CommandEncoder {
	return CommandEncoder{d.v.Call("createCommandEncoder")}
}

// BeginComputePass starts a compute pass. Within a pass, each dispatch
// sees the writes of the dispatches before it.
func (e CommandEncoder) BeginComputePass() ComputePass {
	return ComputePass{e.v.Call("beginComputePass")}
}

// CopyBufferToBuffer copies size bytes from the start of src to the start
// of dst.
func (e CommandEncoder) CopyBufferToBuffer(src, dst Buffer, size int64) {
	e.v.Call("copyBufferToBuffer", src.v, 0, dst.v, 0, size)
}

// Finish ends recording.
func (e CommandEncoder) Finish() CommandBuffer { return CommandBuffer{e.v.Call("finish")} }

// CommandBuffer is a GPUCommandBuffer, ready for Device.Submit.
type CommandBuffer struct{ v js.Value }

// ComputePass is a GPUComputePassEncoder.
type ComputePass struct{ v js.Value }

// SetPipeline selects the pipeline of the following dispatches.
func (p ComputePass) SetPipeline(pl ComputePipeline) { p.v.Call("setPipeline", pl.v) }

// SetBindGroup binds group 0 of the following dispatches.
func (p ComputePass) SetBindGroup(g BindGroup) { p.v.Call("setBindGroup", 0, g.v) }

// DispatchWorkgroups runs x * y * z workgroups of the current pipeline.
func (p ComputePass) DispatchWorkgroups(x, y, z int) { p.v.Call("dispatchWorkgroups", x, y, z) }

// End ends the pass.
func (p ComputePass) End() { p.v.Call("end") }
