package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
)

// TestFeatureMap: the last block's output is what the logits come from:
// its channels averaged over positions, through the fully connected layer
// (ClassWeights and the bias), give the logits; it is empty before a Run
// and after a failed one.
func TestFeatureMap(t *testing.T) {
	cfg := arch.Config{Depth: 50, BaseWidth: 8, NumClasses: 5}
	ckpt, err := RandomCheckpoint(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	if f := s.FeatureMap(); f.Values != nil || f.H != 0 {
		t.Fatalf("before any Run: %dx%dx%d", f.H, f.W, f.C)
	}
	const h, w = 96, 64 // a 3x2 map
	input := make([]float32, h*w*3)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range input {
		input[i] = float32(r.NormFloat64())
	}
	logits, err := s.Run(input, h, w)
	if err != nil {
		t.Fatal(err)
	}
	f := s.FeatureMap()
	if f.H != 3 || f.W != 2 || f.C != 8*8*4 || len(f.Values) != f.H*f.W*f.C {
		t.Fatalf("feature map %dx%dx%d with %d values, want 3x2x256", f.H, f.W, f.C, len(f.Values))
	}
	for k, logit := range logits {
		cw, err := m.ClassWeights(k)
		if err != nil {
			t.Fatal(err)
		}
		sum := float64(m.fcB[k])
		for p := range f.H * f.W {
			for c, v := range f.Values[p*f.C : (p+1)*f.C] {
				sum += float64(cw[c]) * float64(v) / float64(f.H*f.W)
			}
		}
		if math.Abs(sum-float64(logit)) > 1e-5*math.Max(1, math.Abs(sum)) {
			t.Errorf("class %d: the feature map gives logit %g, Run %g", k, sum, logit)
		}
	}
	for _, k := range []int{-1, cfg.NumClasses} {
		if _, err := m.ClassWeights(k); err == nil {
			t.Errorf("ClassWeights(%d) of %d classes: no error", k, cfg.NumClasses)
		}
	}
	kept := f.Clone()
	if _, err := s.Run(input[:10], h, w); err == nil {
		t.Fatal("a short input ran")
	}
	if f := s.FeatureMap(); f.Values != nil {
		t.Errorf("after a failed Run the feature map is %dx%dx%d", f.H, f.W, f.C)
	}
	if &kept.Values[0] == &f.Values[0] {
		t.Error("Clone shares its values")
	}
}
