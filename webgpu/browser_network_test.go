//go:build js && wasm

package webgpu

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/internal/goldens"
)

// loadGolden fetches a committed narrow model with its input (NHWC) and
// PyTorch's logits.
func loadGolden(t *testing.T, name string) (*engine.Plan, []float32, []float32, int) {
	t.Helper()
	g, cfg, ckpt := goldens.LoadWith(t, func(file string) []byte { return fetchBytes(t, *testdataURL+file) }, name, ".safetensors")
	plan, err := engine.Fold(cfg, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	input := goldens.CHWToHWC(float32s(fetchBytes(t, *testdataURL+name+".input.f32")), 3, g.Input, g.Input)
	return plan, input, float32s(fetchBytes(t, *testdataURL+name+".logits.f32")), g.Input
}

// cpuLogits runs the CPU engine, the reference.
func cpuLogits(t *testing.T, plan *engine.Plan, input []float32, h, w int) []float32 {
	t.Helper()
	m, err := engine.FromPlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.NewSession().Run(input, h, w)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(logits)
}

func gpuRun(t *testing.T, dev *Device, plan *engine.Plan, input []float32, h, w int, opts Options) []float32 {
	t.Helper()
	m, err := dev.Load(plan, h, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Run(input)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(out)
}

// TestNarrowGoldens runs the committed narrow ResNets (base width 8, 32x32)
// and compares the logits with the CPU engine's (and logs PyTorch's).
func TestNarrowGoldens(t *testing.T) {
	dev := openDevice(t)
	for _, name := range []string{"resnet18-w8", "resnet50-w8", "resnet50-w8-v1"} {
		t.Run(name, func(t *testing.T) {
			plan, input, torch, size := loadGolden(t, name)
			want := cpuLogits(t, plan, input, size, size)
			got := gpuRun(t, dev, plan, input, size, size, Options{})
			checkLogits(t, "WebGPU vs CPU engine", got, want)
			checkLogits(t, "WebGPU vs PyTorch", got, torch)
			// The kernels chosen for GPUs (split-K, other tilings), which a
			// software adapter does not get by default.
			checkLogits(t, "WebGPU GPU kernels vs CPU engine", gpuRun(t, dev, plan, input, size, size, Options{ConvKernel: "gpu"}), want)
			checkF16(t, dev, plan, input, size, want)
			if name == "resnet18-w8" {
				probs := gpuRun(t, dev, plan, input, size, size, Options{Softmax: true})
				engine.Softmax(want, want)
				checkClose(t, "WebGPU probabilities vs CPU softmax", probs, want, 1e-5)
			}
		})
	}
}

// checkF16 runs plan with f16 storage and compares the logits with the
// native emulation of its rounding (close: only the order of f32 sums and
// pack2x16float's rounding may differ) and with f32 (within 1e-2 of the
// largest logit, the same top class).
func checkF16(t *testing.T, dev *Device, plan *engine.Plan, input []float32, size int, f32 []float32) {
	t.Helper()
	got := gpuRun(t, dev, plan, input, size, size, Options{F16: true})
	p, err := compile(plan, size, size, false, softwareKernel)
	if err != nil {
		t.Fatal(err)
	}
	emulated := runReference(p, input, precF16Storage)
	worst, scale := maxDiff(got, emulated)
	t.Logf("f16 storage vs its emulation: max |logit diff| %.3g, largest |logit| %.3g", worst, scale)
	if worst > 2e-3*scale || math.IsNaN(worst) {
		t.Errorf("f16 storage: logits differ from its emulation by %.3g, over 2e-3 x %.3g", worst, scale)
	}
	worst, scale = maxDiff(got, f32)
	t.Logf("f16 storage vs f32: max |logit diff| %.3g, largest |logit| %.3g", worst, scale)
	if worst > 1e-2*scale || argmax(got) != argmax(f32) {
		t.Errorf("f16 storage: logits differ from f32 by %.3g (largest %.3g), top class %d, want %d", worst, scale, argmax(got), argmax(f32))
	}
}

// TestF16Arithmetic runs the narrow goldens computed in f16 where the
// adapter has shader-f16, against f32 (within 1e-2 of the largest logit,
// the same top class) and, logged, the native emulation of its rounding
// (the GPU may fuse or round its multiply-adds otherwise).
func TestF16Arithmetic(t *testing.T) {
	dev := openDevice(t)
	if !dev.HasShaderF16() {
		t.Skipf("adapter %q has no shader-f16: f16 arithmetic cannot run here (TestF16ArithmeticNeedsShaderF16 checks Load's refusal)", dev.Adapter())
	}
	for _, name := range []string{"resnet18-w8", "resnet50-w8"} {
		t.Run(name, func(t *testing.T) {
			plan, input, _, size := loadGolden(t, name)
			f32 := cpuLogits(t, plan, input, size, size)
			for _, kernel := range []string{"", "gpu"} {
				got := gpuRun(t, dev, plan, input, size, size, Options{F16Arithmetic: true, ConvKernel: kernel})
				worst, scale := maxDiff(got, f32)
				t.Logf("kernels %q: f16 arithmetic vs f32: max |logit diff| %.3g, largest |logit| %.3g", kernel, worst, scale)
				if worst > 1e-2*scale || math.IsNaN(worst) || argmax(got) != argmax(f32) {
					t.Errorf("kernels %q: f16 arithmetic differs from f32 by %.3g (largest %.3g), top class %d, want %d", kernel, worst, scale, argmax(got), argmax(f32))
				}
			}
			p, err := compile(plan, size, size, false, softwareKernel)
			if err != nil {
				t.Fatal(err)
			}
			got := gpuRun(t, dev, plan, input, size, size, Options{F16Arithmetic: true, ConvKernel: softwareTile.String()})
			worst, scale := maxDiff(got, runReference(p, input, precF16Arithmetic))
			t.Logf("f16 arithmetic vs its emulation: max |logit diff| %.3g, largest |logit| %.3g", worst, scale)
		})
	}
}

// TestF16ArithmeticNeedsShaderF16 checks that a device without shader-f16
// refuses f16 arithmetic with ErrNoShaderF16, naming the adapter, and
// still loads f16 storage, which needs nothing.
func TestF16ArithmeticNeedsShaderF16(t *testing.T) {
	dev := openDevice(t)
	if dev.HasShaderF16() {
		t.Skipf("adapter %q has shader-f16: TestF16Arithmetic runs f16 arithmetic instead", dev.Adapter())
	}
	plan, input, _, size := loadGolden(t, "resnet18-w8")
	_, err := dev.Load(plan, size, size, Options{F16Arithmetic: true})
	if !errors.Is(err, ErrNoShaderF16) || !strings.Contains(err.Error(), dev.Adapter()) {
		t.Fatalf("Load with F16Arithmetic on %q: %v, want ErrNoShaderF16 naming the adapter", dev.Adapter(), err)
	}
	t.Logf("Load: %v", err)
	if got := gpuRun(t, dev, plan, input, size, size, Options{F16: true}); len(got) == 0 {
		t.Error("f16 storage gave no logits after the refusal")
	}
}

// TestFullSize runs ResNet-18 and ResNet-50 at 224x224 with random weights
// against the CPU engine; with -webgpu.bench it also times both.
func TestFullSize(t *testing.T) {
	if !*fullSize {
		t.Skip("full-size networks need -webgpu.full")
	}
	dev := openDevice(t)
	t.Logf("adapter: %s (fallback: %v)", dev.Adapter(), dev.Fallback())
	for _, depth := range []int{18, 50} {
		t.Run(arch.Standard(depth).Name(), func(t *testing.T) {
			cfg := arch.Standard(depth)
			ckpt, err := engine.RandomCheckpoint(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := engine.Fold(cfg, ckpt)
			if err != nil {
				t.Fatal(err)
			}
			input := randomInput(224, 224)
			cpu, err := engine.FromPlan(plan)
			if err != nil {
				t.Fatal(err)
			}
			session := cpu.NewSession()
			want, err := session.Run(input, 224, 224)
			if err != nil {
				t.Fatal(err)
			}
			want = slices.Clone(want)

			start := time.Now()
			m, err := dev.Load(plan, 224, 224, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			t.Logf("load (upload and pipelines): %v", time.Since(start).Round(time.Millisecond))
			start = time.Now()
			got, err := m.Run(input)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("first run: %v", time.Since(start).Round(time.Millisecond))
			checkLogits(t, "WebGPU vs CPU engine", got, want)
			if *benchRuns > 0 {
				gpu := median(t, *benchRuns, func() error { _, err := m.Run(input); return err })
				wasm := median(t, *benchRuns, func() error { _, err := session.Run(input, 224, 224); return err })
				t.Logf("latency at 224x224, median of %d after warm-up: WebGPU %v, CPU engine (wasm) %v", *benchRuns, gpu, wasm)
			}
		})
	}
}

// median times n calls of run.
func median(t *testing.T, n int, run func() error) time.Duration {
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		if err := run(); err != nil {
			t.Fatal(err)
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[n/2].Round(time.Millisecond)
}

// TestRunTraffic counts what one Run asks of the browser: one input write,
// one command buffer in one submit, and one mapping of the logits alone;
// also after a RunFeatureMap, which adds one command buffer (the copy of
// the last block's output) and one mapping of it.
func TestRunTraffic(t *testing.T) {
	dev := openDevice(t)
	plan := randomPlan(t, arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10})
	m, err := dev.Load(plan, 32, 32, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	traffic := func(run func() error) string {
		evalJS(`const counts = self.gpuTraffic = {writes: 0, submits: 0, commandBuffers: 0, maps: 0, mappedBytes: 0};
			const wrap = (proto, name, count) => {
				const original = proto[name];
				proto[name] = function (...args) { count(...args); return original.apply(this, args); };
				return () => { proto[name] = original; };
			};
			self.restoreTraffic = [
				wrap(GPUQueue.prototype, "writeBuffer", () => counts.writes++),
				wrap(GPUQueue.prototype, "submit", (buffers) => { counts.submits++; counts.commandBuffers += buffers.length; }),
				wrap(GPUBuffer.prototype, "mapAsync", (mode, offset, size) => { counts.maps++; counts.mappedBytes += size; }),
			];`)
		err := run()
		evalJS(`self.restoreTraffic.forEach((restore) => restore())`)
		if err != nil {
			t.Fatal(err)
		}
		c := js.Global().Get("gpuTraffic")
		return fmt.Sprintf("%d writes, %d submits, %d command buffers, %d maps of %d bytes",
			c.Get("writes").Int(), c.Get("submits").Int(), c.Get("commandBuffers").Int(), c.Get("maps").Int(), c.Get("mappedBytes").Int())
	}
	input := randomInput(32, 32)
	run := func() error { _, err := m.Run(input); return err }
	const want = "1 writes, 1 submits, 1 command buffers, 1 maps of 40 bytes"
	if got := traffic(run); got != want {
		t.Errorf("one Run made %s, want %s", got, want)
	} else {
		t.Logf("one Run: %s", got)
	}
	// The 1x1x64 feature map: 256 bytes.
	withMap := traffic(func() error { _, _, err := m.RunFeatureMap(input); return err })
	if wantMap := "1 writes, 2 submits, 2 command buffers, 2 maps of 296 bytes"; withMap != wantMap {
		t.Errorf("one RunFeatureMap made %s, want %s", withMap, wantMap)
	} else {
		t.Logf("one RunFeatureMap: %s", withMap)
	}
	if got := traffic(run); got != want {
		t.Errorf("a Run after a RunFeatureMap made %s, want %s", got, want)
	}
	if !m.replayed { // the pass is recorded by one JavaScript call, not one per dispatch from Go
		t.Error("the run was recorded from Go, not replayed")
	}
}
