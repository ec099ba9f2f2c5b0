// Package engine runs ResNet inference on the CPU: it turns an architecture
// and a checkpoint into an execution plan (BatchNorm folded into each conv,
// the residual add and ReLU fused into the conv that ends a block) and runs
// it on NHWC float32 tensors with the kernels of package kernel.
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
	features int
	stem     conv // its then is the max-pool's output's
	blocks   []block
	fcW      []float32 // [classes][features], PyTorch's Linear layout
	fcB      []float32
}

// conv is one folded convolution packed for the CPU kernels. Stride-1 3x3
// convs on large enough outputs run as Winograd; the others as a GEMM.
type conv struct {
	spec     arch.Conv
	weights  *kernel.PackedWeights
	winograd kernel.WinogradTile // 0: a direct GEMM
	byRows   bool                // workers split it by output rows, not channels
	then     exchange            // what its output needs before the next layer
	bias     []float32
}

// exchange is what workers sharing a model (see Shard) do with a layer's
// output before the next layer reads it.
type exchange int

const (
	gatherChannels exchange = iota // every worker's channels, to every worker
	gatherRows                     // every worker's rows, to every worker
	haloRows                       // the row before and after its own, to each worker
	noExchange                     // the next layer reads only the worker's own rows
)

type block struct {
	convs      []conv
	downsample *conv // nil: the shortcut is the block's input
	byRows     bool  // workers split all its convs by output rows
	// The session buffers (see Session) each conv and the downsample
	// write (see assignBuffers).
	convBufs []int
	dsBuf    int
}

// Option tunes how a model is packed.
type Option func(*options)

type options struct {
	inputSize int
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
	v.blocks = make([]block, len(m.blocks))
	for i, b := range m.blocks {
		b.convs = slices.Clone(b.convs)
		for j := range b.convs {
			b.convs[j] = b.convs[j].share(sh)
		}
		if b.downsample != nil {
			ds := b.downsample.share(sh)
			b.downsample = &ds
		}
		v.blocks[i] = b
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
	return build(p, func(fc FoldedConv) (convWeights, error) { return foldedRows(fc.Conv, ckpt.Tensors) }, opts)
}

// FromPlan packs a folded plan for the CPU kernels.
func FromPlan(p *Plan, opts ...Option) (*Model, error) {
	return build(p, func(fc FoldedConv) (convWeights, error) {
		per := fc.In * fc.Kernel * fc.Kernel
		if len(fc.Weight) != fc.Out*per || len(fc.Bias) != fc.Out {
			return convWeights{}, fmt.Errorf("conv %s has %d weights and %d biases, want %d and %d", fc.Name, len(fc.Weight), len(fc.Bias), fc.Out*per, fc.Out)
		}
		return convWeights{bias: fc.Bias, rows: func(dst []float32, o0 int) { copy(dst, fc.Weight[o0*per:]) }}, nil
	}, opts)
}

// convWeights is one folded conv's weights as build packs them: its bias,
// and rows, which sets dst to the OIHW weights of output channels o0 to
// o0+len(dst)/(In*Kernel*Kernel) (see kernel.PackWeightsFrom).
type convWeights struct {
	bias []float32
	rows func(dst []float32, o0 int)
	err  func() error // nil, or what rows found wrong once packing is done
}

// build packs p's convolutions, the weights of each as folded gives them.
func build(p *Plan, folded func(FoldedConv) (convWeights, error), opts []Option) (*Model, error) {
	o := options{inputSize: 224, shard: shardOf{0, 1}}
	for _, opt := range opts {
		opt(&o)
	}
	if err := shard.Check(o.shard.index, o.shard.count); err != nil {
		return nil, err
	}
	m := &Model{Config: p.Config, shard: o.shard, features: p.Features, fcW: p.FCWeight, fcB: p.FCBias}
	packConv := func(fc FoldedConv, outSide int, byRows bool) (conv, error) {
		w, err := folded(fc)
		if err != nil {
			return conv{}, err
		}
		cv := pack(fc.Conv, w, outSide, o.shard, byRows)
		if w.err != nil {
			if err := w.err(); err != nil {
				return conv{}, err
			}
		}
		return cv, nil
	}
	side := p.Stem.OutSize(o.inputSize)
	var err error
	if m.stem, err = packConv(p.Stem, side, true); err != nil {
		return nil, err
	}
	var sizes [4]int // each session buffer's size at this input size
	sizes[stemBuf] = side * side * p.Stem.Out
	side = arch.PoolOutSize(side)
	sizes[poolBuf] = side * side * p.Stem.Out
	x := poolBuf // the block input
	for _, fb := range p.Blocks {
		b := block{byRows: splitByRows(fb, side)}
		b.dsBuf, b.convBufs = assignBuffers(x, fb, side, &sizes)
		x = b.convBufs[len(fb.Convs)-1]
		in := side
		for _, fc := range fb.Convs {
			side = fc.OutSize(side)
			cv, err := packConv(fc, side, b.byRows)
			if err != nil {
				return nil, err
			}
			b.convs = append(b.convs, cv)
		}
		if fb.Downsample != nil {
			ds, err := packConv(*fb.Downsample, fb.Downsample.OutSize(in), b.byRows)
			if err != nil {
				return nil, err
			}
			b.downsample = &ds
		}
		m.blocks = append(m.blocks, b)
	}
	m.planExchanges()
	return m, nil
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

// planExchanges sets what each layer's output needs before the next conv
// reads it (the stem's is the max-pool's output's).
func (m *Model) planExchanges() {
	layers := []*conv{&m.stem}
	for i := range m.blocks {
		for j := range m.blocks[i].convs {
			layers = append(layers, &m.blocks[i].convs[j])
		}
	}
	for i, cv := range layers {
		var next *conv // nil: the global pooling
		if i+1 < len(layers) {
			next = layers[i+1]
		}
		cv.then = exchangeBefore(cv, next)
	}
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

// pack lays out worker sh's share of one folded conv for its kernel, given
// the side of the output it will typically produce: the whole conv if the
// workers split it by rows, else its share of the output channels.
func pack(c arch.Conv, w convWeights, outSide int, sh shardOf, byRows bool) conv {
	cv := conv{spec: c, winograd: winogradTile(c, outSide), byRows: byRows}
	lo, hi := 0, c.Out
	if !byRows {
		lo, hi = shard.Range(c.Out, sh.index, sh.count)
	}
	cv.weights = kernel.PackWeightsFrom(hi-lo, c.In, c.Kernel, c.Kernel, func(dst []float32, o0 int) { w.rows(dst, lo+o0) })
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

// run computes dst = epilogue(conv(src)) for an h x w input, the rows or
// channels of worker sh, and returns the output's height and width.
func (cv *conv) run(dst, src []float32, h, w int, ep kernel.Epilogue, ws *kernel.Workspace, sh shardOf) (int, int) {
	y0, y1 := cv.rows(geometry(cv.spec, h, w).OutH(), sh)
	return cv.runRows(dst, src, h, w, ep, ws, y0, y1)
}

// rows is the output rows of oh that worker sh computes.
func (cv *conv) rows(oh int, sh shardOf) (y0, y1 int) {
	if cv.byRows {
		return shard.Rows(oh, sh.index, sh.count)
	}
	return 0, oh
}

// runRows is run writing output rows [y0, y1) only.
func (cv *conv) runRows(dst, src []float32, h, w int, ep kernel.Epilogue, ws *kernel.Workspace, y0, y1 int) (int, int) {
	g := geometry(cv.spec, h, w)
	ep.Bias = cv.bias
	if cv.winograd != 0 {
		kernel.Conv3x3WinogradRows(dst, src, g, cv.weights, cv.winograd, ep, ws, y0, y1)
	} else {
		kernel.Conv2DRows(dst, src, g, cv.weights, ep, ws, y0, y1)
	}
	return g.OutH(), g.OutW()
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
	x        Exchanger    // completes each activation of a sharded model
	h, w     int          // input size the buffers are laid out for
	bufs     [4][]float32 // activations, passed around the network (see assignBuffers)
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

// The buffers the stem writes its output and the max-pool's to; the
// blocks' buffers follow (see assignBuffers).
const (
	stemBuf = 1
	poolBuf = 0
)

// assignBuffers picks the session buffers of block b, whose input is side x
// side in buffer x: its convs alternate between two of the other three
// buffers and the downsample writes the third. Any choice is safe: the
// last conv reads the other conv buffer and the shortcut (x or the third).
// Where the kernel allows it (kernel.OutputOverResidual) the last conv
// writes over the shortcut, whose values it adds as it goes and which
// nothing reads after it; else into its conv buffer. Of the roles, the one
// with the largest output takes the buffer that is largest so far (sizes,
// updated), so that the few large activations keep to the same buffers:
// ResNet-50's four buffers come to 2.25 times its largest activation
// instead of 3.25.
func assignBuffers(x int, b FoldedBlock, side int, sizes *[4]int) (ds int, convs []int) {
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
	var free []int
	for i := range 4 {
		if i != x {
			free = append(free, i)
		}
	}
	roles := []int{0, 1, 2}
	// Stable sorts keep the plain rotation where sizes tie.
	slices.SortStableFunc(free, func(a, b int) int { return sizes[b] - sizes[a] })
	slices.SortStableFunc(roles, func(a, b int) int { return need[b] - need[a] })
	var buf [3]int
	for i, r := range roles {
		buf[r] = free[i]
		sizes[free[i]] = max(sizes[free[i]], need[r])
	}
	for i := range b.Convs {
		convs = append(convs, buf[i%2])
	}
	if overShortcut {
		// The shortcut holds an activation of the output's shape already.
		convs[last] = x
		if b.Downsample != nil {
			convs[last] = buf[2]
		}
	}
	return buf[2], convs
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

// exchange gives the activation buf, an h x w x c tensor of a sharded
// model, what the next layer reads of the other workers' slices (see
// exchange); a whole model has nothing to get.
func (s *Session) exchange(buf []float32, h, w, c int, what exchange) error {
	if s.m.shard.count == 1 || what == noExchange {
		return nil
	}
	if s.x == nil {
		return fmt.Errorf("engine: worker %d of %d has no Exchanger", s.m.shard.index, s.m.shard.count)
	}
	switch what {
	case gatherRows:
		return s.x.ExchangeRows(buf, h, w*c)
	case haloRows:
		return s.x.ExchangeHalo(buf, h, w*c)
	}
	return s.x.Exchange(buf, h*w, c)
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
	if h != s.h || w != s.w {
		s.allocate(h, w)
	}
	m := s.m
	// Stem: conv, then max-pool into the first block's input. A worker of
	// several computes its rows of the pooled output, and of the stem's
	// output the rows they read.
	g := geometry(m.stem.spec, h, w)
	c, sh, sw := g.OutC, g.OutH(), g.OutW()
	p0, p1, y0, y1 := stemRows(g, m.shard.index, m.shard.count)
	h, w = arch.PoolOutSize(sh), arch.PoolOutSize(sw)
	m.stem.runRows(s.bufs[stemBuf], input, g.InH, g.InW, kernel.Epilogue{ReLU: true}, s.ws, y0, y1)
	kernel.MaxPool(s.bufs[poolBuf], s.bufs[stemBuf], sh, sw, c, p0, p1, arch.PoolKernel, arch.PoolStride, arch.PoolPad)
	if err := s.exchange(s.bufs[poolBuf], h, w, c, m.stem.then); err != nil {
		return nil, err
	}

	x := s.bufs[poolBuf] // the block input
	for _, b := range m.blocks {
		shortcut := x
		if b.downsample != nil {
			// A worker adds the projection only to its own channels or rows,
			// so the projection needs no exchange.
			b.downsample.run(s.bufs[b.dsBuf], x, h, w, kernel.Epilogue{}, s.ws, m.shard)
			shortcut = s.bufs[b.dsBuf]
		}
		for i, cv := range b.convs {
			ep := kernel.Epilogue{ReLU: true}
			if i == len(b.convs)-1 {
				ep.Residual = shortcut
			}
			out := s.bufs[b.convBufs[i]]
			h, w = cv.run(out, x, h, w, ep, s.ws, m.shard)
			if err := s.exchange(out, h, w, cv.spec.Out, cv.then); err != nil {
				return nil, err
			}
			x = out
		}
		c = b.convs[len(b.convs)-1].spec.Out
	}
	s.last = FeatureMap{H: h, W: w, C: c, Values: x[:h*w*c]}
	kernel.GlobalAvgPool(s.features, x, h, w, c, s.sums)
	kernel.FullyConnected(s.logits, s.features, m.fcW, m.fcB)
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
	g := geometry(m.stem.spec, h, w)
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
func (m *Model) bufferSizes(inH, inW int) [4]int {
	var size [4]int
	m.eachConv(inH, inW, func(_ *conv, g kernel.Conv, buf int) { size[buf] = max(size[buf], g.M()*g.OutC) })
	g := geometry(m.stem.spec, inH, inW)
	h, w := arch.PoolOutSize(g.OutH()), arch.PoolOutSize(g.OutW())
	size[poolBuf] = max(size[poolBuf], h*w*g.OutC)
	return size
}

// winogradScratch is the workspace the Winograd convs need, at most, for
// an inH x inW input.
func (m *Model) winogradScratch(inH, inW int) kernel.WinogradScratch {
	var s kernel.WinogradScratch
	m.eachConv(inH, inW, func(cv *conv, g kernel.Conv, _ int) {
		if cv.winograd != 0 {
			y0, y1 := cv.rows(g.OutH(), m.shard)
			s = s.Max(kernel.WinogradScratchFor(g, cv.weights.N, cv.winograd, y0, y1))
		}
	})
	return s
}

// eachConv calls f with every conv of the network in order, its geometry
// at an inH x inW input and the session buffer it writes.
func (m *Model) eachConv(inH, inW int, f func(cv *conv, g kernel.Conv, buf int)) {
	g := geometry(m.stem.spec, inH, inW)
	f(&m.stem, g, stemBuf)
	h, w := arch.PoolOutSize(g.OutH()), arch.PoolOutSize(g.OutW())
	for _, b := range m.blocks {
		if b.downsample != nil {
			f(b.downsample, geometry(b.downsample.spec, h, w), b.dsBuf)
		}
		for i := range b.convs {
			cv := &b.convs[i]
			g := geometry(cv.spec, h, w)
			f(cv, g, b.convBufs[i])
			h, w = g.OutH(), g.OutW()
		}
	}
}

// LargestActivation is the number of values in the largest activation any
// layer produces from an inH x inW input: the size of a shard.Exchanger's
// regions.
func (m *Model) LargestActivation(inH, inW int) int {
	sizes := m.bufferSizes(inH, inW)
	return slices.Max(sizes[:])
}
