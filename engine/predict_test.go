package engine

import (
	"math"
	"slices"
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

// TestTopK checks the order of TopK's predictions: most probable first,
// and ties (equal probabilities) in increasing index order, as torch.topk
// does on CPU, wherever index 0 falls. Ties are decided on the
// probabilities, so logits so low that their probabilities underflow to 0
// tie too.
func TestTopK(t *testing.T) {
	for _, tc := range []struct {
		name   string
		logits []float32
		k      int
		want   []int
	}{
		{"mixed", []float32{0.5, 3, 3, -1, 2}, 3, []int{1, 2, 4}},
		{"index 0 first", []float32{9, 1, 2, 3, 4}, 5, []int{0, 4, 3, 2, 1}},
		{"index 0 last", []float32{-5, 4, 3, 2, 1}, 5, []int{1, 2, 3, 4, 0}},
		{"index 0 alone", []float32{7}, 3, []int{0}},
		{"index 0 ties for first", []float32{4, 1, 4, 4}, 3, []int{0, 2, 3}},
		{"index 0 ties for last", []float32{-2, 5, -2, 0, -2}, 5, []int{1, 3, 0, 2, 4}},
		{"all equal", []float32{1, 1, 1, 1, 1, 1}, 6, []int{0, 1, 2, 3, 4, 5}},
		{"all equal, cut", []float32{0, 0, 0, 0}, 2, []int{0, 1}},
		{"tie cut at k", []float32{1, 3, 2, 2, 2}, 3, []int{1, 2, 3}},
		{"ties in reverse", []float32{1, 1, 2, 2, 3, 3}, 6, []int{4, 5, 2, 3, 0, 1}},
		{"underflow to 0 ties", []float32{-200, 100, -300, -250}, 4, []int{1, 0, 2, 3}},
		{"many ties", manyTies(40), 40, manyTiesOrder(40)},
		{"k = 0", []float32{1, 2}, 0, []int{}},
		{"k > classes", []float32{1, 2}, 5, []int{1, 0}},
	} {
		got := TopK(tc.logits, tc.k)
		idx := make([]int, len(got))
		for i, p := range got {
			idx[i] = p.Index
			if i > 0 && p.Prob > got[i-1].Prob {
				t.Errorf("%s: probabilities not descending: %v", tc.name, got)
			}
		}
		if !slices.Equal(idx, tc.want) {
			t.Errorf("%s: TopK(%v, %d) indices %v, want %v", tc.name, tc.logits, tc.k, idx, tc.want)
		}
	}
	// The probabilities are the softmax's, whatever the order.
	logits := []float32{3, -1, 2, 0}
	probs := make([]float32, len(logits))
	Softmax(probs, logits)
	for _, p := range TopK(logits, 4) {
		if p.Prob != probs[p.Index] {
			t.Errorf("TopK prob of %d = %g, softmax %g", p.Index, p.Prob, probs[p.Index])
		}
	}
}

// manyTies returns n logits taking three values, each many times: enough
// that a sort which is not stable would reorder the ties.
func manyTies(n int) []float32 {
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(i % 3)
	}
	return l
}

// manyTiesOrder is TopK's order for manyTies(n): the indices of logit 2,
// then 1, then 0, each in increasing order.
func manyTiesOrder(n int) []int {
	var idx []int
	for v := 2; v >= 0; v-- {
		for i := range n {
			if i%3 == v {
				idx = append(idx, i)
			}
		}
	}
	return idx
}
