package kernel

import "math"

// MaxPool computes a k x k max-pool with the given stride and padding over
// an h x w x c NHWC tensor, writing output rows [y0, y1) (a worker of
// several pools only its own); padded positions never win, as in PyTorch.
func MaxPool(dst, src []float32, h, w, c, y0, y1, k, stride, pad int) {
	ow := (w+2*pad-k)/stride + 1
	for oy := y0; oy < y1; oy++ {
		for ox := range ow {
			out := dst[(oy*ow+ox)*c:][:c]
			first := true // the first tap inside the image is copied, not compared
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
					if first {
						copy(out, src[(iy*w+ix)*c:][:c])
						first = false
					} else {
						active.maxInto(out, src[(iy*w+ix)*c:][:c])
					}
				}
			}
			if first { // a window all padding, which PyTorch's pad <= k/2 rules out
				for i := range out {
					out[i] = float32(math.Inf(-1))
				}
			}
		}
	}
}

// InputRows returns the input rows [lo, hi) that output rows [y0, y1) of a
// k x k window (a max-pool's, or a convolution's) read, in an input of h
// rows.
func InputRows(y0, y1, h, k, stride, pad int) (lo, hi int) {
	return max(0, y0*stride-pad), min(h, (y1-1)*stride-pad+k)
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
