// Package cam computes class activation maps (Zhou et al., "Learning Deep
// Features for Discriminative Localization", CVPR 2016): where in the image
// the network found the evidence for a class. A ResNet's logit for class k
// is fc.bias[k] plus the average over positions of
//
//	M_k(y, x) = Σ_c fc.weight[k][c] · F(y, x, c)
//
// where F is the last block's output (engine.FeatureMap), so M_k shows how
// much each position adds to that logit. The package computes M_k, scales
// it for display, resamples it to the image's size and colours it.
package cam

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/inbrowser/resnet/engine"
)

// Map is a class activation map: H x W values, row-major (element (y, x)
// at y*W+x), at the feature map's resolution until resized.
type Map struct {
	H, W   int
	Values []float32
}

// Compute returns the activation map of the class whose fully connected
// weights are w (engine.Model.ClassWeights): M(y, x) = Σ_c w[c] F(y, x, c).
// The fc bias is not included, as in Zhou et al.: the class's logit is the
// map's mean plus fc.bias[class]. Sums are float64; the cost is H·W·C
// multiply-adds (0.1 M for ResNet-50 at 224x224).
func Compute(f engine.FeatureMap, w []float32) (Map, error) {
	if f.H <= 0 || f.W <= 0 || len(f.Values) != f.H*f.W*f.C {
		return Map{}, fmt.Errorf("cam: a %dx%dx%d feature map with %d values", f.H, f.W, f.C, len(f.Values))
	}
	if len(w) != f.C {
		return Map{}, fmt.Errorf("cam: %d class weights for %d channels", len(w), f.C)
	}
	m := Map{H: f.H, W: f.W, Values: make([]float32, f.H*f.W)}
	for p := range m.Values {
		var sum float64
		for c, v := range f.Values[p*f.C : (p+1)*f.C] {
			sum += float64(w[c]) * float64(v)
		}
		m.Values[p] = float32(sum)
	}
	return m, nil
}

// Normalized returns m scaled to [0, 1], (v - min) / (max - min), as Zhou
// et al. show their maps; a constant map becomes all zeros.
func (m Map) Normalized() Map {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range m.Values {
		lo, hi = min(lo, v), max(hi, v)
	}
	out := Map{H: m.H, W: m.W, Values: make([]float32, len(m.Values))}
	if !(hi > lo) {
		return out
	}
	scale := 1 / (float64(hi) - float64(lo))
	for i, v := range m.Values {
		out.Values[i] = float32((float64(v) - float64(lo)) * scale)
	}
	return out
}

// Resize returns m bilinearly resampled to h x w with pixel centres
// aligned, as PyTorch's interpolate(mode="bilinear", align_corners=False)
// and OpenCV's resize do: output pixel i samples m at (i+0.5)·in/out - 0.5,
// clamped to m's edge.
func (m Map) Resize(h, w int) Map {
	out := Map{H: h, W: w, Values: make([]float32, h*w)}
	ys, xs := make([]tap, h), make([]tap, w)
	for i := range ys {
		ys[i] = sample(i, h, m.H)
	}
	for i := range xs {
		xs[i] = sample(i, w, m.W)
	}
	for y, ty := range ys {
		r0, r1 := m.Values[ty.i0*m.W:], m.Values[ty.i1*m.W:]
		for x, tx := range xs {
			top := (1-tx.f)*float64(r0[tx.i0]) + tx.f*float64(r0[tx.i1])
			bottom := (1-tx.f)*float64(r1[tx.i0]) + tx.f*float64(r1[tx.i1])
			out.Values[y*w+x] = float32((1-ty.f)*top + ty.f*bottom)
		}
	}
	return out
}

// tap is where one output pixel samples an axis: between indices i0 and
// i1, a fraction f of the way.
type tap struct {
	i0, i1 int
	f      float64
}

// sample is output index i's tap on an axis resized from in to out values.
func sample(i, out, in int) tap {
	src := max(0, (float64(i)+0.5)*float64(in)/float64(out)-0.5)
	i0 := min(int(src), in-1)
	return tap{i0: i0, i1: min(i0+1, in-1), f: src - float64(i0)}
}

// Color is v's colour in Viridis, v clamped to [0, 1].
func Color(v float32) color.NRGBA {
	i := int(math.Round(float64(max(0, min(1, v))) * 255))
	if v != v { // NaN
		i = 0
	}
	c := Viridis[i]
	return color.NRGBA{R: c[0], G: c[1], B: c[2], A: 255}
}

// Overlay returns img with m drawn over it: m normalized (see Normalized),
// resized to img's size (see Resize), coloured with Viridis and blended
// with opacity alpha (0: img alone, 1: the heatmap alone).
func Overlay(img image.Image, m Map, alpha float64) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	heat := m.Normalized().Resize(b.Dy(), b.Dx())
	alpha = max(0, min(1, alpha))
	blend := func(under, over uint8) uint8 {
		return uint8(math.Round((1-alpha)*float64(under) + alpha*float64(over)))
	}
	for y := range b.Dy() {
		row := out.Pix[y*out.Stride:]
		for x := range b.Dx() {
			c, px := Color(heat.Values[y*b.Dx()+x]), row[4*x:4*x+4]
			px[0], px[1], px[2], px[3] = blend(px[0], c.R), blend(px[1], c.G), blend(px[2], c.B), 255
		}
	}
	return out
}
