// Package shard splits one inference between several workers, each with its
// own memory (Go's WebAssembly has no threads, so a browser runs one Go
// instance per Web Worker). Most layers are split by output channels:
// every worker computes a slice of each convolution's output channels with
// its slice of the weights, and after each layer the workers swap their
// slices through a shared memory, so that each again holds the whole
// activation the next layer reads. The stem, whose weights are tiny and
// whose input is the largest, and the first, large-image layers are split
// by output rows instead: a worker then needs from the others only the
// rows next to its own that a 3x3 convolution reads (ExchangeHalo), and
// all of them only where a layer split by channels follows.
//
// The exchange area holds two regions, used in turn, each as large as the
// largest activation. In a region, worker j's slice lies as one contiguous
// block: channels [lo_j, hi_j) of all positions at positions*lo_j, or rows
// [lo_j, hi_j) at their own place. Each worker writes its block, waits at a
// barrier, and reads the others'. Alternating regions makes one barrier
// per exchange enough: a worker can only come back to a region after the
// next barrier, which every worker reaches only once it has finished
// reading that region.
package shard

import "fmt"

// align keeps channel slices a multiple of the 8-wide column panels of the
// wasm and plain micro-kernels, so that no worker computes padding columns;
// rowAlign keeps row slices a multiple of the Winograd tiles' 4 rows (see
// kernel.Conv3x3WinogradRows).
const (
	align    = 8
	rowAlign = 4
)

// MaxWorkers bounds how many workers may share a network.
const MaxWorkers = 64

// Range returns the output channels [lo, hi) worker index of count computes
// in a layer with the given number of channels.
func Range(channels, index, count int) (lo, hi int) {
	return split(channels, align, index, count)
}

// split cuts n into count slices of whole units, in order.
func split(n, unit, index, count int) (lo, hi int) {
	units := (n + unit - 1) / unit
	return min(n, units*index/count*unit), min(n, units*(index+1)/count*unit)
}

// Rows returns the rows [lo, hi) worker index of count computes in a layer
// split by rows.
func Rows(rows, index, count int) (lo, hi int) {
	return split(rows, rowAlign, index, count)
}

// Check reports whether index of count names a worker.
func Check(index, count int) error {
	if count < 1 || count > MaxWorkers || index < 0 || index >= count {
		return fmt.Errorf("shard: worker %d of %d: want 0 <= index < count <= %d", index, count, MaxWorkers)
	}
	return nil
}

// Memory is the exchange area the workers share, addressed in float32s.
type Memory interface {
	// Store copies src into the area at offset.
	Store(offset int, src []float32)
	// Load copies len(dst) values at offset into dst.
	Load(dst []float32, offset int)
	// Barrier returns once every worker has called it (as often as this
	// one), or with an error if that cannot happen, e.g. a worker died.
	Barrier() error
}

// Exchanger completes sharded activations through a Memory whose exchange
// area holds 2*regionSize values. It implements engine.Exchanger.
type Exchanger struct {
	mem          Memory
	index, count int
	regionSize   int
	region       int       // the region the next exchange uses
	staging      []float32 // one worker's block, packed
}

// NewExchanger returns the exchanger of worker index of count; regionSize
// is the largest activation (positions x channels) it will exchange.
func NewExchanger(mem Memory, index, count, regionSize int) (*Exchanger, error) {
	if err := Check(index, count); err != nil {
		return nil, err
	}
	return &Exchanger{mem: mem, index: index, count: count, regionSize: regionSize}, nil
}

// Exchange is called with this worker's channels of buf (positions x
// channels, NHWC) computed and returns with every worker's in place.
func (x *Exchanger) Exchange(buf []float32, positions, channels int) error {
	base, err := x.nextRegion(buf, positions, channels)
	if err != nil {
		return err
	}
	lo, hi := Range(channels, x.index, x.count)
	x.mem.Store(base+positions*lo, x.pack(buf, positions, channels, lo, hi))
	if err := x.mem.Barrier(); err != nil {
		return err
	}
	for j := range x.count {
		if j == x.index {
			continue
		}
		lo, hi := Range(channels, j, x.count)
		block := x.block(positions * (hi - lo))
		x.mem.Load(block, base+positions*lo)
		for p := range positions {
			copy(buf[p*channels+lo:p*channels+hi], block[p*(hi-lo):])
		}
	}
	return nil
}

// ExchangeRows is called with this worker's rows of buf (rows x rowSize,
// see Rows) computed and returns with every worker's in place.
func (x *Exchanger) ExchangeRows(buf []float32, rows, rowSize int) error {
	base, err := x.nextRegion(buf, rows, rowSize)
	if err != nil {
		return err
	}
	lo, hi := Rows(rows, x.index, x.count)
	x.mem.Store(base+lo*rowSize, buf[lo*rowSize:hi*rowSize])
	if err := x.mem.Barrier(); err != nil {
		return err
	}
	for j := range x.count {
		if j != x.index {
			lo, hi := Rows(rows, j, x.count)
			x.mem.Load(buf[lo*rowSize:hi*rowSize], base+lo*rowSize)
		}
	}
	return nil
}

// ExchangeHalo is called with this worker's rows of buf (rows x rowSize,
// see Rows) computed and returns with the row just before and the row just
// after them in place too: what a 3x3 convolution of this worker's rows
// reads beyond them.
func (x *Exchanger) ExchangeHalo(buf []float32, rows, rowSize int) error {
	base, err := x.nextRegion(buf, rows, rowSize)
	if err != nil {
		return err
	}
	lo, hi := Rows(rows, x.index, x.count)
	row := func(r int) []float32 { return buf[r*rowSize : (r+1)*rowSize] }
	if lo < hi {
		// The first and last row are the ones neighbours read.
		x.mem.Store(base+lo*rowSize, row(lo))
		x.mem.Store(base+(hi-1)*rowSize, row(hi-1))
	}
	if err := x.mem.Barrier(); err != nil {
		return err
	}
	if lo < hi && lo > 0 {
		x.mem.Load(row(lo-1), base+(lo-1)*rowSize)
	}
	if lo < hi && hi < rows {
		x.mem.Load(row(hi), base+hi*rowSize)
	}
	return nil
}

// nextRegion checks that buf, an n x size activation, fits a region and
// returns where the region this exchange uses starts; the next uses the
// other one.
func (x *Exchanger) nextRegion(buf []float32, n, size int) (int, error) {
	if n*size > x.regionSize || len(buf) < n*size {
		return 0, fmt.Errorf("shard: a %dx%d activation does not fit the exchange area (%d values)", n, size, x.regionSize)
	}
	base := x.region * x.regionSize
	x.region ^= 1
	return base, nil
}

// pack copies channels [lo, hi) of every position of buf into the staging
// block and returns it.
func (x *Exchanger) pack(buf []float32, positions, channels, lo, hi int) []float32 {
	block := x.block(positions * (hi - lo))
	for p := range positions {
		copy(block[p*(hi-lo):], buf[p*channels+lo:p*channels+hi])
	}
	return block
}

// block returns the staging buffer cut to n values; it grows only during
// the first inference.
func (x *Exchanger) block(n int) []float32 {
	if len(x.staging) < n {
		x.staging = make([]float32, n)
	}
	return x.staging[:n]
}
