package arch

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// shapesOf returns the tensor shapes a checkpoint of c holds.
func shapesOf(t *testing.T, c Config) map[string][]int {
	t.Helper()
	n, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]int{}
	for _, ts := range n.Tensors() {
		m[ts.Name] = ts.Shape
	}
	return m
}

func TestInferEveryDepth(t *testing.T) {
	for _, depth := range []int{18, 34, 50, 101, 152} {
		want := Config{Depth: depth, Variant: V1_5, BaseWidth: 64, NumClasses: 37}
		got, err := Infer(shapesOf(t, want))
		if err != nil || got != want {
			t.Errorf("depth %d: Infer = %+v, %v; want %+v", depth, got, err, want)
		}
	}
	// The paper's v1 has the same tensors: Infer cannot tell, and says v1.5.
	v1 := Config{Depth: 50, Variant: V1, BaseWidth: 32, NumClasses: 10}
	if got, err := Infer(shapesOf(t, v1)); err != nil || got.Variant != V1_5 || got.BaseWidth != 32 {
		t.Errorf("v1 ResNet-50 of width 32: Infer = %+v, %v", got, err)
	}
}

func TestInferRefusesOtherNetworks(t *testing.T) {
	r50 := shapesOf(t, Standard(50))
	fewer := map[string][]int{}
	for n, s := range r50 {
		if !strings.HasPrefix(n, "layer3.5.") {
			fewer[n] = s
		}
	}
	r18 := shapesOf(t, Standard(18))
	delete(r18, "fc.weight")
	for _, tc := range []struct {
		name   string
		shapes map[string][]int
		want   string
	}{
		{"VGG", map[string][]int{"features.0.weight": {64, 3, 3, 3}, "features.0.bias": {64}, "classifier.0.weight": {4096, 25088}}, `not a ResNet checkpoint: it has no conv1.weight, layer1-layer4 or fc tensors; found 3 tensors such as "classifier.0.weight" [4096 25088]`},
		{"ViT", map[string][]int{"conv_proj.weight": {768, 3, 16, 16}, "encoder.layers.encoder_layer_0.ln_1.weight": {768}, "heads.head.weight": {1000, 768}}, "not a ResNet checkpoint"},
		{"nothing", map[string][]int{}, "found no tensors at all"},
		{"blocks [3 4 5 3]", fewer, "a ResNet with [3 4 5 3] Bottleneck blocks per stage is none of"},
		{"no fc", r18, "this ResNet checkpoint has no classifier: fc.weight is missing"},
		{"stem of 1 channel", map[string][]int{"conv1.weight": {64, 1, 7, 7}, "layer1.0.conv1.weight": {64, 64, 3, 3}, "fc.weight": {10, 512}}, "7x7 convolution of the 3 colour channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Infer(tc.shapes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Infer: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestBlockOf checks blockOf against the regexp it replaces: the same
// stage and block where that matches with a block index that parses, and
// nothing otherwise.
func TestBlockOf(t *testing.T) {
	re := regexp.MustCompile(`^layer([1-4])\.(\d+)\.`)
	for _, name := range []string{
		"layer1.0.conv1.weight", "layer4.12.bn2.bias", "layer3.5.downsample.0.weight", "layer0.1.conv1.weight",
		"layer5.1.conv1.weight", "layer1.x.conv1", "layer1..conv1", "layer1.0", "layer1.01.conv1", "layer2.3",
		"xlayer1.0.conv1", "layer1-0.conv1", "layer10.0.conv1", "layer1.99999999999999999999.c", "conv1.weight", "",
	} {
		var want []int
		if m := re.FindStringSubmatch(name); m != nil {
			stage, _ := strconv.Atoi(m[1])
			if block, err := strconv.Atoi(m[2]); err == nil {
				want = []int{stage, block}
			}
		}
		stage, block, ok := blockOf(name)
		var got []int
		if ok {
			got = []int{stage, block}
		}
		if !slices.Equal(got, want) {
			t.Errorf("blockOf(%q) = %v, the regexp reads %v", name, got, want)
		}
	}
}
