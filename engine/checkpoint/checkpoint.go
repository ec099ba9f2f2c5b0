// Package checkpoint reads and writes model weights: safetensors files and
// torchvision .pth files (a zip holding a pickle), with strict validation.
//
// Everything works on bytes in memory rather than files because in the
// browser the weights arrive as a fetched ArrayBuffer; a safetensors file
// may even stay outside Go's memory (a Source), its tensors decoded one at
// a time when asked for. Readers never panic on malformed input: every
// problem is an error naming the tensor or the byte offset at fault.
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/inbrowser/resnet/engine/arch"
)

// Tensor is one named weight tensor, as float32 values. A tensor read from
// a safetensors file stays in the file and is decoded when asked (Values),
// so that reading a large file does not also hold a float32 copy of all of
// it; tensors made in code or read from a .pth file hold Data.
type Tensor struct {
	Shape []int
	Data  []float32 // nil for a tensor decoded on demand

	// Where a tensor decoded on demand lies: bytes [off, off+size) of src.
	src   Source
	off   int64
	size  int
	dtype DType
	scale []float32 // an I8 tensor's scale per output channel (first dimension)
}

// Source is a file's bytes in memory, possibly outside Go's, such as a
// JavaScript ArrayBuffer: CopyAt fills p from offset off. Readers only ask
// for ranges inside the size the source was opened with.
type Source interface {
	CopyAt(p []byte, off int64)
}

// byteSource is a Source in Go memory.
type byteSource []byte

func (b byteSource) CopyAt(p []byte, off int64) { copy(p, b[off:]) }

// Values returns the tensor's values: Data when it is set, else a new
// slice decoded from the file, which the caller owns.
func (t *Tensor) Values() []float32 {
	if t.src == nil {
		return t.Data
	}
	out := make([]float32, t.Len())
	t.Decode(out, 0)
	return out
}

// Decode sets dst to values [from, from+len(dst)) of the tensor, which
// must exist. A caller that needs only part of a tensor at a time, such as
// a conv's weights a panel at a time, never holds all of it.
func (t *Tensor) Decode(dst []float32, from int) {
	if t.src == nil {
		copy(dst, t.Data[from:from+len(dst)])
		return
	}
	if len(dst) == 0 {
		return
	}
	// The encoded values are copied into dst's own memory and widened in
	// place (decode goes last to first), so no scratch buffer is needed.
	es := elemSize(t.dtype)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))[:es*len(dst)]
	t.src.CopyAt(raw, t.off+int64(es*from))
	switch {
	case t.dtype == I8:
		dequantize(dst, raw, t.scale, t.Len()/len(t.scale), from)
	case t.dtype == F32 && littleEndian:
		// raw is dst's memory, so the copy was the decode.
	default:
		decode(dst, raw, t.dtype)
	}
}

// littleEndian is true on machines that store a float32 as the files do
// (amd64, arm64, WebAssembly).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// OwnedValues returns the tensor's values in a slice the caller may
// modify: the one Values decodes, or a copy of Data.
func (t *Tensor) OwnedValues() []float32 {
	if t.src == nil {
		return append([]float32(nil), t.Data...)
	}
	return t.Values()
}

// Scales returns an I8 tensor's scales, one per output channel (its first
// dimension), or nil for a tensor of any other dtype.
func (t *Tensor) Scales() []float32 { return t.scale }

// DecodeInt8 sets dst to values [from, from+len(dst)) of an I8 tensor as
// stored, before scaling (see Scales).
func (t *Tensor) DecodeInt8(dst []int8, from int) {
	if t.dtype != I8 {
		panic("checkpoint: DecodeInt8 on a " + string(t.dtype) + " tensor")
	}
	if len(dst) > 0 {
		t.src.CopyAt(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), len(dst)), t.off+int64(from))
	}
}

// AlwaysFinite reports whether every value the tensor decodes to is finite
// whatever its bytes hold: an I8 tensor whose scales (finite and positive,
// checked when read) are at most math.MaxFloat32/128, so that no int8 value
// times its scale overflows. Any other tensor's values need checking
// (FirstNonFinite).
func (t *Tensor) AlwaysFinite() bool {
	if t.dtype != I8 {
		return false
	}
	for _, s := range t.scale {
		if s > math.MaxFloat32/128 {
			return false
		}
	}
	return true
}

// Len is the number of values.
func (t *Tensor) Len() int {
	if t.src == nil {
		return len(t.Data)
	}
	return t.size / elemSize(t.dtype)
}

// Checkpoint is a set of named tensors.
type Checkpoint struct {
	Names   []string // in file order
	Tensors map[string]*Tensor
}

// DType is an on-disk element type, spelled as safetensors spells it.
type DType string

// The element types this package converts to and from float32.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"

	// I8 is symmetric int8 with a scale per output channel: a tensor NAME
	// of I8 values q comes with NAME_scale (ScaleSuffix), F32 of shape
	// [NAME's first dimension], and value i of output channel o is
	// q[i] * scale[o]. Written only for conv and fully connected weights
	// (tensors of two or more dimensions); see WriteSafetensors.
	I8 DType = "I8"
)

// ScaleSuffix ends the name of an I8 tensor's scales: conv1.weight's are
// conv1.weight_scale.
const ScaleSuffix = "_scale"

// nbtSuffix marks BatchNorm's step counter: an int64 that inference never
// uses, so readers validate and then drop it and Check ignores it.
const nbtSuffix = ".num_batches_tracked"

// zipMagic starts every zip local file header; torch.save has written zips
// since PyTorch 1.6.
var zipMagic = []byte("PK\x03\x04")

// Read decodes a checkpoint in memory; see ReadFrom.
func Read(b []byte) (*Checkpoint, error) {
	return ReadFrom(byteSource(b), int64(len(b)))
}

// ReadFrom decodes a checkpoint of size bytes in src, telling the format by
// its first bytes, not a file name: a zip is a PyTorch .pth, an 8-byte
// length followed by a JSON object is safetensors. Tensors stay in src
// until asked for. Names are normalised: when every one starts with
// DataParallel's "module.", that is dropped.
func ReadFrom(src Source, size int64) (*Checkpoint, error) {
	head := make([]byte, min(size, HeadBytes))
	src.CopyAt(head, 0)
	if err := Sniff(head); err != nil {
		return nil, err
	}
	var c *Checkpoint
	var err error
	switch {
	case bytes.HasPrefix(head, zipMagic):
		c, err = readPTHFrom(src, size)
	case binary.LittleEndian.Uint64(head) <= uint64(size-8): // a header that fits the file
		c, err = ReadSafetensorsFrom(src, int(size))
	default:
		err = errNotCheckpoint
	}
	if err != nil {
		return nil, err
	}
	c.stripPrefix(dataParallelPrefix)
	return c, nil
}

// HeadBytes is how much of a file Sniff looks at.
const HeadBytes = 16

var errNotCheckpoint = errors.New("this is neither a PyTorch .pth (the zip torch.save writes) nor a safetensors file")

// Sniff tells from a file's first HeadBytes bytes whether it can be a
// checkpoint ReadFrom reads: a zip (a PyTorch .pth), or an 8-byte length
// followed by "{" (safetensors). A reader of a stream of unknown length
// (a pipe, /dev/zero) calls it before reading the rest into memory.
func Sniff(head []byte) error {
	switch {
	case bytes.HasPrefix(head, zipMagic), len(head) > 8 && head[8] == '{':
		return nil
	case bytes.HasPrefix(head, legacyMagic):
		return errors.New("legacy (pre-1.6) torch.save format is not supported; re-save it with a newer PyTorch")
	}
	return errNotCheckpoint
}

// dataParallelPrefix starts every name in the state_dict of a model wrapped
// in nn.DataParallel or DistributedDataParallel.
const dataParallelPrefix = "module."

// stripPrefix drops prefix from every name, if every name has it.
func (c *Checkpoint) stripPrefix(prefix string) {
	if len(c.Names) == 0 {
		return
	}
	for _, n := range c.Names {
		if !strings.HasPrefix(n, prefix) {
			return
		}
	}
	tensors := make(map[string]*Tensor, len(c.Tensors))
	for i, n := range c.Names {
		c.Names[i] = strings.TrimPrefix(n, prefix)
		tensors[c.Names[i]] = c.Tensors[n]
	}
	c.Tensors = tensors
}

// InferArch works out which ResNet c holds (arch.Infer: the stride
// placement cannot be seen, so it is v1.5) and checks c against it, so that
// an extra, missing or misshapen tensor is named.
func (c *Checkpoint) InferArch() (arch.Config, error) {
	shapes := make(map[string][]int, len(c.Tensors))
	for n, t := range c.Tensors {
		shapes[n] = t.Shape
	}
	cfg, err := arch.Infer(shapes)
	if err != nil {
		return arch.Config{}, err
	}
	net, err := cfg.Build()
	if err != nil {
		return arch.Config{}, err
	}
	if err := c.Check(net.Tensors()); err != nil {
		return arch.Config{}, fmt.Errorf("as a %s with %d classes: %w", strings.Replace(cfg.Name(), "resnet", "ResNet-", 1), cfg.NumClasses, err)
	}
	return cfg, nil
}

// FirstNonFinite is the index of the first NaN or infinite value of v, or
// -1: such a weight makes every answer of the network wrong.
func FirstNonFinite(v []float32) int {
	for i, x := range v {
		if x != x || x > math.MaxFloat32 || x < -math.MaxFloat32 {
			return i
		}
	}
	return -1
}

// NonFiniteError names the tensor and index of a NaN or infinite value.
func NonFiniteError(name string, index int, v float32) error {
	return fmt.Errorf("tensor %s: value %d is %v; the weights are damaged (NaN or Inf)", name, index, v)
}

// Check reports whether c holds exactly the tensors want lists, with the
// same shapes. It is strict because a silently ignored or missing tensor
// gives a network that runs but classifies garbage. Names ending in
// ".num_batches_tracked" are ignored on both sides.
func (c *Checkpoint) Check(want []arch.Tensor) error {
	if c == nil {
		c = &Checkpoint{}
	}
	var problems []string
	seen := make(map[string]bool, len(want))
	for _, w := range want {
		if strings.HasSuffix(w.Name, nbtSuffix) {
			continue
		}
		seen[w.Name] = true
		t, ok := c.Tensors[w.Name]
		switch {
		case !ok || t == nil:
			problems = append(problems, fmt.Sprintf("missing tensor %s %v", w.Name, w.Shape))
		case !slices.Equal(t.Shape, w.Shape):
			problems = append(problems, fmt.Sprintf("tensor %s has shape %v, want %v", w.Name, t.Shape, w.Shape))
		}
	}
	// Walk Names for file order, then the map for anything Names lacks.
	unexpected := func(name string) {
		if !seen[name] && !strings.HasSuffix(name, nbtSuffix) {
			seen[name] = true
			problems = append(problems, fmt.Sprintf("unexpected tensor %s", name))
		}
	}
	for _, n := range c.Names {
		if _, ok := c.Tensors[n]; ok {
			unexpected(n)
		}
	}
	for _, n := range sortedKeys(c.Tensors) {
		unexpected(n)
	}
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("checkpoint does not match the architecture: %s", problems[0])
	}
	return fmt.Errorf("checkpoint does not match the architecture: %s (and %d more problems)", problems[0], len(problems)-1)
}

// maxElems bounds a tensor's element count so that byte counts (at most 8
// bytes an element) never overflow an int, even on 32-bit wasm.
const maxElems = math.MaxInt / 8

// numel multiplies out a shape, failing on negative dimensions and on
// products too large to be byte counts.
func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d > 0 && n > maxElems/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

// sortedKeys gives map iteration a stable order so errors are reproducible.
func sortedKeys(m map[string]*Tensor) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// f16ToF32 widens an IEEE half; every half is exactly a float32.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		// Zero or subnormal: mant * 2^-24, exact in float32.
		f := float32(mant) * 0x1p-24
		return math.Float32frombits(sign | math.Float32bits(f))
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// f32ToF16 narrows to the nearest half, ties to even, as PyTorch and numpy
// do; too-large values become infinities and NaNs stay NaN.
func f32ToF16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // keep the payload, force quiet
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Half subnormal: count units of 2^-24. float32 subnormals (exp 0)
		// are far below half the smallest half and round to zero.
		if exp == 0 {
			return sign
		}
		m := mant | 0x800000
		s := uint(126 - exp) // m * 2^(exp-126) units
		if s > 24 {
			return sign
		}
		q := m >> s
		rem := m & (1<<s - 1)
		half := uint32(1) << (s - 1)
		if rem > half || rem == half && q&1 == 1 {
			q++
		}
		return sign | uint16(q)
	}
	q := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && q&1 == 1 {
		q++ // a carry into the exponent is still the right answer
	}
	return sign | uint16(q)
}

// decode converts little-endian elements of dt to float32 into dst, which
// must hold exactly len(src)/elemSize(dt) values. It goes from the last
// value to the first, so src may be dst's own memory: value i is read
// before it or any value after it is written over.
func decode(dst []float32, src []byte, dt DType) {
	switch dt {
	case F32:
		src = src[:4*len(dst)]
		for i := len(dst) - 1; i >= 0; i-- {
			j := 4 * i
			dst[i] = math.Float32frombits(uint32(src[j]) | uint32(src[j+1])<<8 | uint32(src[j+2])<<16 | uint32(src[j+3])<<24)
		}
	case F16:
		src = src[:2*len(dst)]
		for i := len(dst) - 1; i >= 0; i-- {
			dst[i] = f16ToF32(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
		}
	case BF16:
		src = src[:2*len(dst)]
		for i := len(dst) - 1; i >= 0; i-- {
			dst[i] = math.Float32frombits(uint32(src[2*i])<<16 | uint32(src[2*i+1])<<24)
		}
	default:
		panic("checkpoint: decode of " + string(dt))
	}
}

// dequantize sets dst[i] to the int8 src[i] times the scale of its output
// channel, for values [from, from+len(dst)) of a tensor with perChannel
// values an output channel. Like decode it goes from the last value to the
// first, so src may be dst's own memory.
func dequantize(dst []float32, src []byte, scale []float32, perChannel, from int) {
	src = src[:len(dst)]
	for end := len(dst); end > 0; {
		o := (from + end - 1) / perChannel
		start := max(o*perChannel-from, 0) // the channel's first value in dst
		s := scale[o]
		for i := end - 1; i >= start; i-- {
			dst[i] = float32(int8(src[i])) * s
		}
		end = start
	}
}

// quantize sets q to w in symmetric int8 and returns the scale, so that
// q[i] * scale is w[i] to within scale/2: scale = max|w| / 127 in float32,
// q = w / scale rounded to nearest (ties to even). A channel of zeros (or
// one so small that the scale would underflow to 0) gets scale 1 and q 0,
// so that every scale is positive. tools/pyutil/safetensors_io.py
// quantizes identically (same float32 operations).
func quantize(q []int8, w []float32) float32 {
	var maxAbs float32
	for _, v := range w {
		maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
	}
	scale := maxAbs / 127
	if scale == 0 {
		clear(q)
		return 1
	}
	for i, v := range w {
		r := math.RoundToEven(float64(v / scale))
		q[i] = int8(max(-127, min(127, r)))
	}
	return scale
}
