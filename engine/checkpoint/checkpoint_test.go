package checkpoint

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameCheckpoint compares names, shapes and data bit for bit (so NaNs and
// signed zeros count).
func sameCheckpoint(t testing.TB, got, want *Checkpoint) {
	t.Helper()
	if !slices.Equal(got.Names, want.Names) {
		t.Fatalf("names %q, want %q", got.Names, want.Names)
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for _, n := range want.Names {
		g, w := got.Tensors[n], want.Tensors[n]
		if g == nil {
			t.Fatalf("tensor %q missing", n)
		}
		if !slices.Equal(g.Shape, w.Shape) {
			t.Fatalf("tensor %q shape %v, want %v", n, g.Shape, w.Shape)
		}
		gv, wv := g.Values(), w.Values()
		if len(gv) != len(wv) {
			t.Fatalf("tensor %q has %d values, want %d", n, len(gv), len(wv))
		}
		for i := range wv {
			if math.Float32bits(gv[i]) != math.Float32bits(wv[i]) {
				t.Fatalf("tensor %q[%d] = %v, want %v", n, i, gv[i], wv[i])
			}
		}
	}
}

var tinyNames = []string{
	"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var",
	"half.weight", "bf16.weight", "view.base", "view.row", "view.tail",
	"half.view", "scalar", "empty", "special.f32", "special.f16",
}

// TestFixturesAgree loads the same tensors saved by torch.save and as
// safetensors: the readers must agree exactly.
func TestFixturesAgree(t *testing.T) {
	pth, err := ReadPTH(fixture(t, "tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadSafetensors(fixture(t, "tiny.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pth.Names, tinyNames) {
		t.Fatalf("names %q, want %q (num_batches_tracked dropped)", pth.Names, tinyNames)
	}
	sameCheckpoint(t, pth, st)
	// Read sniffs the format.
	for _, f := range []string{"tiny.pth", "tiny.safetensors"} {
		c, err := Read(fixture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		sameCheckpoint(t, c, st)
	}
}

func TestFixtureValues(t *testing.T) {
	c, err := ReadPTH(fixture(t, "tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, shape []int, want []float32) {
		t.Helper()
		got := c.Tensors[name]
		if got == nil || !slices.Equal(got.Shape, shape) || !slices.Equal(got.Values(), want) {
			t.Errorf("%s = %+v, want shape %v data %v", name, got, shape, want)
		}
	}
	// Views at a storage offset into the shared arange(12)*0.5 storage.
	check("view.row", []int{4}, []float32{2, 2.5, 3, 3.5})
	check("view.tail", []int{1, 4}, []float32{4, 4.5, 5, 5.5})
	check("scalar", []int{}, []float32{1.5})
	check("empty", []int{0, 3}, []float32{})
	inf := float32(math.Inf(1))
	sp := c.Tensors["special.f16"].Values()
	if !math.IsNaN(float64(sp[4])) {
		t.Errorf("special.f16[4] = %v, want NaN", sp[4])
	}
	sp[4] = 0
	if want := []float32{0, 0, inf, -inf, 0, 0x1p-24, 65504, -1.5}; !slices.Equal(sp, want) || !math.Signbit(float64(sp[1])) {
		t.Errorf("special.f16 = %v, want %v", sp, want)
	}
	// Views share a storage but must not share memory.
	row := c.Tensors["view.row"].Values()
	row[0] = 99
	if c.Tensors["view.base"].Values()[4] != 2 {
		t.Error("view.row aliases view.base")
	}
}

func TestPTHParametersAndPlainDict(t *testing.T) {
	c, err := ReadPTH(fixture(t, "params.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Names, []string{"weight", "bias"}) || !slices.Equal(c.Tensors["weight"].Shape, []int{1, 2}) {
		t.Fatalf("got %q %v", c.Names, c.Tensors["weight"])
	}
}

func TestPTHFixtureErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"noncontig.pth", `tensor "t": not contiguous`},
		{"double.pth", `tensor "x": unsupported storage type DoubleStorage`},
		{"legacy.pth", "legacy (pre-1.6)"},
	} {
		_, err := Read(fixture(t, tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.file, err, tc.want)
		}
	}
	if _, err := ReadPTH(fixture(t, "legacy.pth")); err == nil || !strings.Contains(err.Error(), "not a valid zip") {
		t.Errorf("ReadPTH(legacy): %v", err)
	}
}

func TestCheck(t *testing.T) {
	c := &Checkpoint{
		Names: []string{"a", "b", "bn.num_batches_tracked"},
		Tensors: map[string]*Tensor{
			"a":                      {Shape: []int{2}, Data: make([]float32, 2)},
			"b":                      {Shape: []int{1, 3}, Data: make([]float32, 3)},
			"bn.num_batches_tracked": {Shape: []int{}, Data: make([]float32, 1)},
		},
	}
	ok := []arch.Tensor{{Name: "a", Shape: []int{2}}, {Name: "b", Shape: []int{1, 3}}, {Name: "x.num_batches_tracked"}}
	if err := c.Check(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		want []arch.Tensor
		err  string
	}{
		{[]arch.Tensor{{Name: "a", Shape: []int{2}}, {Name: "b", Shape: []int{1, 3}}, {Name: "c", Shape: []int{4}}}, "missing tensor c [4]"},
		{[]arch.Tensor{{Name: "a", Shape: []int{2}}}, "unexpected tensor b"},
		{[]arch.Tensor{{Name: "a", Shape: []int{2}}, {Name: "b", Shape: []int{3}}}, "tensor b has shape [1 3], want [3]"},
		{[]arch.Tensor{{Name: "z", Shape: []int{2}}}, "missing tensor z [2] (and 2 more problems)"},
	} {
		err := c.Check(tc.want)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Check(%v) = %v, want %q", tc.want, err, tc.err)
		}
	}
}

// TestCheckResNet18 checks a checkpoint laid out like torchvision's.
func TestCheckResNet18(t *testing.T) {
	n, err := arch.Standard(18).Build()
	if err != nil {
		t.Fatal(err)
	}
	c := &Checkpoint{Tensors: map[string]*Tensor{}}
	for _, w := range n.Tensors() {
		c.Names = append(c.Names, w.Name)
		c.Tensors[w.Name] = &Tensor{Shape: w.Shape}
	}
	if err := c.Check(n.Tensors()); err != nil {
		t.Fatal(err)
	}
	c.Tensors["fc.weight"].Shape = []int{10, 512}
	if err := c.Check(n.Tensors()); err == nil || !strings.Contains(err.Error(), "fc.weight") {
		t.Fatalf("got %v", err)
	}
}

// TestF16Exhaustive round-trips every half through float32.
func TestF16Exhaustive(t *testing.T) {
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		back := f32ToF16(f)
		if math.IsNaN(float64(f)) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 || back>>15 != uint16(h)>>15 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
	}
}

// TestF16Rounding checks f32ToF16 against the definition: the nearest half,
// ties to the even one, on random and hand-picked float32s.
func TestF16Rounding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []float32{
		1 + 0x1p-11, 1 + 3*0x1p-11, 65504, 65519.99, 65520, 0x1p-25, 0x1.8p-25,
		0x1p-26, 3 * 0x1p-26, 0x1p-14 - 0x1p-25, 0x1.ffcp-15, -0x1p-25, 1e-45,
	}
	for range 200000 {
		vals = append(vals, math.Float32frombits(r.Uint32()))
	}
	for i := range 50000 { // dense near the half range
		vals = append(vals, float32(r.NormFloat64()*math.Pow(2, float64(i%40-26))))
	}
	for _, v := range vals {
		if math.IsNaN(float64(v)) {
			continue
		}
		h := f32ToF16(v)
		got := float64(f16ToF32(h))
		x := float64(v)
		if math.Abs(x) >= 65520 {
			if !math.IsInf(got, int(math.Copysign(1, x))) {
				t.Fatalf("%g -> %g, want infinity", x, got)
			}
			continue
		}
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7c00 == 0x7c00 || nb>>15 != h>>15 && h&0x7fff != 0 {
				continue // not a finite neighbour of the same sign
			}
			alt := float64(f16ToF32(nb))
			d, da := math.Abs(x-got), math.Abs(x-alt)
			if da < d || da == d && h&1 == 1 {
				t.Fatalf("%g (%#08x) -> %#04x = %g, but %#04x = %g is nearer or even", x, math.Float32bits(v), h, got, nb, alt)
			}
		}
	}
	if f32ToF16(float32(math.NaN()))&0x7fff <= 0x7c00 {
		t.Error("NaN did not stay NaN")
	}
}
