//go:build js && wasm

package webgpu

import (
	"context"

	"github.com/inbrowser/resnet/webgpu/jsgpu"
)

// Device is a WebGPU device: the GPU side of one or more loaded models.
type Device struct {
	gpu      *jsgpu.Device
	adapter  string
	fallback bool
	timed    bool // timestamp-query: Model.Profile can time each dispatch
	f16      bool // shader-f16: Options.F16Arithmetic can load
	limits   limits
}

// Available reports whether the browser exposes navigator.gpu. It is cheap
// and does not mean Open will succeed: there may be no adapter.
func Available() bool {
	_, ok := jsgpu.Navigator()
	return ok
}

// Open requests an adapter and a device. Every failure but ctx's end
// matches ErrUnavailable; the caller should then run the CPU engine. The
// device gets the adapter's largest storage-binding and buffer sizes, and
// timestamp-query and shader-f16 where the adapter has them. Open a new
// device after a loss: an adapter gives only one.
func Open(ctx context.Context) (*Device, error) {
	nav, ok := jsgpu.Navigator()
	if !ok {
		return nil, &UnavailableError{Reason: "this browser offers no navigator.gpu here (WebGPU is missing, disabled, or the page is not a secure context)"}
	}
	adapter, ok, err := nav.RequestAdapter("high-performance", ctx.Done())
	if err != nil {
		return nil, unavailableOr(ctx, "requestAdapter failed: "+err.Error())
	}
	if !ok {
		return nil, &UnavailableError{Reason: "the browser offers no WebGPU adapter (the GPU may be blocklisted)"}
	}
	var features []string
	for _, f := range []string{jsgpu.FeatureTimestamps, jsgpu.FeatureShaderF16} {
		if adapter.HasFeature(f) {
			features = append(features, f)
		}
	}
	wanted := map[string]int64{}
	for _, name := range []string{"maxStorageBufferBindingSize", "maxBufferSize"} {
		wanted[name] = adapter.Limit(name)
	}
	gpu, err := adapter.RequestDevice(features, wanted, ctx.Done())
	if err != nil {
		return nil, unavailableOr(ctx, "requestDevice failed: "+err.Error())
	}
	return &Device{gpu: gpu, adapter: adapter.Description(), fallback: adapter.IsFallback(),
		timed:  gpu.HasFeature(jsgpu.FeatureTimestamps),
		f16:    gpu.HasFeature(jsgpu.FeatureShaderF16),
		limits: limits{maxStorageBufferBindingSize: gpu.Limit("maxStorageBufferBindingSize"), maxBufferSize: gpu.Limit("maxBufferSize")}}, nil
}

// unavailableOr returns ctx's error if it has ended (the wait was
// abandoned), else an UnavailableError.
func unavailableOr(ctx context.Context, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return &UnavailableError{Reason: reason}
}

// Adapter describes the adapter, e.g. "google swiftshader".
func (d *Device) Adapter() string { return d.adapter }

// Fallback reports a software adapter such as SwiftShader, which runs the
// shaders on the CPU: there the CPU engine is far faster (ResNet-18 at
// 224x224: about 4 s against 0.15 s on two cores), so prefer it.
func (d *Device) Fallback() bool { return d.fallback }

// HasTimestamps reports whether Model.Profile can time each dispatch on
// the GPU (the feature timestamp-query; Chromium offers it unquantized only
// with --enable-dawn-features=allow_unsafe_apis).
func (d *Device) HasTimestamps() bool { return d.timed }

// HasShaderF16 reports whether the device can compute in f16 (the feature
// shader-f16), which Options.F16Arithmetic needs.
func (d *Device) HasShaderF16() bool { return d.f16 }

// Lost is closed when the device is lost, for whatever reason: a driver
// reset, the browser reclaiming it, or Close. Err then says why. Models of
// a lost device fail; Open a new device and Load again, or fall back.
func (d *Device) Lost() <-chan struct{} { return d.gpu.Lost() }

// Err returns a *DeviceLostError once the device is lost, nil before.
func (d *Device) Err() error {
	select {
	case <-d.gpu.Lost():
		reason, message := d.gpu.LostInfo()
		return &DeviceLostError{Reason: reason, Message: message}
	default:
		return nil
	}
}

// Close destroys the device and every buffer of its models. Lost closes
// with reason "destroyed".
func (d *Device) Close() { d.gpu.Destroy() }

// lostOr returns the device-lost error if the device is lost (an aborted
// wait, or a failure caused by the loss), else err.
func (d *Device) lostOr(err error) error {
	if lost := d.Err(); lost != nil {
		return lost
	}
	return err
}
