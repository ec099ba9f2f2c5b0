package preprocess

import (
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
