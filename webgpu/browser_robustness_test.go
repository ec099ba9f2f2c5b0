//go:build js && wasm

package webgpu

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inbrowser/resnet/engine/arch"
)

// TestDeviceLoss destroys the device behind the package's back, as a driver
// reset would, then recovers on a new device without reloading the page.
func TestDeviceLoss(t *testing.T) {
	requireWebGPU(t)
	// Record each device the page creates, to destroy it from JavaScript.
	evalJS(`const request = GPUAdapter.prototype.requestDevice;
		GPUAdapter.prototype.requestDevice = async function (...args) {
			const device = await request.apply(this, args);
			self.lastTestDevice = device;
			return device;
		};
		self.restoreRequestDevice = () => { GPUAdapter.prototype.requestDevice = request; };`)
	t.Cleanup(func() { evalJS(`self.restoreRequestDevice()`) })
	dev := openDevice(t)
	plan := randomPlan(t, arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10})
	input := randomInput(32, 32)
	want := cpuLogits(t, plan, input, 32, 32)
	m, err := dev.Load(plan, 32, 32, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Run(input)
	if err != nil {
		t.Fatal(err)
	}
	checkLogits(t, "before the loss", got, want)

	// Destroyed while a run waits for its outputs: the run must end, not hang.
	evalJS(`setTimeout(() => self.lastTestDevice.destroy(), 0)`)
	if _, err := m.Run(input); err != nil {
		if !isLost(err) {
			t.Errorf("run during the loss: %v, want an error matching ErrDeviceLost", err)
		}
		t.Logf("run during the loss: %v", err)
	} else {
		t.Log("the run finished before the device was destroyed")
	}
	select {
	case <-dev.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost() did not close within 10 s of device.destroy()")
	}
	var lost *DeviceLostError
	if err := dev.Err(); !errors.As(err, &lost) || lost.Reason != "destroyed" {
		t.Errorf("Err() = %v, want a DeviceLostError with reason destroyed", err)
	}
	t.Logf("reported: %v", dev.Err())
	if _, err := m.Run(input); !isLost(err) {
		t.Errorf("run after the loss: %v, want an error matching ErrDeviceLost", err)
	}
	if _, err := dev.Load(plan, 32, 32, Options{}); !isLost(err) {
		t.Errorf("load after the loss: %v, want an error matching ErrDeviceLost", err)
	}

	// Recover: a new device, the same plan, no reload.
	dev2, err := Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer dev2.Close()
	m2, err := dev2.Load(plan, 32, 32, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err = m2.Run(input)
	if err != nil {
		t.Fatal(err)
	}
	checkLogits(t, "on the new device", got, want)
}

// TestOpenUnavailable stubs each way WebGPU can be missing and checks that
// Open says so with ErrUnavailable.
func TestOpenUnavailable(t *testing.T) {
	requireWebGPU(t)
	for _, c := range []struct{ name, stub, restore string }{
		{"no navigator.gpu",
			`Object.defineProperty(navigator, "gpu", {value: undefined, configurable: true})`,
			`delete navigator.gpu`},
		{"no adapter",
			`self.savedRequestAdapter = GPU.prototype.requestAdapter; GPU.prototype.requestAdapter = async () => null`,
			`GPU.prototype.requestAdapter = self.savedRequestAdapter`},
		{"requestDevice fails",
			`self.savedRequestDevice = GPUAdapter.prototype.requestDevice;
			 GPUAdapter.prototype.requestDevice = async () => { throw new DOMException("stubbed", "OperationError") }`,
			`GPUAdapter.prototype.requestDevice = self.savedRequestDevice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			evalJS(c.stub)
			defer evalJS(c.restore)
			dev, err := Open(context.Background())
			if err == nil {
				dev.Close()
				t.Fatal("Open succeeded")
			}
			var u *UnavailableError
			if !errors.Is(err, ErrUnavailable) || !errors.As(err, &u) {
				t.Fatalf("Open: %v, want an UnavailableError", err)
			}
			t.Logf("Open: %v", err)
		})
	}
	if !Available() {
		t.Error("Available() is false after the stubs were removed")
	}
}

// TestUnavailableBrowser runs in a browser without usable WebGPU
// (-webgpu.unavailable): Open must fail with ErrUnavailable.
func TestUnavailableBrowser(t *testing.T) {
	if !*unavailable {
		t.Skip("needs -webgpu.unavailable and a browser without WebGPU")
	}
	t.Logf("Available() = %v", Available())
	dev, err := Open(context.Background())
	if err == nil {
		dev.Close()
		t.Fatal("Open succeeded")
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open: %v, want ErrUnavailable", err)
	}
	t.Logf("Open: %v", err)
}
