package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// stFile assembles a safetensors file from a header and a data section.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func randomCheckpoint(r *rand.Rand) *Checkpoint {
	c := &Checkpoint{Tensors: map[string]*Tensor{}}
	add := func(name string, shape []int, data []float32) {
		c.Names = append(c.Names, name)
		c.Tensors[name] = &Tensor{Shape: shape, Data: data}
	}
	add("conv1.weight", []int{4, 3, 3, 3}, nil)
	add("bn1.running_var", []int{4}, nil)
	add("scalar", []int{}, nil)
	add("empty", []int{2, 0}, []float32{})
	add(`odd "name" <&>`, []int{2}, nil)
	for _, n := range c.Names {
		t := c.Tensors[n]
		if t.Data == nil {
			k, _ := numel(t.Shape)
			t.Data = make([]float32, k)
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64())
			}
		}
	}
	c.Tensors["conv1.weight"].Data[0] = float32(math.Copysign(0, -1))
	c.Tensors["conv1.weight"].Data[1] = 65504 // the largest half
	c.Tensors["conv1.weight"].Data[2] = 1e-6  // half subnormal
	return c
}

func TestRoundTripF32(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(3, 4)))
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, F32); err != nil {
		t.Fatal(err)
	}
	if hl := binary.LittleEndian.Uint64(buf.Bytes()); hl%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", hl)
	}
	got, err := ReadSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got, c)
}

func TestRoundTripF16(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(5, 6)))
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, F16); err != nil {
		t.Fatal(err)
	}
	got, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := &Checkpoint{Names: c.Names, Tensors: map[string]*Tensor{}}
	for n, ten := range c.Tensors {
		w := &Tensor{Shape: ten.Shape, Data: make([]float32, len(ten.Data))}
		for i, v := range ten.Data {
			w.Data[i] = f16ToF32(f32ToF16(v))
		}
		want.Tensors[n] = w
	}
	sameCheckpoint(t, got, want)
	// Writing again as F16 is lossless.
	var again bytes.Buffer
	if err := WriteSafetensors(&again, got, F16); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("F16 rewrite differs")
	}
}

// TestWriteFixture rewrites the torch fixture and reads it back unchanged,
// once the tensors of NaN and Inf, which a writer refuses, are left out.
func TestWriteFixture(t *testing.T) {
	c, err := ReadPTH(fixture(t, "tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, F32); err == nil || !strings.Contains(err.Error(), "tensor special.f32: value 2 is +Inf") {
		t.Fatalf("writing NaN and Inf: %v, want an error naming special.f32", err)
	}
	c.Names = slices.DeleteFunc(c.Names, func(n string) bool { return strings.HasPrefix(n, "special.") })
	maps.DeleteFunc(c.Tensors, func(n string, _ *Tensor) bool { return strings.HasPrefix(n, "special.") })
	buf.Reset()
	if err := WriteSafetensors(&buf, c, F32); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got, c)
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestWriteRefusesWhatIsNotAWeight: NaN, infinities and float32 values
// beyond float16's range (which F16 would turn into infinities) are refused
// with the tensor and index named.
func TestWriteRefusesWhatIsNotAWeight(t *testing.T) {
	for _, tc := range []struct {
		v     float32
		dtype DType
		want  string
	}{
		{float32(math.NaN()), F32, "tensor w: value 1 is NaN"},
		{float32(math.Inf(1)), F16, "tensor w: value 1 is +Inf"},
		{float32(math.Inf(-1)), F32, "tensor w: value 1 is -Inf"},
		{70000, F16, "tensor w: value 1 is 70000, beyond float16's range"},
	} {
		c := &Checkpoint{Names: []string{"w"}, Tensors: map[string]*Tensor{"w": {Shape: []int{2}, Data: []float32{1, tc.v}}}}
		if err := WriteSafetensors(io.Discard, c, tc.dtype); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v as %s: %v, want %q", tc.v, tc.dtype, err, tc.want)
		}
	}
}

// TestSafetensorsSize: the size is exactly what is written.
func TestSafetensorsSize(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(1, 2)))
	for _, dt := range []DType{F32, F16} {
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, c, dt); err != nil {
			t.Fatal(err)
		}
		if n, err := SafetensorsSize(c, dt); err != nil || n != int64(buf.Len()) {
			t.Errorf("%s: SafetensorsSize = %d, %v; wrote %d", dt, n, err, buf.Len())
		}
	}
}

func TestWriteErrors(t *testing.T) {
	ok := func() *Checkpoint {
		return &Checkpoint{Names: []string{"a"}, Tensors: map[string]*Tensor{"a": {Shape: []int{2}, Data: []float32{1, 2}}}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Checkpoint)
		dtype DType
		want  string
	}{
		{"bf16", nil, BF16, `cannot write dtype "BF16"`},
		{"other dtype", nil, "F64", `cannot write dtype "F64"`},
		{"short data", func(c *Checkpoint) { c.Tensors["a"].Data = []float32{1} }, F32, `tensor "a": shape [2] needs 2 values, has 1`},
		{"negative dim", func(c *Checkpoint) { c.Tensors["a"].Shape = []int{-2} }, F32, `tensor "a": negative dimension`},
		{"not in Tensors", func(c *Checkpoint) { c.Names = append(c.Names, "b") }, F32, `tensor "b" is in Names but not in Tensors`},
		{"not in Names", func(c *Checkpoint) { c.Tensors["z"] = &Tensor{} }, F32, `tensor "z" is in Tensors but not in Names`},
		{"duplicate", func(c *Checkpoint) { c.Names = append(c.Names, "a") }, F32, `duplicate tensor "a"`},
		{"metadata name", func(c *Checkpoint) { c.Names[0] = metadataKey; c.Tensors[metadataKey] = c.Tensors["a"] }, F32, `invalid tensor name "__metadata__"`},
		{"invalid UTF-8", func(c *Checkpoint) { c.Names[0] = "a\xff"; c.Tensors["a\xff"] = c.Tensors["a"]; delete(c.Tensors, "a") }, F32, `invalid tensor name "a\xff"`},
		{"nil", func(c *Checkpoint) { *c = Checkpoint{} }, F32, ""},
	} {
		c := ok()
		if tc.edit != nil {
			tc.edit(c)
		}
		err := WriteSafetensors(&bytes.Buffer{}, c, tc.dtype)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := WriteSafetensors(&bytes.Buffer{}, nil, F32); err == nil {
		t.Error("nil checkpoint: no error")
	}
	// Write errors surface, wherever they happen.
	big := &Checkpoint{Names: []string{"a"}, Tensors: map[string]*Tensor{"a": {Shape: []int{100000}, Data: make([]float32, 100000)}}}
	for _, n := range []int{0, 8, 100, 70000, 399999} {
		if err := WriteSafetensors(&failWriter{n: n}, big, F32); err == nil || err.Error() != "disk full" {
			t.Errorf("writer failing after %d bytes: %v", n, err)
		}
	}
}

func TestReadSafetensorsNBT(t *testing.T) {
	h := `{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}`
	c, err := ReadSafetensors(stFile(h, []byte{7, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Names) != 1 || c.Names[0] != "w" || c.Tensors["w"].Values()[0] != 1 || len(c.Tensors) != 1 {
		t.Fatalf("got %q %v", c.Names, c.Tensors["w"])
	}
	// An empty file is a valid, empty checkpoint.
	c, err = ReadSafetensors(stFile("{}", nil))
	if err != nil || len(c.Names) != 0 {
		t.Fatalf("empty: %v %v", c, err)
	}
}

// TestReadSafetensorsErrors crafts one file per validation rule; each error
// must name the tensor or the byte offset.
func TestReadSafetensorsErrors(t *testing.T) {
	f32 := func(name, shape, offs string) string {
		return `"` + name + `":{"dtype":"F32","shape":` + shape + `,"data_offsets":` + offs + `}`
	}
	hugeLen := binary.LittleEndian.AppendUint64(nil, 200<<20)
	pastEOF := binary.LittleEndian.AppendUint64(nil, 100)
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes"},
		{"short", []byte{1, 2, 3}, "file is 3 bytes"},
		{"huge header", append(hugeLen, "{}"...), "header length 209715200 at byte 0 is over"},
		{"max uint64 header", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "at byte 0 is over"},
		{"header past EOF", append(pastEOF, "{}"...), "header length 100 at byte 0 runs past the end of the 10-byte file"},
		{"bad JSON", stFile(`{"a":`, nil), "invalid JSON header near byte"},
		{"not object", stFile(`[1]`, nil), "header at byte 8 is not a JSON object"},
		{"empty header", stFile(``, nil), "invalid JSON header near byte 8"},
		{"data after object", stFile(`{} {}`, nil), "data after the object near byte"},
		{"duplicate", stFile(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("a", "[1]", "[4,8]")+`}`, make([]byte, 8)), `duplicate tensor "a" in header near byte`},
		{"bad dtype", stFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "a": unsupported dtype "F64"`},
		{"I64 weight", stFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "a": unsupported dtype "I64"`},
		{"no dtype", stFile(`{"a":{"shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "a": unsupported dtype ""`},
		{"null entry", stFile(`{"a":null}`, nil), `tensor "a": unsupported dtype`},
		{"unknown field", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, make([]byte, 4)), `tensor "a": bad header entry`},
		{"no shape", stFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "a": no shape`},
		{"negative dim", stFile(`{`+f32("a", "[-1]", "[0,4]")+`}`, make([]byte, 4)), `tensor "a": negative dimension`},
		{"float dim", stFile(`{`+f32("a", "[1.5]", "[0,4]")+`}`, make([]byte, 4)), `tensor "a": bad header entry`},
		{"huge shape", stFile(`{`+f32("a", "[65536,65536,65536,65536]", "[0,4]")+`}`, make([]byte, 4)), `tensor "a": shape [65536 65536 65536 65536] is too large`},
		{"offsets len", stFile(`{`+f32("a", "[1]", "[0]")+`}`, make([]byte, 4)), `tensor "a": data_offsets is not a [begin, end] pair`},
		{"no offsets", stFile(`{"a":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), `tensor "a": data_offsets is not`},
		{"negative offset", stFile(`{`+f32("a", "[1]", "[-4,0]")+`}`, make([]byte, 4)), `tensor "a": negative data_offsets`},
		{"begin after end", stFile(`{`+f32("a", "[1]", "[4,0]")+`}`, make([]byte, 4)), `tensor "a": data_offsets [4, 0] begin after end`},
		{"past data", stFile(`{`+f32("a", "[1]", "[0,8]")+`}`, make([]byte, 4)), `tensor "a": data_offsets [0, 8] run past the 4-byte data section`},
		{"size mismatch", stFile(`{`+f32("a", "[2]", "[0,4]")+`}`, make([]byte, 4)), `tensor "a": data_offsets [0, 4] hold 4 bytes, but F32 [2] needs 8`},
		{"overlap", stFile(`{`+f32("a", "[2]", "[0,8]")+`,`+f32("b", "[1]", "[4,8]")+`}`, make([]byte, 8)), `tensor "b" at file offset`},
		{"same range", stFile(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("b", "[1]", "[0,4]")+`}`, make([]byte, 4)), `overlaps tensor "a"`},
		{"gap", stFile(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("b", "[1]", "[8,12]")+`}`, make([]byte, 12)), `unused bytes at file offset`},
		{"trailing", stFile(`{`+f32("a", "[1]", "[0,4]")+`}`, make([]byte, 6)), "2 unused trailing bytes at file offset"},
		{"metadata", stFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__ is not an object of strings"},
		{"empty name", stFile(`{`+f32("", "[1]", "[0,4]")+`}`, make([]byte, 4)), `tensor "": empty tensor name`},
	} {
		c, err := ReadSafetensors(tc.file)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if c != nil {
			t.Errorf("%s: checkpoint returned with the error", tc.name)
		}
	}
}

// TestOverlapOffset pins the reported offset: 8 (length) + header + 4.
func TestOverlapOffset(t *testing.T) {
	h := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`
	_, err := ReadSafetensors(stFile(h, make([]byte, 8)))
	want := fmt.Sprintf(`safetensors: tensor "b" at file offset %d overlaps tensor "a"`, 8+len(h)+4)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// rangeSource is a Source that records the ranges read from it.
type rangeSource struct {
	b     []byte
	reads [][2]int64
}

func (s *rangeSource) CopyAt(p []byte, off int64) {
	s.reads = append(s.reads, [2]int64{off, off + int64(len(p))})
	copy(p, s.b[off:])
}

// TestReadSafetensorsFromIsLazy checks that opening reads only the header
// and that a tensor's Values read only that tensor's bytes, giving what
// ReadSafetensors gives.
func TestReadSafetensorsFromIsLazy(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(5, 6)))
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, F16); err != nil {
		t.Fatal(err)
	}
	src := &rangeSource{b: buf.Bytes()}
	lazy, err := ReadSafetensorsFrom(src, buf.Len())
	if err != nil {
		t.Fatal(err)
	}
	base := 8 + int64(binary.LittleEndian.Uint64(buf.Bytes()))
	for _, r := range src.reads {
		if r[1] > base {
			t.Fatalf("opening read bytes %v, past the header's end %d", r, base)
		}
	}
	eager, err := ReadSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	src.reads = nil
	got, want := lazy.Tensors["conv1.weight"].Values(), eager.Tensors["conv1.weight"].Values()
	if len(src.reads) != 1 || src.reads[0][1]-src.reads[0][0] != int64(2*len(want)) {
		t.Fatalf("Values read %v, want one range of %d bytes", src.reads, 2*len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("value %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// lazyCopy writes c as a safetensors file of element type dt and opens it
// with ReadSafetensorsFrom, so that its tensors are decoded on demand.
func lazyCopy(t *testing.T, c *Checkpoint, dt DType) *Checkpoint {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, dt); err != nil {
		t.Fatal(err)
	}
	lazy, err := ReadSafetensorsFrom(&rangeSource{b: buf.Bytes()}, buf.Len())
	if err != nil {
		t.Fatal(err)
	}
	return lazy
}

// TestOwnedValues checks that what OwnedValues returns can be changed
// without changing the tensor, lazy or not.
func TestOwnedValues(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(7, 8)))
	lazy := lazyCopy(t, c, F32)
	for name, ck := range map[string]*Checkpoint{"eager": c, "lazy": lazy} {
		tensor := ck.Tensors["conv1.weight"]
		want := tensor.Values()[0]
		tensor.OwnedValues()[0] = want + 1
		if got := tensor.Values()[0]; got != want {
			t.Errorf("%s: changing OwnedValues changed the tensor: %v, want %v", name, got, want)
		}
	}
}

// TestDecodeRanges checks that Decode gives the values Values gives for
// any range, from F32 and F16 files and from memory.
func TestDecodeRanges(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(9, 10)))
	for _, dt := range []DType{F32, F16} { // the types WriteSafetensors writes
		lazy := lazyCopy(t, c, dt)
		for name, ck := range map[string]*Checkpoint{"in memory": c, "from the file": lazy} {
			tensor := ck.Tensors["conv1.weight"]
			all := tensor.Values()
			for _, r := range [][2]int{{0, len(all)}, {0, 1}, {5, 17}, {len(all) - 3, len(all)}, {7, 7}} {
				got := make([]float32, r[1]-r[0])
				tensor.Decode(got, r[0])
				for i, v := range got {
					if math.Float32bits(v) != math.Float32bits(all[r[0]+i]) {
						t.Fatalf("%s %s: Decode of [%d, %d): value %d is %v, want %v", dt, name, r[0], r[1], i, v, all[r[0]+i])
					}
				}
			}
		}
	}
}
