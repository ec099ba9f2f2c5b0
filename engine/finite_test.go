package engine

import (
	"math"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
)

// TestNonFiniteWeights: a NaN or Inf anywhere in the weights is refused,
// by New and by Fold (the WebGPU path), naming the tensor and the index,
// instead of giving confident wrong answers; also in taps that a model
// built for one small input leaves out (a NaN there makes PyTorch's
// answer NaN).
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
		// Tap (0, 0) of output channel 3: at 32x32 layer 4's maps are 1x1,
		// where only the centre tap of a 3x3 kernel meets a pixel.
		{"layer4.1.conv2.weight", 3 * 512 * 9, math.NaN(), "tensor layer4.1.conv2.weight: value 13824 is NaN"},
	} {
		ckpt, err := RandomCheckpoint(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		ckpt.Tensors[tc.tensor].Data[tc.index] = float32(tc.v)
		for _, size := range []Option{ForInputSize(32), OnlyInputSize(32)} {
			if _, err := New(cfg, ckpt, size); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New with %s: %v, want %q", tc.want, err, tc.want)
			}
		}
		if _, err := Fold(cfg, ckpt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Fold with %s: %v, want %q", tc.want, err, tc.want)
		}
	}
}
