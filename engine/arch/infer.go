package arch

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// blockOf reads the stage (1 to 4) and block index of a torchvision tensor
// name: "layer3.5.conv2.weight" is block 5 of stage 3. (Plain string
// parsing, not a regexp: the browser's worker would compile one at every
// start.)
func blockOf(name string) (stage, block int, ok bool) {
	rest, ok := strings.CutPrefix(name, "layer")
	if !ok || len(rest) < 4 || rest[0] < '1' || rest[0] > '4' || rest[1] != '.' {
		return 0, 0, false
	}
	digits, _, ok := strings.Cut(rest[2:], ".")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, 0, false
	}
	block, err := strconv.Atoi(digits)
	if err != nil {
		return 0, 0, false
	}
	return int(rest[0] - '0'), block, true
}

// Infer works out which ResNet a checkpoint's tensors (name -> shape,
// torchvision's names) describe: the depth from the number of blocks in
// each stage and whether they are BasicBlocks (two 3x3 convs) or
// Bottlenecks (conv3 after a 1x1 conv1), the base width from the stem's
// output channels and the classes from fc. The stride placement cannot be
// seen in weights: the result has torchvision's V1_5. Infer only names the
// architecture; Check on the built network then finds any tensor that does
// not fit it. Errors say what was found and what a ResNet has.
func Infer(shapes map[string][]int) (Config, error) {
	stem, hasStem := shapes["conv1.weight"]
	fc, hasFC := shapes["fc.weight"]
	var blocks [4]int
	for name := range shapes {
		if stage, i, ok := blockOf(name); ok && i < 1<<10 {
			blocks[stage-1] = max(blocks[stage-1], i+1)
		}
	}
	if !hasStem || blocks == [4]int{} {
		return Config{}, fmt.Errorf("this is not a ResNet checkpoint: it has no conv1.weight, layer1-layer4 or fc tensors; found %s", describe(shapes))
	}
	if !hasFC {
		// A backbone saved for feature extraction, its fc replaced by
		// nn.Identity: it cannot name classes.
		return Config{}, errors.New("this ResNet checkpoint has no classifier: fc.weight is missing (was fc replaced, e.g. by nn.Identity for features?); save the model with its fc layer")
	}
	if len(stem) != 4 || stem[1] != 3 || stem[2] != 7 || stem[3] != 7 {
		return Config{}, fmt.Errorf("conv1.weight has shape %v; a ResNet's stem is a 7x7 convolution of the 3 colour channels, [width 3 7 7]", stem)
	}
	if len(fc) != 2 {
		return Config{}, fmt.Errorf("fc.weight has shape %v; want [classes features]", fc)
	}
	bottleneck := shapes["layer1.0.conv3.weight"] != nil
	depth := 0
	for d, counts := range blocksPerStage {
		if counts == blocks && (d >= 50) == bottleneck {
			depth = d
		}
	}
	if depth == 0 {
		kind := "BasicBlock"
		if bottleneck {
			kind = "Bottleneck"
		}
		return Config{}, fmt.Errorf("a ResNet with %v %s blocks per stage is none of ResNet-18 [2 2 2 2], ResNet-34 [3 4 6 3] (BasicBlock), ResNet-50 [3 4 6 3], ResNet-101 [3 4 23 3], ResNet-152 [3 8 36 3] (Bottleneck)", blocks, kind)
	}
	c := Config{Depth: depth, Variant: V1_5, BaseWidth: stem[0], NumClasses: fc[0]}
	return c, c.Validate()
}

// describe names a few tensors of a checkpoint that is not a ResNet, so
// that a person can tell what it is.
func describe(shapes map[string][]int) string {
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	const shown = 3
	var parts []string
	for _, n := range names[:min(shown, len(names))] {
		shape := shapes[n]
		if len(n) > 60 { // names come from the file: keep the message one line
			n = n[:57] + "..."
		}
		parts = append(parts, fmt.Sprintf("%q %v", n, shape))
	}
	if len(names) == 0 {
		return "no tensors at all"
	}
	return fmt.Sprintf("%d tensors such as %s", len(names), strings.Join(parts, ", "))
}
