package preprocess

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeTensor: any bytes either fail to decode with an error, or
// decode within the pixel budget and become a tensor of the spec's shape
// whose values are finite.
func FuzzDecodeTensor(f *testing.F) {
	for _, name := range []string{"tiny.png", "tiny.jpg", "tiny.gif", "tiny.bmp", "tiny.tif", "tiny.webp", "tiny_lossy.webp", "orient_6.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	const budget = 1 << 16 // small, so that the fuzzer explores sizes around it
	spec := Spec{Resize: 20, Crop: 16, Mean: ImageNet.Mean, Std: ImageNet.Std}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(data, budget)
		if err != nil {
			return
		}
		if b := img.Bounds(); b.Dx()*b.Dy() > budget || b.Dx() <= 0 || b.Dy() <= 0 {
			t.Fatalf("decoded %v, outside the budget of %d pixels", b, budget)
		}
		x, err := Tensor(img, spec, nil)
		if err != nil {
			return
		}
		if len(x) != spec.Len() {
			t.Fatalf("tensor of %d values, want %d", len(x), spec.Len())
		}
		for i, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("value %d is %v", i, v)
			}
		}
	})
}
