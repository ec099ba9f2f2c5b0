package kernel

//go:generate go run gen_winograd.go

import "fmt"

// Winograd F(m x m, 3x3) (Lavin and Gray, 2015) computes a stride-1, pad-1
// 3x3 convolution in m x m output tiles: the input tile d, (m+2) x (m+2),
// becomes V = Bᵀ d B, the kernel g becomes U = G g Gᵀ, the (m+2)²
// elementwise products summed over input channels are (m+2)² independent
// GEMMs M_ξ = V_ξ x U_ξ, and the output tile is Y = Aᵀ M A. The GEMMs run on
// the same micro-kernels as every other conv. F(2x2, 3x3) does 16
// multiplies for 4 outputs (2.25x fewer than direct), F(4x4, 3x3) 36 for 16
// (4x fewer), with larger transforms.
//
// The kernels stay packed as for the direct conv and are transformed at run
// time, a group of output channels at a time, into a scratch area: kept
// transformed, F(4x4)'s would take 4x and F(2x2)'s 16/9 the memory, about
// 56 MB more for ResNet-50. Measured under Node, a conv took 7% longer at
// 56x56x64, 2% at 28x28x128 and 11% at 14x14x256 than with kept kernels
// (BenchmarkWinograd; docs/architecture.md has the figures).

// WinogradTile is the output tile side m of an F(m x m, 3x3): 2 or 4.
type WinogradTile int

// The tiles implemented.
const (
	F2x2 WinogradTile = 2
	F4x4 WinogradTile = 4
)

// Largest tile sizes, for the workspace's fixed arrays.
const (
	maxWinogradElems  = 36 // (4+2)²
	maxWinogradPixels = 16 // 4²
)

// winogradScratch is the most values of transformed kernels made at a time:
// 1 MiB, so that they are still in L2 when the GEMMs read them.
const winogradScratch = 1 << 18

// side is the input tile side m+2.
func (m WinogradTile) side() int { return int(m) + 2 }

// elems is the number of transformed matrices, (m+2)².
func (m WinogradTile) elems() int { return m.side() * m.side() }

// transforms returns the active kernel set's transforms for m.
func (m WinogradTile) transforms() (weights winoWFunc, in winoInFunc, out winoOutFunc) {
	if m == F4x4 {
		return active.wino4W, active.wino4In, active.wino4Out
	}
	return active.winoW, active.winoIn, active.winoOut
}

// Winograd reports whether g is a convolution Conv3x3Winograd computes.
func (g Conv) Winograd() bool {
	return g.KH == 3 && g.KW == 3 && g.Stride == 1 && g.Pad == 1
}

// WinogradScratch is the workspace a Winograd conv uses, in float32s: its
// transformed input, its products and its transformed kernels.
type WinogradScratch struct{ V, M, U int }

// Max is the scratch that serves the convs of s and of o.
func (s WinogradScratch) Max(o WinogradScratch) WinogradScratch {
	return WinogradScratch{max(s.V, o.V), max(s.M, o.M), max(s.U, o.U)}
}

// WinogradScratchFor is the scratch Conv3x3WinogradRows takes for g, with
// n output columns, on output rows [y0, y1).
func WinogradScratchFor(g Conv, n int, tile WinogradTile, y0, y1 int) WinogradScratch {
	return newWinogradPlan(g, n, tile, y0, y1).scratch
}

// Reserve makes the workspace's Winograd buffers at least as large as s,
// in one allocation each: a session that reserves the largest scratch of
// its convs before its first run does not grow them conv by conv, each
// time leaving the smaller ones to the garbage collector (WebAssembly
// memory, once grown, stays).
func (ws *Workspace) Reserve(s WinogradScratch) {
	grow := func(b *[]float32, n int) {
		if len(*b) < n {
			*b = make([]float32, n)
		}
	}
	grow(&ws.winoV, s.V)
	grow(&ws.winoM, s.M)
	grow(&ws.winoU, s.U)
}

// winogradPlan lays out Conv3x3WinogradRows's work: tile rows [ty0, ty1)
// of tw tiles each; kernels transformed for groups of group panels (of
// panels, each panel values), element e's operands stride apart; the tiles
// taken chunk tile rows at a time; and the scratch all that takes.
type winogradPlan struct {
	ty0, ty1, tw         int
	panel, panels, group int
	stride, chunk        int
	scratch              WinogradScratch
}

// newWinogradPlan plans g with n output columns on output rows [y0, y1).
func newWinogradPlan(g Conv, n int, tile WinogradTile, y0, y1 int) winogradPlan {
	c, m, elems := g.InC, int(tile), tile.elems()
	p := winogradPlan{ty0: y0 / m, ty1: (y1 + m - 1) / m, tw: (g.InW + m - 1) / m}
	// Transformed kernels are made for a group of whole panels at a time.
	p.panel, p.panels = c*nr, (n+nr-1)/nr
	p.group = min(max(1, winogradScratch/(elems*p.panel)), p.panels)
	// An element's operands lie a cache line further than a multiple of the
	// panel apart: strides of a power of two would map the transform's
	// stores to the same cache sets.
	p.stride = p.group*p.panel + 16
	// With a single group of panels, whose kernels are then transformed
	// once for all, the tiles go through in chunks of tile rows whose
	// transformed input and products take at most winogradScratch values
	// too. With several, each chunk would transform the kernels again,
	// which costs more time (ResNet-18 took 3.5% longer) than the memory
	// is worth.
	p.chunk = p.ty1 - p.ty0
	if p.group == p.panels {
		p.chunk = min(max(1, winogradScratch/(elems*p.tw*(c+n))), p.chunk)
	}
	tiles := p.chunk * p.tw
	p.scratch = WinogradScratch{V: elems * tiles * c, M: elems * tiles * n, U: elems * p.stride}
	return p
}

// Conv3x3Winograd computes dst = epilogue(conv(src, w)) with F(tile x tile,
// 3x3) for a stride-1, pad-1 3x3 convolution of geometry g (g.Winograd()
// must hold), w packed by PackWeights. As in Conv2D, only output channels
// [w.Col0, w.Col0+w.N) are written.
func Conv3x3Winograd(dst, src []float32, g Conv, w *PackedWeights, tile WinogradTile, ep Epilogue, ws *Workspace) {
	Conv3x3WinogradRows(dst, src, g, w, tile, ep, ws, 0, g.OutH())
}

// Conv3x3WinogradRows is Conv3x3Winograd writing only output rows [y0, y1),
// as a worker that splits a conv with others by rows does. The rows must
// be whole rows of tiles: y0 a multiple of the tile, and y1 one too or the
// last row.
func Conv3x3WinogradRows(dst, src []float32, g Conv, w *PackedWeights, tile WinogradTile, ep Epilogue, ws *Workspace, y0, y1 int) {
	c, m := g.InC, int(tile)
	if !g.Winograd() || (tile != F2x2 && tile != F4x4) || w.K != g.K() || w.Col0 < 0 || w.Col0+w.N > g.OutC || len(src) < g.InH*g.InW*c ||
		len(dst) < g.M()*g.OutC || len(ep.Bias) < w.N || (ep.Residual != nil && len(ep.Residual) < g.M()*g.OutC) ||
		y0 < 0 || y0 > y1 || y1 > g.OutH() || y0%m != 0 || (y1%m != 0 && y1 != g.OutH()) {
		panic(fmt.Sprintf("kernel: Conv3x3Winograd shapes do not match: %+v, rows %d to %d", g, y0, y1))
	}
	elems := tile.elems()
	plan := newWinogradPlan(g, w.N, tile, y0, y1)
	ws.Reserve(plan.scratch)
	v, prod, u := ws.winoV[:plan.scratch.V], ws.winoM[:plan.scratch.M], ws.winoU[:plan.scratch.U]
	if len(ws.zeros) < max(c, w.N) {
		ws.zeros = make([]float32, max(c, w.N))
	}
	weights, in, out := tile.transforms()
	for cy0 := plan.ty0; cy0 < plan.ty1; cy0 += plan.chunk {
		cy1 := min(cy0+plan.chunk, plan.ty1)
		tiles := (cy1 - cy0) * plan.tw
		winogradInput(in, tile, v, src, g, cy0, cy1, plan.tw, ws.zeros[:c], ws.tileIn[:elems], ws.tileOut[:elems])
		gemm := Conv{InH: 1, InW: tiles, InC: c, KH: 1, KW: 1, Stride: 1, OutC: w.N}
		for p0 := 0; p0 < plan.panels; p0 += plan.group {
			n := min(plan.group, plan.panels-p0)
			// Panel p's tap t of input channel ci is row t*c+ci; element e of
			// its transform goes to the group's element-e operand, panel p.
			// There is one chunk when there are several groups.
			if cy0 == plan.ty0 {
				for p := range n {
					weights(u[p*plan.panel:], plan.stride, w.data[(p0+p)*w.K*nr:], plan.panel, plan.panel)
				}
			}
			// The GEMMs' bias is zero: the real one is added after Aᵀ M A.
			cols := min(n*nr, w.N-p0*nr)
			for e := range elems {
				ws.winoW = PackedWeights{K: c, N: cols, Col0: p0 * nr, data: u[e*plan.stride:][:n*plan.panel]}
				Conv2D(prod[e*tiles*w.N:][:tiles*w.N], v[e*tiles*c:][:tiles*c], gemm, &ws.winoW, Epilogue{Bias: ws.zeros[:cols]}, ws)
			}
		}
		winogradOutput(out, tile, dst, prod, g, w.Col0, w.N, cy0, cy1, plan.tw, ep, ws.tileIn[:elems], ws.pixels[:m*m], ws.residuals[:m*m])
	}
}

// winogradInput writes V = Bᵀ d B for every input tile d in tile rows
// [ty0, ty1) (origin at (m*ty-1, m*tx-1); outside the image is zero) and
// channel into v, laid out [elem][tile][channel]. zero holds InC zeros and
// stands for a padding pixel; d and out are scratch slice headers from the
// workspace.
func winogradInput(transform winoInFunc, tile WinogradTile, v, src []float32, g Conv, ty0, ty1, tw int, zero []float32, d, out [][]float32) {
	c, tiles, m, s := g.InC, (ty1-ty0)*tw, int(tile), tile.side()
	for ty := ty0; ty < ty1; ty++ {
		for tx := range tw {
			for i := range s {
				for j := range s {
					y, x := m*ty-1+i, m*tx-1+j
					if y < 0 || y >= g.InH || x < 0 || x >= g.InW {
						d[i*s+j] = zero
					} else {
						d[i*s+j] = src[(y*g.InW+x)*c:][:c]
					}
				}
			}
			t := (ty-ty0)*tw + tx
			for i := range out {
				out[i] = v[(i*tiles+t)*c:][:c]
			}
			transform(out, d)
		}
	}
}

// winogradOutput writes Y = Aᵀ M A for every tile in tile rows [ty0, ty1),
// plus bias, residual and ReLU, into output channels [col0, col0+c) of dst,
// dropping the outputs past the image edge. in, out and res are scratch
// from the workspace.
func winogradOutput(transform winoOutFunc, tile WinogradTile, dst, prod []float32, g Conv, col0, c, ty0, ty1, tw int, ep Epilogue, in, out, res [][]float32) {
	tiles, ow, oh, ldc, m := (ty1-ty0)*tw, g.OutW(), g.OutH(), g.OutC, int(tile)
	for ty := ty0; ty < ty1; ty++ {
		for tx := range tw {
			t := (ty-ty0)*tw + tx
			for i := range in {
				in[i] = prod[(i*tiles+t)*c:][:c]
			}
			for k := range out {
				oy, ox := m*ty+k/m, m*tx+k%m
				out[k], res[k] = nil, nil
				if oy < oh && ox < ow {
					at := (oy*ow+ox)*ldc + col0
					out[k] = dst[at:][:c]
					if ep.Residual != nil {
						res[k] = ep.Residual[at:][:c]
					}
				}
			}
			transform(out, in, ep.Bias[:c], res, ep.ReLU)
		}
	}
}

// tails points o, r and t at the channels from co on of out, res and m,
// for the generic transform to finish what a vector loop left; an output
// pixel or residual that is nil stays nil.
func tails(o, r, t, out, res, m [][]float32, co int) {
	for k := range o {
		o[k], r[k] = nil, nil
		if out[k] != nil {
			o[k] = out[k][co:]
		}
		if res[k] != nil {
			r[k] = res[k][co:]
		}
	}
	for i := range t {
		t[i] = m[i][co:]
	}
}
