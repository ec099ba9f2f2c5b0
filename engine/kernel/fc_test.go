package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDot checks every kernel set's dot product, vector tails included,
// against a float64 sum.
func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	sets := map[string]kernelSet{"generic": generic}
	for name, ks := range simdKernels() {
		sets[name] = ks
	}
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 512, 2048 + 5} {
		a, b := randSlice(r, n), randSlice(r, n)
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		for name, ks := range sets {
			if got := ks.dot(a, b); math.Abs(float64(got)-want) > 1e-5*math.Sqrt(float64(n)+1) {
				t.Errorf("%s: dot of %d = %g, want %g", name, n, got, want)
			}
		}
	}
}
