package checkpoint

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// checkResult holds for every checkpoint a reader accepts: it is internally
// consistent and survives a write and read back unchanged, unless it holds
// NaN or Inf, or (from a .pth) names NAME and NAME_scale, which writing
// refuses.
func checkResult(t *testing.T, c *Checkpoint) {
	if err := c.validate(); err != nil && !strings.Contains(err.Error(), "kept for int8 scales") {
		t.Fatalf("reader returned an inconsistent checkpoint: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, F32); err != nil {
		if strings.Contains(err.Error(), "kept for int8 scales") {
			return
		}
		for _, n := range c.Names {
			if FirstNonFinite(c.Tensors[n].Values()) >= 0 {
				return
			}
		}
		t.Fatalf("cannot write what was read: %v", err)
	}
	back, err := ReadSafetensors(buf.Bytes())
	if err != nil {
		t.Fatalf("cannot read what was written: %v", err)
	}
	sameCheckpoint(t, back, c)
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(fixture(f, "tiny.safetensors"))
	f.Add(stFile("{}", nil))
	f.Add(stFile(`{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}`,
		[]byte{7, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f}))
	f.Add(stFile(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]}}`, []byte{0, 0x3c, 0, 0xc0}))
	// int8 tensors with their scales (1, -1, 127, -127 times 0.5 and 2), and
	// without.
	f.Add(stFile(`{"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]},"w_scale":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`,
		append([]byte{1, 0xff, 127, 0x81}, f32bytes(0.5, 2, 3)...)))
	f.Add(stFile(`{"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]},"w_scale":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`,
		append([]byte{1, 0xff, 127, 0x81}, f32bytes(0, -2)...)))
	f.Add(stFile(`{"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}}`, []byte{1, 0xff, 127, 0x81}))
	// Files the reader must refuse: tensors that overlap (also a dropped
	// num_batches_tracked one), leave a gap, or leave trailing bytes. Each
	// one's sizes fit its shape and stay inside the data section.
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}`,
		[]byte{0, 0x3c, 0, 0xc0}))
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`,
		f32bytes(1, 2)))
	f.Add(stFile(`{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`,
		f32bytes(1, 2)))
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F16","shape":[1],"data_offsets":[4,6]}}`,
		[]byte{0, 0x3c, 0, 0, 0, 0xc0}))
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0x3c, 0, 0xc0}))
	// Sizes that add up, but an overlap makes up for a gap.
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]},"c":{"dtype":"F16","shape":[1],"data_offsets":[6,8]}}`,
		[]byte{0, 0x3c, 0, 0xc0, 0, 0, 0, 0x3c}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ReadSafetensors(b)
		if err != nil {
			if c != nil {
				t.Fatal("checkpoint returned with an error")
			}
			return
		}
		checkTiling(t, b)
		checkResult(t, c)
	})
}

// checkTiling holds for every safetensors file the reader accepts, read
// here from the header alone: the byte ranges of its tensors (those the
// reader drops, like num_batches_tracked, too) add up to the data section's
// size exactly and no two overlap, so they cover it exactly once.
func checkTiling(t *testing.T, b []byte) {
	hlen := binary.LittleEndian.Uint64(b)
	dataLen := int64(len(b)) - 8 - int64(hlen)
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hlen], &header); err != nil {
		t.Fatalf("accepted a file whose header is no JSON object: %v", err)
	}
	var spans [][2]int64
	var sum int64
	for name, raw := range header {
		if name == metadataKey {
			continue
		}
		var e struct {
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("accepted tensor %q with bad data_offsets: %v", name, err)
		}
		spans = append(spans, e.DataOffsets)
		sum += e.DataOffsets[1] - e.DataOffsets[0]
	}
	if sum != dataLen {
		t.Fatalf("accepted tensors hold %d bytes in all, but the data section has %d", sum, dataLen)
	}
	// Empty tensors cover nothing; sorted by begin, then end, an empty one
	// at another's start comes first and overlaps nothing.
	slices.SortFunc(spans, func(a, b [2]int64) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for i := 1; i < len(spans); i++ {
		if spans[i][0] < spans[i-1][1] {
			t.Fatalf("accepted overlapping tensors at data offsets %v and %v", spans[i-1], spans[i])
		}
	}
}

func FuzzReadPTH(f *testing.F) {
	for _, name := range []string{"tiny.pth", "params.pth", "noncontig.pth", "double.pth"} {
		f.Add(fixture(f, name))
	}
	f.Add(makeZip(f, zip.Store,
		rec{"a/data.pkl", stateDict(pt{"w", "FloatStorage", "0", 2, 1, []int{1}, []int{1}})},
		rec{"a/data/0", f32bytes(1, 2)}))
	f.Add(makeZip(f, zip.Deflate,
		rec{"a/data.pkl", stateDict(pt{"w", "HalfStorage", "0", 2, 0, []int{2}, []int{1}})},
		rec{"a/data/0", []byte{0, 0x3c, 0, 0xc0}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ReadPTH(b)
		if err != nil {
			if c != nil {
				t.Fatal("checkpoint returned with an error")
			}
			return
		}
		checkResult(t, c)
	})
}

// FuzzPTHPickle fuzzes data.pkl and the storage bytes of a well-formed zip.
// Whole-file mutations in FuzzReadPTH almost never get past the zip CRCs,
// so without this target the pickle handling would go unexplored.
func FuzzPTHPickle(f *testing.F) {
	for _, name := range []string{"tiny.pth", "params.pth", "noncontig.pth", "double.pth"} {
		var pkl, data []byte
		for _, r := range records(f, fixture(f, name)) {
			switch {
			case bytes.HasSuffix([]byte(r.name), []byte("/data.pkl")):
				pkl = r.data
			case bytes.HasSuffix([]byte(r.name), []byte("/data/0")):
				data = r.data
			}
		}
		f.Add(pkl, data, data)
	}
	f.Add(stateDict(
		pt{"w", "FloatStorage", "0", 2, 1, []int{1}, []int{1}},
		pt{"bn.num_batches_tracked", "LongStorage", "1", 1, 0, []int{}, []int{}},
		pt{"h", "BFloat16Storage", "2", 1, 0, []int{1, 1}, []int{1, 1}},
	), f32bytes(1, 2), make([]byte, 8))
	f.Fuzz(func(t *testing.T, pkl, data0, data1 []byte) {
		// Keys 0 and 1 get the fuzzed bytes; any other key is missing.
		b := makeZip(t, zip.Store, rec{"a/data.pkl", pkl}, rec{"a/data/0", data0}, rec{"a/data/1", data1}, rec{"a/data/2", data1[:len(data1)/4*2]})
		c, err := ReadPTH(b)
		if err != nil {
			if c != nil {
				t.Fatal("checkpoint returned with an error")
			}
			return
		}
		checkResult(t, c)
	})
}
