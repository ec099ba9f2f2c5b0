package preprocess

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"testing"
)

func TestResizedSize(t *testing.T) {
	for _, tc := range []struct{ w, h, size, rw, rh int }{
		{640, 427, 256, 383, 256}, // int(256*640/427) = int(383.7)
		{427, 640, 256, 256, 383},
		{1411, 1411, 256, 256, 256},
		{1024, 768, 256, 341, 256},
		{28, 28, 32, 32, 32},
		{20, 14, 20, 28, 20},
		{1, 3000, 256, 256, 768000},
	} {
		if rw, rh := resizedSize(tc.w, tc.h, tc.size); rw != tc.rw || rh != tc.rh {
			t.Errorf("resizedSize(%d, %d, %d) = %d, %d, want %d, %d", tc.w, tc.h, tc.size, rw, rh, tc.rw, tc.rh)
		}
	}
}

func TestCropOffset(t *testing.T) {
	for _, tc := range []struct{ n, c, want int }{
		{256, 224, 16},
		{257, 224, 16}, // round(16.5) = 16
		{259, 224, 18}, // round(17.5) = 18
		{383, 224, 80}, // round(79.5) = 80
		{224, 224, 0},
		{20, 24, -2},
		{21, 24, -1}, // pads 1 before, 2 after
	} {
		if got := cropOffset(tc.n, tc.c); got != tc.want {
			t.Errorf("cropOffset(%d, %d) = %d, want %d", tc.n, tc.c, got, tc.want)
		}
	}
}

func TestTensorReusesDst(t *testing.T) {
	img := mustDecode(t, "tiny.png")
	buf := make([]float32, 10, ImageNet.Len()+5)
	out, err := Tensor(img, ImageNet, buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != ImageNet.Len() || &out[0] != &buf[:1][0] {
		t.Errorf("dst with enough capacity not reused (len %d)", len(out))
	}
	small := make([]float32, 3)
	out, err = Tensor(img, ImageNet, small)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != ImageNet.Len() || &out[0] == &small[0] {
		t.Errorf("short dst: len %d", len(out))
	}
	// Reuse must not leak the previous content (padding included).
	pad := imageNetSized(20, 24)
	dirty := make([]float32, pad.Len())
	for i := range dirty {
		dirty[i] = float32(math.NaN())
	}
	got, _ := Tensor(img, pad, dirty)
	want, _ := Tensor(img, pad, nil)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("reused dst differs at %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestTensorInvalid(t *testing.T) {
	img := mustDecode(t, "tiny.png")
	for _, tc := range []struct {
		img  image.Image
		spec Spec
		want string
	}{
		{img, Spec{Resize: 0, Crop: 224, Std: ImageNet.Std}, "invalid spec"},
		{img, Spec{Resize: 256, Crop: -1, Std: ImageNet.Std}, "invalid spec"},
		{img, Spec{Resize: 256, Crop: 224}, "Std[0] is 0"},
		{img, Spec{Resize: 1 << 20, Crop: 224, Std: ImageNet.Std}, "invalid spec"},
		{nil, ImageNet, "nil image"},
		{image.NewNRGBA(image.Rect(0, 0, 0, 5)), ImageNet, "empty image"},
		{image.NewGray(image.Rect(0, 0, 1, 1<<17)), ImageNet, "too elongated"},
	} {
		_, err := Tensor(tc.img, tc.spec, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Tensor(%+v) err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// nrgbaPhoto returns chelsea.png as an opaque *image.NRGBA.
func nrgbaPhoto(t *testing.T) *image.NRGBA {
	t.Helper()
	return toNRGBA(mustDecode(t, "chelsea.png"))
}

func tensorOf(t *testing.T, img image.Image) []float32 {
	t.Helper()
	out, err := Tensor(img, ImageNet, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equalTensors(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if mean, maxAbs := diffStats(got, want); maxAbs != 0 {
		t.Errorf("%s: differs (mean %g, max %g)", what, mean, maxAbs)
	}
}

// TestColorModels checks that every way of holding the same colors gives
// the same tensor, the fast paths included.
func TestColorModels(t *testing.T) {
	src := nrgbaPhoto(t)
	want := tensorOf(t, src)

	equalTensors(t, "generic At path", tensorOf(t, toGeneric{src}), want)
	rgba := &image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
	equalTensors(t, "*image.RGBA, opaque", tensorOf(t, rgba), want)

	// Alpha is dropped, as PIL's convert("RGB") does: the straight color
	// counts, whatever the alpha.
	translucent := image.NewNRGBA(src.Rect)
	copy(translucent.Pix, src.Pix)
	for i := 3; i < len(translucent.Pix); i += 4 {
		translucent.Pix[i] = uint8(i / 4 % 256)
	}
	for i := 0; i < len(translucent.Pix); i += 4 * 7 {
		translucent.Pix[i+3] = 0
	}
	equalTensors(t, "*image.NRGBA with alpha", tensorOf(t, translucent), want)
	equalTensors(t, "NRGBA with alpha through At", tensorOf(t, toGeneric{translucent}), want)

	// Premultiplied: un-premultiplied first; exact when alpha is 255,
	// within rounding otherwise.
	pre := image.NewRGBA(src.Rect)
	draw.Draw(pre, pre.Rect, translucent, image.Point{}, draw.Src)
	got := tensorOf(t, pre)
	if mean, _ := diffStats(got, tensorOf(t, toGeneric{pre})); mean != 0 {
		t.Errorf("*image.RGBA translucent: fast path differs from At (mean %g)", mean)
	}

	// Gray repeats to three channels.
	gray := image.NewGray(src.Rect)
	grayRGB := image.NewNRGBA(src.Rect)
	for i := range gray.Pix {
		v := src.Pix[i*4+1]
		gray.Pix[i] = v
		copy(grayRGB.Pix[i*4:], []uint8{v, v, v, 255})
	}
	wantGray := tensorOf(t, grayRGB)
	equalTensors(t, "*image.Gray", tensorOf(t, gray), wantGray)
	equalTensors(t, "Gray through At", tensorOf(t, toGeneric{gray}), wantGray)
	gray16 := image.NewGray16(src.Rect)
	draw.Draw(gray16, gray16.Rect, gray, image.Point{}, draw.Src)
	equalTensors(t, "*image.Gray16", tensorOf(t, gray16), wantGray)

	// Paletted: looked up.
	pal := image.NewPaletted(src.Rect, color.Palette{color.Gray{0}})
	palRGB := image.NewNRGBA(src.Rect)
	pal.Palette = nil
	for i := range 256 {
		pal.Palette = append(pal.Palette, color.NRGBA{uint8(i), uint8(255 - i), uint8(i / 2), 255})
	}
	for i := range pal.Pix {
		v := src.Pix[i*4]
		pal.Pix[i] = v
		copy(palRGB.Pix[i*4:], []uint8{v, 255 - v, v / 2, 255})
	}
	equalTensors(t, "*image.Paletted", tensorOf(t, pal), tensorOf(t, palRGB))

	// CMYK goes through At and Go's conversion.
	cmyk := image.NewCMYK(src.Rect)
	draw.Draw(cmyk, cmyk.Rect, src, image.Point{}, draw.Src)
	if mean, _ := diffStats(tensorOf(t, cmyk), want); mean > 0.01 {
		t.Errorf("*image.CMYK: mean diff %g", mean)
	}
}

func TestYCbCrVariants(t *testing.T) {
	ycc := mustDecode(t, "jpeg420_odd.jpg").(*image.YCbCr)
	want := tensorOf(t, toNRGBA(ycc))
	equalTensors(t, "*image.YCbCr", tensorOf(t, ycc), want)
	a := &image.NYCbCrA{YCbCr: *ycc, A: make([]uint8, len(ycc.Y)), AStride: ycc.YStride}
	equalTensors(t, "*image.NYCbCrA (alpha dropped)", tensorOf(t, a), want)
}

// TestSubImages checks that bounds not at the origin are honored.
func TestSubImages(t *testing.T) {
	src := nrgbaPhoto(t)
	r := image.Rect(31, 17, 31+301, 17+203)
	sub := src.SubImage(r).(*image.NRGBA)
	equalTensors(t, "NRGBA SubImage", tensorOf(t, sub), tensorOf(t, toNRGBA(sub)))

	ycc := mustDecode(t, "rocket.jpg").(*image.YCbCr) // 4:4:4
	ysub := ycc.SubImage(image.Rect(33, 21, 33+400, 21+300)).(*image.YCbCr)
	equalTensors(t, "YCbCr SubImage", tensorOf(t, ysub), tensorOf(t, toNRGBA(ysub)))
	ycc = mustDecode(t, "retina.jpg").(*image.YCbCr) // 4:2:0
	ysub = ycc.SubImage(image.Rect(300, 200, 300+501, 200+401)).(*image.YCbCr)
	equalTensors(t, "YCbCr 4:2:0 SubImage", tensorOf(t, ysub), tensorOf(t, toNRGBA(ysub)))
}
