package arch

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// summaryRow is one line of a torchsummary table: a leaf or block module
// whose forward hook fired.
type summaryRow struct {
	kind   string // PyTorch class name, such as "Conv2d"
	shape  []int  // output shape, batch first
	params int64
}

// summaryRows lists the modules torchsummary hooks, in the order their forward
// calls finish when torchvision's ResNet runs on a batch x 3 x size x size
// input. torchsummary hooks every module except nn.Sequential, nn.ModuleList
// and the model itself, so:
//   - a block (BasicBlock, Bottleneck) comes after its children, since its
//     hook fires when its forward returns;
//   - a block's single ReLU module appears each time forward calls it;
//   - the downsample conv and BatchNorm (inside a Sequential, which itself has
//     no row) come after the block's last BatchNorm, where forward calls
//     them, just before the final ReLU.
func (n *Network) summaryRows(batch, size int) []summaryRow {
	var rows []summaryRow
	add := func(kind string, params int64, shape ...int) {
		rows = append(rows, summaryRow{kind, append([]int{batch}, shape...), params})
	}
	convBN := func(c Conv, size int) int {
		out := c.OutSize(size)
		add("Conv2d", int64(c.Out)*int64(c.In)*int64(c.Kernel)*int64(c.Kernel), c.Out, out, out)
		add("BatchNorm2d", 2*int64(c.Out), c.Out, out, out)
		return out
	}
	size = convBN(n.Stem, size)
	add("ReLU", 0, n.Stem.Out, size, size)
	size = PoolOutSize(size)
	add("MaxPool2d", 0, n.Stem.Out, size, size)
	kind := "BasicBlock"
	if n.Config.Bottleneck() {
		kind = "Bottleneck"
	}
	for _, b := range n.Blocks {
		in := size
		for i, c := range b.Convs {
			size = convBN(c, size)
			if i < len(b.Convs)-1 {
				add("ReLU", 0, c.Out, size, size)
			}
		}
		if b.Downsample != nil {
			convBN(*b.Downsample, in)
		}
		out := b.Convs[len(b.Convs)-1].Out
		add("ReLU", 0, out, size, size)
		add(kind, 0, out, size, size)
	}
	add("AdaptiveAvgPool2d", 0, n.FCIn, 1, 1)
	classes := int64(n.Config.NumClasses)
	add("Linear", int64(n.FCIn)*classes+classes, n.Config.NumClasses)
	return rows
}

// Summary returns the table that torchsummary (the pip package torchsummary,
// sksq96/pytorch-summary) prints for torchvision's ResNet with this layout:
// summary(model, (3, inputSize, inputSize), batch_size=batch), byte for byte,
// including the trailing newline. batch is -1 (torchsummary's default, shown
// as -1 in the shapes) or positive; inputSize is positive.
func (n *Network) Summary(batch, inputSize int) string {
	var sb strings.Builder
	line := func(a, b, c string) { fmt.Fprintf(&sb, "%20s  %25s %15s\n", a, b, c) }
	const dashes = "----------------------------------------------------------------\n"
	const equals = "================================================================\n"
	sb.WriteString(dashes)
	line("Layer (type)", "Output Shape", "Param #")
	sb.WriteString(equals)
	// torchsummary multiplies the output shape of every row, batch included,
	// into numpy integers. Those are 64 bits on Linux but 32 bits where numpy's
	// default integer is a C long of 32 bits (Windows): the founding document
	// printed "Forward/backward pass size (MB): 15200.01" and "Estimated Total
	// Size (MB): 15334.25" for ResNet-50 v1 at batch 64 because its 174 rows sum
	// to 2,302,671,360 output elements, which wrapped in a 32-bit counter to
	// -1,992,295,936 and was then taken as an absolute value. The right figures
	// are 17567.99 and 17702.23; we count in 64 bits.
	var totalParams, totalOutput int64
	for i, r := range n.summaryRows(batch, inputSize) {
		elems := int64(1)
		dims := make([]string, len(r.shape))
		for j, d := range r.shape {
			dims[j] = strconv.Itoa(d)
			elems *= int64(d)
		}
		line(fmt.Sprintf("%s-%d", r.kind, i+1), "["+strings.Join(dims, ", ")+"]", commas(r.params))
		totalParams += r.params
		totalOutput += elems
	}
	// Four bytes a number; the forward/backward size counts every output twice
	// (once more for its gradient). abs undoes the sign of batch -1. The order
	// of the final sum is torchsummary's, so the float rounding is the same.
	const mb = 1024 * 1024
	inputMB := math.Abs(float64(3*int64(inputSize)*int64(inputSize)*int64(batch)) * 4 / mb)
	outputMB := math.Abs(2 * float64(totalOutput) * 4 / mb)
	paramsMB := math.Abs(float64(totalParams) * 4 / mb)
	totalMB := paramsMB + outputMB + inputMB
	sb.WriteString(equals)
	fmt.Fprintf(&sb, "Total params: %s\n", commas(totalParams))
	// Every parameter of a ResNet requires a gradient.
	fmt.Fprintf(&sb, "Trainable params: %s\n", commas(totalParams))
	fmt.Fprintf(&sb, "Non-trainable params: %s\n", commas(0))
	sb.WriteString(dashes)
	fmt.Fprintf(&sb, "Input size (MB): %0.2f\n", inputMB)
	fmt.Fprintf(&sb, "Forward/backward pass size (MB): %0.2f\n", outputMB)
	fmt.Fprintf(&sb, "Params size (MB): %0.2f\n", paramsMB)
	fmt.Fprintf(&sb, "Estimated Total Size (MB): %0.2f\n", totalMB)
	sb.WriteString(dashes)
	return sb.String()
}

// commas formats v as Python's "{0:,}" does: 11,689,512.
func commas(v int64) string {
	s := strconv.FormatInt(v, 10)
	sign := ""
	if v < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

// ModuleTree returns what print(model) shows for torchvision's ResNet with
// this layout (PyTorch's nn.Module repr), byte for byte, with a trailing
// newline. Modules appear in registration order, which for a Bottleneck puts
// relu after bn3 and for a BasicBlock puts it after bn1.
func (n *Network) ModuleTree() string {
	var sb strings.Builder
	w := func(depth int, format string, a ...any) {
		sb.WriteString(strings.Repeat("  ", depth))
		fmt.Fprintf(&sb, format, a...)
		sb.WriteByte('\n')
	}
	local := func(name string) string { return name[strings.LastIndexByte(name, '.')+1:] }
	conv := func(depth int, attr string, c Conv) {
		pad := ""
		if c.Pad != 0 {
			pad = fmt.Sprintf(", padding=(%d, %d)", c.Pad, c.Pad)
		}
		w(depth, "(%s): Conv2d(%d, %d, kernel_size=(%d, %d), stride=(%d, %d)%s, bias=False)",
			attr, c.In, c.Out, c.Kernel, c.Kernel, c.Stride, c.Stride, pad)
	}
	bn := func(depth int, attr string, c int) {
		w(depth, "(%s): BatchNorm2d(%d, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", attr, c)
	}
	relu := func(depth int) { w(depth, "(relu): ReLU(inplace=True)") }

	w(0, "ResNet(")
	conv(1, local(n.Stem.Name), n.Stem)
	bn(1, local(n.Stem.BN), n.Stem.Out)
	relu(1)
	w(1, "(maxpool): MaxPool2d(kernel_size=%d, stride=%d, padding=%d, dilation=1, ceil_mode=False)", PoolKernel, PoolStride, PoolPad)
	kind := "BasicBlock"
	if n.Config.Bottleneck() {
		kind = "Bottleneck"
	}
	layer := ""
	for _, b := range n.Blocks {
		l, idx, _ := strings.Cut(b.Name, ".")
		if l != layer {
			if layer != "" {
				w(1, ")")
			}
			layer = l
			w(1, "(%s): Sequential(", l)
		}
		w(2, "(%s): %s(", idx, kind)
		for i, c := range b.Convs {
			conv(3, local(c.Name), c)
			bn(3, local(c.BN), c.Out)
			if i == 0 && !n.Config.Bottleneck() {
				relu(3)
			}
		}
		if n.Config.Bottleneck() {
			relu(3)
		}
		if d := b.Downsample; d != nil {
			w(3, "(downsample): Sequential(")
			conv(4, local(d.Name), *d)
			bn(4, local(d.BN), d.Out)
			w(3, ")")
		}
		w(2, ")")
	}
	if layer != "" {
		w(1, ")")
	}
	w(1, "(avgpool): AdaptiveAvgPool2d(output_size=(1, 1))")
	w(1, "(fc): Linear(in_features=%d, out_features=%d, bias=True)", n.FCIn, n.Config.NumClasses)
	w(0, ")")
	return sb.String()
}
