//go:build js && wasm

package webgpu

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
)

// TestOverlappedRuns submits a second input before the first run's outputs
// are read back, as the page does with consecutive webcam frames, and
// checks that each run gets its own results: bit for bit those of the same
// input run alone.
func TestOverlappedRuns(t *testing.T) {
	dev := openDevice(t)
	plan := randomPlan(t, arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10})
	m, err := dev.Load(plan, 32, 32, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a, b := randomInput(32, 32), make([]float32, 32*32*3)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range b {
		b[i] = float32(r.NormFloat64())
	}
	alone := func(input []float32) ([]float32, []float32) {
		logits, fm, err := m.RunFeatureMap(input)
		if err != nil {
			t.Fatal(err)
		}
		return logits, fm.Values
	}
	wantA, mapA := alone(a)
	wantB, mapB := alone(b)
	checkLogits(t, "input a alone vs the CPU engine", wantA, cpuLogits(t, plan, a, 32, 32))
	if slices.Equal(wantA, wantB) {
		t.Fatal("the two inputs give the same logits: the test could not tell their runs apart")
	}

	// Both submitted before either is read back, read back in either order.
	for _, order := range []string{"a first", "b first"} {
		pa, err := m.Submit(a, false)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := m.Submit(b, true)
		if err != nil {
			t.Fatal(err)
		}
		waitA := func() []float32 {
			logits, _, err := pa.Wait()
			if err != nil {
				t.Fatal(err)
			}
			return logits
		}
		var gotA []float32
		if order == "a first" {
			gotA = waitA()
		}
		gotB, fmB, err := pb.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if gotA == nil {
			gotA = waitA()
		}
		if !slices.Equal(gotA, wantA) || !slices.Equal(gotB, wantB) || !slices.Equal(fmB.Values, mapB) {
			t.Errorf("overlapped, read back %s: a %v, b %v, b's map equal %v; alone: a %v, b %v",
				order, gotA, gotB, slices.Equal(fmB.Values, mapB), wantA, wantB)
		}
		if _, _, err := pa.Wait(); err == nil {
			t.Error("a second Wait of the same run succeeded")
		}
	}

	// Runs from several goroutines at once, as the worker's requests come:
	// each gets its own input's results.
	var wg sync.WaitGroup
	for i := range 6 {
		input, want, wantMap := a, wantA, mapA
		if i%2 == 1 {
			input, want, wantMap = b, wantB, mapB
		}
		wg.Go(func() {
			logits, fm, err := m.RunFeatureMap(input)
			if err != nil {
				t.Error(err)
				return
			}
			if !slices.Equal(logits, want) || !slices.Equal(fm.Values, wantMap) {
				t.Errorf("concurrent run %d: logits %v, want %v (map equal: %v)", i, logits, want, slices.Equal(fm.Values, wantMap))
			}
		})
	}
	wg.Wait()
}
