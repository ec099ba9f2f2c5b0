package preprocess

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestCropImage: each pixel of the crop is the 8-bit level its tensor
// value was normalized from, padding included.
func TestCropImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(data, DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	// Crop larger than the resized height: black padding top and bottom.
	for _, s := range []Spec{ImageNet, {Resize: 40, Crop: 64, Mean: ImageNet.Mean, Std: ImageNet.Std}} {
		x, err := Tensor(img, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		crop, err := CropImage(x, s)
		if err != nil {
			t.Fatal(err)
		}
		if b := crop.Bounds(); b.Dx() != s.Crop || b.Dy() != s.Crop {
			t.Fatalf("crop is %v, want %dx%d", b, s.Crop, s.Crop)
		}
		for p := range s.Crop * s.Crop {
			for c := range 3 {
				level := crop.Pix[4*p+c]
				if got := (float32(level)/255 - s.Mean[c]) / s.Std[c]; got != x[3*p+c] {
					t.Fatalf("spec %+v, pixel %d channel %d: level %d normalizes to %g, the tensor holds %g", s, p, c, level, got, x[3*p+c])
				}
			}
			if crop.Pix[4*p+3] != 255 {
				t.Fatalf("pixel %d is not opaque", p)
			}
		}
	}
	if _, err := CropImage(make([]float32, 10), ImageNet); err == nil {
		t.Error("a 10-value tensor accepted")
	}
}

// TestCropRegion: the crop in the original picture's pixels, worked out by
// hand from torchvision's resize (shorter side, longer one truncated) and
// center crop (offsets rounded half to even, padding when larger).
func TestCropRegion(t *testing.T) {
	for _, c := range []struct {
		w, h         int
		resize, crop int
		want         Region
	}{
		// 640x480 -> 341x256 (341.33 truncated); x offset round(58.5) = 58.
		{640, 480, 256, 224, Region{X: 58 * 640.0 / 341, Y: 16 * 480.0 / 256, W: 224 * 640.0 / 341, H: 224 * 480.0 / 256}},
		// Portrait: 300x500 -> 256x426; y offset round(101) = 101.
		{300, 500, 256, 224, Region{X: 16 * 300.0 / 256, Y: 101 * 500.0 / 426, W: 224 * 300.0 / 256, H: 224 * 500.0 / 426}},
		// The bundled models: the whole 32x32 picture.
		{32, 32, 32, 32, Region{X: 0, Y: 0, W: 32, H: 32}},
		{28, 28, 32, 32, Region{X: 0, Y: 0, W: 28, H: 28}},
		// 20x10 -> 16x8, cropped to 16: 4 rows of padding above and below.
		{20, 10, 8, 16, Region{X: 0, Y: -4 * 10.0 / 8, W: 20, H: 16 * 10.0 / 8}},
	} {
		s := Spec{Resize: c.resize, Crop: c.crop}
		got := s.CropRegion(c.w, c.h)
		const eps = 1e-9
		if math.Abs(got.X-c.want.X) > eps || math.Abs(got.Y-c.want.Y) > eps || math.Abs(got.W-c.want.W) > eps || math.Abs(got.H-c.want.H) > eps {
			t.Errorf("%dx%d, resize %d, crop %d: %+v, want %+v", c.w, c.h, c.resize, c.crop, got, c.want)
		}
	}
}
