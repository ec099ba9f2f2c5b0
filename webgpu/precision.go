package webgpu

import (
	"encoding/binary"
	"math"
)

// precision is how a model's weights and activations are stored in GPU
// memory and what the convs compute in. Biases, split-K partial sums,
// logits and probabilities are f32 in every mode.
type precision int

const (
	// precF32 stores and computes in f32.
	precF32 precision = iota
	// precF16Storage stores f16 values two to a u32 (pack2x16float, core
	// WGSL: every device can) and computes in f32: it saves memory and
	// bandwidth, not arithmetic.
	precF16Storage
	// precF16Arithmetic stores the same f16 bytes as vec4<f16> and computes
	// the convs in f16 (WGSL `enable f16;`), but for their running sums:
	// each K tile's f16 sum goes into an f32 total. Only on devices with
	// the feature shader-f16.
	precF16Arithmetic
)

// String names the mode as Options do.
func (s precision) String() string {
	return [...]string{"f32", "f16 storage", "f16 arithmetic"}[s]
}

// size is the bytes per stored value.
func (s precision) size() int {
	if s == precF32 {
		return 4
	}
	return 2
}

// wgsl is the WGSL scalar type of a stored value.
func (s precision) wgsl() string {
	if s == precF32 {
		return "f32"
	}
	return "f16"
}

// arithmetic is the WGSL scalar type the convs compute in.
func (s precision) arithmetic() string {
	if s == precF16Arithmetic {
		return "f16"
	}
	return "f32"
}

// encode writes src into dst as little-endian values of type s; dst must
// hold len(src)*s.size() bytes.
func (s precision) encode(dst []byte, src []float32) {
	if s.size() == 2 {
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], float16Bits(v))
		}
		return
	}
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// decode reads len(dst) little-endian values of type s from src.
func (s precision) decode(dst []float32, src []byte) {
	for i := range dst {
		if s.size() == 2 {
			dst[i] = float16Value(binary.LittleEndian.Uint16(src[2*i:]))
		} else {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	}
}

// float16Value decodes binary16 bits exactly.
func float16Value(h uint16) float32 {
	sign := float32(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * float32(math.Ldexp(mant, -24))
	case 0x1f:
		if mant != 0 {
			return float32(math.NaN())
		}
		return sign * float32(math.Inf(1))
	}
	return sign * float32(math.Ldexp(1024+mant, exp-25))
}

// float16Bits returns the IEEE 754 binary16 value nearest to f, ties to
// even, as WGSL's f16(x) conversion does: too large becomes ±Inf, too small
// a subnormal or ±0, NaN stays NaN.
func float16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp, mant := int(b>>23&0xff), b&0x7fffff
	if exp == 0xff { // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // the binary16 biased exponent
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e < -10: // below half the smallest subnormal: rounds to zero
		return sign
	case e <= 0: // a binary16 subnormal: the implicit bit becomes explicit
		return sign | roundShift(mant|0x800000, uint(14-e))
	}
	// A carry out of the mantissa rounds up into the exponent, up to Inf.
	return sign | roundShift(uint32(e)<<23|mant, 13)
}

// roundShift returns v >> shift rounded to nearest, ties to even.
func roundShift(v uint32, shift uint) uint16 {
	q, rem, half := v>>shift, v&(1<<shift-1), uint32(1)<<(shift-1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return uint16(q)
}
