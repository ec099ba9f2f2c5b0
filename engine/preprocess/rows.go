package preprocess

import (
	"image"
	"image/color"
)

// rowReader writes the RGB bytes of pixels x0..x1-1 of row y into dst
// (3*(x1-x0) bytes). Coordinates are relative to the image's Bounds().Min.
type rowReader func(dst []uint8, y, x0, x1 int)

// newRowReader returns a rowReader that reads img like PIL's
// convert("RGB"): color channels only, alpha dropped. The common concrete
// types are read straight from their pixel buffers.
func newRowReader(img image.Image) rowReader {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.NRGBA:
		return func(dst []uint8, y, x0, x1 int) {
			src := m.Pix[m.PixOffset(b.Min.X+x0, b.Min.Y+y):]
			for i := range x1 - x0 {
				dst[i*3], dst[i*3+1], dst[i*3+2] = src[i*4], src[i*4+1], src[i*4+2]
			}
		}
	case *image.RGBA:
		return func(dst []uint8, y, x0, x1 int) {
			src := m.Pix[m.PixOffset(b.Min.X+x0, b.Min.Y+y):]
			for i := range x1 - x0 {
				p := src[i*4 : i*4+4]
				if p[3] == 0xff {
					dst[i*3], dst[i*3+1], dst[i*3+2] = p[0], p[1], p[2]
					continue
				}
				// Premultiplied: recover the straight color PIL would
				// have kept.
				c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				dst[i*3], dst[i*3+1], dst[i*3+2] = c.R, c.G, c.B
			}
		}
	case *image.YCbCr:
		return yCbCrReader(m)
	case *image.NYCbCrA:
		// Its Y, Cb and Cr are not premultiplied: dropping alpha leaves
		// the YCbCr image.
		return yCbCrReader(&m.YCbCr)
	case *image.Gray:
		return func(dst []uint8, y, x0, x1 int) {
			src := m.Pix[m.PixOffset(b.Min.X+x0, b.Min.Y+y):]
			for i := range x1 - x0 {
				v := src[i]
				dst[i*3], dst[i*3+1], dst[i*3+2] = v, v, v
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range m.Palette {
			if i == len(pal) {
				break
			}
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [3]uint8{n.R, n.G, n.B}
		}
		return func(dst []uint8, y, x0, x1 int) {
			src := m.Pix[m.PixOffset(b.Min.X+x0, b.Min.Y+y):]
			for i := range x1 - x0 {
				p := pal[src[i]]
				dst[i*3], dst[i*3+1], dst[i*3+2] = p[0], p[1], p[2]
			}
		}
	}
	// Anything else (CMYK, 16-bit, Gray16, ...): the straight color, 8 bits
	// per channel (the high byte, as PIL keeps of 16-bit RGB PNGs).
	return func(dst []uint8, y, x0, x1 int) {
		for i := range x1 - x0 {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x0+i, b.Min.Y+y)).(color.NRGBA)
			dst[i*3], dst[i*3+1], dst[i*3+2] = c.R, c.G, c.B
		}
	}
}

// yCbCrReader converts to RGB as libjpeg-turbo does when PIL decodes a
// JPEG, rather than as image.YCbCr's At does, because that is what the
// models saw: subsampled chroma is upsampled with libjpeg's "fancy"
// triangle filter (3/4 of the nearer sample, 1/4 of the next; At repeats
// the nearer one), and the color conversion uses libjpeg's 16-bit tables
// (At rounds differently). On the test photos this cuts the difference
// from torchvision tenfold (mean 0.004-0.008 to under 0.0006, see
// TestMatchesTorchvision); what remains comes from the IDCTs of Go and
// libjpeg-turbo, which differ by a level on a few pixels in a hundred.
func yCbCrReader(m *image.YCbCr) rowReader {
	r := m.Rect
	hsub, vsub := false, false
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		hsub = true
	case image.YCbCrSubsampleRatio420:
		hsub, vsub = true, true
	case image.YCbCrSubsampleRatio440:
		vsub = true
	default:
		// 4:1:1 and 4:1:0: libjpeg repeats samples too, like At.
		return func(dst []uint8, y, x0, x1 int) {
			for i := range x1 - x0 {
				ax, ay := r.Min.X+x0+i, r.Min.Y+y
				ci := m.COffset(ax, ay)
				dst[i*3], dst[i*3+1], dst[i*3+2] = jpegRGB(m.Y[m.YOffset(ax, ay)], m.Cb[ci], m.Cr[ci])
			}
		}
	}
	// Chroma column and row of absolute coordinates, as m.COffset computes
	// them, and their ranges inside the image (libjpeg repeats the edge
	// samples).
	cx := func(x int) int {
		if hsub {
			return x/2 - r.Min.X/2
		}
		return x - r.Min.X
	}
	cy := func(y int) int {
		if vsub {
			return y/2 - r.Min.Y/2
		}
		return y - r.Min.Y
	}
	cx0, cx1 := cx(r.Min.X), cx(r.Max.X-1)
	cy0, cy1 := cy(r.Min.Y), cy(r.Max.Y-1)
	// libjpeg only filters horizontally when there are more than two
	// chroma columns.
	hfilter := hsub && cx1-cx0+1 > 2
	return func(dst []uint8, y, x0, x1 int) {
		ay := r.Min.Y + y
		near := cy(ay)
		far := near
		if vsub {
			// The other row of the pair's neighbors: above for the first
			// luma row of a pair, below for the second.
			if ay&1 == 0 {
				far = max(near-1, cy0)
			} else {
				far = min(near+1, cy1)
			}
		}
		nb, nr := m.Cb[near*m.CStride:], m.Cr[near*m.CStride:]
		fb, fr := m.Cb[far*m.CStride:], m.Cr[far*m.CStride:]
		luma := m.Y[m.YOffset(r.Min.X+x0, ay):]
		luma = luma[:x1-x0]
		dst = dst[:len(luma)*3]
		for i, l := range luma {
			ax := r.Min.X + x0 + i
			var cb, cr uint8
			switch {
			case hfilter && vsub: // h2v2_fancy_upsample
				c := ax/2 - r.Min.X/2
				sumB := 3*int(nb[c]) + int(fb[c])
				sumR := 3*int(nr[c]) + int(fr[c])
				if ax&1 == 0 {
					o := max(c-1, cx0)
					cb = uint8((3*sumB + 3*int(nb[o]) + int(fb[o]) + 8) >> 4)
					cr = uint8((3*sumR + 3*int(nr[o]) + int(fr[o]) + 8) >> 4)
				} else {
					o := min(c+1, cx1)
					cb = uint8((3*sumB + 3*int(nb[o]) + int(fb[o]) + 7) >> 4)
					cr = uint8((3*sumR + 3*int(nr[o]) + int(fr[o]) + 7) >> 4)
				}
			case hfilter: // h2v1_fancy_upsample
				c := ax/2 - r.Min.X/2
				if ax&1 == 0 {
					o := max(c-1, cx0)
					cb = uint8((3*int(nb[c]) + int(nb[o]) + 1) >> 2)
					cr = uint8((3*int(nr[c]) + int(nr[o]) + 1) >> 2)
				} else {
					o := min(c+1, cx1)
					cb = uint8((3*int(nb[c]) + int(nb[o]) + 2) >> 2)
					cr = uint8((3*int(nr[c]) + int(nr[o]) + 2) >> 2)
				}
			case vsub: // h1v2_fancy_upsample (or h2v2 too narrow to filter across)
				c := cx(ax)
				if hsub {
					// Too narrow: libjpeg's plain h2v2_upsample repeats.
					cb, cr = nb[c], nr[c]
					break
				}
				bias := 1
				if ay&1 != 0 {
					bias = 2
				}
				cb = uint8((3*int(nb[c]) + int(fb[c]) + bias) >> 2)
				cr = uint8((3*int(nr[c]) + int(fr[c]) + bias) >> 2)
			default: // 4:4:4, or 4:2:2 too narrow to filter
				c := cx(ax)
				cb, cr = nb[c], nr[c]
			}
			dst[i*3], dst[i*3+1], dst[i*3+2] = jpegRGB(l, cb, cr)
		}
	}
}

// libjpeg's YCbCr to RGB tables (jdcolor.c, build_ycc_rgb_table): 16-bit
// fixed point, FIX(x) = int(x*65536 + 0.5).
var crR, cbB, crG, cbG [256]int32

func init() {
	const oneHalf = 1 << 15
	for i := range 256 {
		x := int32(i - 128)
		crR[i] = (91881*x + oneHalf) >> 16  // FIX(1.40200)
		cbB[i] = (116130*x + oneHalf) >> 16 // FIX(1.77200)
		crG[i] = -46802 * x                 // FIX(0.71414)
		cbG[i] = -22554*x + oneHalf         // FIX(0.34414)
	}
}

func jpegRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := int32(y)
	return clamp8(yy + crR[cr]), clamp8(yy + (cbG[cb]+crG[cr])>>16), clamp8(yy + cbB[cb])
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
