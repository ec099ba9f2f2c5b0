//go:build js && wasm

package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"syscall/js"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/kernel"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/wasm/jsutil"
)

// These tests run under Node:
//
//	GOOS=js GOARCH=wasm go test -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm/
//
// They drive the worker through handle as the page does and read what it
// posts. Loading weights needs fetch and IndexedDB; the browser tests
// (e2e/) cover it.

var labels = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// testWorker returns a worker with a seeded random 10-class ResNet-18 for
// 32x32 inputs already loaded.
func testWorker(t *testing.T) *worker {
	t.Helper()
	cfg, err := arch.ParseName("resnet18")
	if err != nil {
		t.Fatal(err)
	}
	cfg.NumClasses = len(labels)
	ckpt, err := engine.RandomCheckpoint(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	spec := preprocess.Spec{Resize: 32, Crop: 32, Mean: [3]float32{0.3, 0.3, 0.3}, Std: [3]float32{0.35, 0.35, 0.35}}
	clf, err := classifier.New(classifier.Options{Config: cfg, Spec: spec, Labels: labels}, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	return &worker{model: &loadedModel{name: "test", clf: clf}}
}

// call sends msg to w and returns the reply it posts.
func call(t *testing.T, w *worker, msg any) js.Value {
	t.Helper()
	var replies []js.Value
	capture := js.FuncOf(func(_ js.Value, args []js.Value) any {
		replies = append(replies, args[0])
		return nil
	})
	defer capture.Release()
	js.Global().Set("postMessage", capture)
	w.handle(js.ValueOf(msg))
	var reply js.Value
	for _, r := range replies {
		if r.Get("type").String() == "reply" {
			if !reply.IsUndefined() {
				t.Fatal("more than one reply")
			}
			reply = r
		}
	}
	if reply.IsUndefined() {
		t.Fatal("no reply")
	}
	return reply
}

// wantError checks that reply is an error with the given code.
func wantError(t *testing.T, reply js.Value, code string) {
	t.Helper()
	if reply.Get("ok").Bool() {
		t.Fatalf("want error %s, got success", code)
	}
	if got := reply.Get("error").Get("code").String(); got != code {
		t.Fatalf("want error %s, got %s: %s", code, got, reply.Get("error").Get("message").String())
	}
}

func testImage(w, h int) *image.NRGBA {
	r := rand.New(rand.NewPCG(7, 7))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
	}
	return img
}

// TestPixelsMatchEncodedImage classifies the same picture as an encoded PNG
// and as raw RGBA (the canvas fast path): the results must be identical.
func TestPixelsMatchEncodedImage(t *testing.T) {
	w := testWorker(t)
	img := testImage(45, 37)
	var encoded bytes.Buffer
	if err := png.Encode(&encoded, img); err != nil {
		t.Fatal(err)
	}
	fromBytes := call(t, w, map[string]any{"id": 1, "op": "classify", "image": jsutil.NewUint8Array(encoded.Bytes()).Get("buffer")})
	fromPixels := call(t, w, map[string]any{"id": 2, "op": "classify", "pixels": jsutil.NewUint8Array(img.Pix), "width": 45, "height": 37, "k": 3})
	for _, r := range []js.Value{fromBytes, fromPixels} {
		if !r.Get("ok").Bool() {
			t.Fatalf("classify failed: %s", r.Get("error").Get("message").String())
		}
	}
	a, b := fromBytes.Get("result").Get("top"), fromPixels.Get("result").Get("top")
	if a.Length() != defaultTopK || b.Length() != 3 {
		t.Fatalf("got %d and %d classes, want %d and 3", a.Length(), b.Length(), defaultTopK)
	}
	for i := range 3 {
		ea, eb := a.Index(i), b.Index(i)
		if ea.Get("index").Int() != eb.Get("index").Int() || ea.Get("prob").Float() != eb.Get("prob").Float() {
			t.Errorf("class %d: PNG gives %d (%v), pixels give %d (%v)", i, ea.Get("index").Int(), ea.Get("prob").Float(), eb.Get("index").Int(), eb.Get("prob").Float())
		}
		if ea.Get("label").String() != labels[ea.Get("index").Int()] {
			t.Errorf("class %d: label %q for index %d", i, ea.Get("label").String(), ea.Get("index").Int())
		}
	}
	if fromBytes.Get("result").Get("timings").Get("inference").Float() <= 0 {
		t.Error("no inference time reported")
	}
	if fromPixels.Get("result").Get("backend").String() != kernel.Backend() {
		t.Errorf("backend %q, want the CPU engine's %q", fromPixels.Get("result").Get("backend").String(), kernel.Backend())
	}
}

func TestBadInputsGiveErrors(t *testing.T) {
	w := testWorker(t)
	hugePNG := pngHeader(10000, 10000)
	for _, tc := range []struct {
		name string
		msg  any
		code string
	}{
		{"not an object", "hello", codeBadRequest},
		{"no op", map[string]any{"id": 1}, codeBadRequest},
		{"id that cannot be posted", map[string]any{"id": js.Global().Get("Object"), "op": "explode"}, codeBadRequest},
		{"unknown op", map[string]any{"id": 1, "op": "explode"}, codeBadRequest},
		{"nothing to classify", map[string]any{"id": 1, "op": "classify"}, codeBadRequest},
		{"text file", map[string]any{"id": 1, "op": "classify", "image": jsutil.NewUint8Array([]byte("just some text, no image"))}, codeUnsupported},
		{"image is a string", map[string]any{"id": 1, "op": "classify", "image": "data"}, codeBadRequest},
		{"huge PNG", map[string]any{"id": 1, "op": "classify", "image": jsutil.NewUint8Array(hugePNG)}, codeTooLarge},
		{"broken PNG", map[string]any{"id": 1, "op": "classify", "image": jsutil.NewUint8Array(pngHeader(8, 8))}, codeBadImage},
		{"short pixels", map[string]any{"id": 1, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 10)), "width": 4, "height": 4}, codeBadRequest},
		{"no width", map[string]any{"id": 1, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 64)), "height": 4}, codeBadRequest},
		{"fractional width", map[string]any{"id": 1, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 64)), "width": 4.5, "height": 4}, codeBadRequest},
		{"too many pixels", map[string]any{"id": 1, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 4)), "width": 10000, "height": 10000}, codeTooLarge},
		{"k not a number", map[string]any{"id": 1, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 64)), "width": 4, "height": 4, "k": "five"}, codeBadRequest},
		{"load without model", map[string]any{"id": 1, "op": "load"}, codeBadRequest},
		{"load with bad arch", map[string]any{"id": 1, "op": "load", "model": entryWith("arch", "resnet19")}, codeBadRequest},
		{"load with bad sha256", map[string]any{"id": 1, "op": "load", "model": entryWith("sha256", "ABC")}, codeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, call(t, w, tc.msg), tc.code) })
	}
	// The worker still works after all that.
	ok := call(t, w, map[string]any{"id": 2, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 64)), "width": 4, "height": 4})
	if !ok.Get("ok").Bool() {
		t.Fatalf("classify after errors: %s", ok.Get("error").Get("message").String())
	}
}

func TestDispose(t *testing.T) {
	w := testWorker(t)
	if r := call(t, w, map[string]any{"id": 1, "op": "dispose"}); !r.Get("ok").Bool() {
		t.Fatal("dispose failed")
	}
	r := call(t, w, map[string]any{"id": 2, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 64)), "width": 4, "height": 4})
	wantError(t, r, codeNoModel)
	if r.Get("id").Int() != 2 {
		t.Errorf("reply id %v, want 2", r.Get("id"))
	}
}

// entryWith returns a model entry as dist/manifest.json lists them, with
// field key set to value (deleted if value is nil).
func entryWith(key string, value any) map[string]any {
	entry := map[string]any{
		"name": "fashion-resnet50", "arch": "resnet50", "variant": "v1", "classes": 3,
		"input_size": 32, "resize": 36, "crop": 32,
		"mean": []any{0.1, 0.2, 0.3}, "std": []any{0.4, 0.5, 0.6}, "labels": []any{"a", "b", "c"},
		"dtype": "F16", "file": "f.safetensors", "url": "models/f.0123456789.safetensors", "bytes": 1234,
		"sha256":   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"accuracy": 0.9, "source": "test", "default": true,
	}
	if value == nil {
		delete(entry, key)
	} else if key != "" {
		entry[key] = value
	}
	return entry
}

func TestParseEntry(t *testing.T) {
	e, err := parseEntry(js.ValueOf(entryWith("", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if e.cacheKey() != "fashion-resnet50@0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ||
		e.url != "models/f.0123456789.safetensors" || e.bytes != 1234 {
		t.Errorf("parsed %+v", e)
	}
	cfg := e.opts.Config
	if cfg.Depth != 50 || cfg.Variant != arch.V1 || cfg.NumClasses != 3 || e.opts.Spec.Resize != 36 || e.opts.Spec.Std[2] != 0.6 ||
		len(e.opts.Labels) != 3 || e.opts.Labels[2] != "c" {
		t.Errorf("parsed %+v", e.opts)
	}
	// An added model's entry: no url, an added part the worker wrote.
	added := entryWith("url", nil)
	added["added"] = map[string]any{"file": "mine.pth", "labels": "file", "official": nil}
	if e, err := parseEntry(js.ValueOf(added)); err != nil || e.url != "" {
		t.Errorf("an added model's entry: %+v, %v", e, err)
	}
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"not an object", js.Undefined()},
		{"no labels", entryWith("labels", nil)},
		{"no classes", entryWith("classes", nil)},
		{"labels not strings", entryWith("labels", []any{1, 2, 3})},
		{"more labels than classes", entryWith("labels", []any{"a", "b", "c", "d"})},
		{"an unknown field", entryWith("input-size", 32)},
		{"a fractional size", entryWith("bytes", 12.5)},
		{"too many bytes", entryWith("bytes", maxWeightBytes+1)},
		{"a huge resize", entryWith("resize", 100000)},
		{"two means", entryWith("mean", []any{0.1, 0.2})},
	} {
		if _, err := parseEntry(js.ValueOf(tc.v)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// pngHeader returns the signature and header chunk of a w x h RGBA PNG, and
// no pixel data.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, uint32(len(ihdr)-4))
	out = append(out, ihdr...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
}
