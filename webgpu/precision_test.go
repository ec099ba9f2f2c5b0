package webgpu

import (
	"math"
	"testing"
)

// TestFloat16Bits checks every binary16 value, the midpoints between
// neighbours (ties to even) and the points just off them.
func TestFloat16Bits(t *testing.T) {
	for h := range uint32(1 << 16) {
		v := float16Value(uint16(h))
		got := float16Bits(v)
		if v != v {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x became %#04x", h, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("%g (%#04x) became %#04x", v, h, got)
		}
		if h&0x7fff >= 0x7bff { // the overflow boundary is checked below
			continue
		}
		next := float16Value(uint16(h) + 1) // the neighbour away from zero
		mid := float32((float64(v) + float64(next)) / 2)
		even := uint16(h)
		if h&1 == 1 {
			even = uint16(h) + 1
		}
		if got := float16Bits(mid); got != even {
			t.Fatalf("midpoint %g of %#04x and %#04x became %#04x, want %#04x", mid, h, h+1, got, even)
		}
		if got := float16Bits(math.Nextafter32(mid, 0)); got != uint16(h) {
			t.Fatalf("just below the midpoint after %#04x became %#04x", h, got)
		}
		if got := float16Bits(math.Nextafter32(mid, float32(math.Copysign(math.Inf(1), float64(v))))); got != uint16(h)+1 {
			t.Fatalf("just above the midpoint after %#04x became %#04x", h, got)
		}
	}
	// 65520 is halfway between the largest binary16, 65504, and 2^16.
	if got := float16Bits(math.Nextafter32(65520, 0)); got != 0x7bff {
		t.Errorf("just below 65520 became %#04x, want 65504", got)
	}
	if got := float16Bits(-65520); got != 0xfc00 {
		t.Errorf("-65520 became %#04x, want -Inf", got)
	}
	if got := float16Bits(-1e-10); got != 0x8000 {
		t.Errorf("-1e-10 became %#04x, want -0", got)
	}
}

func TestEncode(t *testing.T) {
	src := []float32{1, -2.5, 65504}
	b := make([]byte, len(src)*precF16Storage.size())
	precF16Storage.encode(b, src)
	if want := []byte{0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b}; string(b) != string(want) {
		t.Errorf("f16 bytes % x, want % x", b, want)
	}
	b = make([]byte, len(src)*precF32.size())
	precF32.encode(b, src)
	if want := []byte{0, 0, 0x80, 0x3f}; string(b[:4]) != string(want) {
		t.Errorf("f32 bytes % x, want % x", b[:4], want)
	}
}
