//go:build goexperiment.simd && amd64

package kernel

import (
	"simd/archsimd"
	"unsafe"
)

// Register tile: 6 rows x 32 columns. With AVX-512 that is 12 accumulators
// of 16 floats plus 2 loads of B and 1 broadcast of A: 15 registers, as Go's
// register allocator uses only 16 vector registers (a 12x32 tile spills and
// runs 15% slower). AVX2 covers the same tile as two 6x16 halves.
const (
	mr = 6
	nr = 32
)

var (
	haveAVX512 = archsimd.X86.AVX512()
	haveAVX2   = archsimd.X86.AVX2() && archsimd.X86.FMA()
)

var (
	avx512 = kernelSet{
		micro: microKernelAVX512, store: storeRowAVX512,
		winoIn: winogradInAVX512, winoOut: winogradOutAVX512,
		wino4In: winograd4InAVX512, wino4Out: winograd4OutAVX512,
		winoW: winogradWeightsAVX512, wino4W: winograd4WeightsAVX512,
		maxInto: maxIntoAVX, dot: dotAVX,
	}
	avx2 = kernelSet{
		micro: microKernelAVX2, store: storeRowAVX2,
		winoIn: winogradInGeneric, winoOut: winogradOutGeneric,
		wino4In: winograd4InGeneric, wino4Out: winograd4OutGeneric,
		winoW: winogradWeightsGeneric, wino4W: winograd4WeightsGeneric,
		maxInto: maxIntoAVX, dot: dotAVX,
	}
)

func pickKernels() kernelSet {
	switch {
	case haveAVX512:
		return avx512
	case haveAVX2:
		return avx2
	}
	return generic
}

// Backend names the kernels in use, for timings and benchmark reports.
func Backend() string {
	switch {
	case haveAVX512:
		return "Go SIMD (AVX-512)"
	case haveAVX2:
		return "Go SIMD (AVX2+FMA)"
	}
	return "plain Go (no AVX2 on this CPU)"
}

// simdKernels lists the SIMD kernel sets this CPU can run, for the tests.
func simdKernels() map[string]kernelSet {
	ks := map[string]kernelSet{}
	if haveAVX512 {
		ks["avx512"] = avx512
	}
	if haveAVX2 {
		ks["avx2"] = avx2
	}
	return ks
}

// microKernelAVX512 is microKernelGeneric on 16-wide vectors. Each step
// addresses its operands from the loop index with unsafe pointer arithmetic
// (no bounds check per load); the slice lengths are checked once up front.
//
// It multiplies and adds in two instructions rather than one FMA: Go's
// register allocator gives the destructive FMA form a register copy per
// accumulator, and on the Zen 5 machines we measure (separate multiply and
// add pipes) MUL+ADD ran 10% faster than MulAdd (117 vs 106 GFLOP/s).
func microKernelAVX512(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32) {
	_ = a[(mr-1)*lda+kc-1]
	_ = b[kc*nr-1]
	pa, pb, row := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), uintptr(lda)*4
	var c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51 archsimd.Float32x16
	for k := range uintptr(kc) {
		bk := unsafe.Add(pb, k*nr*4)
		b0 := archsimd.LoadFloat32x16Array((*[16]float32)(bk))
		b1 := archsimd.LoadFloat32x16Array((*[16]float32)(unsafe.Add(bk, 64)))
		ak := unsafe.Add(pa, k*4)
		x0 := archsimd.BroadcastFloat32x16(*(*float32)(ak))
		c00, c01 = c00.Add(b0.Mul(x0)), c01.Add(b1.Mul(x0))
		x1 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ak, row)))
		c10, c11 = c10.Add(b0.Mul(x1)), c11.Add(b1.Mul(x1))
		x2 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ak, 2*row)))
		c20, c21 = c20.Add(b0.Mul(x2)), c21.Add(b1.Mul(x2))
		x3 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ak, 3*row)))
		c30, c31 = c30.Add(b0.Mul(x3)), c31.Add(b1.Mul(x3))
		x4 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ak, 4*row)))
		c40, c41 = c40.Add(b0.Mul(x4)), c41.Add(b1.Mul(x4))
		x5 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ak, 5*row)))
		c50, c51 = c50.Add(b0.Mul(x5)), c51.Add(b1.Mul(x5))
	}
	out := func(i int) *[16]float32 { return (*[16]float32)(c[i*16:]) }
	c00.StoreArray(out(0))
	c01.StoreArray(out(1))
	c10.StoreArray(out(2))
	c11.StoreArray(out(3))
	c20.StoreArray(out(4))
	c21.StoreArray(out(5))
	c30.StoreArray(out(6))
	c31.StoreArray(out(7))
	c40.StoreArray(out(8))
	c41.StoreArray(out(9))
	c50.StoreArray(out(10))
	c51.StoreArray(out(11))
}

// microKernelAVX2 computes the 6x32 tile as two 6x16 halves, each with 12
// accumulators of 8 floats (the A rows are re-read from L1 for the second).
func microKernelAVX2(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32) {
	microKernelAVX2Half(kc, a, lda, b, c, 0)
	microKernelAVX2Half(kc, a, lda, b, c, 16)
}

func microKernelAVX2Half(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32, col int) {
	_ = a[(mr-1)*lda+kc-1]
	_ = b[kc*nr-1]
	pa, pb, row := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[col]), uintptr(lda)*4
	var c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51 archsimd.Float32x8
	for k := range uintptr(kc) {
		bk := unsafe.Add(pb, k*nr*4)
		b0 := archsimd.LoadFloat32x8Array((*[8]float32)(bk))
		b1 := archsimd.LoadFloat32x8Array((*[8]float32)(unsafe.Add(bk, 32)))
		ak := unsafe.Add(pa, k*4)
		x := archsimd.BroadcastFloat32x8(*(*float32)(ak))
		c00, c01 = b0.MulAdd(x, c00), b1.MulAdd(x, c01)
		x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(ak, row)))
		c10, c11 = b0.MulAdd(x, c10), b1.MulAdd(x, c11)
		x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(ak, 2*row)))
		c20, c21 = b0.MulAdd(x, c20), b1.MulAdd(x, c21)
		x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(ak, 3*row)))
		c30, c31 = b0.MulAdd(x, c30), b1.MulAdd(x, c31)
		x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(ak, 4*row)))
		c40, c41 = b0.MulAdd(x, c40), b1.MulAdd(x, c41)
		x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(ak, 5*row)))
		c50, c51 = b0.MulAdd(x, c50), b1.MulAdd(x, c51)
	}
	out := func(r, j int) *[8]float32 { return (*[8]float32)(c[r*nr+col+j*8:]) }
	c00.StoreArray(out(0, 0))
	c01.StoreArray(out(0, 1))
	c10.StoreArray(out(1, 0))
	c11.StoreArray(out(1, 1))
	c20.StoreArray(out(2, 0))
	c21.StoreArray(out(2, 1))
	c30.StoreArray(out(3, 0))
	c31.StoreArray(out(3, 1))
	c40.StoreArray(out(4, 0))
	c41.StoreArray(out(4, 1))
	c50.StoreArray(out(5, 0))
	c51.StoreArray(out(5, 1))
}

// maxIntoAVX is maxIntoGeneric on 8-wide vectors (AVX, which both sets have).
func maxIntoAVX(out, in []float32) {
	in = in[:len(out)]
	i := 0
	for ; i+8 <= len(out); i += 8 {
		o := (*[8]float32)(out[i : i+8])
		archsimd.LoadFloat32x8Array(o).Max(archsimd.LoadFloat32x8Array((*[8]float32)(in[i : i+8]))).StoreArray(o)
	}
	maxIntoGeneric(out[i:], in[i:])
}

// dotAVX is dotGeneric on two 8-wide accumulators (AVX, which both sets have).
func dotAVX(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 archsimd.Float32x8
	i := 0
	for ; i+16 <= len(a); i += 16 {
		ld := func(s []float32, j int) archsimd.Float32x8 {
			return archsimd.LoadFloat32x8Array((*[8]float32)(s[j : j+8]))
		}
		s0 = s0.Add(ld(a, i).Mul(ld(b, i)))
		s1 = s1.Add(ld(a, i+8).Mul(ld(b, i+8)))
	}
	var lanes [8]float32
	s0.Add(s1).StoreArray(&lanes)
	sum := float32(0)
	for _, v := range lanes {
		sum += v
	}
	return sum + dotGeneric(a[i:], b[i:])
}

// storeRowAVX512 is storeRowGeneric for one full row of NR = 32 values.
func storeRowAVX512(out, t []float32, first bool, bias, res []float32, relu bool) {
	for j := 0; j < nr; j += 16 {
		o := (*[16]float32)(out[j : j+16])
		x := archsimd.LoadFloat32x16Array((*[16]float32)(t[j : j+16]))
		if !first {
			x = x.Add(archsimd.LoadFloat32x16Array(o))
		}
		if bias != nil {
			x = x.Add(archsimd.LoadFloat32x16Array((*[16]float32)(bias[j : j+16])))
		}
		if res != nil {
			x = x.Add(archsimd.LoadFloat32x16Array((*[16]float32)(res[j : j+16])))
		}
		if relu {
			x = x.Max(archsimd.Float32x16{})
		}
		x.StoreArray(o)
	}
}

// storeRowAVX2 is storeRowGeneric for one full row of NR = 32 values.
func storeRowAVX2(out, t []float32, first bool, bias, res []float32, relu bool) {
	for j := 0; j < nr; j += 8 {
		o := (*[8]float32)(out[j : j+8])
		x := archsimd.LoadFloat32x8Array((*[8]float32)(t[j : j+8]))
		if !first {
			x = x.Add(archsimd.LoadFloat32x8Array(o))
		}
		if bias != nil {
			x = x.Add(archsimd.LoadFloat32x8Array((*[8]float32)(bias[j : j+8])))
		}
		if res != nil {
			x = x.Add(archsimd.LoadFloat32x8Array((*[8]float32)(res[j : j+8])))
		}
		if relu {
			x = x.Max(archsimd.Float32x8{})
		}
		x.StoreArray(o)
	}
}
