//go:build ignore

// gen_microkernel writes microkernel_wasm_simd.s: the WebAssembly SIMD128
// GEMM micro-kernel (gemmTiles, declared in tile_wasm_simd.go) in Go
// assembly.
//
// Why assembly: Go's compiler, on wasm, turns each loop iteration into a
// jump through the function's dispatch loop, adds an i64.add and an
// i32.wrap_i64 to every load instead of folding constant offsets, and
// broadcasts a float with f32.load + f32x4.splat. Written by hand, the k
// loop is a plain wasm loop, the unrolled steps address their operands by
// constant offsets, and A is broadcast with v128.load32_splat. In Chromium
// that took a quarter off ResNet-50's time and a fifth off ResNet-18's
// against the archsimd kernel this replaces, against 7% and 4% with
// f32.load + f32x4.splat instead of load32_splat; unrolling 8 times beat 4
// and 16, and a 6x8 tile was slower (bench/run.mjs; docs/benchmark-log.md,
// "Fifth session").
//
//	go generate ./engine/kernel
package main

import (
	"fmt"
	"log"
	"os"
	"strings"
)

const (
	mr     = 4 // tile rows (A rows, output positions)
	unroll = 8 // k steps per loop iteration
)

// Go registers: R0-R15 are i64 locals, V0-V15 v128 locals.
const (
	rTiles = 0  // tiles left
	rKC    = 1  // kc
	rA     = 2  // A's first row of the current tile
	rLDA   = 3  // A's row stride, bytes
	rB     = 4  // the packed panel of B
	rOut   = 5  // the output's first row of the current tile
	rLDC   = 6  // the output's row stride, bytes
	rK     = 7  // k steps left; in the epilogue, the output row
	rBK    = 8  // B at step k; in the epilogue, the residual row
	rRow   = 9  // R9 to R9+mr-1: A's rows at step k; R9 in the epilogue: bias
	rRes   = 15 // the residual's first row of the current tile
)

// V0 to V(2*mr-1) accumulate (row r in V(2r), V(2r+1)); then the two
// vectors of B at step k and the broadcast A value.
const (
	vB0 = 2*mr + iota
	vB1
	vX
)

var out strings.Builder

func ins(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }

func main() {
	out.WriteString(header)
	ins("I64Load tiles+0(FP)")
	ins("Set R%d", rTiles)
	ins("I64Load kc+8(FP)")
	ins("Set R%d", rKC)
	ins("I64Load a+16(FP)")
	ins("Set R%d", rA)
	ins("I64Load lda+24(FP)")
	ins("I64Const $2")
	ins("I64Shl")
	ins("Set R%d", rLDA)
	ins("I64Load b+32(FP)")
	ins("Set R%d", rB)
	ins("I64Load out+40(FP)")
	ins("Set R%d", rOut)
	ins("I64Load ldc+48(FP)")
	ins("I64Const $2")
	ins("I64Shl")
	ins("Set R%d", rLDC)
	ins("I64Load res+72(FP)")
	ins("Set R%d", rRes)

	out.WriteString("\n\t// One MR x 8 tile per iteration.\n")
	ins("Loop")
	ins("F32Const $(0.0)")
	ins("F32x4Splat")
	for v := range 2*mr - 1 {
		ins("Tee V%d", v)
	}
	ins("Set V%d", 2*mr-1)
	ins("Get R%d", rA)
	ins("Set R%d", rRow)
	for r := 1; r < mr; r++ {
		ins("Get R%d", rRow+r-1)
		ins("Get R%d", rLDA)
		ins("I64Add")
		ins("Set R%d", rRow+r)
	}
	ins("Get R%d", rB)
	ins("Set R%d", rBK)
	ins("Get R%d", rKC)
	ins("Set R%d", rK)
	kLoop(unroll)
	kLoop(1)

	out.WriteString("\n\t// Epilogue, row by row: R7 walks the output, R8 the residual.\n")
	ins("Get R%d", rOut)
	ins("Set R%d", rK)
	ins("Get R%d", rRes)
	ins("Set R%d", rBK)
	for r := range mr {
		epilogueRow(r)
		if r < mr-1 {
			addTo(rK, rLDC)
			addTo(rBK, rLDC)
		}
	}
	for _, p := range [][2]int{{rA, rLDA}, {rOut, rLDC}, {rRes, rLDC}} {
		ins("Get R%d", p[0])
		ins("Get R%d", p[1])
		ins("I64Const $%d", mr)
		ins("I64Mul")
		ins("I64Add")
		ins("Set R%d", p[0])
	}
	ins("Get R%d", rTiles)
	ins("I64Const $1")
	ins("I64Sub")
	ins("Tee R%d", rTiles)
	ins("I64Const $0")
	ins("I64Ne")
	ins("BrIf $0")
	ins("End")
	ins("RET")

	if err := os.WriteFile("microkernel_wasm_simd.s", []byte(out.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

// kLoop runs the k steps n at a time while at least n are left.
func kLoop(n int) {
	fmt.Fprintf(&out, "\n\t// k steps, %d at a time.\n", n)
	ins("Block")
	ins("Loop")
	ins("Get R%d", rK)
	ins("I64Const $%d", n)
	ins("I64LtS")
	ins("BrIf $1")
	for s := range n {
		step(s)
	}
	for r := range mr {
		advance(rRow+r, 4*n)
	}
	advance(rBK, 32*n)
	advance(rK, -n)
	ins("Br $0")
	ins("End")
	ins("End")
}

// step is step s of an unrolled group: acc[r] += B[k] * A[r][k] for each
// row, both halves of B.
func step(s int) {
	for h, v := range []int{vB0, vB1} {
		ins("Get R%d", rBK)
		ins("I32WrapI64")
		ins("V128Load $%d", 32*s+16*h)
		ins("Set V%d", v)
	}
	for r := range mr {
		ins("Get V%d", 2*r)
		ins("Get V%d", vB0)
		loadSplat(rRow+r, 4*s)
		ins("Tee V%d", vX)
		ins("F32x4Mul")
		ins("F32x4Add")
		ins("Set V%d", 2*r)
		ins("Get V%d", 2*r+1)
		ins("Get V%d", vB1)
		ins("Get V%d", vX)
		ins("F32x4Mul")
		ins("F32x4Add")
		ins("Set V%d", 2*r+1)
	}
}

// loadSplat pushes the float32 at register reg + off on all four lanes.
// Go 1.27's assembler writes V128Load32Splat's opcode but not its memory
// operand (cmd/internal/obj/wasm encodes one only for V128Load and
// V128Store among the SIMD loads), so the two bytes of that operand, align
// 2 (four bytes) and the offset, come from a Block with a block type: its
// encoding is 0x02 then the byte 0x80-n. Should a later Go encode the
// operand itself, the module no longer validates and every wasm test fails.
func loadSplat(reg, off int) {
	if off >= 0x80 {
		log.Fatalf("offset %d needs more than one byte", off)
	}
	ins("Get R%d", reg)
	ins("I32WrapI64")
	ins("V128Load32Splat")
	ins("Block $%d // memory operand: align 2, offset %d", 0x80-off, off)
}

func advance(reg, by int) {
	ins("Get R%d", reg)
	ins("I64Const $%d", by)
	ins("I64Add")
	ins("Set R%d", reg)
}

// addLoad adds the vector at register reg + off to V(v).
func addLoad(v, reg, off int) {
	ins("Get V%d", v)
	ins("Get R%d", reg)
	ins("I32WrapI64")
	ins("V128Load $%d", off)
	ins("F32x4Add")
	ins("Set V%d", v)
}

func addTo(dst, src int) {
	ins("Get R%d", dst)
	ins("Get R%d", src)
	ins("I64Add")
	ins("Set R%d", dst)
}

// epilogueRow merges tile row r into the output row at R7 as
// storeRowSIMD128 does, the residual row at R8.
func epilogueRow(r int) {
	ifFlag("tileFirst", false)
	addLoad(2*r, rK, 0)
	addLoad(2*r+1, rK, 16)
	ins("End")
	ifFlag("tileBias", true)
	ins("I64Load bias+64(FP)")
	ins("Set R%d", rRow)
	addLoad(2*r, rRow, 0)
	addLoad(2*r+1, rRow, 16)
	ins("End")
	ifFlag("tileResidual", true)
	addLoad(2*r, rBK, 0)
	addLoad(2*r+1, rBK, 16)
	ins("End")
	ifFlag("tileReLU", true)
	for _, v := range []int{2 * r, 2*r + 1} {
		ins("Get V%d", v)
		ins("F32Const $(0.0)")
		ins("F32x4Splat")
		ins("F32x4Max")
		ins("Set V%d", v)
	}
	ins("End")
	// V128Store's offset would be lost (the parser puts a lone operand in
	// From, the encoder reads To), so the address is computed instead.
	for h := range 2 {
		ins("Get R%d", rK)
		ins("I32WrapI64")
		if h == 1 {
			ins("I32Const $16")
			ins("I32Add")
		}
		ins("Get V%d", 2*r+h)
		ins("V128Store $0")
	}
}

// ifFlag opens an If on flag (a constant of tile_wasm_simd.go) being set,
// or clear.
func ifFlag(flag string, set bool) {
	ins("I64Load flags+56(FP)")
	ins("I64Const $const_%s", flag)
	ins("I64And")
	ins("I64Eqz")
	if set {
		ins("I32Eqz")
	}
	ins("If")
}

const header = `// Code generated by "go run gen_microkernel.go"; DO NOT EDIT.

//go:build goexperiment.simd && wasm

#include "go_asm.h"
#include "textflag.h"

// func gemmTiles(tiles, kc int, a *float32, lda int, b *float32, out *float32, ldc int, flags int, bias, res *float32)
TEXT ·gemmTiles(SB), NOSPLIT, $0-80
`
