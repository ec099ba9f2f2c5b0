package kernel

import "math"

// MaxPool computes a k x k max-pool with the given stride and padding over
// channels [lo, hi) of an h x w x c NHWC tensor (a worker of several pools
// only its own); padded positions never win, as in PyTorch.
func MaxPool(dst, src []float32, h, w, c, lo, hi, k, stride, pad int) {
	oh, ow := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	for oy := range oh {
		for ox := range ow {
			out := dst[(oy*ow+ox)*c+lo:][:hi-lo]
			for i := range out {
				out[i] = float32(math.Inf(-1))
			}
			for ky := range k {
				iy := oy*stride - pad + ky
				if iy < 0 || iy >= h {
					continue
				}
				for kx := range k {
					ix := ox*stride - pad + kx
					if ix < 0 || ix >= w {
						continue
					}
					active.maxInto(out, src[(iy*w+ix)*c+lo:][:hi-lo])
				}
			}
		}
	}
}

// GlobalAvgPool averages an h x w x c NHWC tensor over its positions into c
// values, summing in float64 so the result does not depend on the order.
func GlobalAvgPool(dst, src []float32, h, w, c int, sum []float64) {
	sum = sum[:c]
	clear(sum)
	for p := range h * w {
		for i, v := range src[p*c:][:c] {
			sum[i] += float64(v)
		}
	}
	for i := range c {
		dst[i] = float32(sum[i] / float64(h*w))
	}
}

// FullyConnected computes dst[o] = bias[o] + sum_i w[o][i]*x[i] for a
// PyTorch Linear weight of shape [len(dst)][len(x)].
func FullyConnected(dst, x, w, bias []float32) {
	n := len(x)
	for o := range dst {
		dst[o] = bias[o] + active.dot(w[o*n:][:n], x)
	}
}
