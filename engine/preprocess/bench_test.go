package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"golang.org/x/image/draw"
)

// photo1024 returns rocket.jpg scaled to 1024x768 and re-encoded as a
// 4:2:0 JPEG, decoded (an *image.YCbCr, what Decode gives for most
// photos), and the same pixels as *image.NRGBA (what a browser canvas
// gives).
func photo1024(b *testing.B) (*image.YCbCr, *image.NRGBA) {
	b.Helper()
	src, err := Decode(decodeFile(b, "rocket.jpg"), 0)
	if err != nil {
		b.Fatal(err)
	}
	big := image.NewNRGBA(image.Rect(0, 0, 1024, 768))
	draw.BiLinear.Scale(big, big.Bounds(), src, src.Bounds(), draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, big, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	img, err := Decode(buf.Bytes(), 0)
	if err != nil {
		b.Fatal(err)
	}
	ycc, ok := img.(*image.YCbCr)
	if !ok {
		b.Fatalf("decoded %T, want *image.YCbCr", img)
	}
	return ycc, toNRGBA(ycc)
}

func BenchmarkTensor(b *testing.B) {
	ycc, nrgba := photo1024(b)
	rgba := &image.RGBA{Pix: nrgba.Pix, Stride: nrgba.Stride, Rect: nrgba.Rect} // opaque: same bytes
	for _, bc := range []struct {
		name string
		img  image.Image
	}{
		{"YCbCr420", ycc},
		{"NRGBA", nrgba},
		{"RGBA", rgba},
		{"generic", toGeneric{nrgba}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]float32, ImageNet.Len())
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = Tensor(bc.img, ImageNet, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// toGeneric hides the concrete type, forcing the At path.
type toGeneric struct{ image.Image }

// BenchmarkXImageDraw is the same work with x/image/draw.BiLinear doing the
// resize (see TestXImageDrawDifference).
func BenchmarkXImageDraw(b *testing.B) {
	ycc, nrgba := photo1024(b)
	for _, bc := range []struct {
		name string
		img  image.Image
	}{{"YCbCr420", ycc}, {"NRGBA", nrgba}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w, h := bc.img.Bounds().Dx(), bc.img.Bounds().Dy()
				rw, rh := resizedSize(w, h, ImageNet.Resize)
				resized := image.NewNRGBA(image.Rect(0, 0, rw, rh))
				draw.BiLinear.Scale(resized, resized.Bounds(), bc.img, bc.img.Bounds(), draw.Src, nil)
			}
		})
	}
}
