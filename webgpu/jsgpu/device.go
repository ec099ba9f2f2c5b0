//go:build js && wasm

package jsgpu

import (
	"syscall/js"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// Device is a GPUDevice and its queue.
type Device struct {
	v, queue js.Value
	lost     chan struct{} // closed when device.lost resolves
	// Set before lost is closed; read only after.
	lostReason, lostMessage string
}

// newDevice wraps a GPUDevice and starts listening for its loss.
func newDevice(v js.Value) *Device {
	d := &Device{v: v, queue: v.Get("queue"), lost: make(chan struct{})}
	var onLost js.Func
	onLost = js.FuncOf(func(_ js.Value, args []js.Value) any {
		d.lostReason, d.lostMessage = args[0].Get("reason").String(), args[0].Get("message").String()
		close(d.lost)
		onLost.Release()
		return nil
	})
	v.Get("lost").Call("then", onLost)
	return d
}

// Lost is closed once the device is lost, destroyed included.
func (d *Device) Lost() <-chan struct{} { return d.lost }

// LostInfo returns GPUDeviceLostInfo's reason ("destroyed" or "unknown")
// and message; call it only after Lost is closed.
func (d *Device) LostInfo() (reason, message string) { return d.lostReason, d.lostMessage }

// Destroy destroys the device: its buffers are freed and Lost closes.
func (d *Device) Destroy() { d.v.Call("destroy") }

// HasFeature reports whether the device was granted a feature.
func (d *Device) HasFeature(name string) bool { return d.v.Get("features").Call("has", name).Bool() }

// Limit returns one of the device's GPUSupportedLimits.
func (d *Device) Limit(name string) int64 { return int64(d.v.Get("limits").Get(name).Float()) }

// wait awaits a promise of this device; it returns jsutil.ErrAborted if
// the device is lost first.
func (d *Device) wait(promise js.Value) (js.Value, error) { return jsutil.Await(promise, d.lost) }

// PushErrorScope starts catching errors of a filter: "validation",
// "out-of-memory" or "internal".
func (d *Device) PushErrorScope(filter string) { d.v.Call("pushErrorScope", filter) }

// PopErrorScope ends the innermost error scope and returns its promise,
// which resolves to the first GPUError caught or null once the scope's
// work is done. Await it with ScopeError.
func (d *Device) PopErrorScope() js.Value { return d.v.Call("popErrorScope") }

// ScopeError waits for a promise from PopErrorScope and returns the error
// it caught, or nil.
func (d *Device) ScopeError(popped js.Value) error {
	v, err := d.wait(popped)
	if err != nil {
		return err
	}
	if !v.Truthy() {
		return nil
	}
	return &jsutil.Error{Name: v.Get("constructor").Get("name").String(), Message: v.Get("message").String()}
}

// WriteBuffer queues a write of data (a Uint8Array) into b at offset; it
// happens before any later Submit.
func (d *Device) WriteBuffer(b Buffer, offset int64, data js.Value) {
	d.queue.Call("writeBuffer", b.v, offset, data)
}

// Submit submits one command buffer to the queue.
func (d *Device) Submit(cb CommandBuffer) {
	d.queue.Call("submit", []any{cb.v})
}
