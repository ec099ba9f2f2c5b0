package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxHeader bounds the JSON header. Real headers are a few hundred bytes per
// tensor (ResNet-152 is under 100 KiB); the bound stops a corrupt length
// from making the reader allocate or scan gigabytes.
const maxHeader = 100 << 20

// metadataKey is the header entry that holds string metadata, not a tensor.
const metadataKey = "__metadata__"

// stEntry is one tensor's header entry. Pointers tell a missing field from
// an empty one.
type stEntry struct {
	DType       string   `json:"dtype"`
	Shape       *[]int   `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// stTensor is a validated header entry.
type stTensor struct {
	name       string
	dtype      DType // F32, F16, BF16, I8, or "I64" for num_batches_tracked
	shape      []int
	n          int    // elements
	begin, end int    // within the data section
	scaleOf    string // the I8 tensor these are the scales of, if any
}

// elemSize is the bytes per element of the dtypes the readers accept.
func elemSize(dt DType) int {
	switch dt {
	case F32:
		return 4
	case F16, BF16:
		return 2
	case I8:
		return 1
	case "I64":
		return 8
	}
	return 0
}

// ReadSafetensors decodes a safetensors file: an 8-byte little-endian header
// length, a JSON header mapping names to dtype, shape and data_offsets, then
// the data section. F32, F16 and BF16 tensors become float32; I64 is
// accepted only for names ending in ".num_batches_tracked", which are
// dropped like every such name. Names keeps the header's order.
//
// An I8 tensor NAME needs its scales NAME_scale: F32, shape [NAME's first
// dimension], every one finite and positive. They are read and checked
// with the header, become part of NAME (whose values are the dequantized
// q * scale) and are not listed themselves. A NAME_scale beside a NAME
// that is not I8 is an error, as is an I8 tensor without a first
// dimension or without its scales.
//
// As the format specification requires, the tensors must cover the data
// section exactly: overlaps, gaps and trailing bytes are errors, since they
// mean a truncated, corrupt or doctored file.
func ReadSafetensors(b []byte) (*Checkpoint, error) {
	return ReadSafetensorsFrom(byteSource(b), len(b))
}

// ReadSafetensorsFrom is ReadSafetensors on a file of size bytes in src. It
// reads the header now and each tensor's bytes only when its Values are
// asked for, so a file held outside Go's memory (in the browser, a
// JavaScript ArrayBuffer) never needs to be copied in whole.
func ReadSafetensorsFrom(src Source, size int) (*Checkpoint, error) {
	if size < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, too short for the 8-byte header length", size)
	}
	var hl [8]byte
	src.CopyAt(hl[:], 0)
	hlen := binary.LittleEndian.Uint64(hl[:])
	if hlen > maxHeader {
		return nil, fmt.Errorf("safetensors: header length %d at byte 0 is over the %d-byte limit", hlen, maxHeader)
	}
	if hlen > uint64(size-8) {
		return nil, fmt.Errorf("safetensors: header length %d at byte 0 runs past the end of the %d-byte file", hlen, size)
	}
	base := 8 + int(hlen) // file offset of the data section
	header := make([]byte, hlen)
	src.CopyAt(header, 8)
	ts, err := parseHeader(header, size-base)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if err := checkCoverage(ts, size-base, base); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	scales, err := readScales(ts, src, base)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	c := &Checkpoint{Tensors: make(map[string]*Tensor, len(ts))}
	for _, t := range ts {
		if strings.HasSuffix(t.name, nbtSuffix) || t.scaleOf != "" {
			continue
		}
		c.Names = append(c.Names, t.name)
		c.Tensors[t.name] = &Tensor{Shape: t.shape, src: src, off: int64(base + t.begin), size: t.end - t.begin, dtype: t.dtype, scale: scales[t.name]}
	}
	return c, nil
}

// readScales pairs every I8 tensor with its NAME_scale tensor, marks those
// as scales (scaleOf) and returns their values by the I8 tensor's name.
// Scales are 4 bytes an output channel and part of the file, so reading
// them all keeps memory bounded by the file's size.
func readScales(ts []stTensor, src Source, base int) (map[string][]float32, error) {
	byName := make(map[string]*stTensor, len(ts))
	for i := range ts {
		byName[ts[i].name] = &ts[i]
	}
	scales := map[string][]float32{}
	for i := range ts {
		t := &ts[i]
		if owner, ok := strings.CutSuffix(t.name, ScaleSuffix); ok {
			if q := byName[owner]; q != nil && q.dtype != I8 {
				return nil, fmt.Errorf("tensor %q: scales for %q, which is %s, not I8", t.name, owner, q.dtype)
			}
		}
		if t.dtype != I8 {
			continue
		}
		if len(t.shape) == 0 {
			return nil, fmt.Errorf("tensor %q: an I8 tensor needs a first dimension (its output channels) for its scales", t.name)
		}
		sname := t.name + ScaleSuffix
		s := byName[sname]
		want := []int{t.shape[0]}
		switch {
		case s == nil:
			return nil, fmt.Errorf("tensor %q: I8 without its scales %q", t.name, sname)
		case s.dtype != F32:
			return nil, fmt.Errorf("tensor %q: scales of %q are %s, want F32", sname, t.name, s.dtype)
		case !slices.Equal(s.shape, want):
			return nil, fmt.Errorf("tensor %q: shape %v, want %v (one scale per output channel of %q)", sname, s.shape, want, t.name)
		}
		s.scaleOf = t.name
		raw := make([]byte, s.end-s.begin)
		src.CopyAt(raw, int64(base+s.begin))
		v := make([]float32, s.n)
		decode(v, raw, F32)
		for o, x := range v {
			if !(x > 0 && x <= math.MaxFloat32) {
				return nil, fmt.Errorf("tensor %q: scale %d is %v; scales must be finite and positive", sname, o, x)
			}
		}
		scales[t.name] = v
	}
	return scales, nil
}

// parseHeader reads the JSON header token by token, because decoding into a
// map would hide duplicate names and lose the file order.
func parseHeader(h []byte, dataLen int) ([]stTensor, error) {
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	at := func() int64 { return 8 + dec.InputOffset() }
	syntax := func(err error) error {
		return fmt.Errorf("invalid JSON header near byte %d: %v", at(), err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("header at byte 8 is not a JSON object")
	}
	var ts []stTensor
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("header near byte %d: object key is not a string", at())
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate tensor %q in header near byte %d", name, at())
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("tensor %q: %v", name, syntax(err))
		}
		if name == metadataKey {
			var md map[string]string
			if err := json.Unmarshal(raw, &md); err != nil {
				return nil, fmt.Errorf("%s is not an object of strings: %v", metadataKey, err)
			}
			continue
		}
		t, err := parseEntry(name, raw, dataLen)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		ts = append(ts, t)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON header: data after the object near byte %d", at())
	}
	return ts, nil
}

// parseEntry validates one tensor's header entry against the data section.
func parseEntry(name string, raw json.RawMessage, dataLen int) (stTensor, error) {
	t := stTensor{name: name}
	if name == "" {
		return t, errors.New("empty tensor name")
	}
	var e stEntry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return t, fmt.Errorf("bad header entry: %v", err)
	}
	t.dtype = DType(e.DType)
	size := elemSize(t.dtype)
	if size == 0 || t.dtype == "I64" && !strings.HasSuffix(name, nbtSuffix) {
		return t, fmt.Errorf("unsupported dtype %q (want F32, F16, BF16 or I8)", e.DType)
	}
	if e.Shape == nil {
		return t, errors.New("no shape")
	}
	t.shape = *e.Shape
	if t.shape == nil {
		t.shape = []int{}
	}
	n, err := numel(t.shape)
	if err != nil {
		return t, err
	}
	t.n = n
	if e.DataOffsets == nil || len(*e.DataOffsets) != 2 {
		return t, errors.New("data_offsets is not a [begin, end] pair")
	}
	begin, end := (*e.DataOffsets)[0], (*e.DataOffsets)[1]
	switch {
	case begin < 0 || end < 0:
		return t, fmt.Errorf("negative data_offsets [%d, %d]", begin, end)
	case begin > end:
		return t, fmt.Errorf("data_offsets [%d, %d] begin after end", begin, end)
	case end > int64(dataLen):
		return t, fmt.Errorf("data_offsets [%d, %d] run past the %d-byte data section", begin, end, dataLen)
	}
	t.begin, t.end = int(begin), int(end)
	if want := n * size; t.end-t.begin != want {
		return t, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, but %s %v needs %d", begin, end, end-begin, t.dtype, t.shape, want)
	}
	return t, nil
}

// checkCoverage checks that the tensors tile the data section: sorted by
// offset, each begins where the previous ended and the last ends at the end.
// base is the data section's file offset, for messages.
func checkCoverage(ts []stTensor, dataLen, base int) error {
	order := make([]*stTensor, len(ts))
	for i := range ts {
		order[i] = &ts[i]
	}
	slices.SortStableFunc(order, func(a, b *stTensor) int {
		if a.begin != b.begin {
			return a.begin - b.begin
		}
		return a.end - b.end
	})
	pos, prev := 0, ""
	for _, t := range order {
		if t.begin < pos {
			return fmt.Errorf("tensor %q at file offset %d overlaps tensor %q", t.name, base+t.begin, prev)
		}
		if t.begin > pos {
			return fmt.Errorf("unused bytes at file offset %d before tensor %q", base+pos, t.name)
		}
		pos, prev = t.end, t.name
	}
	if pos != dataLen {
		return fmt.Errorf("%d unused trailing bytes at file offset %d", dataLen-pos, base+pos)
	}
	return nil
}

// WriteSafetensors writes c as safetensors with every tensor stored as
// dtype: F32, F16 (rounded to nearest, ties to even) or I8. As I8, every
// tensor of two or more dimensions (the conv and fully connected weights
// of a ResNet) is quantized per output channel, its first dimension (see
// I8 and quantize), with its scales in a NAME_scale tensor; the others
// (BatchNorm, biases) stay F32, since they are small and BatchNorm folding
// scales each output channel anyway. The scales come first, in c.Names
// order, then every tensor in c.Names order, in both header and data; the
// header carries {"format":"pt"} metadata, which some loaders look for,
// and is padded with spaces to a multiple of 8 bytes so the data stays
// aligned. A NaN or infinite value is an error
// naming its tensor: such weights would give confident wrong answers. The
// file written is SafetensorsSize bytes.
func WriteSafetensors(w io.Writer, c *Checkpoint, dtype DType) error {
	header, _, err := safetensorsHeader(c, dtype)
	if err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	// Encode in chunks so a large model is not duplicated in memory.
	buf := make([]byte, 0, 64<<10)
	flush := func() error {
		if len(buf) < cap(buf)-8 {
			return nil
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	// put appends values as dt, F32 or F16.
	put := func(name string, values []float32, dt DType) error {
		for i, v := range values {
			if dt == F32 {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			} else {
				h := f32ToF16(v)
				if h&0x7fff == 0x7c00 {
					return fmt.Errorf("tensor %s: value %d is %v, beyond float16's range; store it as F32", name, i, v)
				}
				buf = binary.LittleEndian.AppendUint16(buf, h)
			}
			if err := flush(); err != nil {
				return err
			}
		}
		return nil
	}
	// The scales of every I8 tensor come first, so that a reader of a file
	// still arriving has them all from its first kilobytes (the browser
	// builds a model as it downloads), then each tensor's values.
	var q []int8
	for _, name := range c.Names {
		if t := c.Tensors[name]; storedAs(t, dtype) == I8 {
			scales, err := quantized(name, t, &q)
			if err != nil {
				return err
			}
			if err := put(name+ScaleSuffix, scales, F32); err != nil {
				return err
			}
		}
	}
	for _, name := range c.Names {
		t := c.Tensors[name]
		dt := storedAs(t, dtype)
		if dt != I8 {
			values := t.Values()
			if i := FirstNonFinite(values); i >= 0 {
				return NonFiniteError(name, i, values[i])
			}
			if err := put(name, values, dt); err != nil {
				return err
			}
			continue
		}
		if _, err := quantized(name, t, &q); err != nil {
			return err
		}
		for _, v := range q {
			buf = append(buf, byte(v))
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// quantized sets *q to t's values in int8, a scale per output channel
// (its first dimension), and returns the scales.
func quantized(name string, t *Tensor, q *[]int8) ([]float32, error) {
	values := t.Values()
	if i := FirstNonFinite(values); i >= 0 {
		return nil, NonFiniteError(name, i, values[i])
	}
	scales := make([]float32, t.Shape[0])
	*q = slices.Grow((*q)[:0], len(values))[:len(values)]
	per := 0 // values an output channel
	if len(scales) > 0 {
		per = len(values) / len(scales)
	}
	for o := range scales {
		scales[o] = quantize((*q)[o*per:(o+1)*per], values[o*per:(o+1)*per])
	}
	return scales, nil
}

// storedAs is the dtype WriteSafetensors stores t as when asked for dtype.
func storedAs(t *Tensor, dtype DType) DType {
	switch {
	case dtype != I8:
		return dtype
	case len(t.Shape) >= 2:
		return I8
	}
	return F32
}

// SafetensorsSize is the size of the file WriteSafetensors writes, so that
// a caller can allocate it at once (in the browser, a Uint8Array).
func SafetensorsSize(c *Checkpoint, dtype DType) (int64, error) {
	header, data, err := safetensorsHeader(c, dtype)
	return int64(len(header)) + data, err
}

// safetensorsHeader returns the 8-byte length and the padded JSON header
// WriteSafetensors writes for c, and the size of the data after them.
func safetensorsHeader(c *Checkpoint, dtype DType) ([]byte, int64, error) {
	if dtype != F32 && dtype != F16 && dtype != I8 {
		return nil, 0, fmt.Errorf("safetensors: cannot write dtype %q (want F32, F16 or I8)", dtype)
	}
	if err := c.validate(); err != nil {
		return nil, 0, fmt.Errorf("safetensors: %w", err)
	}
	var h bytes.Buffer
	h.WriteString(`{"` + metadataKey + `":{"format":"pt"}`)
	off := 0
	entry := func(name string, dt DType, shape []int, n int) {
		q, _ := json.Marshal(name) // a string always marshals
		h.WriteByte(',')
		h.Write(q)
		h.WriteString(`:{"dtype":"` + string(dt) + `","shape":[`)
		for i, d := range shape {
			if i > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := off + elemSize(dt)*n
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	for _, name := range c.Names { // as WriteSafetensors writes the data
		if t := c.Tensors[name]; storedAs(t, dtype) == I8 {
			entry(name+ScaleSuffix, F32, t.Shape[:1], t.Shape[0])
		}
	}
	for _, name := range c.Names {
		t := c.Tensors[name]
		entry(name, storedAs(t, dtype), t.Shape, t.Len())
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	out := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+h.Len()), uint64(h.Len()))
	return append(out, h.Bytes()...), int64(off), nil
}

// validate checks that Names and Tensors agree and that each tensor's data
// fills its shape, so a writer never emits a file readers would reject.
func (c *Checkpoint) validate() error {
	if c == nil {
		return errors.New("nil checkpoint")
	}
	seen := make(map[string]bool, len(c.Names))
	for _, name := range c.Names {
		// JSON would silently replace invalid UTF-8, renaming the tensor.
		if name == "" || name == metadataKey || !utf8.ValidString(name) {
			return fmt.Errorf("invalid tensor name %q", name)
		}
		if seen[name] {
			return fmt.Errorf("duplicate tensor %q in Names", name)
		}
		seen[name] = true
		t := c.Tensors[name]
		if t == nil {
			return fmt.Errorf("tensor %q is in Names but not in Tensors", name)
		}
		n, err := numel(t.Shape)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		if n != t.Len() {
			return fmt.Errorf("tensor %q: shape %v needs %d values, has %d", name, t.Shape, n, t.Len())
		}
	}
	for _, name := range sortedKeys(c.Tensors) {
		if !seen[name] {
			return fmt.Errorf("tensor %q is in Tensors but not in Names", name)
		}
	}
	// Readers take NAME_scale beside NAME for NAME's int8 scales.
	for _, name := range c.Names {
		if owner, ok := strings.CutSuffix(name, ScaleSuffix); ok && seen[owner] {
			return fmt.Errorf("tensors %q and %q: a name ending in %q beside the same name without it is kept for int8 scales", owner, name, ScaleSuffix)
		}
	}
	return nil
}
