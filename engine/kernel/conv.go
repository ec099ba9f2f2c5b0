// Package kernel holds the compute kernels of the CPU engine: convolution as
// a packed, register-tiled, cache-blocked GEMM over NHWC tensors, pooling and
// the fully connected layer.
//
// A convolution is C[M][N] = A[M][K] x B[K][N] where M counts output
// positions, N output channels and K = KH*KW*InC (ky, kx, ci order). B, the
// weights, is packed once at load time; A is packed block by block straight
// from the NHWC input (the im2col gather happens inside packing, so no
// im2col matrix is ever materialised). The micro-kernel computes an MR x NR
// tile of C; NR runs along output channels so the epilogue (bias, residual,
// ReLU) reads bias and residual as contiguous vectors.
package kernel

import "fmt"

// Cache blocking: a KC x NR panel of B (16 KiB with NR=16) stays in L1 while
// an MC x KC block of A (about 72-96 KiB) stays in L2.
const (
	kc = 256
	mc = 24 * 4 // a multiple of every MR we use (4 and 6)
)

// Conv is the geometry of one 2-D convolution over an NHWC tensor.
type Conv struct {
	InH, InW, InC int
	KH, KW        int
	Stride, Pad   int
	OutC          int
}

// OutH is the output height.
func (g Conv) OutH() int { return (g.InH+2*g.Pad-g.KH)/g.Stride + 1 }

// OutW is the output width.
func (g Conv) OutW() int { return (g.InW+2*g.Pad-g.KW)/g.Stride + 1 }

// K is the GEMM reduction length KH*KW*InC.
func (g Conv) K() int { return g.KH * g.KW * g.InC }

// M is the number of output positions.
func (g Conv) M() int { return g.OutH() * g.OutW() }

// Epilogue is applied to each output value once its sum over K is complete:
// out = relu(sum + Bias[n] + Residual[m][n]). Residual may be nil.
type Epilogue struct {
	Bias     []float32 // length N
	Residual []float32 // M x N, same layout as the output; nil for none
	ReLU     bool
}

// PackedWeights is a K x N weight matrix packed into column panels NR wide,
// each holding all K rows: panel j, row k starts at (j*K + k)*NR. Columns
// past N are zero so the micro-kernel never needs an edge case.
type PackedWeights struct {
	K, N int
	data []float32
}

// PackWeights packs a PyTorch conv weight [N][C][KH][KW] (OIHW) for the
// GEMM's ky, kx, ci reduction order.
func PackWeights(w []float32, n, c, kh, kw int) (*PackedWeights, error) {
	if len(w) != n*c*kh*kw {
		return nil, fmt.Errorf("kernel: weight has %d values, want %dx%dx%dx%d", len(w), n, c, kh, kw)
	}
	k := c * kh * kw
	panels := (n + nr - 1) / nr
	p := &PackedWeights{K: k, N: n, data: make([]float32, panels*k*nr)}
	for o := range n {
		panel, col := o/nr, o%nr
		for ci := range c {
			for y := range kh {
				for x := range kw {
					row := (y*kw+x)*c + ci
					p.data[(panel*k+row)*nr+col] = w[((o*c+ci)*kh+y)*kw+x]
				}
			}
		}
	}
	return p, nil
}

// Workspace is the scratch memory of the GEMM; one per goroutine.
type Workspace struct {
	packedA []float32
	tile    [mr * nr]float32
}

// NewWorkspace allocates the scratch memory for Conv2D.
func NewWorkspace() *Workspace {
	return &Workspace{packedA: make([]float32, mc*kc)}
}

// Conv2D computes dst = epilogue(conv(src, w)) for NHWC src of geometry g.
// dst must hold g.M()*g.OutC values and must not alias src or the residual.
func Conv2D(dst, src []float32, g Conv, w *PackedWeights, ep Epilogue, ws *Workspace) {
	m, n, k := g.M(), g.OutC, g.K()
	if len(src) < g.InH*g.InW*g.InC || len(dst) < m*n || w.K != k || w.N != n ||
		len(ep.Bias) < n || (ep.Residual != nil && len(ep.Residual) < m*n) {
		panic(fmt.Sprintf("kernel: Conv2D shapes do not match: %+v", g))
	}
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		first, last := pc == 0, pc+kb == k
		for ic := 0; ic < m; ic += mc {
			mb := min(mc, m-ic)
			packA(ws.packedA, src, g, ic, mb, pc, kb)
			for jr := 0; jr < n; jr += nr {
				nb := min(nr, n-jr)
				b := w.data[((jr/nr)*k+pc)*nr : ((jr/nr)*k+pc+kb)*nr]
				for ir := 0; ir < mb; ir += mr {
					a := ws.packedA[ir*kb : (ir+mr)*kb]
					active.micro(kb, a, b, &ws.tile)
					storeTile(dst, &ws.tile, ic+ir, jr, min(mr, mb-ir), nb, n, first, last, ep)
				}
			}
		}
	}
}

// packA gathers rows [m0, m0+mb) and reduction indices [k0, k0+kb) of the
// implicit im2col matrix into panels of MR rows: panel p, index k, row r is
// at p*MR*kb + k*MR + r. Rows past M and padding positions are zero.
func packA(dst, src []float32, g Conv, m0, mb, k0, kb int) {
	outW, m := g.OutW(), g.M()
	for r := 0; r < (mb+mr-1)/mr*mr; r++ {
		panel := dst[(r/mr)*mr*kb:]
		row := r % mr
		if m0+r >= m {
			for i := range kb {
				panel[i*mr+row] = 0
			}
			continue
		}
		oy, ox := (m0+r)/outW, (m0+r)%outW
		for kk := k0; kk < k0+kb; {
			tap, ci := kk/g.InC, kk%g.InC
			ky, kx := tap/g.KW, tap%g.KW
			iy, ix := oy*g.Stride-g.Pad+ky, ox*g.Stride-g.Pad+kx
			out := panel[(kk-k0)*mr+row:]
			if iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW {
				run := min(g.InC-ci, k0+kb-kk)
				for i := range run {
					out[i*mr] = 0
				}
				kk += run
				continue
			}
			// Taps kx, kx+1, ... of one kernel row read neighbouring pixels,
			// which NHWC stores back to back: copy them as one run.
			inside := min(g.KW-kx, g.InW-ix)
			run := min(inside*g.InC-ci, k0+kb-kk)
			in := src[(iy*g.InW+ix)*g.InC+ci:][:run]
			for i, v := range in {
				out[i*mr] = v
			}
			kk += run
		}
	}
}

// storeTile merges an MR x NR tile into dst at (row, col), writing only the
// rb x cb valid part; the epilogue runs once the last K block is in.
func storeTile(dst []float32, tile *[mr * nr]float32, row, col, rb, cb, ldc int, first, last bool, ep Epilogue) {
	var bias, res []float32
	if last {
		bias = ep.Bias[col:][:cb]
	}
	for r := range rb {
		out := dst[(row+r)*ldc+col:][:cb]
		if last && ep.Residual != nil {
			res = ep.Residual[(row+r)*ldc+col:][:cb]
		}
		t := tile[r*nr:][:cb]
		if cb == nr {
			active.store(out, t, first, bias, res, ep.ReLU && last)
		} else {
			storeRowGeneric(out, t, first, bias, res, ep.ReLU && last)
		}
	}
}
