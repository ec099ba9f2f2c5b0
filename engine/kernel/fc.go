package kernel

// FullyConnected computes dst[o] = bias[o] + sum_i w[o][i]*x[i] for a
// PyTorch Linear weight of shape [len(dst)][len(x)].
func FullyConnected(dst, x, w, bias []float32) {
	n := len(x)
	for o := range dst {
		dst[o] = bias[o] + active.dot(w[o*n:][:n], x)
	}
}
