//go:build goexperiment.simd && wasm

package kernel

import "simd/archsimd"

// Register tile for WASM SIMD128: 4 rows x 8 columns is 8 accumulators of 4
// floats plus loads, within the 16 v128 registers of Go's wasm backend.
// Larger tiles spill: 6 x 8 ran ResNet-18 and ResNet-50 7-17% slower in
// Chromium (bench/run.mjs; docs/benchmark-log.md, "Later the same day").
const (
	mr = 4
	nr = 8
)

var simd128 = kernelSet{
	micro: microKernelSIMD128, store: storeRowSIMD128, microStore: microStoreSIMD128,
	winoIn: winogradInSIMD128, winoOut: winogradOutSIMD128,
	wino4In: winograd4InSIMD128, wino4Out: winograd4OutSIMD128,
	winoW: winogradWeightsSIMD128, wino4W: winograd4WeightsSIMD128,
	maxInto: maxIntoSIMD128, dot: dotSIMD128,
}

// dotSIMD128 is dotGeneric on two 4-wide accumulators.
func dotSIMD128(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 archsimd.Float32x4
	i := 0
	for ; i+8 <= len(a); i += 8 {
		ld := func(s []float32, j int) archsimd.Float32x4 {
			return archsimd.LoadFloat32x4Array((*[4]float32)(s[j : j+4]))
		}
		s0 = s0.Add(ld(a, i).Mul(ld(b, i)))
		s1 = s1.Add(ld(a, i+4).Mul(ld(b, i+4)))
	}
	var lanes [4]float32
	s0.Add(s1).StoreArray(&lanes)
	return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + dotGeneric(a[i:], b[i:])
}

func pickKernels() kernelSet { return simd128 }

// simdKernels lists the SIMD kernel sets this build runs, for the tests.
func simdKernels() map[string]kernelSet { return map[string]kernelSet{"simd128": simd128} }

// Backend names the kernels in use, for timings and benchmark reports.
func Backend() string { return "Go WASM SIMD128" }

// microKernelSIMD128 is microKernelGeneric on 4-wide vectors.
func microKernelSIMD128(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32) {
	microStoreSIMD128(1, kc, a, lda, b, c[:], nr, true, nil, nil, false)
}

// microStoreSIMD128 checks the operands' bounds and runs gemmTiles.
func microStoreSIMD128(tiles, kc int, a []float32, lda int, b []float32, out []float32, ldc int, first bool, bias, res []float32, relu bool) {
	if tiles == 0 {
		return
	}
	_ = a[(tiles*mr-1)*lda+kc-1]
	_ = b[kc*nr-1]
	_ = out[(tiles*mr-1)*ldc+nr-1]
	var flags int
	var pBias, pRes *float32
	if first {
		flags |= tileFirst
	}
	if bias != nil {
		_ = bias[nr-1]
		flags |= tileBias
		pBias = &bias[0]
	}
	if res != nil {
		_ = res[(tiles*mr-1)*ldc+nr-1]
		flags |= tileResidual
		pRes = &res[0]
	}
	if relu {
		flags |= tileReLU
	}
	gemmTiles(tiles, kc, &a[0], lda, &b[0], &out[0], ldc, flags, pBias, pRes)
}

// Flags of gemmTiles.
const (
	tileFirst    = 1 << iota // out is overwritten, not added to
	tileBias                 // bias is added
	tileResidual             // res is added
	tileReLU                 // negative sums become 0
)

// gemmTiles is microStoreSIMD128 without the checks, written in WebAssembly
// (microkernel_wasm_simd.s, made by gen_microkernel.go, which says why):
// for tiles >= 1 consecutive MR-row tiles, A rows lda apart, output and
// residual rows ldc apart, it sets or adds the tile A x b, then adds the
// NR values at bias and the residual and applies ReLU as flags say.
//
//go:noescape
func gemmTiles(tiles, kc int, a *float32, lda int, b *float32, out *float32, ldc int, flags int, bias, res *float32)

// maxIntoSIMD128 is maxIntoGeneric on 4-wide vectors.
func maxIntoSIMD128(out, in []float32) {
	in = in[:len(out)]
	i := 0
	for ; i+4 <= len(out); i += 4 {
		o := (*[4]float32)(out[i : i+4])
		archsimd.LoadFloat32x4Array(o).Max(archsimd.LoadFloat32x4Array((*[4]float32)(in[i : i+4]))).StoreArray(o)
	}
	maxIntoGeneric(out[i:], in[i:])
}

// storeRowSIMD128 is storeRowGeneric for one full row of NR = 8 values.
func storeRowSIMD128(out, t []float32, first bool, bias, res []float32, relu bool) {
	lo, hi := (*[4]float32)(t[0:4]), (*[4]float32)(t[4:8])
	x0, x1 := archsimd.LoadFloat32x4Array(lo), archsimd.LoadFloat32x4Array(hi)
	o0, o1 := (*[4]float32)(out[0:4]), (*[4]float32)(out[4:8])
	if !first {
		x0 = x0.Add(archsimd.LoadFloat32x4Array(o0))
		x1 = x1.Add(archsimd.LoadFloat32x4Array(o1))
	}
	if bias != nil {
		x0 = x0.Add(archsimd.LoadFloat32x4Array((*[4]float32)(bias[0:4])))
		x1 = x1.Add(archsimd.LoadFloat32x4Array((*[4]float32)(bias[4:8])))
	}
	if res != nil {
		x0 = x0.Add(archsimd.LoadFloat32x4Array((*[4]float32)(res[0:4])))
		x1 = x1.Add(archsimd.LoadFloat32x4Array((*[4]float32)(res[4:8])))
	}
	if relu {
		var zero archsimd.Float32x4
		x0, x1 = x0.Max(zero), x1.Max(zero)
	}
	x0.StoreArray(o0)
	x1.StoreArray(o1)
}
