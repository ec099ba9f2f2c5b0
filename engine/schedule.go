package engine

import (
	"slices"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/kernel"
)

// Schedule is the order in which a network's layers run and the buffers
// each step reads and writes: the one walk of the network that every
// backend executes (the CPU's Session, the WebGPU compiler). A Plan makes
// it for inputs of about n x n pixels (Plan.Schedule); n picks each conv's
// CPU kernel and so which outputs may overwrite their shortcut, and the
// schedule stays valid at any input size.
type Schedule struct {
	Steps []Step
}

// ActivationBuffers is how many activation buffers a Schedule passes
// around: Buffer 0 to ActivationBuffers-1. A block's input, its convs'
// outputs (two buffers, in turn) and its projected shortcut each have one.
const ActivationBuffers = 4

// Buffer names an activation buffer of a Schedule, or one of the network's
// other tensors (the negative constants).
type Buffer int

const (
	NoBuffer Buffer = -1 - iota // a conv without shortcut; a step without spare
	Image                       // the network's input, read by the stem
	Features                    // the global average pool's output, the fully connected layer's input
	Logits                      // the fully connected layer's output
)

// Op is what a step computes.
type Op int

const (
	OpConv       Op = iota // a folded conv, its bias, then Shortcut if any and ReLU
	OpDownsample           // a block's projection of its input: the shortcut its last conv adds
	OpMaxPool              // arch.PoolKernel x arch.PoolKernel, stride arch.PoolStride, padding arch.PoolPad
	OpAvgPool              // global average pool of In (the last block's output) into Features
	OpFC                   // the fully connected layer, Features to Logits
)

// Step is one layer of a Schedule.
type Step struct {
	Op    Op
	Block int // the step's index in Plan.Blocks, or -1 (stem, max-pool, head)
	Conv  int // OpConv, OpDownsample: the conv's index in Plan.Convs; else -1
	In    Buffer
	Out   Buffer
	// Shortcut is what an OpConv ending a block adds before its ReLU: the
	// block's input or its downsample's output; NoBuffer for other steps.
	Shortcut Buffer
	ReLU     bool
	// Out is Shortcut where the conv writes over its shortcut, adding each
	// shortcut value just before it stores the output there: nothing reads
	// the shortcut afterwards, and the CPU kernels can where they store each
	// output once (kernel.OutputOverResidual). Spare is then a buffer that
	// holds nothing still needed, for a backend that cannot write a buffer
	// it reads in the same step (WebGPU): it writes Spare instead and swaps
	// the names Out and Spare for the rest of the schedule. Else NoBuffer.
	Spare Buffer
	// Winograd is the CPU kernel of an OpConv or OpDownsample: 0 for a GEMM,
	// else the Winograd tile (kernel.Conv3x3WinogradRows). It decides
	// which last convs may write over their shortcut. Other backends run
	// every conv their own way (WebGPU: an implicit GEMM) and ignore it.
	Winograd kernel.WinogradTile
}

// OverShortcut reports whether step s writes over its shortcut (see Spare).
func (s Step) OverShortcut() bool { return s.Shortcut != NoBuffer && s.Out == s.Shortcut }

// The buffers the stem writes its output and the max-pool its own to; the
// blocks' buffers follow (see assignBuffers).
const (
	stemBuf Buffer = 1
	poolBuf Buffer = 0
)

// Schedule lays out p for inputs of about inputSize x inputSize pixels:
// the stem and its max-pool, then each block's downsample (if any) and
// convs, then the global average pool and the fully connected layer.
func (p *Plan) Schedule(inputSize int) Schedule {
	var s Schedule
	layer := func(op Op, in, out Buffer) Step {
		return Step{Op: op, Block: -1, Conv: -1, In: in, Out: out, Shortcut: NoBuffer, Spare: NoBuffer}
	}
	index := map[*FoldedConv]int{}
	for i, c := range p.Convs() {
		index[c] = i
	}
	conv := func(op Op, fc *FoldedConv, block int, in, out Buffer, outSide int) Step {
		st := layer(op, in, out)
		st.Block, st.Conv, st.ReLU, st.Winograd = block, index[fc], op == OpConv, winogradTile(fc.Conv, outSide)
		return st
	}

	var sizes [ActivationBuffers]int // each buffer's largest activation at this input size
	side := p.Stem.OutSize(inputSize)
	sizes[stemBuf] = side * side * p.Stem.Out
	s.Steps = append(s.Steps, conv(OpConv, &p.Stem, -1, Image, stemBuf, side), layer(OpMaxPool, stemBuf, poolBuf))
	side = arch.PoolOutSize(side)
	sizes[poolBuf] = side * side * p.Stem.Out

	x := poolBuf // the block input
	for bi := range p.Blocks {
		b := &p.Blocks[bi]
		bufs := assignBuffers(x, b, side, &sizes)
		shortcut := x
		if b.Downsample != nil {
			s.Steps = append(s.Steps, conv(OpDownsample, b.Downsample, bi, x, bufs.downsample, b.Downsample.OutSize(side)))
			shortcut = bufs.downsample
		}
		for i := range b.Convs {
			side = b.Convs[i].OutSize(side)
			st := conv(OpConv, &b.Convs[i], bi, x, bufs.convs[i], side)
			if i == len(b.Convs)-1 {
				st.Shortcut, st.Spare = shortcut, bufs.spare
			}
			s.Steps = append(s.Steps, st)
			x = st.Out
		}
	}
	s.Steps = append(s.Steps, layer(OpAvgPool, x, Features), layer(OpFC, Features, Logits))
	return s
}

// blockBuffers is which buffers a block's steps write, and the spare of
// its last conv (see Step.Spare).
type blockBuffers struct {
	convs      []Buffer
	downsample Buffer
	spare      Buffer
}

// assignBuffers picks the buffers of block b, whose input is side x side
// in buffer x: its convs alternate between two of the other three buffers
// and the downsample writes the third. Any choice is safe: the last conv
// reads the other conv buffer and the shortcut (x or the third). Where the
// CPU kernel allows it (kernel.OutputOverResidual) the last conv writes
// over the shortcut, whose values it adds as it goes and which nothing
// reads after it; else into its conv buffer. Of the roles, the one with
// the largest output takes the buffer that is largest so far (sizes,
// updated), so that the few large activations keep to the same buffers:
// ResNet-50's four buffers come to 2.25 times its largest activation
// instead of 3.25.
func assignBuffers(x Buffer, b *FoldedBlock, side int, sizes *[ActivationBuffers]int) blockBuffers {
	last := len(b.Convs) - 1
	var need [3]int // even convs, odd convs, downsample
	overShortcut := false
	for i, s := 0, side; i < len(b.Convs); i++ {
		c, in := b.Convs[i].Conv, s
		s = c.OutSize(s)
		if i == last && kernel.OutputOverResidual(geometry(c, in, in), winogradTile(c, s)) {
			overShortcut = true
			break
		}
		need[i%2] = max(need[i%2], s*s*c.Out)
	}
	if b.Downsample != nil {
		s := b.Downsample.OutSize(side)
		need[2] = s * s * b.Downsample.Out
	}
	var free []Buffer
	for i := range Buffer(ActivationBuffers) {
		if i != x {
			free = append(free, i)
		}
	}
	roles := []int{0, 1, 2}
	// Stable sorts keep the plain rotation where sizes tie.
	slices.SortStableFunc(free, func(a, b Buffer) int { return sizes[b] - sizes[a] })
	slices.SortStableFunc(roles, func(a, b int) int { return need[b] - need[a] })
	var buf [3]Buffer
	for i, r := range roles {
		buf[r] = free[i]
		sizes[free[i]] = max(sizes[free[i]], need[r])
	}
	bb := blockBuffers{downsample: buf[2], spare: NoBuffer}
	for i := range b.Convs {
		bb.convs = append(bb.convs, buf[i%2])
	}
	if overShortcut {
		// The shortcut holds an activation of the output's shape already.
		// The conv buffer the last conv would have written holds the
		// output of the conv two before it, or nothing of this block.
		bb.spare = bb.convs[last]
		bb.convs[last] = x
		if b.Downsample != nil {
			bb.convs[last] = buf[2]
		}
	}
	return bb
}

// shape is an activation's height, width and channels.
type shape struct{ h, w, c int }

// values is the number of values of an activation of shape s.
func (s shape) values() int { return s.h * s.w * s.c }

// walk calls f with every step of s in order and the shapes of its input
// and output for an h x w image, conv(i) being the conv of index i in
// Plan.Convs; Features and Logits have no shape here. It stops at f's
// first error and returns it.
func (s Schedule) walk(conv func(i int) arch.Conv, h, w int, f func(k int, st Step, in, out shape) error) error {
	var shapes [ActivationBuffers]shape
	for k, st := range s.Steps {
		var in, out shape
		switch {
		case st.In == Image:
			in = shape{h, w, conv(st.Conv).In}
		case st.In >= 0:
			in = shapes[st.In]
		}
		switch st.Op {
		case OpConv, OpDownsample:
			g := geometry(conv(st.Conv), in.h, in.w)
			out = shape{g.OutH(), g.OutW(), g.OutC}
		case OpMaxPool:
			out = shape{arch.PoolOutSize(in.h), arch.PoolOutSize(in.w), in.c}
		}
		if st.Out >= 0 {
			shapes[st.Out] = out
		}
		if err := f(k, st, in, out); err != nil {
			return err
		}
	}
	return nil
}
