package checkpoint

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// legacyMagic starts files from torch.save before PyTorch 1.6: a pickled
// magic number rather than a zip.
var legacyMagic = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")

// maxPickle bounds data.pkl. A ResNet-152 state_dict pickles to about
// 100 KiB; the tensors themselves live in separate records.
const maxPickle = 64 << 20

// storageInfo is what a pickled storage reference says: which zip record
// holds it, its element type and its length in elements.
type storageInfo struct {
	key   string
	class string // PyTorch's name, e.g. "FloatStorage"
	dtype DType  // "" when the class is not one this package decodes
	n     int
}

// storageClasses maps the storage classes torch.save pickles to dtypes.
// Classes this package cannot decode still resolve, so that the error can
// name the tensor that uses them.
var storageClasses = map[string]DType{
	"FloatStorage":    F32,
	"HalfStorage":     F16,
	"BFloat16Storage": BF16,
	"LongStorage":     "I64",
	"DoubleStorage":   "",
	"IntStorage":      "",
	"ShortStorage":    "",
	"CharStorage":     "",
	"ByteStorage":     "",
	"BoolStorage":     "",
}

// storageClass stands in for torch.*Storage during unpickling. It satisfies
// gopickle's StorageClassInterface, but New only records the reference: the
// bytes are read later, once sizes have been checked against the zip.
type storageClass struct{ name string }

func (s *storageClass) New(size int, location string) pytorch.StorageInterface {
	return &storage{info: storageInfo{class: s.name, dtype: storageClasses[s.name], n: size}}
}

// storage is a storage reference; it satisfies gopickle's StorageInterface
// so that gopickle's RebuildTensorV2 accepts it, but is never filled by it.
type storage struct{ info storageInfo }

func (s *storage) SetFromFile(io.Reader) error {
	return errors.New("checkpoint: storage is read from the zip, not by gopickle")
}

func (s *storage) SetFromFileWithSize(io.Reader, int) error { return s.SetFromFile(nil) }

// rebuildTensor is torch._utils._rebuild_tensor_v2. PyTorch 2 appends a
// seventh metadata argument when a tensor has metadata; it does not affect
// the values, so it is dropped before gopickle's implementation runs.
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...interface{}) (interface{}, error) {
	if len(args) == 7 {
		args = args[:6]
	}
	return (&pytorch.RebuildTensorV2{}).Call(args...)
}

// rebuildParameter is torch._utils._rebuild_parameter, used when an
// nn.Parameter rather than a plain tensor was saved; its data is the tensor.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...interface{}) (interface{}, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("_rebuild_parameter takes 3 arguments, got %d", len(args))
	}
	t, ok := args[0].(*pytorch.Tensor)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter of a %T, want a tensor", args[0])
	}
	return t, nil
}

// findClass resolves the globals a state_dict pickle may name. Anything
// else is refused: a weights file has no business constructing other
// objects, and refusing keeps the reader's behaviour small and predictable.
// (gopickle itself resolves collections.OrderedDict before asking.)
func findClass(module, name string) (interface{}, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	}
	if _, ok := storageClasses[name]; ok && module == "torch" {
		return &storageClass{name: name}, nil
	}
	return nil, fmt.Errorf("unsupported pickle global %s.%s (want a state_dict of tensors)", short(module), short(name))
}

// pthFile is an opened .pth zip.
type pthFile struct {
	src      Source // the whole file, which may lie outside Go's memory
	size     int64
	prefix   string // the archive's top directory, e.g. "resnet50-0676ba61/"
	records  map[string]*zip.File
	storages map[string]storageData // by key, checked once
	inflated int64                  // bytes of deflated records inflated so far
}

// storageData is where a storage's bytes are: in the file (a stored
// record, as torch.save writes them) or inflated into memory.
type storageData struct {
	src Source
	off int64
}

// ReadPTH decodes a .pth file written by torch.save (PyTorch 1.6 and
// later): a zip holding data.pkl, a pickled state_dict, and data/KEY
// records with each storage's raw little-endian bytes. float32, float16 and
// bfloat16 tensors become float32; int64 is accepted only for names ending
// in ".num_batches_tracked", which are dropped like every such name. Views
// into a shared storage are fine if contiguous; strided ones are an error.
// A training checkpoint that holds the state_dict under "state_dict" or
// "model" is read for that; its other entries are ignored.
func ReadPTH(b []byte) (*Checkpoint, error) {
	return readPTHFrom(byteSource(b), int64(len(b)))
}

// readPTHFrom is ReadPTH on a file of size bytes in src. Tensors in stored
// records (all of torch.save's) stay in src and are decoded when asked for,
// as with ReadSafetensorsFrom; each record's CRC is checked once here, a
// chunk at a time.
func readPTHFrom(src Source, size int64) (*Checkpoint, error) {
	c, err := readPTH(src, size)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	return c, nil
}

// readerAt reads a Source as an io.ReaderAt for archive/zip.
type readerAt struct {
	src  Source
	size int64
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= r.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.size-off))
	r.src.CopyAt(p[:n], off)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func readPTH(src Source, size int64) (*Checkpoint, error) {
	zr, err := zip.NewReader(readerAt{src, size}, size)
	if err != nil {
		return nil, fmt.Errorf("not a valid zip archive: %v (is the file cut off?)", err)
	}
	f := &pthFile{src: src, size: size, records: make(map[string]*zip.File, len(zr.File)), storages: map[string]storageData{}}
	var pkls []string
	for _, r := range zr.File {
		if f.records[r.Name] != nil {
			return nil, fmt.Errorf("zip holds %q twice", short(r.Name))
		}
		f.records[r.Name] = r
		// torch.save puts everything under one top directory, named
		// after the file; data.pkl sits directly in it.
		if dir, ok := strings.CutSuffix(r.Name, "/data.pkl"); ok && dir != "" && !strings.Contains(dir, "/") {
			pkls = append(pkls, r.Name)
		}
	}
	switch len(pkls) {
	case 0:
		return nil, errors.New("zip holds no data.pkl: not a file written by torch.save")
	case 1:
	default:
		return nil, fmt.Errorf("zip holds %d data.pkl records (%q, %q): ambiguous", len(pkls), short(pkls[0]), short(pkls[1]))
	}
	f.prefix = strings.TrimSuffix(pkls[0], "data.pkl")
	if f.records[f.prefix+"constants.pkl"] != nil {
		return nil, errors.New("this is a TorchScript archive, not a state_dict; save model.state_dict() instead")
	}
	// PyTorch 2 records the writer's byte order; the storages are raw.
	if r := f.records[f.prefix+"byteorder"]; r != nil {
		if r.UncompressedSize64 > 16 {
			return nil, errors.New("byteorder record is too long")
		}
		bo, err := f.read(r, int(r.UncompressedSize64))
		if err != nil {
			return nil, err
		}
		if string(bo) != "little" {
			return nil, fmt.Errorf("byteorder %q is not supported (want little)", short(string(bo)))
		}
	}
	pr := f.records[pkls[0]]
	if pr.UncompressedSize64 > maxPickle {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit", short(pr.Name), pr.UncompressedSize64, maxPickle)
	}
	pkl, err := f.read(pr, int(pr.UncompressedSize64))
	if err != nil {
		return nil, err
	}
	if err := scanPickle(pkl); err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	obj, err := unpickle(pkl)
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	names, tensors, err := stateDictEntries(unwrapTraining(obj))
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Tensors: make(map[string]*Tensor, len(names))}
	for i, name := range names {
		t, err := f.tensor(name, tensors[i])
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", short(name), err)
		}
		if t == nil { // num_batches_tracked
			continue
		}
		c.Names = append(c.Names, name)
		c.Tensors[name] = t
	}
	return c, nil
}

// unpickle runs gopickle on a pickle that scanPickle accepted. gopickle
// indexes its stack without checks in places (SETITEMS with an odd number
// of items, for one), so a crafted pickle can make it panic; the recover
// turns that into an error, as this package promises never to panic.
func unpickle(pkl []byte) (obj interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %s", short(fmt.Sprint(r)))
		}
	}()
	// Storage references by record key: pickles refer to a shared storage
	// once per view, and all references must agree.
	seen := map[string]*storage{}
	u := pickle.NewUnpickler(bytes.NewReader(pkl))
	u.FindClass = findClass
	u.PersistentLoad = func(id interface{}) (interface{}, error) {
		// ('storage', StorageClass, key, location, numel)
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() != 5 || t.Get(0) != "storage" {
			return nil, errors.New("persistent id is not a ('storage', class, key, location, numel) tuple")
		}
		cls, ok1 := t.Get(1).(*storageClass)
		key, ok2 := t.Get(2).(string)
		n, ok3 := t.Get(4).(int)
		if !ok1 || !ok2 || !ok3 {
			return nil, errors.New("persistent id is not a ('storage', class, key, location, numel) tuple")
		}
		if n < 0 || n > maxElems {
			return nil, fmt.Errorf("storage %q has %d elements", short(key), n)
		}
		if s := seen[key]; s != nil {
			if s.info.class != cls.name || s.info.n != n {
				return nil, fmt.Errorf("storage %q is referenced as %d %s and as %d %s", short(key), s.info.n, s.info.class, n, cls.name)
			}
			return s, nil
		}
		s := cls.New(n, "").(*storage)
		s.info.key = key
		seen[key] = s
		return s, nil
	}
	obj, err = u.Load()
	if err != nil {
		return nil, errors.New(short(err.Error()))
	}
	return obj, nil
}

// dictEntries lists a dict's keys and values in pickle order; ok is false
// when obj is no dict.
func dictEntries(obj interface{}) (keys, values []interface{}, ok bool) {
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			keys = append(keys, entry.Key)
			values = append(values, entry.Value)
		}
	case *types.Dict:
		for _, entry := range *d {
			keys = append(keys, entry.Key)
			values = append(values, entry.Value)
		}
	default:
		return nil, nil, false
	}
	return keys, values, true
}

// trainingKeys are where training scripts keep the state_dict in a
// checkpoint dict, in the order they are looked for: PyTorch's ImageNet
// example saves {"epoch", "arch", "state_dict", "best_acc1", "optimizer"},
// torchvision's reference scripts {"model", "optimizer", ...}.
var trainingKeys = []string{"state_dict", "model"}

// unwrapTraining returns the state_dict inside a training checkpoint with
// where it was found, or obj itself as data.pkl's. Everything else in such
// a checkpoint is ignored: the unpickler has only built plain data and
// tensors (findClass), and no storage is read unless a returned tensor
// uses it.
func unwrapTraining(obj interface{}) (sd interface{}, where string) {
	keys, values, ok := dictEntries(obj)
	if !ok {
		return obj, "data.pkl"
	}
	for _, want := range trainingKeys {
		for i, k := range keys {
			if k == want {
				if _, _, isDict := dictEntries(values[i]); isDict {
					return values[i], fmt.Sprintf("data.pkl's %q", want)
				}
			}
		}
	}
	return obj, "data.pkl"
}

// stateDictEntries lists a state_dict's names and tensors in pickle order.
// It takes an OrderedDict (what state_dict() returns) or a plain dict whose
// values are all tensors; where says which object of the file sd is, for
// messages.
func stateDictEntries(sd interface{}, where string) ([]string, []*pytorch.Tensor, error) {
	keys, values, ok := dictEntries(sd)
	if !ok {
		return nil, nil, fmt.Errorf("%s holds a value of type %s, want a state_dict (a dict of tensors); for a training checkpoint save its state_dict", where, pyType(sd))
	}
	names := make([]string, len(keys))
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		name, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("state_dict key %d has type %s, want str", i, pyType(k))
		}
		if name == "" {
			return nil, nil, fmt.Errorf("state_dict key %d is empty", i)
		}
		if !utf8.ValidString(name) {
			// Python allows lone surrogates; JSON cannot carry them, so
			// the name could not survive conversion to safetensors.
			return nil, nil, fmt.Errorf("state_dict key %q is not valid UTF-8", short(name))
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("state_dict has tensor %q twice", short(name))
		}
		seen[name] = true
		names[i] = name
	}
	tensors := make([]*pytorch.Tensor, len(values))
	for i, v := range values {
		t, ok := v.(*pytorch.Tensor)
		if !ok {
			return nil, nil, notStateDict(where, keys, names[i], v, slices.ContainsFunc(values, isTensor))
		}
		tensors[i] = t
	}
	return names, tensors, nil
}

// notStateDict says why a dict is neither a state_dict nor a training
// checkpoint holding one, naming the keys found: the person may recognise
// where their weights are.
func notStateDict(where string, keys []interface{}, name string, v interface{}, someTensors bool) error {
	what := "a dict with no tensors"
	if someTensors {
		what = fmt.Sprintf("a dict whose %q has type %s", short(name), pyType(v))
	}
	return fmt.Errorf("%s holds %s (keys %s); want a state_dict (all tensors), or a training checkpoint with one under %q or %q", where, what, keyList(keys), trainingKeys[0], trainingKeys[1])
}

// pyType names a gopickle value's type for messages without printing the
// value, which may be huge.
func pyType(v interface{}) string {
	switch v.(type) {
	case *types.OrderedDict:
		return "OrderedDict"
	case *types.Dict:
		return "dict"
	case *types.List:
		return "list"
	case *types.Tuple:
		return "tuple"
	case string:
		return "str"
	case int:
		return "int"
	case nil:
		return "None"
	case *pytorch.Tensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

func isTensor(v interface{}) bool {
	_, ok := v.(*pytorch.Tensor)
	return ok
}

// keyList names a dict's first keys for a message.
func keyList(keys []interface{}) string {
	const shown = 6
	var parts []string
	for _, k := range keys[:min(shown, len(keys))] {
		if s, ok := k.(string); ok {
			parts = append(parts, fmt.Sprintf("%q", short(s)))
		} else {
			parts = append(parts, pyType(k))
		}
	}
	if len(keys) > shown {
		parts = append(parts, "...")
	}
	return strings.Join(parts, ", ")
}

// tensor checks one pickled tensor against its storage and locates its
// bytes. It returns nil, nil for a valid num_batches_tracked, which is
// dropped.
func (f *pthFile) tensor(name string, pt *pytorch.Tensor) (*Tensor, error) {
	s, ok := pt.Source.(*storage)
	if !ok {
		return nil, errors.New("tensor has no storage")
	}
	info := s.info
	nbt := strings.HasSuffix(name, nbtSuffix)
	size := elemSize(info.dtype)
	if size == 0 || info.dtype == "I64" && !nbt {
		return nil, fmt.Errorf("unsupported storage type %s (want FloatStorage, HalfStorage or BFloat16Storage)", info.class)
	}
	n, err := numel(pt.Size)
	if err != nil {
		return nil, err
	}
	if len(pt.Stride) != len(pt.Size) {
		return nil, fmt.Errorf("%d strides for %d dimensions", len(pt.Stride), len(pt.Size))
	}
	if n > 0 {
		// Row-major contiguous; a dimension of size 1 may have any
		// stride, as in PyTorch's is_contiguous.
		want := 1
		for i := len(pt.Size) - 1; i >= 0; i-- {
			if pt.Size[i] != 1 && pt.Stride[i] != want {
				return nil, fmt.Errorf("not contiguous (shape %v, strides %v); save it with .contiguous()", pt.Size, pt.Stride)
			}
			want *= pt.Size[i]
		}
	}
	off := pt.StorageOffset
	if off < 0 || off > info.n || n > info.n-off {
		return nil, fmt.Errorf("elements [%d, %d+%d) lie outside its %d-element storage %q", off, off, n, info.n, short(info.key))
	}
	st, err := f.storage(info, size)
	if err != nil {
		return nil, err
	}
	if nbt {
		return nil, nil
	}
	return &Tensor{Shape: append([]int{}, pt.Size...), src: st.src, off: st.off + int64(off*size), size: n * size, dtype: info.dtype}, nil
}

// storage returns where a storage's bytes are, checking its record the
// first time.
func (f *pthFile) storage(info storageInfo, size int) (storageData, error) {
	if st, ok := f.storages[info.key]; ok {
		return st, nil
	}
	name := f.prefix + "data/" + info.key
	r := f.records[name]
	if r == nil {
		return storageData{}, fmt.Errorf("storage record %q is missing from the zip", short(name))
	}
	st, err := f.locate(r, info.n*size)
	if err != nil {
		return storageData{}, err
	}
	f.storages[info.key] = st
	return st, nil
}

// crcChunk is how much of a stored record the CRC check copies at a time.
const crcChunk = 1 << 20

// maxInflated bounds the bytes all deflated records of a file of size
// bytes may inflate to: torch.save stores records uncompressed, and
// weights hardly compress, so more means a zip bomb.
func maxInflated(size int64) int64 { return 8*size + 64<<20 }

// locate finds a record's bytes, which must be exactly want long: a
// stored record stays in the file, its CRC checked in chunks; a deflated
// one, from other zip tools, is inflated, within maxInflated.
func (f *pthFile) locate(r *zip.File, want int) (storageData, error) {
	name := short(r.Name)
	if r.UncompressedSize64 != uint64(want) {
		return storageData{}, fmt.Errorf("record %q is %d bytes, want %d", name, r.UncompressedSize64, want)
	}
	if r.Method != zip.Store {
		data, err := f.inflate(r, want)
		return storageData{src: byteSource(data)}, err
	}
	off, err := r.DataOffset()
	if err != nil {
		return storageData{}, fmt.Errorf("record %q: %v", name, err)
	}
	if r.CompressedSize64 != r.UncompressedSize64 || off < 0 || off > f.size || int64(want) > f.size-off {
		return storageData{}, fmt.Errorf("record %q at byte %d runs past the end of the %d-byte file (truncated?)", name, off, f.size)
	}
	crc, chunk := uint32(0), make([]byte, min(want, crcChunk))
	for done := 0; done < want; done += len(chunk) {
		chunk = chunk[:min(crcChunk, want-done)]
		f.src.CopyAt(chunk, off+int64(done))
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	if crc != r.CRC32 {
		return storageData{}, fmt.Errorf("record %q at byte %d fails its CRC check: the file is corrupt", name, off)
	}
	return storageData{src: f.src, off: off}, nil
}

// read returns a small record's bytes (the pickle, the byte order), which
// must be exactly want long, in Go memory.
func (f *pthFile) read(r *zip.File, want int) ([]byte, error) {
	st, err := f.locate(r, want)
	if err != nil {
		return nil, err
	}
	b := make([]byte, want)
	st.src.CopyAt(b, st.off)
	return b, nil
}

// inflate decompresses a deflated record of want bytes, refusing before it
// starts when the file's records would inflate beyond maxInflated.
func (f *pthFile) inflate(r *zip.File, want int) ([]byte, error) {
	name := short(r.Name)
	if f.inflated+int64(want) > maxInflated(f.size) {
		return nil, fmt.Errorf("record %q would inflate to %d bytes, more than a %d-byte checkpoint can hold (a zip bomb?)", name, want, f.size)
	}
	f.inflated += int64(want)
	rc, err := r.Open()
	if err != nil {
		return nil, fmt.Errorf("record %q: %v", name, err)
	}
	defer rc.Close()
	// Reading one byte past want makes the zip reader hit EOF, where it
	// verifies the CRC.
	data, err := io.ReadAll(io.LimitReader(rc, int64(want)+1))
	if err != nil {
		return nil, fmt.Errorf("record %q: %v", name, err)
	}
	if len(data) != want {
		return nil, fmt.Errorf("record %q inflates to %d bytes, want %d", name, len(data), want)
	}
	return data, nil
}

// short keeps text from the file fit for a one-line error message.
func short(s string) string {
	const max = 120
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) > max {
		// Cut on a rune boundary.
		i := max
		for i > 0 && s[i]&0xc0 == 0x80 {
			i--
		}
		s = s[:i] + "..."
	}
	return s
}
