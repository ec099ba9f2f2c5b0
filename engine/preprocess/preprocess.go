// Package preprocess turns image files into the input tensors of the
// classifier, matching torchvision's
//
//	Resize(R) + CenterCrop(C) + ToTensor() + Normalize(mean, std)
//
// applied to a PIL image opened with Image.open(f).convert("RGB"), which is
// how the models were trained and evaluated.
//
// Decode reads JPEG, PNG, GIF, BMP, TIFF and WebP files within a pixel
// budget and applies the EXIF orientation of JPEGs; Tensor resizes, crops
// and normalizes. Both reproduce what PIL does: on PNG and WebP files the
// tensor is bit-identical to torchvision's; on JPEG files only the IDCTs of
// Go's image/jpeg and libjpeg-turbo differ, a mean of under 0.001 in the
// normalized tensor. The tests measure this against reference tensors made
// by testdata/make_reference.py.
//
// The package is pure Go without cgo or OS-specific code, so that it builds
// for GOOS=js GOARCH=wasm.
package preprocess

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// Spec describes a torchvision preprocessing pipeline:
// Resize(Resize) + CenterCrop(Crop) + ToTensor() + Normalize(Mean, Std).
type Spec struct {
	// Resize is the length the shorter side is resized to; the longer side
	// keeps the aspect ratio, truncated as torchvision does.
	Resize int
	// Crop is the side of the square taken from the center of the resized
	// image; it is padded with black where the resized image is smaller.
	Crop int
	// Mean and Std normalize each channel (R, G, B) after scaling to [0, 1]:
	// out = (v/255 - Mean) / Std.
	Mean, Std [3]float32
}

// ImageNet is the standard evaluation pipeline of ImageNet classifiers such
// as torchvision's ResNets.
var ImageNet = Spec{
	Resize: 256,
	Crop:   224,
	Mean:   [3]float32{0.485, 0.456, 0.406},
	Std:    [3]float32{0.229, 0.224, 0.225},
}

// Len is the number of float32 values of a tensor made with s:
// Crop*Crop*3.
func (s Spec) Len() int { return s.Crop * s.Crop * 3 }

// maxSide bounds Resize and Crop; far above any model input, it keeps every
// size computation below far from overflow.
const maxSide = 1 << 14

func (s Spec) validate() error {
	if s.Resize <= 0 || s.Resize > maxSide || s.Crop <= 0 || s.Crop > maxSide {
		return fmt.Errorf("preprocess: invalid spec: Resize %d, Crop %d (each must be in 1..%d)", s.Resize, s.Crop, maxSide)
	}
	for c, v := range s.Std {
		if v == 0 || math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("preprocess: invalid spec: Std[%d] is %v", c, v)
		}
	}
	return nil
}

// Tensor resizes img so that its shorter side is s.Resize (PIL's bilinear
// filter, antialiased when shrinking, as torchvision uses on PIL images),
// takes the centered s.Crop x s.Crop square (torchvision's rounding), scales
// the 8-bit values to [0, 1] and normalizes them with s.Mean and s.Std.
//
// The result is NHWC with the channel fastest: Crop*Crop*3 float32 values,
// element (y, x, c) at (y*Crop+x)*3+c. It is written to dst when its
// capacity suffices, else to a new slice.
//
// Images of any color model are read as RGB like PIL's convert("RGB"):
// gray is repeated to three channels, palettes are looked up, CMYK is
// converted, and alpha is dropped (the color channels are taken as they are,
// not composited on a background). Go's *image.RGBA is premultiplied, so a
// translucent pixel of it is un-premultiplied first; a browser canvas's
// ImageData is not premultiplied and should be wrapped as *image.NRGBA.
// An *image.YCbCr (a decoded JPEG) is converted as libjpeg-turbo converts
// it for PIL, with "fancy" chroma upsampling, not as its At method does.
// *image.NRGBA, *image.RGBA, *image.YCbCr, *image.NYCbCrA, *image.Gray and
// *image.Paletted are read directly from their pixel buffers; other types
// through At.
func Tensor(img image.Image, s Spec, dst []float32) ([]float32, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if img == nil {
		return nil, errors.New("preprocess: nil image")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("preprocess: empty image (%dx%d)", w, h)
	}
	rw, rh := resizedSize(w, h, s.Resize)
	if rw > maxResized || rh > maxResized {
		return nil, fmt.Errorf("preprocess: image is %dx%d, too elongated to resize to %d on its shorter side", w, h, s.Resize)
	}

	n := s.Len()
	if cap(dst) >= n {
		dst = dst[:n]
	} else {
		dst = make([]float32, n)
	}

	// The value of each 8-bit level in each channel, computed in float32
	// exactly as ToTensor (v / 255) and Normalize ((x - mean) / std) do.
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			lut[c][v] = (float32(v)/255 - s.Mean[c]) / s.Std[c]
		}
	}

	// Crop coordinates: output index i is resized index i+off, which may lie
	// in the zero padding torchvision adds when the crop exceeds the image.
	offX := cropOffset(rw, s.Crop)
	offY := cropOffset(rh, s.Crop)
	cols := validRange(offX, s.Crop, rw)
	rows := validRange(offY, s.Crop, rh)

	// Padding first: every output pixel outside the resized image is black.
	if cols.n < s.Crop || rows.n < s.Crop {
		for i := 0; i < n; i += 3 {
			dst[i], dst[i+1], dst[i+2] = lut[0][0], lut[1][0], lut[2][0]
		}
	}
	if cols.n == 0 || rows.n == 0 {
		return dst, nil
	}

	// Only the cropped part of the resized image is computed: each resized
	// pixel depends on its own filter window alone, so this gives the same
	// values as resizing everything and cropping afterwards.
	hc := newCoeffs(w, rw, cols.first+offX, cols.n)
	vc := newCoeffs(h, rh, rows.first+offY, rows.n)

	px := resizeRGB(img, hc, vc)
	for j := range rows.n {
		out := dst[((rows.first+j)*s.Crop+cols.first)*3:]
		in := px[j*cols.n*3 : (j+1)*cols.n*3]
		for i := 0; i < len(in); i += 3 {
			out[i] = lut[0][in[i]]
			out[i+1] = lut[1][in[i+1]]
			out[i+2] = lut[2][in[i+2]]
		}
	}
	return dst, nil
}

// maxResized bounds the computed resized size of the longer side (only the
// crop of it is ever materialized), so that the float arithmetic on
// coordinates stays exact.
const maxResized = 1 << 24

// resizedSize returns the size torchvision's Resize(size) gives an image of
// w x h: the shorter side becomes size, the longer one
// int(size * long / short), truncated.
func resizedSize(w, h, size int) (int, int) {
	short, long := w, h
	if w > h {
		short, long = h, w
	}
	// Python: int(requested_new_short * long / short), a true division of
	// exact integers (well below 2**53), truncated.
	newLong := int(float64(size*long) / float64(short))
	if w <= h {
		return size, newLong
	}
	return newLong, size
}

// cropOffset returns the resized index of output index 0 along an axis of
// length n cropped to c, following torchvision's center_crop: when c > n it
// first pads (c-n)//2 before, giving a negative offset; otherwise it starts
// at int(round((n - c) / 2.0)), with Python's round half to even.
func cropOffset(n, c int) int {
	if c > n {
		return -((c - n) / 2)
	}
	return int(math.RoundToEven(float64(n-c) / 2))
}

// span is the run of output indices [first, first+n) that fall inside the
// resized image.
type span struct{ first, n int }

func validRange(off, c, n int) span {
	first := max(0, -off)
	last := min(c, n-off)
	if last <= first {
		return span{}
	}
	return span{first, last - first}
}
