package engine

import (
	"math"
	"testing"
)

func TestSoftmaxStableAndNormalised(t *testing.T) {
	logits := []float32{1000, 999, -1000, 0}
	p := make([]float32, len(logits))
	Softmax(p, logits)
	var sum float64
	for _, v := range p {
		if math.IsNaN(float64(v)) {
			t.Fatalf("softmax of large logits gave NaN: %v", p)
		}
		sum += float64(v)
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Fatalf("probabilities sum to %g", sum)
	}
	if want := 1 / (1 + math.Exp(-1)); math.Abs(float64(p[0])-want) > 1e-6 {
		t.Fatalf("p[0] = %g, want %g", p[0], want)
	}
}

func TestTopK(t *testing.T) {
	got := TopK([]float32{0.5, 3, 3, -1, 2}, 3)
	want := []int{1, 2, 4}
	if len(got) != 3 {
		t.Fatalf("TopK returned %d predictions", len(got))
	}
	for i, p := range got {
		if p.Index != want[i] {
			t.Fatalf("TopK order = %v, want indices %v", got, want)
		}
	}
	if n := len(TopK([]float32{1, 2}, 5)); n != 2 {
		t.Fatalf("TopK with k > classes returned %d", n)
	}
}
