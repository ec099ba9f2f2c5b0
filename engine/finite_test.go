package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
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

// TestNonFiniteInt8Weights: int8 weights skip the check of every value
// only where their scales make a NaN or Inf impossible; a scale so large
// that an int8 value times it overflows still has every value checked.
func TestNonFiniteInt8Weights(t *testing.T) {
	cfg := arch.Standard(18)
	cfg.NumClasses = 10
	ckpt, err := RandomCheckpoint(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Channel 0 of conv1 quantizes to a scale of 0.995*MaxFloat32/127: its
	// values -127..127 are finite, but -128 times it is -Inf.
	ckpt.Tensors["conv1.weight"].Data[0] = -0.995 * math.MaxFloat32
	var file bytes.Buffer
	if err := checkpoint.WriteSafetensors(&file, ckpt, checkpoint.I8); err != nil {
		t.Fatal(err)
	}
	read := func(b []byte) *checkpoint.Checkpoint {
		c, err := checkpoint.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := read(file.Bytes())
	if !good.Tensors["layer1.0.conv1.weight"].AlwaysFinite() || good.Tensors["conv1.weight"].AlwaysFinite() {
		t.Fatal("AlwaysFinite: want true for an ordinary int8 tensor, false for one with a scale of 0.995*MaxFloat32/127")
	}
	for _, size := range []Option{ForInputSize(32), OnlyInputSize(32)} {
		if _, err := New(cfg, good, size); err != nil {
			t.Fatalf("New from the int8 file: %v", err)
		}
	}

	b := bytes.Clone(file.Bytes())
	b[8+binary.LittleEndian.Uint64(b)+dataOffset(t, b, "conv1.weight")] = 0x80 // -128
	bad := read(b)
	want := "tensor conv1.weight: value 0 is -Inf"
	for _, size := range []Option{ForInputSize(32), OnlyInputSize(32)} {
		if _, err := New(cfg, bad, size); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v, want %q", err, want)
		}
	}
	if _, err := Fold(cfg, bad); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Fold: %v, want %q", err, want)
	}
}

// dataOffset is where tensor name's bytes begin in a safetensors file's
// data section.
func dataOffset(t *testing.T, b []byte, name string) uint64 {
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+binary.LittleEndian.Uint64(b)], &header); err != nil {
		t.Fatal(err)
	}
	var entry struct {
		Offsets [2]uint64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(header[name], &entry); err != nil {
		t.Fatal(err)
	}
	return entry.Offsets[0]
}
