package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

// pk builds pickles by hand, to reach error paths torch.save never takes.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }

func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
	return p
}

func (p *pk) int(n int) *pk {
	p.WriteByte('J')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(n))))
	return p
}

func (p *pk) global(module, name string) *pk {
	p.WriteString("c" + module + "\n" + name + "\n")
	return p
}

func (p *pk) ints(v []int) *pk {
	p.op('(')
	for _, x := range v {
		p.int(x)
	}
	return p.op('t')
}

// pt describes one pickled tensor.
type pt struct {
	name, class, key string
	numel, off       int
	size, stride     []int
}

// tensor pushes name and torch._utils._rebuild_tensor_v2(storage, ...) as
// torch.save writes them.
func (p *pk) tensor(t pt) *pk {
	p.str(t.name)
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", t.class).str(t.key).str("cpu").int(t.numel).op('t', 'Q')
	p.int(t.off).ints(t.size).ints(t.stride).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

// stateDict pickles an OrderedDict of tensors.
func stateDict(ts ...pt) []byte {
	p := &pk{}
	p.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R')
	for _, t := range ts {
		p.tensor(t).op('s')
	}
	p.op('.')
	return p.Bytes()
}

type rec struct {
	name string
	data []byte
}

// makeZip writes records uncompressed (as torch.save does) or deflated.
func makeZip(t testing.TB, method uint16, recs ...rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, r := range recs {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(r.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// records reads every record of a zip, in order.
func records(t testing.TB, b []byte) []rec {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var rs []rec
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, rec{f.Name, data})
	}
	return rs
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestPTHCrafted(t *testing.T) {
	b := makeZip(t, zip.Store,
		rec{"archive/data.pkl", stateDict(
			pt{"w", "FloatStorage", "0", 6, 2, []int{2, 2}, []int{2, 1}},
			pt{"one", "FloatStorage", "0", 6, 5, []int{1, 1}, []int{7, 9}}, // size-1 dims: any stride
			pt{"bn.num_batches_tracked", "LongStorage", "1", 1, 0, []int{}, []int{}},
			pt{"h", "HalfStorage", "2", 2, 0, []int{2}, []int{1}},
		)},
		rec{"archive/data/0", f32bytes(0, 1, 2, 3, 4, 5)},
		rec{"archive/data/1", make([]byte, 8)},
		rec{"archive/data/2", []byte{0x00, 0x3c, 0x00, 0xc0}},
		rec{"archive/byteorder", []byte("little")},
	)
	c, err := ReadPTH(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Names, []string{"w", "one", "h"}) ||
		!slices.Equal(c.Tensors["w"].Values(), []float32{2, 3, 4, 5}) ||
		!slices.Equal(c.Tensors["one"].Values(), []float32{5}) ||
		!slices.Equal(c.Tensors["h"].Values(), []float32{1, -2}) {
		t.Fatalf("got %q %v %v %v", c.Names, c.Tensors["w"], c.Tensors["one"], c.Tensors["h"])
	}
}

// TestPTHDeflated reads torch's fixture re-zipped with compression, as a
// user's zip tool might leave it.
func TestPTHDeflated(t *testing.T) {
	want, err := ReadPTH(fixture(t, "tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadPTH(makeZip(t, zip.Deflate, records(t, fixture(t, "tiny.pth"))...))
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got, want)
}

// edit returns tiny.pth with its records changed by fn (nil drops one).
func edit(t *testing.T, fn func(r rec) *rec, extra ...rec) []byte {
	var out []rec
	for _, r := range records(t, fixture(t, "tiny.pth")) {
		if n := fn(r); n != nil {
			out = append(out, *n)
		}
	}
	return makeZip(t, zip.Store, append(out, extra...)...)
}

func TestPTHErrors(t *testing.T) {
	keep := func(r rec) *rec { return &r }
	w := func(ts ...pt) []byte { return stateDict(ts...) }
	f := pt{"w", "FloatStorage", "0", 4, 0, []int{4}, []int{1}}
	crafted := func(pkl []byte, recs ...rec) []byte {
		return makeZip(t, zip.Store, append([]rec{{"a/data.pkl", pkl}}, recs...)...)
	}
	data0 := rec{"a/data/0", make([]byte, 16)}
	withF := func(edit func(*pt)) []byte {
		g := f
		g.size, g.stride = slices.Clone(f.size), slices.Clone(f.stride)
		edit(&g)
		return crafted(w(g), data0)
	}
	corrupt := fixture(t, "tiny.pth")
	corrupt = bytes.Clone(corrupt)
	zr, _ := zip.NewReader(bytes.NewReader(corrupt), int64(len(corrupt)))
	for _, r := range zr.File {
		if r.Name == "tiny/data/0" {
			off, _ := r.DataOffset()
			corrupt[off] ^= 1
		}
	}
	bigStr := (&pk{}).op(0x80, 2, 'X', 0xff, 0xff, 0xff, 0x7f, '.').Bytes()
	oddItems := (&pk{}).op(0x80, 2, '}', '(').str("a").op('u', '.').Bytes()
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"not zip", []byte("PK\x03\x04 not really a zip"), "pth: not a valid zip archive"},
		{"no data.pkl", makeZip(t, zip.Store, rec{"a/data/0", nil}), "zip holds no data.pkl"},
		{"data.pkl at top", makeZip(t, zip.Store, rec{"data.pkl", w()}), "zip holds no data.pkl"},
		{"two data.pkl", makeZip(t, zip.Store, rec{"a/data.pkl", w()}, rec{"b/data.pkl", w()}), "2 data.pkl records"},
		{"duplicate record", makeZip(t, zip.Store, rec{"a/data.pkl", w()}, rec{"a/data.pkl", w()}), `zip holds "a/data.pkl" twice`},
		{"torchscript", edit(t, keep, rec{"tiny/constants.pkl", nil}), "TorchScript"},
		{"big endian", edit(t, keep, rec{"tiny/byteorder", []byte("big")}), `byteorder "big" is not supported`},
		{"missing storage", edit(t, func(r rec) *rec {
			if r.name == "tiny/data/0" {
				return nil
			}
			return &r
		}), `tensor "0.weight": storage record "tiny/data/0" is missing`},
		{"short storage", edit(t, func(r rec) *rec {
			if r.name == "tiny/data/0" {
				r.data = r.data[:28]
			}
			return &r
		}), `tensor "0.weight": record "tiny/data/0" is 28 bytes, want 32`},
		{"crc", corrupt, `tensor "0.weight": record "tiny/data/0" at byte`},
		{"unknown global", crafted((&pk{}).op(0x80, 2).global("os", "system").str("ls").op(0x85, 'R', '.').Bytes()), "unsupported pickle global os.system"},
		{"list", crafted((&pk{}).op(0x80, 2, ']', '.').Bytes()), "data.pkl holds a value of type list, want a state_dict"},
		{"int key", crafted((&pk{}).op(0x80, 2, '}').int(1).int(2).op('s', '.').Bytes()), "state_dict key 0 has type int, want str"},
		{"not tensor", crafted((&pk{}).op(0x80, 2, '}').str("x").int(2).op('s', '.').Bytes()), `data.pkl holds a dict with no tensors (keys "x"); want a state_dict`},
		{"tensor and int", crafted((&pk{}).op(0x80, 2, '}').str("x").int(2).op('s').tensor(f).op('s', '.').Bytes(), data0), `data.pkl holds a dict whose "x" has type int (keys "x", "w"); want a state_dict`},
		{"dup dict key", crafted((&pk{}).op(0x80, 2, '}').str("x").int(1).op('s').str("x").int(2).op('s', '.').Bytes()), `state_dict has tensor "x" twice`},
		{"I64 weight", crafted(w(pt{"w", "LongStorage", "0", 2, 0, []int{2}, []int{1}}), data0), `tensor "w": unsupported storage type LongStorage`},
		{"offset past storage", withF(func(p *pt) { p.off = 1 }), `tensor "w": elements [1, 1+4) lie outside its 4-element storage "0"`},
		{"negative offset", withF(func(p *pt) { p.off = -1 }), `tensor "w": elements [-1`},
		{"strides", withF(func(p *pt) { p.stride = []int{1, 1} }), `tensor "w": 2 strides for 1 dimensions`},
		{"negative size", withF(func(p *pt) { p.size = []int{-4} }), `tensor "w": negative dimension`},
		{"negative numel", withF(func(p *pt) { p.numel = -1 }), `storage "0" has -1 elements`},
		{"numel vs record", withF(func(p *pt) { p.numel, p.size = 2, []int{2} }), `tensor "w": record "a/data/0" is 16 bytes, want 8`},
		{"strided", withF(func(p *pt) { p.size, p.stride = []int{2}, []int{2} }), `tensor "w": not contiguous`},
		{"storage types disagree", crafted(w(f, pt{"v", "HalfStorage", "0", 4, 0, []int{4}, []int{1}}), data0), `storage "0" is referenced as 4 FloatStorage and as 4 HalfStorage`},
		{"trailing after STOP", crafted(append(w(f), 'N')), "1 bytes after the pickle's STOP"},
		{"no STOP", crafted(w(f)[:10]), "data.pkl: pickle"},
		{"huge string", crafted(bigStr), "declares 2147483647 bytes"},
		{"unknown opcode", crafted([]byte{0x80, 2, 0xff, '.'}), "unknown pickle opcode 0xff at byte 2"},
		{"gopickle panic", crafted(oddItems), "data.pkl: malformed pickle"},
		{"empty key", crafted((&pk{}).op(0x80, 2, '}').str("").int(1).op('s', '.').Bytes()), "state_dict key 0 is empty"},
		{"invalid UTF-8 key", crafted((&pk{}).op(0x80, 2, '}').str("a\xffb").int(1).op('s', '.').Bytes()), "state_dict key \"a\uFFFDb\" is not valid UTF-8"},
		{"bad persistent id", crafted((&pk{}).op(0x80, 2).str("x").op('Q', '.').Bytes()), "persistent id is not"},
	} {
		c, err := ReadPTH(tc.file)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if c != nil {
			t.Errorf("%s: checkpoint returned with the error", tc.name)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("%s: error is not one line: %q", tc.name, err)
		}
	}
}

func TestScanPickleFixtures(t *testing.T) {
	for _, f := range []string{"tiny.pth", "params.pth", "double.pth", "noncontig.pth"} {
		for _, r := range records(t, fixture(t, f)) {
			if strings.HasSuffix(r.name, "/data.pkl") {
				if err := scanPickle(r.data); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
		}
	}
}

func TestShort(t *testing.T) {
	if got := short("a\nb"); got != "a?b" {
		t.Errorf("short = %q", got)
	}
	long := strings.Repeat("é", 100)
	if got := short(long); len(got) > 124 || !strings.HasSuffix(got, "é...") {
		t.Errorf("short = %q", got)
	}
}
