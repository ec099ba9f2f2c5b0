package checkpoint

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// wrapped pickles a training checkpoint: {"epoch": 12, key: state_dict of
// ts, "best_acc1": a tensor of storage "9"}, as training scripts save it.
func wrapped(key string, ts ...pt) []byte {
	p := &pk{}
	p.op(0x80, 2, '}').str("epoch").int(12).op('s')
	p.str(key).global("collections", "OrderedDict").op(')', 'R')
	for _, t := range ts {
		p.tensor(t).op('s')
	}
	p.op('s')
	p.tensor(pt{"best_acc1", "FloatStorage", "9", 1, 0, []int{}, []int{}}).op('s')
	p.op('.')
	return p.Bytes()
}

// TestTrainingCheckpoint reads the state_dict inside a training checkpoint,
// with DataParallel's "module." prefix dropped; the other entries are never
// read (the storage of best_acc1 is not even in the zip).
func TestTrainingCheckpoint(t *testing.T) {
	for _, key := range []string{"state_dict", "model"} {
		b := makeZip(t, zip.Store,
			rec{"ckpt/data.pkl", wrapped(key,
				pt{"module.conv1.weight", "FloatStorage", "0", 4, 0, []int{2, 2}, []int{2, 1}},
				pt{"module.fc.bias", "FloatStorage", "0", 4, 2, []int{2}, []int{1}})},
			rec{"ckpt/data/0", f32bytes(1, 2, 3, 4)})
		c, err := Read(b)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if !slices.Equal(c.Names, []string{"conv1.weight", "fc.bias"}) || !slices.Equal(c.Tensors["fc.bias"].Values(), []float32{3, 4}) {
			t.Errorf("%s: got %q %v", key, c.Names, c.Tensors["fc.bias"])
		}
	}
	// A dict of plain data with no state_dict is named by its keys.
	noWeights := (&pk{}).op(0x80, 2, '}').str("epoch").int(3).op('s').str("net").int(1).op('s', '.').Bytes()
	_, err := Read(makeZip(t, zip.Store, rec{"a/data.pkl", noWeights}))
	if err == nil || !strings.Contains(err.Error(), `a dict with no tensors (keys "epoch", "net")`) {
		t.Errorf("dict without tensors: %v", err)
	}
	// A wrapper's state_dict that holds no tensors is named as such.
	emptyInside := (&pk{}).op(0x80, 2, '}').str("state_dict").op('}').str("a").int(1).op('s', 's', '.').Bytes()
	_, err = Read(makeZip(t, zip.Store, rec{"a/data.pkl", emptyInside}))
	if err == nil || !strings.Contains(err.Error(), `data.pkl's "state_dict" holds a dict with no tensors (keys "a")`) {
		t.Errorf("state_dict without tensors: %v", err)
	}
}

// countingSource records how a reader copies from the file.
type countingSource struct {
	b            []byte
	total, large int
}

func (s *countingSource) CopyAt(p []byte, off int64) {
	s.total += len(p)
	s.large = max(s.large, len(p))
	copy(p, s.b[off:])
}

// TestReadFromIsLazy: a .pth's tensors stay in the file; reading copies
// only the zip directory, the pickle and the records a chunk at a time for
// their CRCs, and a tensor is decoded when asked for.
func TestReadFromIsLazy(t *testing.T) {
	const n = 3 << 20 / 4 // 3 MiB of float32: several CRC chunks
	values := make([]float32, n)
	for i := range values {
		values[i] = float32(i % 1000)
	}
	b := makeZip(t, zip.Store,
		rec{"a/data.pkl", stateDict(pt{"w", "FloatStorage", "0", n, 0, []int{n}, []int{1}})},
		rec{"a/data/0", f32bytes(values...)})
	src := &countingSource{b: b}
	c, err := ReadFrom(src, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if src.large > crcChunk {
		t.Errorf("reading copied %d bytes at once, want at most %d", src.large, crcChunk)
	}
	if src.total > 4*n+64<<10 {
		t.Errorf("reading copied %d bytes of a %d-byte file", src.total, len(b))
	}
	if w := c.Tensors["w"]; w.Data != nil || !slices.Equal(w.Values(), values) {
		t.Error("the tensor was decoded at read time, or decodes wrong")
	}
}

// TestZipBomb: a deflated record whose declared size is far beyond what
// the file could hold is refused before it is inflated.
func TestZipBomb(t *testing.T) {
	const declared = 128 << 20
	b := makeZip(t, zip.Deflate,
		rec{"a/data.pkl", stateDict(pt{"w", "FloatStorage", "0", declared / 4, 0, []int{declared / 4}, []int{1}})},
		rec{"a/data/0", make([]byte, declared)})
	if len(b) > 1<<20 {
		t.Fatalf("the bomb is %d bytes", len(b))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(b)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "zip bomb") {
		t.Errorf("Read: %v, want a zip bomb refused", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("reading the bomb allocated %d MiB", grew>>20)
	}
}

func TestReadFromTellsFormats(t *testing.T) {
	st := stFile(`{"module.a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32bytes(7))
	c, err := ReadFrom(byteSource(st), int64(len(st)))
	if err != nil || !slices.Equal(c.Names, []string{"a"}) {
		t.Errorf("safetensors with DataParallel names: %v, %v", c, err)
	}
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"text":    {[]byte("just some notes, not weights"), "neither a PyTorch .pth"},
		"png":     {[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), "neither a PyTorch .pth"},
		"empty":   {nil, "neither a PyTorch .pth"},
		"cut zip": {[]byte("PK\x03\x04 and then nothing"), "not a valid zip archive"},
		"legacy":  {legacyMagic, "legacy (pre-1.6)"},
		"cut st":  {st[:len(st)-2], "safetensors"},
	} {
		if _, err := ReadFrom(byteSource(tc.b), int64(len(tc.b))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// Only a prefix that every name has is dropped.
	mixed := stFile(`{"module.a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32bytes(1, 2))
	if c, err := Read(mixed); err != nil || !slices.Equal(c.Names, []string{"module.a", "b"}) {
		t.Errorf("mixed names: %v, %v", c, err)
	}
}

// TestTrainingCheckpointFiles reads checkpoints that PyTorch wrote as
// training scripts save them (testdata/make_fixtures.py): the ImageNet
// example's {"epoch", "arch", "state_dict" of a DataParallel model,
// "best_acc1" tensor, "optimizer", "scheduler"}, torchvision's reference
// scripts' {"model", "optimizer", "lr_scheduler", "epoch", "model_ema"},
// and a DataParallel state_dict alone. Each holds trained.pth's tensors,
// under the plain names.
func TestTrainingCheckpointFiles(t *testing.T) {
	want, err := Read(fixture(t, "trained.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(want.Names, []string{"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var"}) {
		t.Fatalf("trained.pth holds %q", want.Names)
	}
	for _, name := range []string{"wrapped.pth", "model.pth", "dataparallel.pth"} {
		t.Run(name, func(t *testing.T) {
			got, err := Read(fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			sameCheckpoint(t, got, want)
		})
	}
}

// TestUnusedStoragesAreNotRead: in the ImageNet example's checkpoint, a
// corrupt storage of the state_dict fails its CRC check, while corrupt
// storages of the optimizer (momentum buffers) and of best_acc1 change
// nothing: they are never read.
func TestUnusedStoragesAreNotRead(t *testing.T) {
	b := fixture(t, "wrapped.pth")
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	read, unread := 0, 0
	for _, r := range zr.File {
		if !strings.Contains(r.Name, "/data/") {
			continue
		}
		off, err := r.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(b)
		bad[off] ^= 1
		switch _, err := Read(bad); {
		case err == nil:
			unread++
		case strings.Contains(err.Error(), "fails its CRC check"):
			read++
		default:
			t.Errorf("%s corrupted: %v", r.Name, err)
		}
	}
	// Five tensors and num_batches_tracked (checked, then dropped); three
	// momentum buffers and best_acc1.
	if read != 6 || unread != 4 {
		t.Errorf("%d storages read, %d not; want 6 and 4", read, unread)
	}
}

// TestTruncatedPTH: a .pth cut short anywhere is an error of one line,
// never a checkpoint or a panic.
func TestTruncatedPTH(t *testing.T) {
	for _, name := range []string{"tiny.pth", "wrapped.pth"} {
		b := fixture(t, name)
		for n := range len(b) {
			c, err := ReadFrom(byteSource(b[:n]), int64(n))
			if err == nil || c != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s cut to %d bytes: %v, %v", name, n, c, err)
			}
		}
	}
}

// TestDeflatedRecordLargerThanDeclared: a deflated record that inflates
// past the size its header and the pickle declare is refused after that
// many bytes, not inflated whole.
func TestDeflatedRecordLargerThanDeclared(t *testing.T) {
	const declared, actual = 16, 64 << 20
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	fw.Write(make([]byte, actual))
	fw.Close()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("a/data.pkl")
	w.Write(stateDict(pt{"w", "FloatStorage", "0", declared / 4, 0, []int{declared / 4}, []int{1}}))
	w, _ = zw.CreateRaw(&zip.FileHeader{Name: "a/data/0", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(make([]byte, declared)),
		CompressedSize64: uint64(raw.Len()), UncompressedSize64: declared})
	w.Write(raw.Bytes())
	zw.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(b.Bytes())
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), `record "a/data/0"`) {
		t.Errorf("Read: %v, want the record refused", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("reading it allocated %d MiB", grew>>20)
	}
}
