package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wantInt8 is what an I8 file holds for w, worked out here independently of
// quantize: per output channel (first dimension) scale = max|w|/127 in
// float32, or 1 for a channel of zeros, and q = w/scale rounded half to
// even. It returns the dequantized values q*scale and the scales.
func wantInt8(w []float32, channels int) ([]float32, []float32) {
	out := make([]float32, len(w))
	scales := make([]float32, channels)
	per := len(w) / channels
	for o := range channels {
		ch := w[o*per : (o+1)*per]
		var m float32
		for _, v := range ch {
			if v < 0 {
				v = -v
			}
			if v > m {
				m = v
			}
		}
		s := m / float32(127)
		if s == 0 {
			s = 1
		}
		scales[o] = s
		for i, v := range ch {
			q := int8(math.RoundToEven(float64(v / s)))
			out[o*per+i] = float32(q) * s
		}
	}
	return out, scales
}

// TestRoundTripI8: tensors of two or more dimensions come back quantized
// per output channel, each value within half a step of the original; the
// others come back exactly, as F32. The header holds the I8 tensor, then
// its F32 scales.
func TestRoundTripI8(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(11, 12)))
	w := c.Tensors["conv1.weight"].Data
	clear(w[27:54]) // output channel 1 is all zeros
	w[54] = 1e-44   // channel 2: a subnormal whose scale underflows to 0
	clear(w[55:81])
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, I8); err != nil {
		t.Fatal(err)
	}
	if n, err := SafetensorsSize(c, I8); err != nil || n != int64(buf.Len()) {
		t.Errorf("SafetensorsSize = %d, %v; wrote %d", n, err, buf.Len())
	}
	b := buf.Bytes()
	hl := binary.LittleEndian.Uint64(b)
	var header map[string]struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	if err := json.Unmarshal(b[8:8+hl], &header); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"conv1.weight": "I8 [4 3 3 3]", "conv1.weight_scale": "F32 [4]", "bn1.running_var": "F32 [4]", "scalar": "F32 []", "empty": "I8 [2 0]", "empty_scale": "F32 [2]"} {
		e := header[name]
		if got := fmt.Sprint(e.DType, " ", e.Shape); got != want {
			t.Errorf("header entry %s: %s, want %s", name, got, want)
		}
	}
	// Every scale comes before every tensor, in the header and the data.
	lastScale, firstTensor := -1, len(b)
	for name, e := range header {
		if name == metadataKey {
			continue
		}
		quoted, _ := json.Marshal(name) // as the writer quotes it
		at := bytes.Index(b, quoted)
		if strings.HasSuffix(name, ScaleSuffix) {
			lastScale = max(lastScale, at)
			if e.Offsets[1] > 2*4+4*4 { // conv1's 4 scales, then empty's 2
				t.Errorf("%s: data at %v, not among the scales at the start", name, e.Offsets)
			}
		} else {
			firstTensor = min(firstTensor, at)
		}
	}
	if lastScale > firstTensor {
		t.Errorf("a tensor comes before a scale in the header: %s", b[8:8+hl])
	}

	got, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	want := &Checkpoint{Names: c.Names, Tensors: map[string]*Tensor{}}
	for n, ten := range c.Tensors {
		v := ten.Data
		if len(ten.Shape) >= 2 {
			v, _ = wantInt8(ten.Data, ten.Shape[0])
		}
		want.Tensors[n] = &Tensor{Shape: ten.Shape, Data: v}
	}
	sameCheckpoint(t, got, want)

	gw := got.Tensors["conv1.weight"].Values()
	_, scales := wantInt8(w, 4)
	if scales[1] != 1 || scales[2] != 1 {
		t.Errorf("zero channels' scales %v, want 1", scales[1:3])
	}
	if !slices.Equal(got.Tensors["conv1.weight"].scale, scales) {
		t.Errorf("scales read %v, want %v", got.Tensors["conv1.weight"].scale, scales)
	}
	for i, v := range w {
		s := scales[i/27]
		if d := math.Abs(float64(gw[i] - v)); d > float64(s)/2 {
			t.Fatalf("value %d: %v came back as %v, more than half a step (%v) away", i, v, gw[i], s/2)
		}
	}
	// 65504 is conv1.weight[1], the largest of channel 0: stored as 127.
	if gw[1] != 127*scales[0] || scales[0] != float32(65504)/127 {
		t.Errorf("the largest value %v came back as %v (scale %v)", w[1], gw[1], scales[0])
	}
}

// TestQuantizeRounding pins quantize on hand-worked channels: ties go to
// even, the largest magnitude is ±127 and -128 is never used.
func TestQuantizeRounding(t *testing.T) {
	for _, tc := range []struct {
		w     []float32
		q     []int8
		scale float32
	}{
		{[]float32{127, -127, 0.5, 1.5, -2.5, 63.4}, []int8{127, -127, 0, 2, -2, 63}, 1},
		{[]float32{-254, 1, 3}, []int8{-127, 0, 2}, 2}, // 0.5 -> 0, 1.5 -> 2
		{[]float32{0, 0}, []int8{0, 0}, 1},
		{[]float32{float32(math.Copysign(0, -1))}, []int8{0}, 1},
	} {
		q := make([]int8, len(tc.w))
		if s := quantize(q, tc.w); s != tc.scale || !slices.Equal(q, tc.q) {
			t.Errorf("quantize(%v) = %v, scale %v; want %v, scale %v", tc.w, q, s, tc.q, tc.scale)
		}
	}
}

// TestDecodeRangesI8: Decode of any range of an I8 tensor, lazily from the
// file, gives the values Values gives, across output channel boundaries.
func TestDecodeRangesI8(t *testing.T) {
	c := randomCheckpoint(rand.New(rand.NewPCG(13, 14)))
	lazy := lazyCopy(t, c, I8)
	tensor := lazy.Tensors["conv1.weight"]
	all := tensor.Values()
	want, _ := wantInt8(c.Tensors["conv1.weight"].Data, 4)
	for _, r := range [][2]int{{0, len(all)}, {0, 1}, {5, 17}, {20, 60}, {27, 54}, {len(all) - 3, len(all)}, {7, 7}} {
		got := make([]float32, r[1]-r[0])
		tensor.Decode(got, r[0])
		for i, v := range got {
			if math.Float32bits(v) != math.Float32bits(want[r[0]+i]) {
				t.Fatalf("Decode of [%d, %d): value %d is %v, want %v", r[0], r[1], i, v, want[r[0]+i])
			}
		}
	}
}

// TestReadI8Errors crafts one file per rule on int8 tensors and scales.
func TestReadI8Errors(t *testing.T) {
	i8 := func(name, shape string, begin, end int) string {
		return `"` + name + `":{"dtype":"I8","shape":` + shape + `,"data_offsets":[` + itoa(begin) + `,` + itoa(end) + `]}`
	}
	scale := func(name, dtype, shape string, begin, end int) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":[` + itoa(begin) + `,` + itoa(end) + `]}`
	}
	q := []byte{1, 0xff, 127, 0x81} // 1, -1, 127, -127
	file := func(entries string, scales ...float32) []byte {
		return stFile(`{`+entries+`}`, append(slices.Clone(q), f32bytes(scales...)...))
	}
	good := file(i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F32", "[2]", 4, 12), 0.5, 2)
	c, err := ReadSafetensors(good)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tensors["w"].Values(); !slices.Equal(got, []float32{0.5, -0.5, 254, -254}) || !slices.Equal(c.Names, []string{"w"}) || len(c.Tensors) != 1 {
		t.Fatalf("good file: names %q, values %v", c.Names, got)
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"no scales", stFile(`{`+i8("w", "[2,2]", 0, 4)+`}`, q), `tensor "w": I8 without its scales "w_scale"`},
		{"scales of another name", file(i8("w", "[2,2]", 0, 4)+","+scale("v_scale", "F32", "[2]", 4, 12), 1, 1), `tensor "w": I8 without its scales "w_scale"`},
		{"scalar", stFile(`{`+i8("w", "[]", 0, 1)+`}`, q[:1]), `tensor "w": an I8 tensor needs a first dimension`},
		{"scales too short", file(i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F32", "[1]", 4, 8), 1), `tensor "w_scale": shape [1], want [2]`},
		{"scales 2-D", file(i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F32", "[2,1]", 4, 12), 1, 1), `tensor "w_scale": shape [2 1], want [2]`},
		{"scales per input channel", file(i8("w", "[1,4]", 0, 4)+","+scale("w_scale", "F32", "[4]", 4, 20), 1, 1, 1, 1), `tensor "w_scale": shape [4], want [1]`},
		{"F16 scales", stFile(`{`+i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F16", "[2]", 4, 8)+`}`, append(slices.Clone(q), 0, 0x3c, 0, 0x3c)), `tensor "w_scale": scales of "w" are F16, want F32`},
		{"I8 scales", stFile(`{`+i8("w", "[2,2]", 0, 4)+","+i8("w_scale", "[2]", 4, 6)+`}`, append(slices.Clone(q), 1, 1)), `scales of "w" are I8`},
		{"zero scale", file(i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F32", "[2]", 4, 12), 1, 0), `tensor "w_scale": scale 1 is 0; scales must be finite and positive`},
		{"negative scale", file(i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F32", "[2]", 4, 12), -1, 1), `scale 0 is -1; scales must be finite and positive`},
		{"NaN scale", file(i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F32", "[2]", 4, 12), 1, float32(math.NaN())), `scale 1 is NaN`},
		{"infinite scale", file(i8("w", "[2,2]", 0, 4)+","+scale("w_scale", "F32", "[2]", 4, 12), float32(math.Inf(1)), 1), `scale 0 is +Inf`},
		{"scales of an F32 tensor", stFile(`{`+scale("w", "F32", "[1]", 0, 4)+","+scale("w_scale", "F32", "[1]", 4, 8)+`}`, f32bytes(1, 1)), `tensor "w_scale": scales for "w", which is F32, not I8`},
		{"scales of an F16 tensor", stFile(`{`+scale("w", "F16", "[2]", 0, 4)+","+scale("w_scale", "F32", "[2]", 4, 12)+`}`, append([]byte{0, 0x3c, 0, 0x3c}, f32bytes(1, 1)...)), `scales for "w", which is F16, not I8`},
		{"I8 size mismatch", file(i8("w", "[2,3]", 0, 4)+","+scale("w_scale", "F32", "[2]", 4, 12), 1, 1), `tensor "w": data_offsets [0, 4] hold 4 bytes, but I8 [2 3] needs 6`},
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

func itoa(i int) string { return strconv.Itoa(i) }

// TestWriteI8Errors: a name that readers would take for another tensor's
// scales is refused whatever the dtype, and NaN is refused as I8 too.
func TestWriteI8Errors(t *testing.T) {
	pair := &Checkpoint{Names: []string{"w", "w_scale"}, Tensors: map[string]*Tensor{
		"w": {Shape: []int{1, 2}, Data: []float32{1, 2}}, "w_scale": {Shape: []int{1}, Data: []float32{1}},
	}}
	for _, dt := range []DType{F32, F16, I8} {
		if err := WriteSafetensors(io.Discard, pair, dt); err == nil || !strings.Contains(err.Error(), `tensors "w" and "w_scale": a name ending in "_scale" beside the same name without it is kept for int8 scales`) {
			t.Errorf("%s: %v", dt, err)
		}
	}
	nan := &Checkpoint{Names: []string{"w"}, Tensors: map[string]*Tensor{"w": {Shape: []int{1, 2}, Data: []float32{1, float32(math.NaN())}}}}
	if err := WriteSafetensors(io.Discard, nan, I8); err == nil || !strings.Contains(err.Error(), "tensor w: value 1 is NaN") {
		t.Errorf("NaN as I8: %v", err)
	}
}

// TestI8Size: an I8 file's data is one byte a conv weight plus 4 a
// scale, with BatchNorm's tensors as F32.
func TestI8Size(t *testing.T) {
	c := &Checkpoint{Names: []string{"conv.weight", "bn.weight"}, Tensors: map[string]*Tensor{
		"conv.weight": {Shape: []int{64, 64, 3, 3}, Data: make([]float32, 64*64*9)},
		"bn.weight":   {Shape: []int{64}, Data: make([]float32, 64)},
	}}
	header, data, err := safetensorsHeader(c, I8)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(64*64*9 + 64*4 + 64*4); data != want {
		t.Errorf("I8 data section %d bytes, want %d", data, want)
	}
	if n, _ := SafetensorsSize(c, I8); n != int64(len(header))+data {
		t.Errorf("SafetensorsSize %d, want %d", n, int64(len(header))+data)
	}
}
