//go:build js && wasm

package webgpu

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"syscall/js"
	"testing"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// The browser tests run this package's test binary in a worker of headless
// Chromium (e2e/webgpu.test.mjs). Under Node, which has no WebGPU, they skip.
var (
	requireGPU  = flag.Bool("webgpu.require", false, "fail, rather than skip, where there is no WebGPU")
	unavailable = flag.Bool("webgpu.unavailable", false, "this browser has no usable WebGPU: only check that Open says so")
	fullSize    = flag.Bool("webgpu.full", false, "also run ResNet-18 and ResNet-50 at 224x224 (seconds each on SwiftShader)")
	benchRuns   = flag.Int("webgpu.bench", 0, "perf mode: time this many runs of each full-size network, WebGPU and CPU engine, after a warm-up")
	testdataURL = flag.String("webgpu.testdata", "/engine/testdata/", "URL of engine/testdata, where the narrow goldens are")
)

// requireWebGPU skips the test where there is no WebGPU to test, unless
// -webgpu.require.
func requireWebGPU(t *testing.T) {
	t.Helper()
	if *unavailable {
		t.Skip("this run checks a browser without WebGPU")
	}
	if !Available() && !*requireGPU {
		t.Skip("no WebGPU here (Node?); run node --test e2e/webgpu.test.mjs")
	}
}

// openDevice opens a device for one test and closes it after.
func openDevice(t *testing.T) *Device {
	t.Helper()
	requireWebGPU(t)
	dev, err := Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	return dev
}

// evalJS runs a snippet of JavaScript in the worker.
func evalJS(code string) js.Value { return js.Global().Get("Function").New(code).Invoke() }

// fetchBytes fetches url.
func fetchBytes(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := jsutil.Await(js.Global().Call("fetch", url), nil)
	if err == nil && !resp.Get("ok").Bool() {
		err = fmt.Errorf("HTTP %d", resp.Get("status").Int())
	}
	if err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	data, err := jsutil.ReadAll(resp)
	if err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	b, err := jsutil.BytesOf(data)
	if err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	return b
}

func float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// maxDiff returns the largest |got - want| and the largest |want|.
func maxDiff(got, want []float32) (worst, scale float64) {
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return worst, scale
}

// checkClose fails unless got is within tol x max(1, largest |want|) of want,
// and logs the error either way.
func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, scale := maxDiff(got, want)
	t.Logf("%s: max abs error %.3g (largest |value| %.3g, tolerance %.0e x %.3g)", what, worst, scale, tol, max(1, scale))
	if worst > tol*max(1, scale) || math.IsNaN(worst) {
		t.Errorf("%s: max abs error %.3g over the tolerance", what, worst)
	}
}

// checkLogits applies the end-to-end bar: every logit within 1e-4 of the
// largest reference logit's magnitude, and the same top class.
func checkLogits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	worst, scale := maxDiff(got, want)
	t.Logf("%s: max |logit diff| %.3g, largest |logit| %.3g, ratio %.3g", what, worst, scale, worst/scale)
	if worst > 1e-4*scale || math.IsNaN(worst) {
		t.Errorf("%s: logits differ by %.3g, over 1e-4 x %.3g", what, worst, scale)
	}
	if argmax(got) != argmax(want) {
		t.Errorf("%s: top class %d, want %d", what, argmax(got), argmax(want))
	}
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// padded returns x with its channels padded to 4.
func padded(x []float32, c int) []float32 {
	out := make([]float32, len(x)/c*pad4(c))
	padChannels(out, x, c)
	return out
}

func isLost(err error) bool {
	var lost *DeviceLostError
	return errors.Is(err, ErrDeviceLost) && errors.As(err, &lost)
}

// write queues a write of values (padded, as stored) into buffer id; it
// lands before the next execute.
func (m *Model) write(id bufferID, values []float32) {
	st := m.st
	if m.prog.buffers[id].exact {
		st = precF32
	}
	encoded := make([]byte, len(values)*st.size())
	st.encode(encoded, values)
	m.dev.gpu.WriteBuffer(m.buffers[id], 0, jsutil.NewUint8Array(encoded))
}
