//go:build js && wasm

package webgpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/kernel"
)

// The op tests run each kernel alone on small shapes and compare it with
// the CPU engine's kernel (engine/kernel), with a tolerance per op.

// Per-op tolerances, relative to max(1, largest |reference value|). Conv
// and pooled sums are float32 in another order than the CPU's; max-pool
// only selects values.
const (
	convTolerance    = 2e-6
	maxPoolTolerance = 0
	avgFCTolerance   = 2e-6
	softmaxTolerance = 1e-6
)

func randomValues(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(scale * r.NormFloat64())
	}
	return x
}

// runOp loads p on dev, writes its buffers (padded, as stored) and returns
// what it reads back.
func runOp(t *testing.T, dev *Device, p *program, writes map[bufferID][]float32) []float32 {
	t.Helper()
	m, err := dev.load(p, precF32)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for id, values := range writes {
		m.write(id, values)
	}
	out, err := m.execute(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Buffers of the single-op programs.
const (
	opIn bufferID = iota
	opOut
	opExtra    // the residual, or the features between average pool and fc
	opPartials // a split-K conv's partial sums
)

// opKernels are the conv kernels every conv case runs with: the default
// tiling, GPU tilings with edge tiles in other places, and split-K.
var opKernels = []string{"32x32x32/4", softwareTile.String(), directKernel.String(), "64x32x32/4", "16x64x32/2", "16x32x32/2:3"}

func TestOpConv(t *testing.T) {
	dev := openDevice(t)
	r := rand.New(rand.NewPCG(1, 2))
	ws := kernel.NewWorkspace()
	for _, c := range []struct {
		h, w, in, out, kernel, stride int
		residual, relu                bool
	}{
		{9, 9, 8, 32, 1, 1, false, true},      // pointwise: a plain GEMM
		{9, 9, 8, 20, 1, 2, false, false},     // strided 1x1: the downsample
		{11, 11, 300, 36, 1, 1, true, true},   // pointwise, K over many tiles, residual
		{7, 7, 64, 24, 3, 1, true, true},      // 3x3 block end: residual, ReLU
		{14, 14, 40, 40, 3, 2, false, true},   // 3x3 stride 2
		{5, 7, 3, 5, 3, 1, true, false},       // odd channels: padding, edge tiles in M and N
		{13, 11, 36, 72, 3, 1, false, true},   // several tiles in M and N, partial last ones
		{16, 16, 3, 16, 7, 2, false, true},    // the stem: 7x7 stride 2 on RGB
		{1, 1, 512, 1000, 1, 1, false, false}, // the fully connected layer: M = 1
	} {
		name := fmt.Sprintf("%dx%d/%d %dx%dx%d->%d", c.kernel, c.kernel, c.stride, c.h, c.w, c.in, c.out)
		if c.residual {
			name += " +residual"
		}
		if c.relu {
			name += " relu"
		}
		fc := &engine.FoldedConv{Conv: arch.Conv{Name: "test", In: c.in, Out: c.out, Kernel: c.kernel, Stride: c.stride, Pad: c.kernel / 2},
			Weight: randomValues(r, c.out*c.in*c.kernel*c.kernel, 0.3), Bias: randomValues(r, c.out, 1)}
		s := step{op: opConv, conv: fc, inH: c.h, inW: c.w, channels: c.in, src: opIn, dst: opOut, residual: noBuffer, relu: c.relu}
		oh, ow := s.outSize()
		src := randomValues(r, c.h*c.w*c.in, 1)
		g := kernel.Conv{InH: c.h, InW: c.w, InC: c.in, KH: c.kernel, KW: c.kernel, Stride: c.stride, Pad: c.kernel / 2, OutC: c.out}
		ep := kernel.Epilogue{Bias: fc.Bias, ReLU: c.relu}
		writes := map[bufferID][]float32{opIn: padded(src, c.in)}
		if c.residual {
			ep.Residual = randomValues(r, oh*ow*c.out, 1)
			s.residual = opExtra
			writes[opExtra] = padded(ep.Residual, c.out)
		}
		packed, err := kernel.PackWeights(fc.Weight, c.out, c.in, c.kernel, c.kernel)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, oh*ow*c.out)
		kernel.Conv2D(want, src, g, packed, ep, ws)
		for _, kernelName := range opKernels {
			t.Run(name+" "+kernelName, func(t *testing.T) {
				k, err := parseKernel(kernelName)
				if err != nil {
					t.Fatal(err)
				}
				conv := s
				conv.kernel = k
				steps := []step{conv}
				if k.split > 1 {
					sum := conv
					sum.op, sum.src = opSplitSum, opPartials
					conv.dst, conv.residual, conv.relu = opPartials, noBuffer, false
					steps = []step{conv, sum}
				}
				outValues := oh * ow * pad4(c.out)
				p := &program{buffers: []buffer{{values: len(writes[opIn])}, {values: outValues, exact: true}, {values: outValues},
					{values: k.split * outValues, exact: true}}, output: opOut, outputs: outValues, steps: steps}
				got := unpadChannels(runOp(t, dev, p, writes), c.out)
				checkClose(t, "conv", got, want, convTolerance)
			})
		}
	}
}

func TestOpMaxPool(t *testing.T) {
	dev := openDevice(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ h, w, channels int }{{16, 16, 8}, {15, 9, 5}, {56, 56, 64}, {1, 1, 4}} {
		t.Run(fmt.Sprintf("%dx%dx%d", c.h, c.w, c.channels), func(t *testing.T) {
			s := step{op: opMaxPool, inH: c.h, inW: c.w, channels: c.channels, src: opIn, dst: opOut, residual: noBuffer,
				pool: arch.PoolKernel, stride: arch.PoolStride, poolPad: arch.PoolPad}
			oh, ow := s.outSize()
			// Negative values: a padded position taken as 0 would win.
			src := randomValues(r, c.h*c.w*c.channels, 1)
			for i := range src {
				src[i] -= 3
			}
			want := make([]float32, oh*ow*c.channels)
			kernel.MaxPool(want, src, c.h, c.w, c.channels, 0, oh, arch.PoolKernel, arch.PoolStride, arch.PoolPad)

			outValues := oh * ow * pad4(c.channels)
			p := &program{buffers: []buffer{{values: c.h * c.w * pad4(c.channels)}, {values: outValues, exact: true}},
				output: opOut, outputs: outValues, steps: []step{s}}
			got := unpadChannels(runOp(t, dev, p, map[bufferID][]float32{opIn: padded(src, c.channels)}), c.channels)
			checkClose(t, "max-pool", got, want, maxPoolTolerance)
		})
	}
}

// TestOpAveragePoolFC runs the global average pool and the fully connected
// layer (a 1x1 conv on the pooled 1x1 image), as a network ends.
func TestOpAveragePoolFC(t *testing.T) {
	dev := openDevice(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ h, w, features, classes int }{{7, 7, 512, 1000}, {3, 5, 6, 10}, {1, 1, 64, 3}, {7, 7, 2048, 37}} {
		t.Run(fmt.Sprintf("%dx%dx%d->%d", c.h, c.w, c.features, c.classes), func(t *testing.T) {
			src := randomValues(r, c.h*c.w*c.features, 1)
			weight, bias := randomValues(r, c.classes*c.features, 0.1), randomValues(r, c.classes, 1)
			features := make([]float32, c.features)
			kernel.GlobalAvgPool(features, src, c.h, c.w, c.features, make([]float64, c.features))
			want := make([]float32, c.classes)
			kernel.FullyConnected(want, features, weight, bias)

			fc := &engine.FoldedConv{Conv: arch.Conv{Name: "fc", In: c.features, Out: c.classes, Kernel: 1, Stride: 1}, Weight: weight, Bias: bias}
			p := &program{
				buffers: []buffer{{values: c.h * c.w * pad4(c.features)}, {values: pad4(c.classes), exact: true}, {values: pad4(c.features)}},
				output:  opOut, outputs: pad4(c.classes),
				steps: []step{
					{op: opAvgPool, inH: c.h, inW: c.w, channels: c.features, src: opIn, dst: opExtra, residual: noBuffer},
					{op: opMatVec, conv: fc, inH: 1, inW: 1, channels: c.features, src: opExtra, dst: opOut, residual: noBuffer},
				}}
			got := runOp(t, dev, p, map[bufferID][]float32{opIn: padded(src, c.features)})[:c.classes]
			checkClose(t, "average pool + fc", got, want, avgFCTolerance)
		})
	}
}

func TestOpSoftmax(t *testing.T) {
	dev := openDevice(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		count int
		scale float64
	}{{10, 1}, {1000, 3}, {1, 1}, {4099, 1}, {1000, 40}} { // 40: exp would overflow without the max subtracted
		t.Run(fmt.Sprintf("%d logits x%g", c.count, c.scale), func(t *testing.T) {
			logits := randomValues(r, c.count, c.scale)
			want := make([]float32, c.count)
			engine.Softmax(want, logits)
			n := pad4(c.count)
			p := &program{buffers: []buffer{{values: n, exact: true}, {values: n, exact: true}}, output: opOut, outputs: n,
				steps: []step{{op: opSoftmax, channels: c.count, src: opIn, dst: opOut, residual: noBuffer}}}
			got := runOp(t, dev, p, map[bufferID][]float32{opIn: append(logits, make([]float32, n-c.count)...)})[:c.count]
			checkClose(t, "softmax", got, want, softmaxTolerance)
		})
	}
}
