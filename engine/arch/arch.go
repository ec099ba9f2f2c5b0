// Package arch describes ResNet architectures: which convolutions, blocks and
// tensors a given depth and variant has, named exactly as torchvision names
// them. It knows nothing about how the network is executed.
package arch

import (
	"fmt"
	"strings"
)

// Variant says where a Bottleneck block puts its stride.
type Variant int

const (
	// V1_5 is torchvision's layout: the stride sits on the 3x3 conv.
	V1_5 Variant = iota
	// V1 is the original paper's layout: the stride sits on the first 1x1 conv.
	V1
)

func (v Variant) String() string {
	if v == V1 {
		return "v1"
	}
	return "v1.5"
}

// ParseVariant accepts "v1" and "v1.5" (the empty string means v1.5).
func ParseVariant(s string) (Variant, error) {
	switch s {
	case "v1.5", "":
		return V1_5, nil
	case "v1":
		return V1, nil
	}
	return 0, fmt.Errorf("unknown variant %q (want v1 or v1.5)", s)
}

// Config selects one ResNet.
type Config struct {
	Depth      int     // 18, 34, 50, 101 or 152
	Variant    Variant // only matters for Bottleneck depths
	BaseWidth  int     // channels of layer1 (64 in the paper); the stem has the same
	NumClasses int     // outputs of the final fully connected layer
}

// Standard returns the paper's configuration for a depth with 1000 classes.
func Standard(depth int) Config {
	return Config{Depth: depth, Variant: V1_5, BaseWidth: 64, NumClasses: 1000}
}

// ParseName turns "resnet18" ... "resnet152" into a standard Config.
func ParseName(name string) (Config, error) {
	var depth int
	if _, err := fmt.Sscanf(strings.ToLower(name), "resnet%d", &depth); err != nil || fmt.Sprintf("resnet%d", depth) != strings.ToLower(name) {
		return Config{}, fmt.Errorf("unknown architecture %q (want resnet18, resnet34, resnet50, resnet101 or resnet152)", name)
	}
	c := Standard(depth)
	return c, c.Validate()
}

// Name is the torchvision function name, such as "resnet50".
func (c Config) Name() string { return fmt.Sprintf("resnet%d", c.Depth) }

// Bottleneck reports whether the depth uses Bottleneck blocks (50 and deeper).
func (c Config) Bottleneck() bool { return c.Depth >= 50 }

// blocksPerStage is the paper's Table 1.
var blocksPerStage = map[int][4]int{
	18:  {2, 2, 2, 2},
	34:  {3, 4, 6, 3},
	50:  {3, 4, 6, 3},
	101: {3, 4, 23, 3},
	152: {3, 8, 36, 3},
}

// MaxClasses bounds the classes of a network: checked before anything (the
// fc layer, a list of labels) is sized from a count a file declares.
const MaxClasses = 100_000

// Validate reports a configuration that does not describe a ResNet.
func (c Config) Validate() error {
	if _, ok := blocksPerStage[c.Depth]; !ok {
		return fmt.Errorf("unsupported depth %d (want 18, 34, 50, 101 or 152)", c.Depth)
	}
	if c.BaseWidth <= 0 || c.BaseWidth > 4096 {
		return fmt.Errorf("base width %d out of range", c.BaseWidth)
	}
	if c.NumClasses <= 0 || c.NumClasses > MaxClasses {
		return fmt.Errorf("number of classes %d out of range", c.NumClasses)
	}
	if c.Variant != V1 && c.Variant != V1_5 {
		return fmt.Errorf("unknown variant %d", c.Variant)
	}
	return nil
}

// Conv is one convolution followed by its BatchNorm. Convolutions in a ResNet
// have no bias; the BatchNorm supplies it.
type Conv struct {
	Name   string // tensor prefix of the conv, e.g. "layer1.0.conv1"
	BN     string // tensor prefix of its BatchNorm, e.g. "layer1.0.bn1"
	In     int    // input channels
	Out    int    // output channels
	Kernel int    // square kernel size
	Stride int
	Pad    int
}

// OutSize is the spatial output size for a square input of size n.
func (c Conv) OutSize(n int) int { return (n+2*c.Pad-c.Kernel)/c.Stride + 1 }

// Params is the number of learned values of the conv and its BatchNorm.
func (c Conv) Params() int { return c.Out*c.In*c.Kernel*c.Kernel + 2*c.Out }

// Block is one residual block: its convs in order, each followed by BN and,
// except the last, ReLU; then the shortcut is added and ReLU applied.
type Block struct {
	Name       string // e.g. "layer2.0"
	Convs      []Conv // 2 for BasicBlock, 3 for Bottleneck
	Downsample *Conv  // projection shortcut, nil for the identity
}

// Network is the full layer list of one Config.
type Network struct {
	Config Config
	Stem   Conv // 7x7/2 conv "conv1" with BN "bn1", followed by ReLU and a 3x3/2 max-pool
	Blocks []Block
	FCIn   int // features entering the fully connected layer "fc"
}

// Stem max-pool geometry, the same in every ResNet.
const (
	PoolKernel = 3
	PoolStride = 2
	PoolPad    = 1
)

// PoolOutSize is the spatial size after the stem's max-pool.
func PoolOutSize(n int) int { return (n+2*PoolPad-PoolKernel)/PoolStride + 1 }

// Build lays out every layer of c.
func (c Config) Build() (*Network, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := c.BaseWidth
	n := &Network{Config: c, Stem: Conv{Name: "conv1", BN: "bn1", In: 3, Out: w, Kernel: 7, Stride: 2, Pad: 3}}
	expansion := 1
	if c.Bottleneck() {
		expansion = 4
	}
	in := w
	for s, count := range blocksPerStage[c.Depth] {
		width := w << s
		for i := range count {
			stride := 1
			if s > 0 && i == 0 {
				stride = 2
			}
			name := fmt.Sprintf("layer%d.%d", s+1, i)
			b := Block{Name: name}
			conv := func(k, in, out, stride int) Conv {
				j := len(b.Convs) + 1
				return Conv{Name: fmt.Sprintf("%s.conv%d", name, j), BN: fmt.Sprintf("%s.bn%d", name, j),
					In: in, Out: out, Kernel: k, Stride: stride, Pad: k / 2}
			}
			out := width * expansion
			if c.Bottleneck() {
				s1, s3 := 1, stride // v1.5
				if c.Variant == V1 {
					s1, s3 = stride, 1
				}
				b.Convs = append(b.Convs, conv(1, in, width, s1))
				b.Convs = append(b.Convs, conv(3, width, width, s3))
				b.Convs = append(b.Convs, conv(1, width, out, 1))
			} else {
				b.Convs = append(b.Convs, conv(3, in, width, stride))
				b.Convs = append(b.Convs, conv(3, width, width, 1))
			}
			if stride != 1 || in != out {
				b.Downsample = &Conv{Name: name + ".downsample.0", BN: name + ".downsample.1",
					In: in, Out: out, Kernel: 1, Stride: stride}
			}
			n.Blocks = append(n.Blocks, b)
			in = out
		}
	}
	n.FCIn = in
	return n, nil
}

// Convs lists every conv in torchvision's module order: the stem, then each
// block's convs followed by its downsample.
func (n *Network) Convs() []Conv {
	convs := []Conv{n.Stem}
	for _, b := range n.Blocks {
		convs = append(convs, b.Convs...)
		if b.Downsample != nil {
			convs = append(convs, *b.Downsample)
		}
	}
	return convs
}

// Tensor names one learned tensor and its shape, as in a torchvision state_dict.
type Tensor struct {
	Name  string
	Shape []int
}

// Tensors lists every tensor a checkpoint of n must hold, in state_dict
// order. BatchNorm's num_batches_tracked is not listed: readers ignore it.
func (n *Network) Tensors() []Tensor {
	var ts []Tensor
	add := func(c Conv) {
		ts = append(ts, Tensor{c.Name + ".weight", []int{c.Out, c.In, c.Kernel, c.Kernel}})
		for _, p := range []string{"weight", "bias", "running_mean", "running_var"} {
			ts = append(ts, Tensor{c.BN + "." + p, []int{c.Out}})
		}
	}
	// torchvision registers conv, bn, conv, bn, ... so interleave them.
	for _, c := range n.Convs() {
		add(c)
	}
	ts = append(ts, Tensor{"fc.weight", []int{n.Config.NumClasses, n.FCIn}}, Tensor{"fc.bias", []int{n.Config.NumClasses}})
	return ts
}

// Params counts learned parameters as PyTorch does (running statistics are
// buffers, not parameters).
func (n *Network) Params() int {
	total := n.FCIn*n.Config.NumClasses + n.Config.NumClasses
	for _, c := range n.Convs() {
		total += c.Params()
	}
	return total
}
