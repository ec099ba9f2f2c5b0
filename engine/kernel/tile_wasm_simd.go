//go:build goexperiment.simd && wasm

package kernel

import (
	"simd/archsimd"
	"unsafe"
)

// Register tile for WASM SIMD128: 4 rows x 8 columns is 8 accumulators of 4
// floats plus loads, within the 16 v128 registers of Go's wasm backend
// (larger tiles spill; see docs/kernels.md).
const (
	mr = 4
	nr = 8
)

var simd128 = kernelSet{
	micro: microKernelSIMD128, store: storeRowSIMD128, microStore: microStoreSIMD128,
	winoIn: winogradInSIMD128, winoOut: winogradOutSIMD128,
	wino4In: winograd4InSIMD128, wino4Out: winograd4OutSIMD128,
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
	microStoreSIMD128(kc, a, lda, b, c[:], nr, true, nil, nil, false)
}

// microStoreSIMD128 is microKernelSIMD128 and storeRowSIMD128 fused. WASM
// has no FMA in Go's backend, so each step is a multiply then an add.
// Operands are addressed from the loop index with unsafe pointer
// arithmetic (no bounds check per load); the slice lengths are checked
// once up front. The k loop is unrolled four times: twice ran 1.6x faster
// than not at all under Node (34 against 21 GFLOP/s on one GEMM), four
// times another 3-5% on whole networks (ResNet-18 87 -> 83 ms).
func microStoreSIMD128(kc int, a []float32, lda int, b []float32, out []float32, ldc int, first bool, bias, res []float32, relu bool) {
	_ = a[(mr-1)*lda+kc-1]
	_ = b[kc*nr-1]
	pa, pb, row := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), uintptr(lda)*4
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x4
	k := uintptr(0)
	for ; k+4 <= uintptr(kc); k += 4 {
		bk := unsafe.Add(pb, k*nr*4)
		b0 := archsimd.LoadFloat32x4Array((*[4]float32)(bk))
		b1 := archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(bk, 16)))
		ak := unsafe.Add(pa, k*4)
		x := archsimd.BroadcastFloat32x4(*(*float32)(ak))
		c00, c01 = c00.Add(b0.Mul(x)), c01.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, row)))
		c10, c11 = c10.Add(b0.Mul(x)), c11.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 2*row)))
		c20, c21 = c20.Add(b0.Mul(x)), c21.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 3*row)))
		c30, c31 = c30.Add(b0.Mul(x)), c31.Add(b1.Mul(x))
		bk = unsafe.Add(pb, (k+1)*nr*4)
		b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bk))
		b1 = archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(bk, 16)))
		ak = unsafe.Add(pa, (k+1)*4)
		x = archsimd.BroadcastFloat32x4(*(*float32)(ak))
		c00, c01 = c00.Add(b0.Mul(x)), c01.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, row)))
		c10, c11 = c10.Add(b0.Mul(x)), c11.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 2*row)))
		c20, c21 = c20.Add(b0.Mul(x)), c21.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 3*row)))
		c30, c31 = c30.Add(b0.Mul(x)), c31.Add(b1.Mul(x))
		bk = unsafe.Add(pb, (k+2)*nr*4)
		b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bk))
		b1 = archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(bk, 16)))
		ak = unsafe.Add(pa, (k+2)*4)
		x = archsimd.BroadcastFloat32x4(*(*float32)(ak))
		c00, c01 = c00.Add(b0.Mul(x)), c01.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, row)))
		c10, c11 = c10.Add(b0.Mul(x)), c11.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 2*row)))
		c20, c21 = c20.Add(b0.Mul(x)), c21.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 3*row)))
		c30, c31 = c30.Add(b0.Mul(x)), c31.Add(b1.Mul(x))
		bk = unsafe.Add(pb, (k+3)*nr*4)
		b0 = archsimd.LoadFloat32x4Array((*[4]float32)(bk))
		b1 = archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(bk, 16)))
		ak = unsafe.Add(pa, (k+3)*4)
		x = archsimd.BroadcastFloat32x4(*(*float32)(ak))
		c00, c01 = c00.Add(b0.Mul(x)), c01.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, row)))
		c10, c11 = c10.Add(b0.Mul(x)), c11.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 2*row)))
		c20, c21 = c20.Add(b0.Mul(x)), c21.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 3*row)))
		c30, c31 = c30.Add(b0.Mul(x)), c31.Add(b1.Mul(x))
	}
	for ; k < uintptr(kc); k++ {
		bk := unsafe.Add(pb, k*nr*4)
		b0 := archsimd.LoadFloat32x4Array((*[4]float32)(bk))
		b1 := archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(bk, 16)))
		ak := unsafe.Add(pa, k*4)
		x := archsimd.BroadcastFloat32x4(*(*float32)(ak))
		c00, c01 = c00.Add(b0.Mul(x)), c01.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, row)))
		c10, c11 = c10.Add(b0.Mul(x)), c11.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 2*row)))
		c20, c21 = c20.Add(b0.Mul(x)), c21.Add(b1.Mul(x))
		x = archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(ak, 3*row)))
		c30, c31 = c30.Add(b0.Mul(x)), c31.Add(b1.Mul(x))
	}
	_ = out[(mr-1)*ldc+nr-1]
	if res != nil {
		_ = res[(mr-1)*ldc+nr-1]
	}
	var b0, b1 archsimd.Float32x4
	if bias != nil {
		b0, b1 = archsimd.LoadFloat32x4Array((*[4]float32)(bias[0:4])), archsimd.LoadFloat32x4Array((*[4]float32)(bias[4:8]))
	}
	epilogueSIMD128(c00, c01, out, 0, first, bias != nil, b0, b1, res, relu)
	epilogueSIMD128(c10, c11, out, ldc, first, bias != nil, b0, b1, res, relu)
	epilogueSIMD128(c20, c21, out, 2*ldc, first, bias != nil, b0, b1, res, relu)
	epilogueSIMD128(c30, c31, out, 3*ldc, first, bias != nil, b0, b1, res, relu)
}

// epilogueSIMD128 merges one tile row (x0, x1) into out[at:at+8] as
// storeRowSIMD128 does.
func epilogueSIMD128(x0, x1 archsimd.Float32x4, out []float32, at int, first, hasBias bool, b0, b1 archsimd.Float32x4, res []float32, relu bool) {
	o0, o1 := (*[4]float32)(out[at:at+4]), (*[4]float32)(out[at+4:at+8])
	if !first {
		x0, x1 = x0.Add(archsimd.LoadFloat32x4Array(o0)), x1.Add(archsimd.LoadFloat32x4Array(o1))
	}
	if hasBias {
		x0, x1 = x0.Add(b0), x1.Add(b1)
	}
	if res != nil {
		x0 = x0.Add(archsimd.LoadFloat32x4Array((*[4]float32)(res[at : at+4])))
		x1 = x1.Add(archsimd.LoadFloat32x4Array((*[4]float32)(res[at+4 : at+8])))
	}
	if relu {
		var zero archsimd.Float32x4
		x0, x1 = x0.Max(zero), x1.Max(zero)
	}
	x0.StoreArray(o0)
	x1.StoreArray(o1)
}

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
