// Package webgpu runs a folded ResNet (engine.Plan) on the GPU through the
// browser's WebGPU API, from Go compiled to WebAssembly.
//
// Open asks the browser for a device; Device.Load uploads a plan's weights
// once and builds every pipeline, buffer and bind group for one input size;
// Model.Run then classifies an image with one command buffer, one submit and
// one readback of the logits. Errors are typed so the caller can fall back
// to the CPU engine: ErrUnavailable from Open, ErrDeviceLost when the device
// goes away mid-session, *LimitError when a buffer exceeds the device's
// limits, ErrNoShaderF16 when f16 arithmetic is asked of a device that
// cannot compute in f16.
//
// The planning half (layouts, weight repacking, the dispatch list, shader
// sources, limit checks) is plain Go and tested natively; the half that
// talks to the browser is built only for js/wasm and tested in Chromium by
// e2e/webgpu.test.mjs. See docs/webgpu.md.
package webgpu
