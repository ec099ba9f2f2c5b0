package webgpu

import (
	"errors"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
)

// The WebGPU defaults, which every device offers.
var defaultLimits = limits{maxStorageBufferBindingSize: 128 << 20, maxBufferSize: 256 << 20}

func TestCheckLimits(t *testing.T) {
	p, err := compile(randomPlan(t, arch.Config{Depth: 18, BaseWidth: 64, NumClasses: 1000}), 1024, 1024, false, softwareKernel)
	if err != nil {
		t.Fatal(err)
	}
	// ResNet-18 at 1024x1024: the stem writes 512x512x64 values, 64 MiB in f32.
	if err := p.check(defaultLimits, precF32); err != nil {
		t.Errorf("ResNet-18 at 1024x1024 refused under the default limits: %v", err)
	}
	small := limits{maxStorageBufferBindingSize: 32 << 20, maxBufferSize: 256 << 20}
	err = p.check(small, precF32)
	var le *LimitError
	if !errors.As(err, &le) || le.LimitName != "maxStorageBufferBindingSize" || le.Bytes != 512*512*64*4 {
		t.Fatalf("check under a 32 MiB binding limit: %v, want a LimitError for 64 MiB of activations", err)
	}
	if !strings.Contains(err.Error(), "activations of a 1024x1024 input") {
		t.Errorf("message %q does not say what is too large", err)
	}
	if err := p.check(small, precF16Storage); err != nil {
		t.Errorf("f16 halves the activations to 32 MiB, yet: %v", err)
	}
	tiny := limits{maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 1 << 30}
	p, err = compile(randomPlan(t, arch.Config{Depth: 18, BaseWidth: 64, NumClasses: 1000}), 32, 32, false, softwareKernel)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.check(tiny, precF32); err == nil || !strings.Contains(err.Error(), "weights of layer") {
		t.Errorf("1 MiB binding limit: %v, want the weights of a layer refused", err)
	}
	if err := p.check(limits{maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 20}, precF32); err == nil ||
		!strings.Contains(err.Error(), "maxBufferSize") {
		t.Errorf("1 MiB buffer limit: %v, want maxBufferSize named", err)
	}
}
