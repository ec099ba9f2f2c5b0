package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMaxPool(t *testing.T) {
	// 4x4 single channel, 3x3/2 pad 1 -> 2x2.
	src := []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		-9, 10, -11, 12,
		13, -14, 15, -16,
	}
	dst := make([]float32, 4)
	MaxPool(dst, src, 4, 4, 1, 0, 2, 3, 2, 1)
	want := []float32{6, 8, 13, 15}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("MaxPool = %v, want %v", dst, want)
		}
	}
	// All-negative input: padding must not contribute zeros.
	neg := []float32{-3, -2, -1, -4}
	out := make([]float32, 1)
	MaxPool(out, neg, 2, 2, 1, 0, 1, 3, 2, 1)
	if out[0] != -1 {
		t.Fatalf("MaxPool over negatives = %v, want -1", out[0])
	}
}

// TestMaxPoolRows pools a range of output rows, with a vector tail in the
// channels, on every kernel set: only those rows are written, each as the
// naive pool computes it, and only the input rows InputRows names are
// read (the others are NaN, which would win).
func TestMaxPoolRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	h, w, c, y0, y1 := 9, 7, 45, 1, 4
	src := randSlice(r, h*w*c)
	oh, ow := 5, 4 // 3x3/2 pad 1
	want := make([]float32, oh*ow*c)
	for oy := range oh {
		for ox := range ow {
			for ch := range c {
				m := float32(math.Inf(-1))
				for y := 2*oy - 1; y <= 2*oy+1; y++ {
					for x := 2*ox - 1; x <= 2*ox+1; x++ {
						if y >= 0 && y < h && x >= 0 && x < w {
							m = max(m, src[(y*w+x)*c+ch])
						}
					}
				}
				want[(oy*ow+ox)*c+ch] = m
			}
		}
	}
	lo, hi := InputRows(y0, y1, h, 3, 2, 1)
	if lo != 1 || hi != 8 {
		t.Fatalf("InputRows(%d, %d) = [%d, %d), want [1, 8)", y0, y1, lo, hi)
	}
	for i := range src {
		if y := i / (w * c); y < lo || y >= hi {
			src[i] = float32(math.NaN())
		}
	}
	sets := map[string]kernelSet{"generic": generic}
	for name, ks := range simdKernels() {
		sets[name] = ks
	}
	saved := active
	defer func() { active = saved }()
	for name, ks := range sets {
		active = ks
		dst := make([]float32, oh*ow*c)
		MaxPool(dst, src, h, w, c, y0, y1, 3, 2, 1)
		for i, v := range dst {
			oy := i / (ow * c)
			if inside := oy >= y0 && oy < y1; (inside && v != want[i]) || (!inside && v != 0) {
				t.Fatalf("%s: MaxPool row %d at %d = %g, want %g (rows %d..%d only)", name, oy, i, v, want[i], y0, y1)
			}
		}
	}
}

func TestGlobalAvgPoolAndFC(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	h, w, c, classes := 3, 5, 7, 6
	src := randSlice(r, h*w*c)
	avg := make([]float32, c)
	GlobalAvgPool(avg, src, h, w, c, make([]float64, c))
	for i := range c {
		var s float64
		for p := range h * w {
			s += float64(src[p*c+i])
		}
		if math.Abs(s/float64(h*w)-float64(avg[i])) > 1e-6 {
			t.Fatalf("avg[%d] = %g, want %g", i, avg[i], s/float64(h*w))
		}
	}
	wt, bias := randSlice(r, classes*c), randSlice(r, classes)
	out := make([]float32, classes)
	FullyConnected(out, avg, wt, bias)
	for o := range classes {
		s := float64(bias[o])
		for i := range c {
			s += float64(wt[o*c+i]) * float64(avg[i])
		}
		if math.Abs(s-float64(out[o])) > 1e-5 {
			t.Fatalf("fc[%d] = %g, want %g", o, out[o], s)
		}
	}
}

// BenchmarkMaxPool times the stem's 3x3/2 max-pool at 224x224 (112x112x64
// in, 56x56x64 out).
func BenchmarkMaxPool(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	src := randSlice(r, 112*112*64)
	dst := make([]float32, 56*56*64)
	for b.Loop() {
		MaxPool(dst, src, 112, 112, 64, 0, 56, 3, 2, 1)
	}
}
