package preprocess

import (
	"image"
	"math"
)

// This file is a port of Pillow's bilinear resize for 8-bit images
// (libImaging/Resample.c, Pillow 9.4, the version behind the reference
// tensors), which is what torchvision's Resize does to a PIL image.
//
// Why not golang.org/x/image/draw.BiLinear: its Kernel.Scale uses the same
// triangle filter, widened by the scale factor when shrinking, but it keeps
// the horizontal pass at full precision where Pillow rounds it to 8 bits
// and works in 22-bit fixed point. Fed the same RGB pixels, draw.BiLinear
// plus the crop lands a mean of 0.003-0.005 from torchvision's normalized
// tensor (max 0.018, one 8-bit level) on the test images; this port is
// bit-identical. That leaves the whole 0.01 budget to the JPEG decoder
// differences, and lets the tests demand exact equality for PNG and WebP.
// It is also about 3x faster and allocates 14x less on a 1024x768 photo,
// because only the cropped part of the resized image is computed and the
// common pixel types are read from their buffers directly.
// TestXImageDrawDifference and BenchmarkXImageDraw keep the comparison.

// precisionBits is Pillow's PRECISION_BITS: 8 bits for the result, 2 for
// overflow and sign, the rest for the fraction.
const precisionBits = 32 - 8 - 2

// coeffs holds the fixed-point filter taps of a run of output pixels along
// one axis.
type coeffs struct {
	start []int   // first input index of each output pixel
	n     []int   // number of taps of each output pixel
	k     []int32 // taps, ksize per output pixel
	ksize int
}

// newCoeffs computes the taps of output pixels first..first+count-1 of an
// axis resized from inSize to outSize, as Pillow's precompute_coeffs and
// normalize_coeffs_8bpc do (triangle filter of support 1, scaled by the
// shrink factor; weights normalized per output pixel, then rounded to
// fixed point). The float expressions keep Pillow's order of operations,
// and the explicit float64 conversions stop Go from fusing them into FMA
// instructions on platforms that have them, so the taps are bit-identical.
func newCoeffs(inSize, outSize, first, count int) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := 1.0 * filterscale // bilinear support is 1
	ksize := int(math.Ceil(support))*2 + 1
	ss := 1.0 / filterscale

	c := coeffs{
		start: make([]int, count),
		n:     make([]int, count),
		k:     make([]int32, count*ksize),
		ksize: ksize,
	}
	w := make([]float64, ksize)
	for i := range count {
		xx := first + i
		center := float64((float64(xx) + 0.5) * scale)
		xmin := int(center - support + 0.5) // truncation, as C's (int)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := range xmax {
			t := float64((float64(x+xmin) - center + 0.5) * ss)
			w[x] = triangle(t)
			ww += w[x]
		}
		k := c.k[i*ksize : (i+1)*ksize]
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			// Bilinear weights are never negative: (int)(0.5 + v * 2^22).
			k[x] = int32(float64(v*(1<<precisionBits)) + 0.5)
		}
		c.start[i] = xmin
		c.n[i] = xmax
	}
	return c
}

func triangle(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// clip8 is Pillow's clip8: the fixed-point sum shifted down and clamped to
// 0..255 (the shift floors, as C's >> on a negative int does).
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resizeRGB runs Pillow's two passes, horizontal then vertical, with the
// intermediate rounded to 8 bits as Pillow stores it, over the output pixels
// described by hc (columns) and vc (rows). It returns len(vc.n) rows of
// len(hc.n) RGB pixels.
func resizeRGB(img image.Image, hc, vc coeffs) []uint8 {
	ow, oh := len(hc.n), len(vc.n)

	// Input columns and rows the taps reach.
	x0, x1 := hc.start[0], hc.start[0]+hc.n[0]
	for i := range ow {
		x0 = min(x0, hc.start[i])
		x1 = max(x1, hc.start[i]+hc.n[i])
	}
	y0, y1 := vc.start[0], vc.start[0]+vc.n[0]
	for j := range oh {
		y0 = min(y0, vc.start[j])
		y1 = max(y1, vc.start[j]+vc.n[j])
	}

	// Horizontal pass: every needed input row, converted to RGB, into the
	// 8-bit intermediate tmp of (y1-y0) rows of ow pixels.
	read := newRowReader(img)
	row := make([]uint8, (x1-x0)*3)
	tmp := make([]uint8, (y1-y0)*ow*3)
	for y := y0; y < y1; y++ {
		read(row, y, x0, x1)
		out := tmp[(y-y0)*ow*3 : (y-y0+1)*ow*3]
		for i := range ow {
			k := hc.k[i*hc.ksize : i*hc.ksize+hc.n[i]]
			in := row[(hc.start[i]-x0)*3:]
			in = in[:len(k)*3]
			r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			for x, kx := range k {
				p := in[x*3 : x*3+3]
				r += int32(p[0]) * kx
				g += int32(p[1]) * kx
				b += int32(p[2]) * kx
			}
			out[i*3], out[i*3+1], out[i*3+2] = clip8(r), clip8(g), clip8(b)
		}
	}

	// Vertical pass over tmp. The sums of a whole output row are kept in
	// acc so that tmp is read row by row.
	px := make([]uint8, oh*ow*3)
	acc := make([]int32, ow*3)
	for j := range oh {
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		k := vc.k[j*vc.ksize : j*vc.ksize+vc.n[j]]
		for y, ky := range k {
			src := tmp[(vc.start[j]+y-y0)*ow*3:]
			src = src[:len(acc)]
			for i, v := range src {
				acc[i] += int32(v) * ky
			}
		}
		out := px[j*ow*3 : (j+1)*ow*3]
		for i, v := range acc {
			out[i] = clip8(v)
		}
	}
	return px
}
