package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
)

// bnEpsilon is torchvision's BatchNorm2d default.
const bnEpsilon = 1e-5

// Plan is a network with every BatchNorm folded into its convolution: what
// each backend executes, in the order and with the buffers its Schedule
// gives. The CPU backend packs it for its GEMM kernels; the WebGPU backend
// uploads it. Within a block, each conv but the last is
// followed by ReLU; the last adds the shortcut (the block input, or the
// downsample's output) and then applies ReLU.
type Plan struct {
	Config   arch.Config
	Stem     FoldedConv // followed by ReLU and the 3x3/2 max-pool
	Blocks   []FoldedBlock
	Features int       // inputs of the fully connected layer
	FCWeight []float32 // [classes][features], PyTorch's Linear layout
	FCBias   []float32
}

// FoldedConv is one convolution with its BatchNorm folded in.
type FoldedConv struct {
	arch.Conv
	Weight []float32 // [Out][In][Kernel][Kernel] (OIHW), scaled by the BatchNorm
	Bias   []float32 // [Out], the BatchNorm's shift
}

// Trimmed returns fc cut, for an h x w input, to the taps that read a
// pixel from some output position (see OnlyInputSize): a smaller kernel
// with less padding and the same output, its weights copied (if it has
// any: a plan's outline has none); or fc itself where every tap reads one.
func (fc *FoldedConv) Trimmed(h, w int) *FoldedConv {
	c, first := trimmed(fc.Conv, h, w)
	if c.Kernel == fc.Kernel {
		return fc
	}
	t := &FoldedConv{Conv: c, Bias: fc.Bias}
	if fc.Weight != nil {
		t.Weight = make([]float32, c.Out*c.In*c.Kernel*c.Kernel)
		keepTaps(t.Weight, fc.Weight, c.In, taps{k: fc.Kernel, first: first, t: c.Kernel}, nil, nil)
	}
	return t
}

// FoldedBlock is one residual block.
type FoldedBlock struct {
	Convs      []FoldedConv
	Downsample *FoldedConv // nil: the shortcut is the block's input
}

// Fold checks ckpt against cfg strictly and folds every BatchNorm into the
// convolution before it.
func Fold(cfg arch.Config, ckpt *checkpoint.Checkpoint) (*Plan, error) {
	p, err := outline(cfg, ckpt)
	if err != nil {
		return nil, err
	}
	for _, fc := range p.Convs() {
		if *fc, err = foldBatchNorm(fc.Conv, ckpt.Tensors); err != nil {
			return nil, err
		}
	}
	return p, fullyConnected(p, ckpt)
}

// outline checks ckpt against cfg strictly and returns the plan without
// weights: the convolutions not folded yet (no Weight or Bias), and no
// fully connected layer.
func outline(cfg arch.Config, ckpt *checkpoint.Checkpoint) (*Plan, error) {
	net, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	if err := ckpt.Check(net.Tensors()); err != nil {
		return nil, fmt.Errorf("checkpoint does not fit %s (%s): %w", cfg.Name(), cfg.Variant, err)
	}
	return layout(net), nil
}

// fullyConnected reads ckpt's fully connected layer into p. It is read
// after the convolutions, in the order of torchvision's files, which end
// with it: a model built while its file downloads (wasm/) then waits for
// each tensor as late as it can.
func fullyConnected(p *Plan, ckpt *checkpoint.Checkpoint) error {
	p.FCWeight, p.FCBias = ckpt.Tensors["fc.weight"].Values(), ckpt.Tensors["fc.bias"].Values()
	return errors.Join(finite("fc.weight", p.FCWeight, 0), finite("fc.bias", p.FCBias, 0))
}

// Layout returns cfg's plan without weights (no conv's Weight or Bias, no
// FCWeight or FCBias): enough for its Schedule, not to run.
func Layout(cfg arch.Config) (*Plan, error) {
	net, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	return layout(net), nil
}

// layout is net's plan without weights.
func layout(net *arch.Network) *Plan {
	p := &Plan{Config: net.Config, Stem: FoldedConv{Conv: net.Stem}, Features: net.FCIn}
	for _, b := range net.Blocks {
		var fb FoldedBlock
		for _, c := range b.Convs {
			fb.Convs = append(fb.Convs, FoldedConv{Conv: c})
		}
		if b.Downsample != nil {
			fb.Downsample = &FoldedConv{Conv: *b.Downsample}
		}
		p.Blocks = append(p.Blocks, fb)
	}
	return p
}

// Convs lists the plan's convolutions in torchvision's module order (as
// arch.Network.Convs): the stem, then each block's convs and its
// downsample. A Schedule's steps name convs by their index here.
func (p *Plan) Convs() []*FoldedConv {
	all := []*FoldedConv{&p.Stem}
	for i := range p.Blocks {
		b := &p.Blocks[i]
		for j := range b.Convs {
			all = append(all, &b.Convs[j])
		}
		if b.Downsample != nil {
			all = append(all, b.Downsample)
		}
	}
	return all
}

// foldBatchNorm merges y = gamma*(conv(x)-mean)/sqrt(var+eps) + beta into
// the conv: each output channel's weights are scaled and a bias appears.
// The weights are scaled in the slice they are decoded into, which saves a
// copy of each conv.
func foldBatchNorm(c arch.Conv, t map[string]*checkpoint.Tensor) (FoldedConv, error) {
	scale, bias, err := batchNorm(c, t)
	if err != nil {
		return FoldedConv{}, err
	}
	wt := t[c.Name+".weight"]
	w := wt.OwnedValues()
	if !wt.AlwaysFinite() {
		if err := finite(c.Name+".weight", w, 0); err != nil {
			return FoldedConv{}, err
		}
	}
	scaleRows(w, scale, c.In*c.Kernel*c.Kernel)
	return FoldedConv{Conv: c, Weight: w, Bias: bias}, nil
}

// foldedRows is foldBatchNorm for a CPU model (see New): it decodes
// output channels as they are asked for, from the file, and scales only
// the taps that build keeps. An int8 tensor's values are converted only
// there too, and need no check where its scales cannot make a NaN or an
// Inf (checkpoint.Tensor.AlwaysFinite).
func foldedRows(c arch.Conv, t map[string]*checkpoint.Tensor) (convWeights, error) {
	scale, bias, err := batchNorm(c, t)
	if err != nil {
		return convWeights{}, err
	}
	w, name := t[c.Name+".weight"], c.Name+".weight"
	per := c.In * c.Kernel * c.Kernel
	if quant := w.Scales(); quant != nil && w.AlwaysFinite() {
		var whole []int8
		return convWeights{bias: bias, rows: func(dst []float32, o0 int, kept taps) {
			n := len(dst) / (c.In * kept.t * kept.t) // output channels
			whole = slices.Grow(whole[:0], n*per)[:n*per]
			w.DecodeInt8(whole, o0*per)
			keepTaps(dst, whole, c.In, kept, quant[o0:], scale[o0:])
		}}, nil
	}
	var whole []float32
	var bad error // the first NaN or Inf met, checked where the panels are decoded anyway
	return convWeights{bias: bias, rows: func(dst []float32, o0 int, kept taps) {
		n := len(dst) / (c.In * kept.t * kept.t)
		whole = slices.Grow(whole[:0], n*per)[:n*per]
		w.Decode(whole, o0*per)
		if bad == nil {
			bad = finite(name, whole, o0*per)
		}
		keepTaps(dst, whole, c.In, kept, nil, scale[o0:])
	}, err: func() error { return bad }}, nil
}

// finite names the first NaN or Inf of values from..from+len(v) of a
// tensor: such a weight makes every answer wrong, confidently.
func finite(name string, v []float32, from int) error {
	if i := checkpoint.FirstNonFinite(v); i >= 0 {
		return checkpoint.NonFiniteError(name, from+i, v[i])
	}
	return nil
}

// batchNorm returns each output channel's scale, gamma/sqrt(var+eps), and
// the bias beta - mean*scale that fold conv c's BatchNorm into it. The
// arithmetic is in float64 so that folding adds no error of its own.
func batchNorm(c arch.Conv, t map[string]*checkpoint.Tensor) (scale []float64, bias []float32, err error) {
	gamma, beta := t[c.BN+".weight"].Values(), t[c.BN+".bias"].Values()
	mean, variance := t[c.BN+".running_mean"].Values(), t[c.BN+".running_var"].Values()
	for _, p := range []struct {
		name string
		v    []float32
	}{{"weight", gamma}, {"bias", beta}, {"running_mean", mean}, {"running_var", variance}} {
		if err := finite(c.BN+"."+p.name, p.v, 0); err != nil {
			return nil, nil, err
		}
	}
	scale, bias = make([]float64, c.Out), make([]float32, c.Out)
	for o := range c.Out {
		if variance[o] < 0 {
			return nil, nil, fmt.Errorf("tensor %s.running_var[%d] is negative (%g)", c.BN, o, variance[o])
		}
		scale[o] = float64(gamma[o]) / math.Sqrt(float64(variance[o])+bnEpsilon)
		bias[o] = float32(float64(beta[o]) - float64(mean[o])*scale[o])
	}
	return scale, bias, nil
}

// scaleRows multiplies the OIHW weights w, whole output channels of per
// values each, by their scale (channel i of w by scale[i]).
func scaleRows(w []float32, scale []float64, per int) {
	for o := range len(w) / per {
		s := scale[o]
		row := w[o*per:][:per]
		for i, v := range row {
			row[i] = float32(float64(v) * s)
		}
	}
}
