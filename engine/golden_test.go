package engine

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inbrowser/resnet/internal/goldens"
)

func loadGolden(t *testing.T, dir, name, weightsExt string) (*Model, []float32, []float32, int) {
	t.Helper()
	g, cfg, ckpt := goldens.Load(t, dir, name, weightsExt)
	m, err := New(cfg, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	input := goldens.CHWToHWC(goldens.ReadF32(t, filepath.Join(dir, name+".input.f32")), 3, g.Input, g.Input)
	return m, input, goldens.ReadF32(t, filepath.Join(dir, name+".logits.f32")), g.Input
}

// checkLogits applies the project's accuracy bar: every logit within 1e-4 of
// the largest reference magnitude, and the same top-5 classes in order.
func checkLogits(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d logits, want %d", len(got), len(want))
	}
	var scale, worst float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("max |logit diff| = %.3g, largest |logit| = %.3g, ratio %.3g", worst, scale, worst/scale)
	if worst > 1e-4*scale {
		t.Errorf("logits differ from PyTorch by %.3g, over 1e-4 x %.3g", worst, scale)
	}
	k := min(5, len(want))
	g, w := TopK(got, k), TopK(want, k)
	for i := range k {
		if g[i].Index != w[i].Index {
			t.Errorf("top-%d differs: got %v, PyTorch %v", k, g, w)
			break
		}
	}
}

func runGolden(t *testing.T, dir, name string) {
	goldens.Require(t, dir, name+".json")
	var first []float32 // logits of the first format, to compare the others with
	for _, ext := range []string{".safetensors", ".pth"} {
		if _, err := os.Stat(filepath.Join(dir, name+ext)); err != nil {
			continue
		}
		t.Run(ext, func(t *testing.T) {
			m, input, want, size := loadGolden(t, dir, name, ext)
			logits, err := m.NewSession().Run(input, size, size)
			if err != nil {
				t.Fatal(err)
			}
			checkLogits(t, logits, want)
			if first == nil {
				first = append([]float32(nil), logits...)
				return
			}
			for i := range first {
				if logits[i] != first[i] {
					t.Fatalf("logit %d from %s is %g, from .safetensors %g: the formats must load identically", i, ext, logits[i], first[i])
				}
			}
		})
	}
}

// TestSmallGoldens runs the committed narrow ResNets (base width 8, 32x32).
func TestSmallGoldens(t *testing.T) {
	for _, name := range []string{"resnet18-w8", "resnet50-w8", "resnet50-w8-v1"} {
		t.Run(name, func(t *testing.T) { runGolden(t, "testdata", name) })
	}
}

// TestFullGoldens runs full-size torchvision ResNet-18, ResNet-50 and a v1
// ResNet-50 at 224x224 against PyTorch.
func TestFullGoldens(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size goldens skipped in -short mode")
	}
	for _, name := range []string{"resnet18", "resnet50", "resnet50-v1"} {
		t.Run(name, func(t *testing.T) { runGolden(t, goldens.LargeDir(1), name) })
	}
}
