package kernel

//go:generate go run gen_winograd.go

import "fmt"

// Winograd F(2x2, 3x3) (Lavin and Gray, 2015) computes a stride-1, pad-1
// 3x3 convolution in 2x2 output tiles with 16 multiplies per tile and
// channel pair instead of 36: the input tile d (4x4) becomes V = Bᵀ d B, the
// kernel g becomes U = G g Gᵀ, the 16 elementwise products summed over input
// channels are 16 independent GEMMs M_ξ = V_ξ x U_ξ, and the output tile is
// Y = Aᵀ M A. The GEMMs run on the same packed kernels as every other conv.
// F(4x4, 3x3) would save more multiplies but loses about two digits of
// float32 accuracy on deep networks; F(2x2, 3x3) stays within 1e-6.

// winogradTiles is the number of transformed matrices (4x4 tile elements).
const winogradTiles = 16

// WinogradWeights are a 3x3 conv's weights transformed (U = G g Gᵀ) and
// packed as 16 Cin x Cout GEMM operands. Like PackedWeights, the Out
// channels may be a slice of a wider conv's, starting at channel Col0.
type WinogradWeights struct {
	In, Out int
	Col0    int
	u       [winogradTiles]*PackedWeights
	zero    []float32 // a zero bias for the GEMMs: the real one is added after Aᵀ M A
}

// Winograd reports whether g is a convolution Conv3x3Winograd computes.
func (g Conv) Winograd() bool {
	return g.KH == 3 && g.KW == 3 && g.Stride == 1 && g.Pad == 1
}

// PackWinogradWeights transforms a PyTorch 3x3 conv weight [n][c][3][3].
func PackWinogradWeights(w []float32, n, c int) (*WinogradWeights, error) {
	if len(w) != n*c*9 {
		return nil, fmt.Errorf("kernel: weight has %d values, want %dx%dx3x3", len(w), n, c)
	}
	// G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1], computed in float64.
	g := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	var u [winogradTiles][]float32
	for i := range u {
		u[i] = make([]float32, n*c) // laid out [n][c] like a 1x1 conv's OIHW weight
	}
	for o := range n {
		for ci := range c {
			k := w[(o*c+ci)*9:][:9]
			var gk [4][3]float64 // G g
			for i := range 4 {
				for j := range 3 {
					gk[i][j] = g[i][0]*float64(k[j]) + g[i][1]*float64(k[3+j]) + g[i][2]*float64(k[6+j])
				}
			}
			for i := range 4 {
				for j := range 4 { // (G g) Gᵀ
					v := gk[i][0]*g[j][0] + gk[i][1]*g[j][1] + gk[i][2]*g[j][2]
					u[i*4+j][o*c+ci] = float32(v)
				}
			}
		}
	}
	ww := &WinogradWeights{In: c, Out: n, zero: make([]float32, n)}
	for i := range u {
		p, err := PackWeights(u[i], n, c, 1, 1)
		if err != nil {
			return nil, err
		}
		ww.u[i] = p
	}
	return ww, nil
}

// winogradBuffers returns the workspace's transformed input (16 x tiles x
// Cin) and product (16 x tiles x Cout) buffers, growing them if needed; a
// session's sizes are fixed, so they grow only during its first run.
func (ws *Workspace) winogradBuffers(tiles, in, out int) (v, m []float32) {
	if need := winogradTiles * tiles * in; len(ws.winoV) < need {
		ws.winoV = make([]float32, need)
	}
	if need := winogradTiles * tiles * out; len(ws.winoM) < need {
		ws.winoM = make([]float32, need)
	}
	return ws.winoV[:winogradTiles*tiles*in], ws.winoM[:winogradTiles*tiles*out]
}

// Conv3x3Winograd computes dst = epilogue(conv(src, w)) for a stride-1,
// pad-1 3x3 convolution of geometry g (g.Winograd() must hold). As in
// Conv2D, only output channels [w.Col0, w.Col0+w.Out) are written.
func Conv3x3Winograd(dst, src []float32, g Conv, w *WinogradWeights, ep Epilogue, ws *Workspace) {
	if !g.Winograd() || w.In != g.InC || w.Col0 < 0 || w.Col0+w.Out > g.OutC || len(src) < g.InH*g.InW*g.InC ||
		len(dst) < g.M()*g.OutC || len(ep.Bias) < w.Out || (ep.Residual != nil && len(ep.Residual) < g.M()*g.OutC) {
		panic(fmt.Sprintf("kernel: Conv3x3Winograd shapes do not match: %+v", g))
	}
	th, tw := (g.InH+1)/2, (g.InW+1)/2
	tiles := th * tw
	v, m := ws.winogradBuffers(tiles, g.InC, w.Out)
	if len(ws.zeros) < g.InC {
		ws.zeros = make([]float32, g.InC)
	}
	winogradInput(v, src, g, th, tw, ws.zeros[:g.InC], &ws.tileIn, &ws.tileOut)
	gemm := Conv{InH: 1, InW: tiles, InC: g.InC, KH: 1, KW: 1, Stride: 1, OutC: w.Out}
	for i := range winogradTiles {
		Conv2D(m[i*tiles*w.Out:][:tiles*w.Out], v[i*tiles*g.InC:][:tiles*g.InC], gemm, w.u[i], Epilogue{Bias: w.zero}, ws)
	}
	winogradOutput(dst, m, g, w.Col0, w.Out, th, tw, ep, &ws.tileIn, &ws.pixels, &ws.residuals)
}

// winogradInput writes V = Bᵀ d B for every 4x4 input tile d (origin at
// (2ty-1, 2tx-1); outside the image is zero) and channel into v, laid out
// [16][tile][channel]. zero holds InC zeros and stands for a padding pixel;
// d and out are scratch (in the workspace, so that calling the transform
// through a function value does not allocate).
func winogradInput(v, src []float32, g Conv, th, tw int, zero []float32, d, out *[winogradTiles][]float32) {
	c, tiles := g.InC, th*tw
	for ty := range th {
		for tx := range tw {
			for i := range 4 {
				for j := range 4 {
					y, x := 2*ty-1+i, 2*tx-1+j
					if y < 0 || y >= g.InH || x < 0 || x >= g.InW {
						d[i*4+j] = zero
					} else {
						d[i*4+j] = src[(y*g.InW+x)*c:][:c]
					}
				}
			}
			t := ty*tw + tx
			for i := range out {
				out[i] = v[(i*tiles+t)*c:][:c]
			}
			active.winoIn(out, d)
		}
	}
}

// winogradOutput writes Y = Aᵀ M A for every tile, plus bias, residual and
// ReLU, into output channels [col0, col0+c) of dst, dropping the outputs
// past the image edge. in, out and res are scratch from the workspace.
func winogradOutput(dst, m []float32, g Conv, col0, c, th, tw int, ep Epilogue, in *[winogradTiles][]float32, out, res *[4][]float32) {
	tiles, ow, oh, ldc := th*tw, g.OutW(), g.OutH(), g.OutC
	for ty := range th {
		for tx := range tw {
			t := ty*tw + tx
			for i := range in {
				in[i] = m[(i*tiles+t)*c:][:c]
			}
			for k := range out {
				oy, ox := 2*ty+k/2, 2*tx+k%2
				out[k], res[k] = nil, nil
				if oy < oh && ox < ow {
					at := (oy*ow+ox)*ldc + col0
					out[k] = dst[at:][:c]
					if ep.Residual != nil {
						res[k] = ep.Residual[at:][:c]
					}
				}
			}
			active.winoOut(out, in, ep.Bias[:c], res, ep.ReLU)
		}
	}
}
