package webgpu

import (
	"fmt"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
)

// bufferID names one of a program's activation buffers.
type bufferID int

// noBuffer marks an absent residual.
const noBuffer bufferID = -1

// buffer is one activation buffer. Values are counted in the padded layout
// (a multiple of 4).
type buffer struct {
	values int
	exact  bool // always float32: the logits and probabilities the caller reads
}

type opKind int

const (
	opImage    opKind = iota // image.wgsl: the caller's image to the padded input layout
	opConv                   // conv2d.wgsl: implicit GEMM with the bias, residual and ReLU epilogue
	opSplitSum               // splitsum.wgsl: adds a split-K conv's partial sums, then its epilogue
	opMatVec                 // matvec.wgsl: the fully connected layer
	opMaxPool                // maxpool.wgsl
	opAvgPool                // avgpool.wgsl: global average over positions
	opSoftmax                // softmax.wgsl
)

// step is one dispatch: op reads src (an inH x inW x channels NHWC tensor,
// channels padded to 4) and writes dst.
type step struct {
	op           opKind
	conv         *engine.FoldedConv // opConv, opSplitSum (its bias), opMatVec
	kernel       convKernel         // opConv; opSplitSum: how many partial sums
	inH, inW     int
	channels     int // real input channels (opSoftmax: the number of logits)
	src, dst     bufferID
	residual     bufferID // opConv, opSplitSum: added before the ReLU, or noBuffer
	relu         bool     // opConv, opSplitSum
	pool, stride int      // opMaxPool window and stride
	poolPad      int      // opMaxPool padding; padded positions never win
}

// program is a network laid out for the GPU: its buffers and, in order, the
// dispatches of one inference. Load turns it into GPU objects; Run replays it.
type program struct {
	buffers  []buffer
	input    bufferID // written by Run: inH x inW x inC, f32
	output   bufferID // read back by Run
	inH, inW int
	inC      int // channels of the input
	outputs  int // values read back
	steps    []step
	// The last block's output (engine.FeatureMap), which RunFeatureMap
	// reads back: its buffer and its height, width and real channels.
	featureMap             bufferID
	mapH, mapW, mapChannel int
}

// The buffers of a compiled network. The first engine.ActivationBuffers
// are the schedule's activation buffers (see compile), each sized for the
// largest activation. Split-K convs write their partial sums, always f32,
// to bufPartials. Run writes the caller's image, f32 with its own channel
// count, to bufImage; the first dispatch pads it into bufInput, which the
// stem reads as the schedule's engine.Image.
const (
	bufInput bufferID = engine.ActivationBuffers + iota
	bufFeatures
	bufLogits
	bufPartials
	bufImage
	bufProbs
)

// compile lays out plan for an inH x inW input, with each conv computed as
// choose says. With softmax the program ends in probabilities instead of
// logits.
//
// The dispatches follow the plan's schedule, the CPU engine's for inputs
// of that size (engine.Plan.Schedule): the same layers in the same order,
// each reading and overwriting the activations it does on the CPU, with
// one exception. Where the schedule writes a block's last conv over its
// shortcut, the GPU writes the step's Spare instead, since WebGPU forbids
// binding one buffer both for reading (the residual) and for writing in a
// dispatch; the two buffers then swap names for the rest of the schedule.
// That is why every activation buffer is sized for the largest activation,
// where the CPU sizes each for what it is given. The schedule's choice of
// Winograd or GEMM is the CPU's: every conv here is an implicit GEMM.
func compile(plan *engine.Plan, inH, inW int, softmax bool, choose func(step) convKernel) (*program, error) {
	if inH < engine.MinInputSize || inW < engine.MinInputSize || inH > engine.MaxInputSize || inW > engine.MaxInputSize {
		return nil, fmt.Errorf("input is %dx%d; the network takes sides from %d to %d", inW, inH, engine.MinInputSize, engine.MaxInputSize)
	}
	p := &program{input: bufImage, output: bufLogits, inH: inH, inW: inW, inC: plan.Stem.In, outputs: plan.Config.NumClasses}
	p.steps = append(p.steps, step{op: opImage, inH: inH, inW: inW, channels: p.inC, src: bufImage, dst: bufInput, residual: noBuffer})
	var largest, partials int // values of the largest activation and of the largest split-K partial sums
	conv := func(fc *engine.FoldedConv, h, w int, src, dst, residual bufferID, relu bool) (int, int) {
		// Taps that only ever read padding are dropped, as the CPU engine
		// does for one input size: a 3x3 conv on a 1x1 map (a 32x32
		// input's last stage) computes and stores a ninth of the weights.
		fc = fc.Trimmed(h, w)
		s := step{op: opConv, conv: fc, inH: h, inW: w, channels: fc.In, src: src, dst: dst, residual: residual, relu: relu}
		oh, ow := s.outSize()
		largest = max(largest, oh*ow*pad4(fc.Out))
		s.kernel = choose(s)
		if s.kernel.split == 1 {
			p.steps = append(p.steps, s)
			return oh, ow
		}
		// Split-K: the conv writes one partial sum per split, and a second
		// dispatch adds them and applies the epilogue.
		sum := s
		sum.op, sum.src = opSplitSum, bufPartials
		s.dst, s.residual, s.relu = bufPartials, noBuffer, false
		partials = max(partials, s.kernel.split*oh*ow*pad4(fc.Out))
		p.steps = append(p.steps, s, sum)
		return oh, ow
	}

	// name is the program's buffer of each of the schedule's, and dims the
	// height, width and channels each holds.
	var name [engine.ActivationBuffers]bufferID
	for i := range name {
		name[i] = bufferID(i)
	}
	buf := func(b engine.Buffer) bufferID {
		switch b {
		case engine.NoBuffer:
			return noBuffer
		case engine.Image:
			return bufInput
		case engine.Features:
			return bufFeatures
		case engine.Logits:
			return bufLogits
		}
		return name[b]
	}
	type dims struct{ h, w, c int }
	at := map[engine.Buffer]dims{engine.Image: {inH, inW, p.inC}}
	convs := plan.Convs()
	for _, st := range plan.Schedule(max(inH, inW)).Steps {
		in := at[st.In]
		switch st.Op {
		case engine.OpConv, engine.OpDownsample:
			fc, dst := convs[st.Conv], buf(st.Out)
			if st.OverShortcut() {
				dst = buf(st.Spare)
			}
			h, w := conv(fc, in.h, in.w, buf(st.In), dst, buf(st.Shortcut), st.ReLU)
			if st.OverShortcut() {
				name[st.Out], name[st.Spare] = name[st.Spare], name[st.Out]
			}
			at[st.Out] = dims{h, w, fc.Out}
		case engine.OpMaxPool:
			pool := step{op: opMaxPool, inH: in.h, inW: in.w, channels: in.c, src: buf(st.In), dst: buf(st.Out),
				pool: arch.PoolKernel, stride: arch.PoolStride, poolPad: arch.PoolPad, residual: noBuffer}
			h, w := pool.outSize()
			p.steps = append(p.steps, pool)
			at[st.Out] = dims{h, w, in.c}
		case engine.OpAvgPool:
			p.steps = append(p.steps, step{op: opAvgPool, inH: in.h, inW: in.w, channels: in.c, src: buf(st.In),
				dst: buf(st.Out), residual: noBuffer})
			p.featureMap, p.mapH, p.mapW, p.mapChannel = buf(st.In), in.h, in.w, in.c
		case engine.OpFC:
			// The fully connected layer is a 1x1 conv over a 1x1 image:
			// PyTorch's Linear weight [classes][features] is OIHW with H =
			// W = 1, laid out as a conv's. matvec.wgsl computes it, unless
			// the conv kernel chosen for it is the direct one (software
			// adapters), which is a matrix-vector product too.
			fc := &engine.FoldedConv{Conv: arch.Conv{Name: "fc", In: plan.Features, Out: plan.Config.NumClasses, Kernel: 1, Stride: 1},
				Weight: plan.FCWeight, Bias: plan.FCBias}
			s := step{op: opConv, conv: fc, inH: 1, inW: 1, channels: plan.Features, src: buf(st.In), dst: buf(st.Out), residual: noBuffer}
			if s.kernel = choose(s); !s.kernel.direct {
				s.op, s.kernel = opMatVec, convKernel{}
			}
			p.steps = append(p.steps, s)
		}
	}
	for _, s := range p.steps {
		if oh, ow := s.outSize(); s.op == opConv && s.kernel.direct && oh*ow > maxDirectPositions {
			return nil, fmt.Errorf("%s has %d output positions at %dx%d, over the %d of the direct conv kernel", s.conv.Name, oh*ow, inW, inH, maxDirectPositions)
		}
	}

	classes := pad4(plan.Config.NumClasses)
	for range engine.ActivationBuffers {
		p.buffers = append(p.buffers, buffer{values: largest})
	}
	p.buffers = append(p.buffers, buffer{values: inH * inW * pad4(p.inC)}, buffer{values: pad4(plan.Features)},
		buffer{values: classes, exact: true}, buffer{values: max(partials, 4), exact: true},
		buffer{values: pad4(inH * inW * p.inC), exact: true})
	if softmax {
		p.steps = append(p.steps, step{op: opSoftmax, channels: plan.Config.NumClasses, src: bufLogits, dst: bufProbs,
			residual: noBuffer})
		p.buffers = append(p.buffers, buffer{values: classes, exact: true})
		p.output = bufProbs
	}
	return p, nil
}

// outSize is the height and width of the step's output.
func (s step) outSize() (int, int) {
	switch s.op {
	case opImage:
		return s.inH, s.inW
	case opConv, opSplitSum:
		k, st, pad := s.conv.Kernel, s.conv.Stride, s.conv.Pad
		return (s.inH+2*pad-k)/st + 1, (s.inW+2*pad-k)/st + 1
	case opMaxPool:
		return (s.inH+2*s.poolPad-s.pool)/s.stride + 1, (s.inW+2*s.poolPad-s.pool)/s.stride + 1
	}
	return 1, 1
}

// outChannels is the number of real channels the step writes.
func (s step) outChannels() int {
	if s.conv != nil {
		return s.conv.Out
	}
	return s.channels
}
