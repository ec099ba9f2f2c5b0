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

//go:generate go run gen_microkernel.go

import "fmt"

// Cache blocking: an MC x KC block of A (384 KiB) stays in L2, and a KC x
// NR panel of B (32 KiB in wasm, NR = 8) in L1 or L2. KC covers the whole
// reduction of every 1x1 conv but ResNet-50's 2048-channel ones, so that
// most output tiles are written once, with their epilogue, rather than
// summed over several passes: in Chromium, KC 1024 ran ResNet-50 about 6%
// faster than 256, and 2048 was no faster than 1024 (alternated runs of
// bench/run.mjs; docs/benchmark-log.md, "Fourth session"); ResNet-18 did
// not change.
const (
	kc = 1024
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

// pointwise reports a 1x1, stride-1, unpadded convolution: a plain GEMM
// whose A is the input tensor itself.
func (g Conv) pointwise() bool { return g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.Pad == 0 }

// OutputOverResidual reports whether a conv of geometry g, run as
// Winograd with tile (0: by Conv2D), may write its output over its
// residual, dst and ep.Residual being the same slice. Each output value is
// then stored once, after its residual value was read; but Conv2D sums a
// reduction longer than one KC block through dst, so it may not then.
func OutputOverResidual(g Conv, tile WinogradTile) bool { return tile != 0 || g.K() <= kc }

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
//
// The N columns may be a slice of a wider conv's output channels, as when
// several workers share a layer: Col0 is the output channel the first one
// writes (0 for a whole conv).
type PackedWeights struct {
	K, N int
	Col0 int
	data []float32
}

// PackWeights packs a PyTorch conv weight [N][C][KH][KW] (OIHW) for the
// GEMM's ky, kx, ci reduction order.
func PackWeights(w []float32, n, c, kh, kw int) (*PackedWeights, error) {
	if len(w) != n*c*kh*kw {
		return nil, fmt.Errorf("kernel: weight has %d values, want %dx%dx%dx%d", len(w), n, c, kh, kw)
	}
	per := c * kh * kw
	return PackWeightsFrom(n, c, kh, kw, func(dst []float32, o0 int) { copy(dst, w[o0*per:]) }), nil
}

// PackWeightsFrom is PackWeights on a weight that rows supplies a panel of
// output channels at a time: rows(dst, o0) sets dst to the OIHW weights of
// output channels o0 to o0+len(dst)/(c*kh*kw). A model loading from a file
// so never holds a conv's unpacked weights next to its packed ones.
func PackWeightsFrom(n, c, kh, kw int, rows func(dst []float32, o0 int)) *PackedWeights {
	k := c * kh * kw
	panels := (n + nr - 1) / nr
	p := &PackedWeights{K: k, N: n, data: make([]float32, panels*k*nr)}
	w := make([]float32, nr*k)
	for panel := range panels {
		o0 := panel * nr
		cols := min(nr, n-o0)
		rows(w[:cols*k], o0)
		// A transpose, written row by row of dst (ky, kx, ci; each row the
		// panel's output channels): most of a model's build time is here,
		// and sequential stores halved it in the WebAssembly build
		// (BenchmarkPackWeights).
		khw := kh * kw
		dst := p.data[panel*k*nr:][:k*nr]
		for yx := range khw {
			for ci := range c {
				row := dst[(yx*c+ci)*nr:][:cols]
				src := w[ci*khw+yx:]
				for col := range row {
					row[col] = src[col*k]
				}
			}
		}
	}
	return p
}

// Columns returns columns [lo, hi) of w, as PackWeights would pack them
// from those output channels alone: a view of w's panels when lo is a
// multiple of NR and hi one too or w.N, else a copy.
func (w *PackedWeights) Columns(lo, hi int) *PackedWeights {
	if lo < 0 || lo > hi || hi > w.N {
		panic(fmt.Sprintf("kernel: columns %d to %d of %d", lo, hi, w.N))
	}
	c := &PackedWeights{K: w.K, N: hi - lo, Col0: w.Col0 + lo}
	panels := (hi - lo + nr - 1) / nr
	if lo%nr == 0 && (hi%nr == 0 || hi == w.N) {
		c.data = w.data[(lo/nr)*w.K*nr:][:panels*w.K*nr]
		return c
	}
	c.data = make([]float32, panels*w.K*nr)
	for col := range hi - lo {
		from, to := lo+col, col
		for k := range w.K {
			c.data[((to/nr)*w.K+k)*nr+to%nr] = w.data[((from/nr)*w.K+k)*nr+from%nr]
		}
	}
	return c
}

// Workspace is the scratch memory of the GEMM; one per goroutine.
type Workspace struct {
	blockA []float32
	tile   [mr * nr]float32
	// Winograd's transformed input, products and kernels, a row of zeros,
	// the slice headers its transforms take, and the GEMM operand view of
	// one element's transformed kernels.
	winoV, winoM, winoU, zeros []float32
	tileIn, tileOut            [maxWinogradElems][]float32
	pixels, residuals          [maxWinogradPixels][]float32
	winoW                      PackedWeights
}

// NewWorkspace allocates the scratch memory for Conv2D.
func NewWorkspace() *Workspace {
	return &Workspace{blockA: make([]float32, mc*kc)}
}

// Conv2D computes dst = epilogue(conv(src, w)) for NHWC src of geometry g.
// dst must hold g.M()*g.OutC values and must not alias src; it may be the
// residual itself where OutputOverResidual allows.
// Only output channels [w.Col0, w.Col0+w.N) are written; ep.Bias holds
// theirs, while dst and ep.Residual are laid out with all g.OutC channels.
func Conv2D(dst, src []float32, g Conv, w *PackedWeights, ep Epilogue, ws *Workspace) {
	Conv2DRows(dst, src, g, w, ep, ws, 0, g.OutH())
}

// Conv2DRows is Conv2D writing only output rows [y0, y1), as a worker
// that splits a conv with others by rows does.
func Conv2DRows(dst, src []float32, g Conv, w *PackedWeights, ep Epilogue, ws *Workspace, y0, y1 int) {
	m, n, k, ldc := g.M(), w.N, g.K(), g.OutC
	if len(src) < g.InH*g.InW*g.InC || len(dst) < m*ldc || w.K != k || w.Col0 < 0 || w.Col0+n > ldc ||
		len(ep.Bias) < n || (ep.Residual != nil && len(ep.Residual) < m*ldc) || y0 < 0 || y0 > y1 || y1 > g.OutH() {
		panic(fmt.Sprintf("kernel: Conv2D shapes do not match: %+v, rows %d to %d", g, y0, y1))
	}
	m0, m1 := y0*g.OutW(), y1*g.OutW()
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		first, last := pc == 0, pc+kb == k
		for ic := m0; ic < m1; ic += mc {
			mb := min(mc, m1-ic)
			tiles := (mb + mr - 1) / mr
			// A 1x1, stride-1 convolution's A rows are the input's pixels:
			// read them in place unless the last tile would run past M.
			a, lda := ws.blockA, kb
			if g.pointwise() && ic+tiles*mr <= m {
				a, lda = src[ic*k+pc:], k
			} else {
				gatherA(a, src, g, ic, tiles*mr, pc, kb)
			}
			for jr := 0; jr < n; jr += nr {
				nb := min(nr, n-jr)
				b := w.data[((jr/nr)*k+pc)*nr : ((jr/nr)*k+pc+kb)*nr]
				// Full tiles in one call where the kernel set can; a partial
				// one (the last rows, or a narrow last panel) through ws.tile.
				full := 0
				if active.microStore != nil && nb == nr {
					full = mb / mr
					fusedTiles(dst, a, lda, b, kb, full, ic, jr, ldc, w.Col0, first, last, ep)
				}
				for t := full; t < tiles; t++ {
					active.micro(kb, a[t*mr*lda:], lda, b, &ws.tile)
					storeTile(dst, &ws.tile, ic+t*mr, jr, min(mr, mb-t*mr), nb, ldc, w.Col0, first, last, ep)
				}
			}
		}
	}
}

// gatherA copies rows [m0, m0+rows) and reduction indices [k0, k0+kb) of
// the implicit im2col matrix into dst, row-major with kb values a row. Rows
// past M and padding positions are zero.
func gatherA(dst, src []float32, g Conv, m0, rows, k0, kb int) {
	outW, m := g.OutW(), g.M()
	for r := range rows {
		out := dst[r*kb : (r+1)*kb]
		if m0+r >= m {
			clear(out)
			continue
		}
		oy, ox := (m0+r)/outW, (m0+r)%outW
		for kk := k0; kk < k0+kb; {
			tap, ci := kk/g.InC, kk%g.InC
			ky, kx := tap/g.KW, tap%g.KW
			iy, ix := oy*g.Stride-g.Pad+ky, ox*g.Stride-g.Pad+kx
			seg := out[kk-k0:]
			if iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW {
				run := min(g.InC-ci, k0+kb-kk)
				clear(seg[:run])
				kk += run
				continue
			}
			// Taps kx, kx+1, ... of one kernel row read neighbouring pixels,
			// which NHWC stores back to back: copy them as one run.
			inside := min(g.KW-kx, g.InW-ix)
			run := min(inside*g.InC-ci, k0+kb-kk)
			copy(seg[:run], src[(iy*g.InW+ix)*g.InC+ci:])
			kk += run
		}
	}
}

// fusedTiles computes n full MR x NR tiles of dst, the first at (row,
// col0+col), and merges them in from registers, as storeTile would from
// memory.
func fusedTiles(dst, a []float32, lda int, b []float32, kb, n, row, col, ldc, col0 int, first, last bool, ep Epilogue) {
	if n == 0 {
		return
	}
	at := row*ldc + col0 + col
	var bias, res []float32
	if last {
		bias = ep.Bias[col : col+nr]
		if ep.Residual != nil {
			res = ep.Residual[at:]
		}
	}
	active.microStore(n, kb, a, lda, b, dst[at:], ldc, first, bias, res, last && ep.ReLU)
}

// storeTile merges an MR x NR tile into dst at (row, col0+col), writing
// only the rb x cb valid part; the epilogue runs once the last K block is
// in. col counts from the first of the packed columns, col0 places them.
func storeTile(dst []float32, tile *[mr * nr]float32, row, col, rb, cb, ldc, col0 int, first, last bool, ep Epilogue) {
	var bias, res []float32
	if last {
		bias = ep.Bias[col:][:cb]
	}
	for r := range rb {
		at := (row+r)*ldc + col0 + col
		out := dst[at:][:cb]
		if last && ep.Residual != nil {
			res = ep.Residual[at:][:cb]
		}
		t := tile[r*nr:][:cb]
		if cb == nr {
			active.store(out, t, first, bias, res, ep.ReLU && last)
		} else {
			storeRowGeneric(out, t, first, bias, res, ep.ReLU && last)
		}
	}
}
