package webgpu

import (
	"slices"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
)

func TestConvWeightsLayout(t *testing.T) {
	// 5 output channels, 3 inputs, 2x2 kernel: OIHW value o*100 + ci*10 + ky*2 + kx.
	fc := &engine.FoldedConv{Conv: arch.Conv{In: 3, Out: 5, Kernel: 2}, Weight: make([]float32, 5*3*2*2), Bias: []float32{1, 2, 3, 4, 5}}
	for o := range 5 {
		for ci := range 3 {
			for tap := range 4 {
				fc.Weight[(o*3+ci)*4+tap] = float32(o*100 + ci*10 + tap)
			}
		}
	}
	b := convWeights(fc)
	if len(b) != 2*2*4*8 {
		t.Fatalf("%d values, want [2][2][4][8] = 128", len(b))
	}
	for tap := range 4 {
		for ci := range 4 {
			for co := range 8 {
				want := float32(co*100 + ci*10 + tap)
				if ci >= 3 || co >= 5 {
					want = 0
				}
				if got := b[(tap*4+ci)*8+co]; got != want {
					t.Fatalf("B[tap %d][ci %d][co %d] = %g, want %g", tap, ci, co, got, want)
				}
			}
		}
	}
	if got := convBias(fc); len(got) != 8 || got[4] != 5 || got[5] != 0 {
		t.Errorf("padded bias %v", got)
	}
}

func TestPadChannels(t *testing.T) {
	dst := []float32{9, 9, 9, 9, 9, 9, 9, 9}
	padChannels(dst, []float32{1, 2, 3, 4, 5, 6}, 3)
	if want := []float32{1, 2, 3, 0, 4, 5, 6, 0}; !slices.Equal(dst, want) {
		t.Errorf("got %v, want %v", dst, want)
	}
}

// padChannels copies an NHWC tensor of c channels into dst with pad4(c)
// channels a position; dst's padding is zeroed.
func padChannels(dst, src []float32, c int) {
	cp := pad4(c)
	for p := range len(src) / c {
		copy(dst[p*cp:], src[p*c:(p+1)*c])
		clear(dst[p*cp+c : (p+1)*cp])
	}
}
