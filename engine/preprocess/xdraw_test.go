package preprocess

import (
	"image"
	"testing"

	"golang.org/x/image/draw"
)

// TestXImageDrawDifference keeps the measurement behind resample.go's
// choice of a Pillow port over golang.org/x/image/draw.BiLinear: fed the
// same RGB pixels, draw.BiLinear (which also widens its kernel when
// shrinking) lands further from torchvision than the port, which is exact.
func TestXImageDrawDifference(t *testing.T) {
	for _, tc := range referenceCases {
		img, err := Decode(decodeFile(t, tc.file), 0)
		if err != nil {
			t.Fatal(err)
		}
		rgb := toNRGBA(img)
		ours, err := Tensor(rgb, tc.spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		theirs := xdrawTensor(rgb, tc.spec)
		want := readReference(t, tc.name, tc.spec.Crop)
		om, ox := diffStats(ours, want)
		xm, xx := diffStats(theirs, want)
		t.Logf("%-20s port: mean %.6f max %.6f | x/image/draw.BiLinear: mean %.6f max %.6f", tc.file, om, ox, xm, xx)
		if om > xm {
			t.Errorf("%s: the port (%.6f) is further from torchvision than x/image/draw (%.6f)", tc.file, om, xm)
		}
	}
}

func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	read := newRowReader(img)
	row := make([]uint8, b.Dx()*3)
	for y := range b.Dy() {
		read(row, y, 0, b.Dx())
		for x := range b.Dx() {
			copy(out.Pix[out.PixOffset(x, y):], row[x*3:x*3+3])
			out.Pix[out.PixOffset(x, y)+3] = 0xff
		}
	}
	return out
}

// xdrawTensor is Tensor with draw.BiLinear doing the resize.
func xdrawTensor(img *image.NRGBA, s Spec) []float32 {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	rw, rh := resizedSize(w, h, s.Resize)
	resized := image.NewNRGBA(image.Rect(0, 0, rw, rh))
	draw.BiLinear.Scale(resized, resized.Bounds(), img, img.Bounds(), draw.Src, nil)
	offX, offY := cropOffset(rw, s.Crop), cropOffset(rh, s.Crop)
	out := make([]float32, s.Len())
	for y := range s.Crop {
		for x := range s.Crop {
			for c := range 3 {
				var v uint8
				ry, rx := y+offY, x+offX
				if ry >= 0 && ry < rh && rx >= 0 && rx < rw {
					v = resized.Pix[resized.PixOffset(rx, ry)+c]
				}
				out[(y*s.Crop+x)*3+c] = (float32(v)/255 - s.Mean[c]) / s.Std[c]
			}
		}
	}
	return out
}
