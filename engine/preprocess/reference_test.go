package preprocess

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Fashion32 is the pipeline of the bundled Fashion-MNIST models as the
// reference was made with it (see testdata/make_reference.py).
var fashion32 = Spec{
	Resize: 32,
	Crop:   32,
	Mean:   [3]float32{0.2860, 0.2860, 0.2860},
	Std:    [3]float32{0.3530, 0.3530, 0.3530},
}

// referenceCases are the fixtures with a torchvision reference tensor in
// testdata/ref_<name>.f32.gz, with the largest mean and largest single
// absolute difference each is allowed (in normalized units: one 8-bit
// level is about 0.017 after ImageNet's std). PNG and WebP inputs decode to
// the same pixels in Go and PIL, so they must match exactly; JPEG inputs
// carry the differences of the two JPEG decoders' IDCTs. The JPEG budgets
// are about 1.5x what was measured (Go 1.27, with and without
// GOEXPERIMENT=simd; the numbers are in the comments), so that a
// systematic change such as chroma rounded one level off fails instead of
// hiding under a loose budget.
var referenceCases = []struct {
	name, file      string
	spec            Spec
	maxMean, maxAbs float64
}{
	{"rocket", "rocket.jpg", ImageNet, 0.00067, 0.053},                   // 4:4:4 JPEG photo; measured mean 0.000447, max 0.0350
	{"retina", "retina.jpg", ImageNet, 0.00067, 0.053},                   // 4:2:0 JPEG photo; measured mean 0.000443, max 0.0349
	{"chelsea", "chelsea.png", ImageNet, 1e-6, 1e-6},                     // PNG photo
	{"astronaut_exif6", "astronaut_exif6.jpg", ImageNet, 0.00086, 0.078}, // EXIF orientation 6; measured mean 0.000575, max 0.0523
	{"coffee_webp", "coffee.webp", ImageNet, 1e-6, 1e-6},                 // lossy WebP photo
	{"gray28", "gray28.png", fashion32, 1e-6, 1e-6},                      // upscaled 28x28 gray
	{"tiny_pad24", "tiny.png", imageNetSized(20, 24), 1e-6, 1e-6},        // crop larger than the image
	{"tiny_crop15", "tiny.png", imageNetSized(20, 15), 1e-6, 1e-6},       // crop offsets round half to even
}

func imageNetSized(resize, crop int) Spec {
	s := ImageNet
	s.Resize, s.Crop = resize, crop
	return s
}

// readReference reads a gzip-compressed little-endian float32 NCHW tensor
// (1x3xcxc) and returns it as NHWC.
func readReference(t testing.TB, name string, c int) []float32 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ref_"+name+".f32.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 3*c*c*4 {
		t.Fatalf("reference %s has %d bytes, want %d", name, len(raw), 3*c*c*4)
	}
	nhwc := make([]float32, 3*c*c)
	for ch := range 3 {
		for i := range c * c {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[(ch*c*c+i)*4:]))
			nhwc[i*3+ch] = v
		}
	}
	return nhwc
}

func diffStats(a, b []float32) (mean, maxAbs float64) {
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		mean += d
		maxAbs = max(maxAbs, d)
	}
	return mean / float64(len(a)), maxAbs
}

func decodeFile(t testing.TB, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestMatchesTorchvision(t *testing.T) {
	for _, tc := range referenceCases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(decodeFile(t, tc.file), 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Tensor(img, tc.spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := readReference(t, tc.name, tc.spec.Crop)
			if len(got) != len(want) {
				t.Fatalf("len %d, want %d", len(got), len(want))
			}
			mean, maxAbs := diffStats(got, want)
			t.Logf("%s (%T %v): mean abs diff %.6f, max abs diff %.6f", tc.file, img, img.Bounds().Size(), mean, maxAbs)
			if mean > tc.maxMean {
				t.Errorf("mean abs diff %.6f > %g", mean, tc.maxMean)
			}
			if maxAbs > tc.maxAbs {
				t.Errorf("max abs diff %.6f > %g", maxAbs, tc.maxAbs)
			}
		})
	}
}

// TestResampleExact checks the resampler against Pillow: fed the very
// pixels PIL decoded (PNG and WebP files), every output value must be the
// same float32.
func TestResampleExact(t *testing.T) {
	for _, tc := range referenceCases {
		if filepath.Ext(tc.file) == ".jpg" {
			continue
		}
		img, err := Decode(decodeFile(t, tc.file), 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Tensor(img, tc.spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := readReference(t, tc.name, tc.spec.Crop)
		if !bytes.Equal(f32bytes(got), f32bytes(want)) {
			_, maxAbs := diffStats(got, want)
			t.Errorf("%s: not bit-identical to torchvision (max abs diff %g)", tc.file, maxAbs)
		}
	}
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
