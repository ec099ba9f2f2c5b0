package webgpu

import (
	"errors"
	"fmt"
)

// ErrUnavailable matches (with errors.Is) every Open failure that means
// "this browser cannot run WebGPU here": no navigator.gpu, no adapter, or a
// device request that failed. The caller should use the CPU engine.
var ErrUnavailable = errors.New("WebGPU is unavailable")

// ErrDeviceLost matches (with errors.Is) the error of any call made after
// the device was lost. The caller can Open a new device and Load again, or
// fall back to the CPU engine; the page does not need to reload.
var ErrDeviceLost = errors.New("WebGPU device lost")

// ErrNoShaderF16 matches (with errors.Is) Load's error for
// Options.F16Arithmetic on a device without the feature shader-f16
// (SwiftShader, and many GPUs and drivers). Options.F16, f16 storage with
// f32 arithmetic, runs on every device.
var ErrNoShaderF16 = errors.New("f16 arithmetic needs the WebGPU feature shader-f16, which this adapter lacks (Options.F16 stores f16 and computes in f32 on every device)")

// UnavailableError says why Open failed.
type UnavailableError struct {
	Reason string
}

func (e *UnavailableError) Error() string { return "WebGPU is unavailable: " + e.Reason }

// Is makes errors.Is(err, ErrUnavailable) hold.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// DeviceLostError is the browser's GPUDeviceLostInfo: Reason is "destroyed"
// when the device was destroyed on purpose and "unknown" otherwise (a driver
// reset, a crashed GPU process, the tab in the background for too long).
type DeviceLostError struct {
	Reason, Message string
}

func (e *DeviceLostError) Error() string {
	return fmt.Sprintf("WebGPU device lost (%s): %s", e.Reason, e.Message)
}

// Is makes errors.Is(err, ErrDeviceLost) hold.
func (e *DeviceLostError) Is(target error) bool { return target == ErrDeviceLost }

// LimitError refuses a model whose buffer would exceed a device limit.
type LimitError struct {
	What      string // e.g. "weights of layer4.0.conv2", "activations at 1024x1024"
	Bytes     int64
	Limit     int64
	LimitName string // the GPUSupportedLimits field, e.g. "maxStorageBufferBindingSize"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s need a %d-byte GPU buffer, over this device's %s of %d bytes; use a smaller input or the CPU engine",
		e.What, e.Bytes, e.LimitName, e.Limit)
}
