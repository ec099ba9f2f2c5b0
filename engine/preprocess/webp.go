package preprocess

import "image"

// Lossy WebP (VP8) stores limited-range BT.601 YUV ("studio swing": Y in
// 16..235), but golang.org/x/image/webp returns those planes as an
// image.YCbCr, whose conversions assume full-range JPEG YCbCr
// (golang/go#40173): blacks come out lifted, whites dimmed, colors
// desaturated, several levels off on every pixel. Decode therefore converts
// a lossy WebP to RGB itself, the way libwebp (and so PIL) does: libwebp's
// "fancy" chroma upsampler and its fixed-point limited-range conversion
// (src/dsp/upsampling.c and src/dsp/yuv.h).

// webpToNRGBA converts the YCbCr planes of a decoded lossy WebP (4:2:0),
// with the alpha plane of a, if not nil, to an *image.NRGBA (WebP alpha is
// not premultiplied). Other layouts, which x/image/webp does not produce,
// are returned as they are.
func webpToNRGBA(m *image.YCbCr, a *image.NYCbCrA) image.Image {
	r := m.Rect
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || r.Min.X&1 != 0 || r.Min.Y&1 != 0 || r.Empty() {
		if a != nil {
			return a
		}
		return m
	}
	w, h := r.Dx(), r.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	lastC, lastR := (w-1)/2, (h-1)/2
	for y := range h {
		// Chroma rows: the nearer one and the other one of the pair of
		// rows this luma row lies between (the same one at the edges).
		near, far := y/2, y/2
		if y&1 == 0 {
			far = max(near-1, 0)
		} else {
			far = min(near+1, lastR)
		}
		c0 := m.COffset(r.Min.X, r.Min.Y)
		nu, fu := m.Cb[c0+near*m.CStride:], m.Cb[c0+far*m.CStride:]
		nv, fv := m.Cr[c0+near*m.CStride:], m.Cr[c0+far*m.CStride:]
		yrow := m.Y[m.YOffset(r.Min.X, r.Min.Y+y):]
		dst := out.Pix[y*out.Stride:]
		for x := range w {
			u := webpUpsample(nu, fu, x, lastC)
			v := webpUpsample(nv, fv, x, lastC)
			yy := multHi(int(yrow[x]), 19077)
			p := dst[x*4 : x*4+4]
			p[0] = webpClip8(yy + multHi(v, 26149) - 14234)
			p[1] = webpClip8(yy - multHi(u, 6419) - multHi(v, 13320) + 8708)
			p[2] = webpClip8(yy + multHi(u, 33050) - 17685)
			p[3] = 0xff
			if a != nil {
				p[3] = a.A[a.AOffset(r.Min.X+x, r.Min.Y+y)]
			}
		}
	}
	return out
}

// webpUpsample is libwebp's UPSAMPLE_FUNC for one chroma plane at luma
// column x: near and far are the nearer and the other chroma row. Inside,
// it mixes 9/16, 3/16, 3/16 and 1/16 of the four surrounding samples with
// libwebp's two roundings; at the left edge, and the right edge of an even
// width, only the two rows are mixed.
func webpUpsample(near, far []uint8, x, lastC int) int {
	c := x / 2 // nearest chroma column
	o := c + 1 // the other one
	if x&1 == 0 {
		o = c - 1
	}
	if o < 0 || o > lastC {
		return (3*int(near[c]) + int(far[c]) + 2) >> 2
	}
	a, b, cc, d := int(near[c]), int(near[o]), int(far[c]), int(far[o])
	diag := (a + b + cc + d + 8 + 2*(b+cc)) >> 3
	return (diag + a) >> 1
}

func multHi(v, coeff int) int { return (v * coeff) >> 8 }

// webpClip8 is libwebp's VP8Clip8: 6 fractional bits, clamped.
func webpClip8(v int) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}
