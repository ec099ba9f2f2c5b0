package engine

import (
	"math"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
)

// TestNonFiniteWeights: a NaN or Inf anywhere in the weights is refused,
// by New and by Fold (the WebGPU path), naming the tensor and the index,
// instead of giving confident wrong answers.
func TestNonFiniteWeights(t *testing.T) {
	cfg := arch.Standard(18)
	cfg.NumClasses = 10
	for _, tc := range []struct {
		tensor string
		index  int
		v      float64
		want   string
	}{
		{"conv1.weight", 5, math.Inf(1), "tensor conv1.weight: value 5 is +Inf"},
		{"layer3.1.conv2.weight", 40000, math.NaN(), "tensor layer3.1.conv2.weight: value 40000 is NaN"},
		{"layer2.0.bn1.running_var", 3, math.NaN(), "tensor layer2.0.bn1.running_var: value 3 is NaN"},
		{"bn1.weight", 0, math.Inf(-1), "tensor bn1.weight: value 0 is -Inf"},
		{"fc.bias", 1, math.Inf(-1), "tensor fc.bias: value 1 is -Inf"},
	} {
		ckpt, err := RandomCheckpoint(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		ckpt.Tensors[tc.tensor].Data[tc.index] = float32(tc.v)
		if _, err := New(cfg, ckpt, ForInputSize(32)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New with %s: %v, want %q", tc.want, err, tc.want)
		}
		if _, err := Fold(cfg, ckpt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Fold with %s: %v, want %q", tc.want, err, tc.want)
		}
	}
}
