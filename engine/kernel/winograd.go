package kernel

//go:generate go run gen_winograd.go

import "fmt"

// Winograd F(m x m, 3x3) (Lavin and Gray, 2015) computes a stride-1, pad-1
// 3x3 convolution in m x m output tiles: the input tile d, (m+2) x (m+2),
// becomes V = Bᵀ d B, the kernel g becomes U = G g Gᵀ, the (m+2)²
// elementwise products summed over input channels are (m+2)² independent
// GEMMs M_ξ = V_ξ x U_ξ, and the output tile is Y = Aᵀ M A. The GEMMs run on
// the same packed kernels as every other conv. F(2x2, 3x3) does 16
// multiplies for 4 outputs (2.25x fewer than direct), F(4x4, 3x3) 36 for 16
// (4x fewer), with larger transforms and larger transformed weights.

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

// winogradG is G of each tile, (m+2) x 3, applied in float64.
var winogradG = map[WinogradTile][][3]float64{
	F2x2: {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
	F4x4: {{1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}},
}

// side is the input tile side m+2.
func (m WinogradTile) side() int { return int(m) + 2 }

// elems is the number of transformed matrices, (m+2)².
func (m WinogradTile) elems() int { return m.side() * m.side() }

// transforms returns the active kernel set's per-tile transforms for m.
func (m WinogradTile) transforms() (in winoInFunc, out winoOutFunc) {
	if m == F4x4 {
		return active.wino4In, active.wino4Out
	}
	return active.winoIn, active.winoOut
}

// WinogradWeights are a 3x3 conv's weights transformed (U = G g Gᵀ) and
// packed as (m+2)² Cin x Cout GEMM operands. Like PackedWeights, the Out
// channels may be a slice of a wider conv's, starting at channel Col0.
type WinogradWeights struct {
	In, Out int
	Col0    int
	tile    WinogradTile
	u       []*PackedWeights
	zero    []float32 // a zero bias for the GEMMs: the real one is added after Aᵀ M A
}

// Winograd reports whether g is a convolution Conv3x3Winograd computes.
func (g Conv) Winograd() bool {
	return g.KH == 3 && g.KW == 3 && g.Stride == 1 && g.Pad == 1
}

// PackWinogradWeights transforms a PyTorch 3x3 conv weight [n][c][3][3] for
// F(tile x tile, 3x3).
func PackWinogradWeights(w []float32, n, c int, tile WinogradTile) (*WinogradWeights, error) {
	if len(w) != n*c*9 {
		return nil, fmt.Errorf("kernel: weight has %d values, want %dx%dx3x3", len(w), n, c)
	}
	g, ok := winogradG[tile]
	if !ok {
		return nil, fmt.Errorf("kernel: no Winograd F(%dx%d, 3x3)", tile, tile)
	}
	s := tile.side()
	u := make([][]float32, tile.elems())
	for i := range u {
		u[i] = make([]float32, n*c) // laid out [n][c] like a 1x1 conv's OIHW weight
	}
	gk := make([][3]float64, s) // G g
	for o := range n {
		for ci := range c {
			k := w[(o*c+ci)*9:][:9]
			for i := range s {
				for j := range 3 {
					gk[i][j] = g[i][0]*float64(k[j]) + g[i][1]*float64(k[3+j]) + g[i][2]*float64(k[6+j])
				}
			}
			for i := range s {
				for j := range s { // (G g) Gᵀ
					v := gk[i][0]*g[j][0] + gk[i][1]*g[j][1] + gk[i][2]*g[j][2]
					u[i*s+j][o*c+ci] = float32(v)
				}
			}
		}
	}
	ww := &WinogradWeights{In: c, Out: n, tile: tile, zero: make([]float32, n)}
	for i := range u {
		p, err := PackWeights(u[i], n, c, 1, 1)
		if err != nil {
			return nil, err
		}
		ww.u = append(ww.u, p)
	}
	return ww, nil
}

// winogradBuffers returns the workspace's transformed input (elems x tiles
// x Cin) and product (elems x tiles x Cout) buffers, growing them if
// needed; a session's sizes are fixed, so they grow only during its first
// run.
func (ws *Workspace) winogradBuffers(elems, tiles, in, out int) (v, m []float32) {
	if need := elems * tiles * in; len(ws.winoV) < need {
		ws.winoV = make([]float32, need)
	}
	if need := elems * tiles * out; len(ws.winoM) < need {
		ws.winoM = make([]float32, need)
	}
	return ws.winoV[:elems*tiles*in], ws.winoM[:elems*tiles*out]
}

// Conv3x3Winograd computes dst = epilogue(conv(src, w)) for a stride-1,
// pad-1 3x3 convolution of geometry g (g.Winograd() must hold). As in
// Conv2D, only output channels [w.Col0, w.Col0+w.Out) are written.
func Conv3x3Winograd(dst, src []float32, g Conv, w *WinogradWeights, ep Epilogue, ws *Workspace) {
	if !g.Winograd() || w.In != g.InC || w.Col0 < 0 || w.Col0+w.Out > g.OutC || len(src) < g.InH*g.InW*g.InC ||
		len(dst) < g.M()*g.OutC || len(ep.Bias) < w.Out || (ep.Residual != nil && len(ep.Residual) < g.M()*g.OutC) {
		panic(fmt.Sprintf("kernel: Conv3x3Winograd shapes do not match: %+v", g))
	}
	m, elems := int(w.tile), w.tile.elems()
	th, tw := (g.InH+m-1)/m, (g.InW+m-1)/m
	tiles := th * tw
	v, prod := ws.winogradBuffers(elems, tiles, g.InC, w.Out)
	if len(ws.zeros) < g.InC {
		ws.zeros = make([]float32, g.InC)
	}
	in, out := w.tile.transforms()
	winogradInput(in, w.tile, v, src, g, th, tw, ws.zeros[:g.InC], ws.tileIn[:elems], ws.tileOut[:elems])
	gemm := Conv{InH: 1, InW: tiles, InC: g.InC, KH: 1, KW: 1, Stride: 1, OutC: w.Out}
	for i := range elems {
		Conv2D(prod[i*tiles*w.Out:][:tiles*w.Out], v[i*tiles*g.InC:][:tiles*g.InC], gemm, w.u[i], Epilogue{Bias: w.zero}, ws)
	}
	pixels := m * m
	winogradOutput(out, w.tile, dst, prod, g, w.Col0, w.Out, th, tw, ep, ws.tileIn[:elems], ws.pixels[:pixels], ws.residuals[:pixels])
}

// winogradInput writes V = Bᵀ d B for every input tile d (origin at
// (m*ty-1, m*tx-1); outside the image is zero) and channel into v, laid
// out [elem][tile][channel]. zero holds InC zeros and stands for a padding
// pixel; d and out are scratch slice headers from the workspace.
func winogradInput(transform winoInFunc, tile WinogradTile, v, src []float32, g Conv, th, tw int, zero []float32, d, out [][]float32) {
	c, tiles, m, s := g.InC, th*tw, int(tile), tile.side()
	for ty := range th {
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
			t := ty*tw + tx
			for i := range out {
				out[i] = v[(i*tiles+t)*c:][:c]
			}
			transform(out, d)
		}
	}
}

// winogradOutput writes Y = Aᵀ M A for every tile, plus bias, residual and
// ReLU, into output channels [col0, col0+c) of dst, dropping the outputs
// past the image edge. in, out and res are scratch from the workspace.
func winogradOutput(transform winoOutFunc, tile WinogradTile, dst, prod []float32, g Conv, col0, c, th, tw int, ep Epilogue, in, out, res [][]float32) {
	tiles, ow, oh, ldc, m := th*tw, g.OutW(), g.OutH(), g.OutC, int(tile)
	for ty := range th {
		for tx := range tw {
			t := ty*tw + tx
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
