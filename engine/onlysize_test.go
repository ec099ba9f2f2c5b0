package engine

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
)

// randomPlan folds seeded random weights for cfg (RandomCheckpoint).
func randomPlan(tb testing.TB, cfg arch.Config, seed uint64) *Plan {
	tb.Helper()
	ckpt, err := RandomCheckpoint(cfg, seed)
	if err != nil {
		tb.Fatal(err)
	}
	plan, err := Fold(cfg, ckpt)
	if err != nil {
		tb.Fatal(err)
	}
	return plan
}

// sizeOption packs for side, for that size alone if only.
func sizeOption(side int, only bool) Option {
	if only {
		return OnlyInputSize(side)
	}
	return ForInputSize(side)
}

// TestOnlyInputSize wants a model packed with OnlyInputSize to give the
// logits of one packed with ForInputSize, to float32 rounding (the trimmed
// convs add the same products without the zeros of the padding, in other
// groups), to hold fewer weights where a kernel reaches past its input from
// every output, and to refuse other input sizes.
func TestOnlyInputSize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     arch.Config
		side    int
		trimmed int // convs packed with a smaller kernel
	}{
		// 1x1 maps in the last stage: its three stride-1 3x3 convs keep the
		// centre tap, and its strided one, from a 2x2 map, a 2x2 window.
		{"resnet18", arch.Config{Depth: 18, BaseWidth: 16, NumClasses: 10}, 32, 4},
		{"resnet50", arch.Config{Depth: 50, BaseWidth: 8, NumClasses: 10}, 32, 3},
		// v1 strides the first 1x1 instead: the last stage's 3x3s all see 1x1.
		{"resnet50-v1", arch.Config{Depth: 50, BaseWidth: 8, NumClasses: 7, Variant: arch.V1}, 32, 3},
		// Between 32 and 64 pixels the last maps are 2x2 and every tap reads.
		{"resnet18-48px", arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10}, 48, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := randomPlan(t, tc.cfg, 11)
			any, err := FromPlan(plan, ForInputSize(tc.side))
			if err != nil {
				t.Fatal(err)
			}
			only, err := FromPlan(plan, OnlyInputSize(tc.side))
			if err != nil {
				t.Fatal(err)
			}
			trimmed, weights, anyWeights := 0, 0, 0
			for i, cv := range only.convs {
				if cv.spec.Kernel < any.convs[i].spec.Kernel {
					trimmed++
				}
				weights += cv.weights.K * cv.weights.N
				anyWeights += any.convs[i].weights.K * any.convs[i].weights.N
			}
			if trimmed != tc.trimmed {
				t.Errorf("%d convs trimmed, want %d", trimmed, tc.trimmed)
			}
			if (trimmed > 0) != (weights < anyWeights) {
				t.Errorf("%d convs trimmed, yet the packed weights went from %d to %d", trimmed, anyWeights, weights)
			}
			t.Logf("packed conv weights: %d, %d for any size", weights, anyWeights)

			want, got := randomLogits(t, any, tc.side), randomLogits(t, only, tc.side)
			if worst, largest := largestDiff(want, got); worst > 1e-5*largest {
				t.Errorf("logits differ by up to %g (largest %g)", worst, largest)
			}

			other := tc.side + 32
			_, err = only.NewSession().Run(make([]float32, other*other*3), other, other)
			if wantErr := fmt.Sprintf("packed for %dx%d inputs only", tc.side, tc.side); err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("a %dx%d input: error %v, want one saying %q", other, other, err, wantErr)
			}
		})
	}
}

// TestOnlyInputSizeInt8: New converts an int8 file's values and scales them
// by BatchNorm in one pass, only for the taps it keeps. Packed for any size,
// the weights are those of the file dequantized and then folded (Fold, as
// the WebGPU path does): the same logits to the bit. Packed for the file's
// size alone, the logits are the same to float32 rounding.
func TestOnlyInputSizeInt8(t *testing.T) {
	cfg := arch.Config{Depth: 18, BaseWidth: 16, NumClasses: 10}
	ckpt, err := RandomCheckpoint(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := checkpoint.WriteSafetensors(&file, ckpt, checkpoint.I8); err != nil {
		t.Fatal(err)
	}
	q, err := checkpoint.Read(file.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Fold(cfg, q)
	if err != nil {
		t.Fatal(err)
	}
	folded, err := FromPlan(plan, ForInputSize(32))
	if err != nil {
		t.Fatal(err)
	}
	want := randomLogits(t, folded, 32)
	for _, only := range []bool{false, true} {
		m, err := New(cfg, q, sizeOption(32, only))
		if err != nil {
			t.Fatal(err)
		}
		worst, largest := largestDiff(want, randomLogits(t, m, 32))
		if !only && worst != 0 || worst > 1e-5*largest {
			t.Errorf("packed for 32 pixels (only: %v): logits differ by up to %g (largest %g)", only, worst, largest)
		}
	}
}

// randomLogits runs m on a seeded random side x side input.
func randomLogits(t *testing.T, m *Model, side int) []float32 {
	t.Helper()
	input := make([]float32, side*side*3)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range input {
		input[i] = float32(r.NormFloat64())
	}
	logits, err := m.NewSession().Run(input, side, side)
	if err != nil {
		t.Fatal(err)
	}
	return logits
}

// largestDiff is the largest |got - want| and the largest |want|.
func largestDiff(want, got []float32) (worst, largest float64) {
	for j := range want {
		largest = max(largest, math.Abs(float64(want[j])))
		worst = max(worst, math.Abs(float64(got[j]-want[j])))
	}
	return worst, largest
}

// TestFoldedConvTrimmed checks the kernel FoldedConv.Trimmed cuts and the
// weights it keeps: a 3x3 conv keeps its centre tap on a 1x1 map, its
// lower-right 2x2 taps at stride 2 on a 2x2 map, and stays whole on 8x8.
func TestFoldedConvTrimmed(t *testing.T) {
	const in, out = 2, 3
	for _, tc := range []struct {
		side, stride  int
		kernel, first int // of the trimmed conv; kernel 3: not trimmed
	}{
		{side: 1, stride: 1, kernel: 1, first: 1},
		{side: 2, stride: 2, kernel: 2, first: 1},
		{side: 8, stride: 1, kernel: 3},
		{side: 8, stride: 2, kernel: 3},
	} {
		fc := &FoldedConv{Conv: arch.Conv{Name: "c", In: in, Out: out, Kernel: 3, Stride: tc.stride, Pad: 1},
			Weight: make([]float32, out*in*9), Bias: []float32{1, 2, 3}}
		for i := range fc.Weight {
			fc.Weight[i] = float32(i)
		}
		got := fc.Trimmed(tc.side, tc.side)
		if tc.kernel == 3 {
			if got != fc {
				t.Errorf("%dx%d, stride %d: trimmed to %+v, want the conv itself", tc.side, tc.side, tc.stride, got.Conv)
			}
			continue
		}
		k := tc.kernel
		if got.Kernel != k || got.Pad != 1-tc.first || got.OutSize(tc.side) != fc.OutSize(tc.side) || &got.Bias[0] != &fc.Bias[0] {
			t.Fatalf("%dx%d, stride %d: trimmed to %+v, want a %dx%d kernel with the same output and bias", tc.side, tc.side, tc.stride, got.Conv, k, k)
		}
		if len(got.Weight) != out*in*k*k {
			t.Fatalf("%d weights, want %d", len(got.Weight), out*in*k*k)
		}
		for o := range out {
			for i := range in {
				for y := range k {
					for x := range k {
						want := fc.Weight[((o*in+i)*3+tc.first+y)*3+tc.first+x]
						if w := got.Weight[((o*in+i)*k+y)*k+x]; w != want {
							t.Errorf("%dx%d: weight [%d][%d][%d][%d] is %v, want %v", tc.side, tc.side, o, i, y, x, w, want)
						}
					}
				}
			}
		}
	}
}
