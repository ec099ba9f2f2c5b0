package cam

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/internal/goldens"
)

// goldenFeatures loads network name from dir and runs it on its CAM input
// with the CPU engine.
func goldenFeatures(t *testing.T, dir, name string) (goldens.Network, *engine.Model, engine.FeatureMap) {
	t.Helper()
	g, cfg, ckpt := goldens.Load(t, dir, name, ".safetensors")
	m, err := engine.New(cfg, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	h, w := g.CAM.Input[0], g.CAM.Input[1]
	input := goldens.CHWToHWC(goldens.ReadF32(t, filepath.Join(dir, g.CAM.InputFile)), 3, h, w)
	s := m.NewSession()
	if _, err := s.Run(input, h, w); err != nil {
		t.Fatal(err)
	}
	fm := s.FeatureMap()
	if fm.H != g.CAM.Map[0] || fm.W != g.CAM.Map[1] || fm.C != g.CAM.Channels {
		t.Fatalf("feature map %dx%dx%d, PyTorch's layer4 is %dx%dx%d", fm.H, fm.W, fm.C, g.CAM.Map[0], g.CAM.Map[1], g.CAM.Channels)
	}
	return g, m, fm
}

// within fails unless every value of got is within tol times the largest
// |want| of want, and returns that ratio.
func within(t *testing.T, what string, got, want []float32, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var worst, scale float64
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if worst > tol*scale || math.IsNaN(worst) {
		t.Errorf("%s: max |diff| %.3g, over %.0e x the largest |value| %.3g", what, worst, tol, scale)
	}
	return worst / scale
}

// checkAgainstPyTorch compares the CPU engine's layer4 output, every
// class's activation map and the top class's map as displayed (normalized,
// resized to the input) with PyTorch's, each within 1e-4 of its largest
// magnitude.
func checkAgainstPyTorch(t *testing.T, dir, name string) {
	goldens.Require(t, dir, name+".cam.f32")
	g, m, fm := goldenFeatures(t, dir, name)
	mh, mw, c := g.CAM.Map[0], g.CAM.Map[1], g.CAM.Channels
	ratio := within(t, "layer4", fm.Values, goldens.CHWToHWC(goldens.ReadF32(t, filepath.Join(dir, name+".layer4.f32")), c, mh, mw), 1e-4)
	t.Logf("layer4 (%dx%dx%d): max |diff| / largest = %.3g", mh, mw, c, ratio)

	cams := goldens.ReadF32(t, filepath.Join(dir, name+".cam.f32"))
	var worst float64
	for k := range g.Classes {
		w, err := m.ClassWeights(k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Compute(fm, w)
		if err != nil {
			t.Fatal(err)
		}
		if got.H != mh || got.W != mw {
			t.Fatalf("class %d: a %dx%d map, want %dx%d", k, got.H, got.W, mh, mw)
		}
		worst = max(worst, within(t, fmt.Sprintf("class %d", k), got.Values, cams[k*mh*mw:(k+1)*mh*mw], 1e-4))
	}
	t.Logf("CAMs of all %d classes: worst max |diff| / largest |value| of a map = %.3g", g.Classes, worst)

	w, _ := m.ClassWeights(g.CAM.Top)
	top, _ := Compute(fm, w)
	shown := top.Normalized().Resize(g.CAM.Input[0], g.CAM.Input[1])
	ratio = within(t, "top class, normalized and resized", shown.Values, goldens.ReadF32(t, filepath.Join(dir, name+".cam-up.f32")), 1e-4)
	t.Logf("top class %d normalized and resized to %dx%d: max |diff| = %.3g", g.CAM.Top, g.CAM.Input[0], g.CAM.Input[1], ratio)
}

// TestSmallGoldenCAMs checks the committed narrow networks' maps (80x48
// input, 3x2 maps) against PyTorch's.
func TestSmallGoldenCAMs(t *testing.T) {
	for _, name := range []string{"resnet18-w8", "resnet50-w8", "resnet50-w8-v1"} {
		t.Run(name, func(t *testing.T) { checkAgainstPyTorch(t, filepath.Join("..", "testdata"), name) })
	}
}

// TestFullGoldenCAMs checks torchvision's ResNet-18 and ResNet-50 (v1.5
// and v1) at 224x224, 7x7 maps of 1000 classes, against PyTorch's.
func TestFullGoldenCAMs(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size goldens skipped in -short mode")
	}
	for _, name := range []string{"resnet18", "resnet50", "resnet50-v1"} {
		t.Run(name, func(t *testing.T) { checkAgainstPyTorch(t, goldens.LargeDir(2), name) })
	}
}
