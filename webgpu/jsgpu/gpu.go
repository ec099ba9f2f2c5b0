//go:build js && wasm

package jsgpu

import (
	"strings"
	"syscall/js"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// GPU is navigator.gpu.
type GPU struct{ v js.Value }

// Navigator returns navigator.gpu, or false where the browser offers none
// (no WebGPU, WebGPU disabled, or an insecure context).
func Navigator() (GPU, bool) {
	nav := js.Global().Get("navigator")
	if !nav.Truthy() {
		return GPU{}, false
	}
	g := nav.Get("gpu")
	return GPU{g}, g.Truthy()
}

// RequestAdapter calls requestAdapter; false means the promise resolved to
// null: WebGPU exists but offers no adapter here.
func (g GPU) RequestAdapter(powerPreference string, abort <-chan struct{}) (Adapter, bool, error) {
	v, err := jsutil.Await(g.v.Call("requestAdapter", map[string]any{"powerPreference": powerPreference}), abort)
	if err != nil {
		return Adapter{}, false, err
	}
	return Adapter{v}, v.Truthy(), nil
}

// Adapter is a GPUAdapter.
type Adapter struct{ v js.Value }

// FeatureShaderF16 is the device feature that lets WGSL compute in f16
// (`enable f16;`).
const FeatureShaderF16 = "shader-f16"

// HasFeature reports whether the adapter offers a feature, e.g. "shader-f16".
func (a Adapter) HasFeature(name string) bool { return a.v.Get("features").Call("has", name).Bool() }

// Limit returns one of the adapter's GPUSupportedLimits.
func (a Adapter) Limit(name string) int64 { return int64(a.v.Get("limits").Get(name).Float()) }

// Description names the adapter as its GPUAdapterInfo does, e.g.
// "google swiftshader".
func (a Adapter) Description() string {
	info := a.v.Get("info")
	var parts []string
	for _, field := range []string{"vendor", "architecture", "description"} {
		if info.Truthy() && info.Get(field).String() != "" {
			parts = append(parts, info.Get(field).String())
		}
	}
	if len(parts) == 0 {
		return "unknown adapter"
	}
	return strings.Join(parts, " ")
}

// IsFallback reports a software adapter (GPUAdapterInfo.isFallbackAdapter),
// such as SwiftShader.
func (a Adapter) IsFallback() bool {
	info := a.v.Get("info")
	return info.Truthy() && info.Get("isFallbackAdapter").Truthy()
}

// RequestDevice requests a device with the given features and limits.
func (a Adapter) RequestDevice(features []string, limits map[string]int64, abort <-chan struct{}) (*Device, error) {
	required := make([]any, len(features))
	for i, f := range features {
		required[i] = f
	}
	requiredLimits := make(map[string]any, len(limits))
	for name, v := range limits {
		requiredLimits[name] = v
	}
	v, err := jsutil.Await(a.v.Call("requestDevice", map[string]any{"requiredFeatures": required, "requiredLimits": requiredLimits}), abort)
	if err != nil {
		return nil, err
	}
	return newDevice(v), nil
}
