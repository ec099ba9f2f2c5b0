package engine

import (
	"math"
	"sort"
)

// Prediction is one class with its probability.
type Prediction struct {
	Index int
	Prob  float32
}

// Softmax writes the probabilities of logits into dst (which may be logits
// itself), subtracting the maximum first so large logits cannot overflow.
func Softmax(dst, logits []float32) {
	maxLogit := float32(math.Inf(-1))
	for _, v := range logits {
		maxLogit = max(maxLogit, v)
	}
	var sum float64
	for i, v := range logits {
		e := math.Exp(float64(v - maxLogit))
		dst[i] = float32(e)
		sum += e
	}
	for i := range dst[:len(logits)] {
		dst[i] = float32(float64(dst[i]) / sum)
	}
}

// TopK returns the k most probable classes of logits, most probable first;
// ties go to the lower index, as torch.topk does on CPU.
func TopK(logits []float32, k int) []Prediction {
	probs := make([]float32, len(logits))
	Softmax(probs, logits)
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	k = min(k, len(idx))
	out := make([]Prediction, k)
	for i := range out {
		out[i] = Prediction{Index: idx[i], Prob: probs[idx[i]]}
	}
	return out
}
