// Package engine runs ResNet inference on the CPU: it turns an architecture
// and a checkpoint into an execution plan (BatchNorm folded into each conv,
// the residual add and ReLU fused into the conv that ends a block) and a
// schedule (the order of the layers and the buffers each reads and writes,
// which the WebGPU backend executes too), and runs it on NHWC float32
// tensors with the kernels of package kernel.
package engine

import (
	"fmt"
	"slices"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/kernel"
	"github.com/inbrowser/resnet/engine/shard"
)

// Model is an immutable, loaded network. It is safe for concurrent use:
// each goroutine runs it through its own Session.
type Model struct {
	Config   arch.Config
	shard    shardOf // which slice of every conv this model holds
	onlySize int     // the one input side Run takes (see OnlyInputSize); 0: any
	features int
	schedule Schedule
	convs    []conv     // in Plan.Convs' order, as the schedule names them; the stem first
	then     []exchange // what each step's output needs before the next conv reads it
	fcW      []float32  // [classes][features], PyTorch's Linear layout
	fcB      []float32
}

// conv is one folded convolution packed for the CPU kernels. Stride-1 3x3
// convs on large enough outputs run as Winograd; the others as a GEMM.
type conv struct {
	spec     arch.Conv
	weights  *kernel.PackedWeights
	winograd kernel.WinogradTile // 0: a direct GEMM
	byRows   bool                // workers split it by output rows, not channels
	bias     []float32
}

// exchange is what workers sharing a model (see Shard) do with a layer's
// output before the next layer reads it.
type exchange int

const (
	noExchange     exchange = iota // the next layer reads only the worker's own rows
	gatherChannels                 // every worker's channels, to every worker
	gatherRows                     // every worker's rows, to every worker
	haloRows                       // the row before and after its own, to each worker
)

// Option tunes how a model is packed.
type Option func(*options)

type options struct {
	inputSize int
	only      bool // OnlyInputSize: pack for inputSize alone
	shard     shardOf
}

// shardOf names worker index of count (0 of 1: the whole network).
type shardOf struct{ index, count int }

// Shard packs only worker index's share of every convolution, output
// channels shard.Range(c, index, count), for running one inference on
// count workers (see package shard); the stem and the blocks that the
// workers split by rows instead (see splitByRows) are packed whole. A
// session of such a model needs an Exchanger (SetExchanger) to get what
// it reads of the other workers' slices.
func Shard(index, count int) Option {
	return func(o *options) { o.shard = shardOf{index, count} }
}

// ShardOf returns worker index of count's share of m, a whole model, as
// New or FromPlan with Shard(index, count) would pack it, but sharing m's
// packed weights instead of holding a copy (where the kernels' panels
// allow; see kernel.PackedWeights.Columns): a worker that keeps the whole
// model anyway can so take a share of each image without more memory.
func (m *Model) ShardOf(index, count int) (*Model, error) {
	if m.shard.count != 1 {
		return nil, fmt.Errorf("engine: a share of worker %d of %d is not a whole model", m.shard.index, m.shard.count)
	}
	if err := shard.Check(index, count); err != nil {
		return nil, err
	}
	sh := shardOf{index, count}
	v := *m
	v.shard = sh
	v.convs = make([]conv, len(m.convs))
	for i, cv := range m.convs {
		v.convs[i] = cv.share(sh)
	}
	return &v, nil
}

// share is worker sh's share of a whole conv: the conv itself if the
// workers split it by rows, else its share of the output channels.
func (cv conv) share(sh shardOf) conv {
	if cv.byRows {
		return cv
	}
	lo, hi := shard.Range(cv.spec.Out, sh.index, sh.count)
	cv.weights = cv.weights.Columns(lo, hi)
	cv.bias = cv.bias[lo:hi]
	return cv
}

// Exchanger completes an activation computed by several workers: Exchange
// is called when buf (positions x channels, NHWC) holds this worker's
// channels, ExchangeRows when it holds this worker's rows (of rowSize
// values each), and each returns once buf holds every worker's;
// ExchangeHalo returns once buf also holds the row before and the row
// after this worker's. shard.Exchanger is one.
type Exchanger interface {
	Exchange(buf []float32, positions, channels int) error
	ExchangeRows(buf []float32, rows, rowSize int) error
	ExchangeHalo(buf []float32, rows, rowSize int) error
}

// ForInputSize packs the model for inputs of about n x n pixels (224 when
// not given). Any input size still runs; this only picks the kernel each
// conv is packed for.
func ForInputSize(n int) Option { return func(o *options) { o.inputSize = n } }

// OnlyInputSize packs the model for n x n inputs alone, and Run refuses
// any other size. A conv whose kernel reaches past the input's edges from
// every output position keeps only the taps that ever read a pixel, as a
// smaller kernel with less padding: on a 32x32 input, the last stage's
// 3x3 convs see 1x1 maps and keep their centre tap, which cuts
// fashion-resnet18's packed weights from 46 MB to 18 MB, and that stage's
// work as much. (The taps dropped only ever multiply padding zeros.)
func OnlyInputSize(n int) Option {
	return func(o *options) { o.inputSize, o.only = n, true }
}

// winogradMinSide is the smallest output side a stride-1 3x3 conv runs
// Winograd at, and winograd4MinSide the smallest that runs F(4x4, 3x3)
// rather than F(2x2, 3x3). Each Winograd conv transforms its kernels on
// every run, (m+2)² values per kernel whatever the output size, so small
// outputs favour fewer, smaller transforms. Timed on 512-channel convs in
// WebAssembly (kernel.BenchmarkSmallSides under Node, two runs, ms):
// side 4: direct 4.5-4.6, F(2x2) 3.4-4.0, F(4x4) 7.9-8.7; side 5: 7.2-7.6,
// 7.6-8.0, 7.1-7.2 (even); side 6: 8.8, 7.4-7.8, 7.0-7.2; side 7:
// 12.9-13.6, 9.1-10.1, 7.0-7.3.
const (
	winogradMinSide  = 4
	winograd4MinSide = 5
)

// New checks ckpt against cfg strictly, folds it (see Fold) and packs it
// for the CPU kernels. Each conv's weights are decoded and folded a panel
// of output channels at a time as they are packed, so that loading needs
// little memory beyond the packed model.
func New(cfg arch.Config, ckpt *checkpoint.Checkpoint, opts ...Option) (*Model, error) {
	p, err := outline(cfg, ckpt)
	if err != nil {
		return nil, err
	}
	m, err := build(p, func(fc FoldedConv) (convWeights, error) { return foldedRows(fc.Conv, ckpt.Tensors) }, opts)
	if err != nil {
		return nil, err
	}
	if err := fullyConnected(p, ckpt); err != nil {
		return nil, err
	}
	m.fcW, m.fcB = p.FCWeight, p.FCBias
	return m, nil
}

// FromPlan packs a folded plan for the CPU kernels.
func FromPlan(p *Plan, opts ...Option) (*Model, error) {
	return build(p, func(fc FoldedConv) (convWeights, error) {
		per := fc.In * fc.Kernel * fc.Kernel
		if len(fc.Weight) != fc.Out*per || len(fc.Bias) != fc.Out {
			return convWeights{}, fmt.Errorf("conv %s has %d weights and %d biases, want %d and %d", fc.Name, len(fc.Weight), len(fc.Bias), fc.Out*per, fc.Out)
		}
		return convWeights{bias: fc.Bias, rows: func(dst []float32, o0 int, kept taps) {
			keepTaps(dst, fc.Weight[o0*per:], fc.In, kept, nil, nil)
		}}, nil
	}, opts)
}

// convWeights is one folded conv's weights as build packs them: its bias,
// and rows, which sets dst to the kept taps of the OIHW weights of output
// channels o0 to o0+len(dst)/(In*kept.t*kept.t) (see kernel.PackWeightsFrom).
type convWeights struct {
	bias []float32
	rows func(dst []float32, o0 int, kept taps)
	err  func() error // nil, or what rows found wrong once packing is done
}

// taps is the part of each k x k kernel of a conv that build packs: the
// t x t taps from tap (first, first) on (see trimmed), or all of them. A
// model built for one small input keeps few of ResNet's weights, and only
// those are converted and scaled.
type taps struct{ k, first, t int }

// keepTaps sets dst to the kept taps of the k x k kernels of whole, in
// input channels each: each value times quant and then times scale, the
// values of the output channel (dst's, counting from 0) where those are
// set. Both steps round as decoding an int8 file (checkpoint.Tensor.Decode)
// and folding BatchNorm (scaleRows) one after the other would.
func keepTaps[T int8 | float32](dst []float32, whole []T, in int, kept taps, quant []float32, scale []float64) {
	k, first, t := kept.k, kept.first, kept.t
	for o := range len(dst) / (in * t * t) {
		q, s := float32(1), 1.0
		if quant != nil {
			q = quant[o]
		}
		if scale != nil {
			s = scale[o]
		}
		src := whole[o*in*k*k:][:in*k*k]
		out := dst[o*in*t*t:][:in*t*t]
		// Whole kernels, and single taps (ResNet's 3x3 convs at a 1x1
		// map), get loops of their own: in Go's WebAssembly every slice
		// made in an inner loop costs more than the value it converts.
		switch {
		case t == k:
			out = out[:len(src)]
			for j, v := range src {
				out[j] = float32(float64(float32(v)*q) * s)
			}
			continue
		case t == 1:
			at := first*k + first
			for j := range out {
				out[j] = float32(float64(float32(src[j*k*k+at])*q) * s)
			}
			continue
		}
		for i := range in {
			for y := range t {
				from := src[(i*k+first+y)*k+first:][:t]
				row := out[(i*t+y)*t:][:len(from)]
				for x, v := range from {
					row[x] = float32(float64(float32(v)*q) * s)
				}
			}
		}
	}
}

// build packs p's convolutions, the weights of each as folded gives them,
// for p's schedule.
func build(p *Plan, folded func(FoldedConv) (convWeights, error), opts []Option) (*Model, error) {
	o := options{inputSize: 224, shard: shardOf{0, 1}}
	for _, opt := range opts {
		opt(&o)
	}
	if err := shard.Check(o.shard.index, o.shard.count); err != nil {
		return nil, err
	}
	m := &Model{Config: p.Config, shard: o.shard, features: p.Features, fcW: p.FCWeight, fcB: p.FCBias,
		schedule: p.Schedule(o.inputSize)}
	if o.only {
		m.onlySize = o.inputSize
	}
	convs := p.Convs()
	m.convs = make([]conv, len(convs))
	spec := func(i int) arch.Conv { return convs[i].Conv }
	err := m.schedule.walk(spec, o.inputSize, o.inputSize, func(_ int, st Step, in, _ shape) error {
		if st.Op != OpConv && st.Op != OpDownsample {
			return nil
		}
		fc := *convs[st.Conv]
		w, err := folded(fc)
		if err != nil {
			return err
		}
		// The stem is split by rows. Any conv of a block can ask splitByRows
		// about it: where all its convs keep the size, each one's input is
		// the block's, and else the block is split by channels.
		byRows := st.Block < 0 || splitByRows(p.Blocks[st.Block], in.h)
		c, kept := fc.Conv, taps{k: fc.Kernel, t: fc.Kernel}
		if o.only && st.Winograd == 0 {
			c, kept.first = trimmed(c, in.h, in.w)
			kept.t = c.Kernel
		}
		m.convs[st.Conv] = pack(c, w, kept, st.Winograd, o.shard, byRows)
		if w.err != nil {
			return w.err()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.planExchanges()
	return m, nil
}

// trimmed returns conv c cut, for an h x w input, to the taps that read a
// pixel from some output position, with the first tap kept: a smaller
// kernel and padding, the same output. It returns c itself where every
// tap reads one, or where no square kernel with even padding would do.
func trimmed(c arch.Conv, h, w int) (arch.Conv, int) {
	lo, hi := usedTaps(c, h)
	if lo2, hi2 := usedTaps(c, w); lo2 != lo || hi2 != hi || hi-lo+1 == c.Kernel || lo > c.Pad {
		return c, 0
	}
	t := c
	t.Kernel, t.Pad = hi-lo+1, c.Pad-lo
	if t.OutSize(h) != c.OutSize(h) || t.OutSize(w) != c.OutSize(w) {
		return c, 0
	}
	return t, lo
}

// usedTaps is the first and last tap of c's kernel, along a side of n
// pixels, that reads a pixel from some output position.
func usedTaps(c arch.Conv, n int) (lo, hi int) {
	lo, hi = c.Kernel, -1
	for k := range c.Kernel {
		for o := range c.OutSize(n) {
			if at := o*c.Stride - c.Pad + k; at >= 0 && at < n {
				lo, hi = min(lo, k), max(hi, k)
				break
			}
		}
	}
	return lo, hi
}

// splitByRows reports whether workers split block b, whose input is side x
// side, by output rows rather than channels: when all its convs keep the
// size and one is a Winograd conv with more tiles than output channels.
// Split by channels, each worker would transform the whole input of such a
// conv, a larger share of the work there than the kernels each then
// transforms whole; and split by rows, the block's 1x1 convs need nothing
// from the other workers, and its 3x3 convs one row from each neighbour.
func splitByRows(b FoldedBlock, side int) bool {
	convs := b.Convs
	if b.Downsample != nil {
		convs = append(convs[:len(convs):len(convs)], *b.Downsample)
	}
	wide := false
	for _, c := range convs {
		if c.Stride != 1 {
			return false
		}
		if tile := winogradTile(c.Conv, side); tile != 0 {
			tiles := (side + int(tile) - 1) / int(tile)
			wide = wide || tiles*tiles > c.Out
		}
	}
	return wide
}

// planExchanges sets what each step's output needs before the next conv
// (OpConv) reads it: see exchangeBefore. The stem's output needs nothing,
// since each worker computes the rows its share of the max-pool reads; the
// max-pool's output, split by rows as the stem is, needs what the stem's
// would. A downsample's needs nothing either: a worker adds the projection
// only to its own channels or rows.
func (m *Model) planExchanges() {
	m.then = make([]exchange, len(m.schedule.Steps))
	from := -1     // the step whose output the next conv reads
	var prev *conv // the conv that computed it
	for k, st := range m.schedule.Steps {
		switch st.Op {
		case OpConv:
			cv := &m.convs[st.Conv]
			if from >= 0 {
				m.then[from] = exchangeBefore(prev, cv)
			}
			from, prev = k, cv
		case OpMaxPool:
			from = k
		}
	}
	m.then[from] = exchangeBefore(prev, nil)
}

// exchangeBefore is what the output of cv needs before next reads it: split
// by channels, it is gathered; split by rows, it is gathered if next is
// split by channels (or is the pooling at the end), and otherwise needs the
// neighbouring rows if next is a 3x3 conv, nothing if it is a 1x1. (The
// downsample reading the same input is a 1x1 split as next is.)
func exchangeBefore(cv, next *conv) exchange {
	switch {
	case !cv.byRows:
		return gatherChannels
	case next == nil || !next.byRows:
		return gatherRows
	case next.spec.Kernel > 1:
		return haloRows
	}
	return noExchange
}

// pack lays out worker sh's share of one folded conv, c with the taps kept
// of its weights, for its kernel (tile: Winograd's, or 0 for a GEMM): the
// whole conv if the workers split it by rows, else its share of the output
// channels.
func pack(c arch.Conv, w convWeights, kept taps, tile kernel.WinogradTile, sh shardOf, byRows bool) conv {
	cv := conv{spec: c, winograd: tile, byRows: byRows}
	lo, hi := 0, c.Out
	if !byRows {
		lo, hi = shard.Range(c.Out, sh.index, sh.count)
	}
	cv.weights = kernel.PackWeightsFrom(hi-lo, c.In, c.Kernel, c.Kernel, func(dst []float32, o0 int) { w.rows(dst, lo+o0, kept) })
	cv.weights.Col0 = lo
	cv.bias = w.bias[lo:hi]
	return cv
}

// winogradTile is the Winograd variant conv c runs as when its output is
// outSide x outSide, or 0 for a direct GEMM.
func winogradTile(c arch.Conv, outSide int) kernel.WinogradTile {
	switch {
	case !geometry(c, c.Kernel, c.Kernel).Winograd() || outSide < winogradMinSide:
		return 0
	case outSide < winograd4MinSide:
		return kernel.F2x2
	}
	return kernel.F4x4
}

// rows is the output rows of oh that worker sh computes.
func (cv *conv) rows(oh int, sh shardOf) (y0, y1 int) {
	if cv.byRows {
		return shard.Rows(oh, sh.index, sh.count)
	}
	return 0, oh
}

// runRows computes output rows [y0, y1) of dst = epilogue(conv(src)) for
// an h x w input, the channels this conv holds.
func (cv *conv) runRows(dst, src []float32, h, w int, ep kernel.Epilogue, ws *kernel.Workspace, y0, y1 int) {
	g := geometry(cv.spec, h, w)
	ep.Bias = cv.bias
	if cv.winograd != 0 {
		kernel.Conv3x3WinogradRows(dst, src, g, cv.weights, cv.winograd, ep, ws, y0, y1)
	} else {
		kernel.Conv2DRows(dst, src, g, cv.weights, ep, ws, y0, y1)
	}
}

// NumClasses is the length of the logits.
func (m *Model) NumClasses() int { return m.Config.NumClasses }

// ClassWeights returns the fully connected layer's weights of class
// (PyTorch's fc.weight[class]), one per channel of the FeatureMap: the
// weights of the class's activation map. The slice is the model's own;
// it must not be changed.
func (m *Model) ClassWeights(class int) ([]float32, error) {
	if class < 0 || class >= m.Config.NumClasses {
		return nil, fmt.Errorf("class %d of a %d-class model", class, m.Config.NumClasses)
	}
	return m.fcW[class*m.features : (class+1)*m.features : (class+1)*m.features], nil
}

// Session holds the activation buffers of one inference at a time. It is not
// safe for concurrent use; after the first Run at a given input size it
// allocates nothing.
type Session struct {
	m        *Model
	x        Exchanger                    // completes each activation of a sharded model
	h, w     int                          // input size the buffers are laid out for
	bufs     [ActivationBuffers][]float32 // the schedule's buffers
	features []float32
	sums     []float64
	logits   []float32
	last     FeatureMap // the latest Run's last block output, a view of bufs
	ws       *kernel.Workspace
}

// FeatureMap is the output of the network's last block (torchvision's
// layer4): after its final ReLU, before the global average pool. Values
// are NHWC, element (y, x, c) at (y*W+x)*C+c. A class's activation map
// weighs its channels by that class's fully connected weights (see
// package cam).
type FeatureMap struct {
	H, W, C int
	Values  []float32
}

// Clone returns a copy of f that owns its values.
func (f FeatureMap) Clone() FeatureMap {
	f.Values = slices.Clone(f.Values)
	return f
}

// NewSession returns a session for m.
func (m *Model) NewSession() *Session {
	return &Session{m: m, ws: kernel.NewWorkspace(),
		features: make([]float32, m.features), sums: make([]float64, m.features),
		logits: make([]float32, m.Config.NumClasses)}
}

// SetExchanger gives a session of a sharded model (see Shard) its way to
// the other workers' channels.
func (s *Session) SetExchanger(x Exchanger) { s.x = x }

// exchange gives the activation buf, of shape a, of a sharded model what
// the next layer reads of the other workers' slices (see exchange); a
// whole model has nothing to get.
func (s *Session) exchange(buf []float32, a shape, what exchange) error {
	if s.m.shard.count == 1 || what == noExchange {
		return nil
	}
	if s.x == nil {
		return fmt.Errorf("engine: worker %d of %d has no Exchanger", s.m.shard.index, s.m.shard.count)
	}
	switch what {
	case gatherRows:
		return s.x.ExchangeRows(buf, a.h, a.w*a.c)
	case haloRows:
		return s.x.ExchangeHalo(buf, a.h, a.w*a.c)
	}
	return s.x.Exchange(buf, a.h*a.w, a.c)
}

// MinInputSize is the smallest input side the network accepts: five halvings
// must leave at least one position.
const MinInputSize = 32

// MaxInputSize bounds the activation memory a single Run may allocate.
const MaxInputSize = 1024

// Run classifies one image given as an h x w x 3 NHWC float32 tensor
// (already normalized) and returns the logits. The returned slice is owned
// by the session and overwritten by the next Run.
func (s *Session) Run(input []float32, h, w int) ([]float32, error) {
	s.last = FeatureMap{}
	if h < MinInputSize || w < MinInputSize || h > MaxInputSize || w > MaxInputSize {
		return nil, fmt.Errorf("input is %dx%d; the network takes sides from %d to %d", w, h, MinInputSize, MaxInputSize)
	}
	if len(input) != h*w*3 {
		return nil, fmt.Errorf("input has %d values, want %dx%dx3 = %d", len(input), h, w, h*w*3)
	}
	if n := s.m.onlySize; n != 0 && (h != n || w != n) {
		return nil, fmt.Errorf("input is %dx%d; the model was packed for %dx%d inputs only", w, h, n, n)
	}
	if h != s.h || w != s.w {
		s.allocate(h, w)
	}
	m := s.m
	err := m.walk(h, w, func(k int, st Step, in, out shape) error {
		src := input
		if st.In >= 0 {
			src = s.bufs[st.In]
		}
		switch st.Op {
		case OpConv, OpDownsample:
			cv := &m.convs[st.Conv]
			y0, y1 := cv.rows(out.h, m.shard)
			if st.In == Image {
				// A worker of several computes the stem's rows that its
				// share of the max-pool reads.
				_, _, y0, y1 = stemRows(geometry(cv.spec, in.h, in.w), m.shard.index, m.shard.count)
			}
			ep := kernel.Epilogue{ReLU: st.ReLU}
			if st.Shortcut != NoBuffer {
				ep.Residual = s.bufs[st.Shortcut]
			}
			cv.runRows(s.bufs[st.Out], src, in.h, in.w, ep, s.ws, y0, y1)
		case OpMaxPool:
			p0, p1 := shard.Rows(out.h, m.shard.index, m.shard.count)
			kernel.MaxPool(s.bufs[st.Out], src, in.h, in.w, in.c, p0, p1, arch.PoolKernel, arch.PoolStride, arch.PoolPad)
		case OpAvgPool:
			s.last = FeatureMap{H: in.h, W: in.w, C: in.c, Values: src[:in.values()]}
			kernel.GlobalAvgPool(s.features, src, in.h, in.w, in.c, s.sums)
			return nil
		case OpFC:
			kernel.FullyConnected(s.logits, s.features, m.fcW, m.fcB)
			return nil
		}
		return s.exchange(s.bufs[st.Out], out, m.then[k])
	})
	if err != nil {
		return nil, err
	}
	return s.logits, nil
}

// FeatureMap returns the last block's output of the latest successful Run,
// complete on every worker of a sharded model (the last exchange gathers
// it). It is a view of the session's buffer, overwritten by the next Run:
// nothing is computed or copied, so a Run pays nothing for it. Before any
// Run, or after a failed one, it is empty.
func (s *Session) FeatureMap() FeatureMap { return s.last }

// stemRows returns the rows [p0, p1) of the max-pool's output that worker
// index of count computes, and the rows [y0, y1) of the stem's output they
// read, for the stem conv g.
func stemRows(g kernel.Conv, index, count int) (p0, p1, y0, y1 int) {
	p0, p1 = shard.Rows(arch.PoolOutSize(g.OutH()), index, count)
	y0, y1 = kernel.InputRows(p0, p1, g.OutH(), arch.PoolKernel, arch.PoolStride, arch.PoolPad)
	return p0, p1, y0, y1
}

// InputRows returns the rows [lo, hi) of an h x w input that worker index
// of count reads: those under its share of the stem (empty if it has
// none). Only those need to reach it.
func (m *Model) InputRows(h, w, index, count int) (lo, hi int) {
	g := geometry(m.convs[0].spec, h, w) // the stem
	p0, p1, y0, y1 := stemRows(g, index, count)
	if p0 >= p1 {
		return 0, 0
	}
	return kernel.InputRows(y0, y1, h, g.KH, g.Stride, g.Pad)
}

// geometry is the kernel's view of conv c on an h x w input.
func geometry(c arch.Conv, h, w int) kernel.Conv {
	return kernel.Conv{InH: h, InW: w, InC: c.In, KH: c.Kernel, KW: c.Kernel, Stride: c.Stride, Pad: c.Pad, OutC: c.Out}
}

// allocate sizes the activation buffers for an h x w input.
func (s *Session) allocate(inH, inW int) {
	for i, n := range s.m.bufferSizes(inH, inW) {
		s.bufs[i] = make([]float32, n)
	}
	s.ws.Reserve(s.m.winogradScratch(inH, inW))
	s.h, s.w = inH, inW
}

// bufferSizes is the number of values each session buffer must hold for an
// inH x inW input: the largest activation written to it.
func (m *Model) bufferSizes(inH, inW int) [ActivationBuffers]int {
	var size [ActivationBuffers]int
	m.walk(inH, inW, func(_ int, st Step, _, out shape) error {
		if st.Out >= 0 {
			size[st.Out] = max(size[st.Out], out.values())
		}
		return nil
	})
	return size
}

// winogradScratch is the workspace the Winograd convs need, at most, for
// an inH x inW input.
func (m *Model) winogradScratch(inH, inW int) kernel.WinogradScratch {
	var s kernel.WinogradScratch
	m.walk(inH, inW, func(_ int, st Step, in, _ shape) error {
		if st.Op != OpConv && st.Op != OpDownsample {
			return nil
		}
		if cv := &m.convs[st.Conv]; cv.winograd != 0 {
			g := geometry(cv.spec, in.h, in.w)
			y0, y1 := cv.rows(g.OutH(), m.shard)
			s = s.Max(kernel.WinogradScratchFor(g, cv.weights.N, cv.winograd, y0, y1))
		}
		return nil
	})
	return s
}

// walk walks m's schedule for an inH x inW input (see Schedule.walk).
func (m *Model) walk(inH, inW int, f func(k int, st Step, in, out shape) error) error {
	return m.schedule.walk(func(i int) arch.Conv { return m.convs[i].spec }, inH, inW, f)
}

// LargestActivation is the number of values in the largest activation any
// layer produces from an inH x inW input: the size of a shard.Exchanger's
// regions.
func (m *Model) LargestActivation(inH, inW int) int {
	sizes := m.bufferSizes(inH, inW)
	return slices.Max(sizes[:])
}
