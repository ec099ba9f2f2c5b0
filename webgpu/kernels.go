package webgpu

import (
	"fmt"
	"strings"
)

// convTile is the tiling of one conv2d.wgsl pipeline: a workgroup computes
// m output positions x n output channels, with (n/4) x (m/threadM) threads
// of threadM positions x 4 channels each, and reads the reduction k values
// at a time between two barriers.
type convTile struct{ m, n, k, threadM int }

func (t convTile) String() string { return fmt.Sprintf("%dx%dx%d/%d", t.m, t.n, t.k, t.threadM) }

// threads is the workgroup size.
func (t convTile) threads() int { return t.n / 4 * (t.m / max(t.threadM, 1)) }

// check refuses a tile the shader cannot run or a device may not offer:
// the const_asserts of conv2d.wgsl, at most 256 threads and 16 KiB of
// workgroup memory (WebGPU's defaults).
func (t convTile) check() error {
	switch {
	case t.m <= 0 || t.n <= 0 || t.k <= 0 || t.threadM <= 0 || t.n%4 != 0 || t.k%4 != 0 || t.m%t.threadM != 0:
		return fmt.Errorf("tile %v: sizes must be positive, n and k multiples of 4, m a multiple of the thread's rows", t)
	case t.threads() > 256:
		return fmt.Errorf("tile %v: %d threads, over 256", t, t.threads())
	case 16*(t.m*t.k/4+t.k*t.n/4) > 16384:
		return fmt.Errorf("tile %v: %d bytes of workgroup memory, over 16 KiB", t, 16*(t.m*t.k/4+t.k*t.n/4))
	case t.threads()%(t.k/4) != 0 || t.m%(t.threads()/(t.k/4)) != 0:
		return fmt.Errorf("tile %v: the A tile's %d rows do not split evenly over %d threads", t, t.m, t.threads())
	}
	return nil
}

// convKernel is how one conv is computed: its tiling, and over how many
// workgroups its reduction is split (split-K: each sums a slice of the
// receptive field, and splitsum.wgsl adds the slices and applies the
// epilogue), split 1 for a plain conv; or, with direct, by
// convdirect.wgsl, untiled.
type convKernel struct {
	tile   convTile
	split  int
	direct bool
}

// directKernel computes a conv with convdirect.wgsl: each thread sums
// every output position of 4 channels, reading its weights straight from
// storage, for maps of up to maxDirectPositions positions.
var directKernel = convKernel{split: 1, direct: true}

const (
	// directWorkgroup is convdirect.wgsl's threads per workgroup: on
	// SwiftShader, 4 to 64 ran ResNet-50 at 32x32 alike (BENCHMARKS.md).
	directWorkgroup = 16
	// maxDirectPositions bounds the sums a convdirect.wgsl thread keeps,
	// a vec4 and an input offset each: 256 take 5 KiB of the 8 KiB of
	// function variables WGSL promises a shader.
	maxDirectPositions = 256
)

func (k convKernel) String() string {
	if k.direct {
		return "direct"
	}
	if k.split > 1 {
		return fmt.Sprintf("%v:%d", k.tile, k.split)
	}
	return k.tile.String()
}

// parseKernel reads a kernel written as String writes it: "MxNxK/T",
// "MxNxK/T:S" for a split-K over S workgroups, or "direct".
func parseKernel(s string) (convKernel, error) {
	if s == directKernel.String() {
		return directKernel, nil
	}
	k := convKernel{split: 1}
	tile, split, hasSplit := strings.Cut(s, ":")
	_, err := fmt.Sscanf(tile, "%dx%dx%d/%d", &k.tile.m, &k.tile.n, &k.tile.k, &k.tile.threadM)
	if hasSplit && err == nil {
		_, err = fmt.Sscanf(split, "%d", &k.split)
	}
	if err != nil || k.String() != s || k.split < 1 {
		return convKernel{}, fmt.Errorf("conv kernel %q is not written MxNxK/T, MxNxK/T:S or direct", s)
	}
	return k, k.tile.check()
}

// splitK4 is the reduction length, in vec4s, of one split of a k4-long
// reduction: whole K tiles, so that no tile straddles two splits.
func (k convKernel) splitK4(k4 int) int {
	if k.direct {
		return k4
	}
	tiles := ceilDiv(k4, k.tile.k/4)
	return ceilDiv(tiles, k.split) * (k.tile.k / 4)
}

// softwareTile is a conv's tiling on a software adapter: SwiftShader runs
// a workgroup per CPU thread, four invocations at a time in SIMD lanes,
// where few large workgroups of few threads with much work each pay best.
// 16 threads, each a whole column of 64 positions x 4 channels, took
// ResNet-50 at 224x224 6.3 s a run where 128 threads of 8 positions took
// 12.0 s, and were faster on ResNet-18 than tilings of 32 to 128 threads
// (BENCHMARKS.md).
var softwareTile = convTile{m: 64, n: 64, k: 16, threadM: 64}

// softwareSmallMap is the fewest output positions a software adapter
// computes with softwareTile; smaller maps (4x4 and below: the last
// stages at 32x32 inputs, and the fc) take directKernel, where most of a
// tile's rows would be computed for nothing and its staging in workgroup
// memory buys nothing. It took a ResNet-50 run at 32x32 from about 440 to
// 215 ms, and was no faster than softwareTile on 8x8 maps (BENCHMARKS.md).
const softwareSmallMap = 32

// softwareKernel chooses a conv's kernel on a software adapter.
func softwareKernel(s step) convKernel {
	if oh, ow := s.outSize(); oh*ow < softwareSmallMap {
		return directKernel
	}
	return convKernel{tile: softwareTile, split: 1}
}

// The choice for GPUs follows per-layer GPU times measured on an NVIDIA
// H200 (bench/gpu; the tables are in BENCHMARKS.md): every conv of
// ResNet-18 and ResNet-50 at 224x224 under up to eleven kernels. Long
// reductions (from 128 vec4s: 3x3 convs from 64 channels, 1x1 convs from
// 512) were fastest as 16x32 tiles with the reduction split 4 to 8 ways,
// since few output tiles leave most of the GPU idle otherwise (a 7x7x512
// conv has 32 tiles of 32x32, for 132 multiprocessors); short ones were
// fastest unsplit, in the largest tiling that still gave a few hundred
// workgroups.

// splitTile is the tiling of every split-K conv.
var splitTile = convTile{m: 16, n: 32, k: 32, threadM: 2}

// The tilings an unsplit conv on a GPU is chosen from, largest first.
var gpuTiles = []convTile{
	{m: 64, n: 32, k: 32, threadM: 4},
	{m: 16, n: 64, k: 32, threadM: 2},
	splitTile,
}

const (
	// minSplitK4 is the shortest reduction, in vec4s, that is split.
	minSplitK4 = 128
	// splitWorkgroups is how many workgroups a split conv aims for, with
	// at most maxSplit splits: 56x56x64 3x3 convs were fastest split 4
	// ways (1568 workgroups), 7x7 and 14x14 ones 8 ways (512 and 832).
	splitWorkgroups = 1200
	maxSplit        = 8
	// busyWorkgroups is how many workgroups an unsplit conv's tiling must
	// give to be chosen over a smaller one.
	busyWorkgroups = 256
)

// gpuKernel chooses a conv's kernel on a GPU.
func gpuKernel(s step) convKernel {
	oh, ow := s.outSize()
	c4 := pad4(s.conv.Out) / 4
	groups := func(t convTile) int { return ceilDiv(c4, t.n/4) * ceilDiv(oh*ow, t.m) }
	k4 := s.conv.Kernel * s.conv.Kernel * pad4(s.conv.In) / 4
	if k4 >= minSplitK4 {
		k := convKernel{tile: splitTile, split: min(ceilDiv(splitWorkgroups, groups(splitTile)), maxSplit)}
		// Whole K tiles per split can leave the last splits empty: drop them.
		k.split = ceilDiv(k4, k.splitK4(k4))
		return k
	}
	for _, t := range gpuTiles {
		if groups(t) >= busyWorkgroups {
			return convKernel{tile: t, split: 1}
		}
	}
	return convKernel{tile: splitTile, split: 1}
}
