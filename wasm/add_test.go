//go:build js && wasm

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"syscall/js"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/wasm/jsutil"
	"github.com/inbrowser/resnet/weights"
)

// addMsg returns an addModel request for file with the given fields.
func addMsg(file []byte, fields map[string]any) map[string]any {
	msg := map[string]any{"id": 1, "op": "addModel", "file": jsutil.NewUint8Array(file), "fileName": "mine.safetensors"}
	for k, v := range fields {
		msg[k] = v
	}
	return msg
}

// TestAddModelThenLoad adds a checkpoint where there is no IndexedDB (as
// under Node), stored as f16 and as int8: the reply carries the converted
// file, which then loads and classifies like any model.
func TestAddModelThenLoad(t *testing.T) {
	for _, tc := range []struct{ dtype, stored string }{{"f16", "F16"}, {"int8", "I8"}} {
		t.Run(tc.dtype, func(t *testing.T) { addThenLoad(t, tc.dtype, tc.stored) })
	}
}

func addThenLoad(t *testing.T, dtype, stored string) {
	file, err := testWeightsFile()
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{}
	r := call(t, w, addMsg(file, map[string]any{"labels": strings.Join(labels, "\n") + "\n", "dtype": dtype}))
	if !r.Get("ok").Bool() {
		t.Fatalf("addModel failed: %s", r.Get("error").Get("message").String())
	}
	res := r.Get("result")
	if res.Get("stored").Bool() || !res.Get("file").Truthy() {
		t.Fatal("without IndexedDB the model must come back unstored, with its file")
	}
	m := res.Get("model")
	for field, want := range map[string]string{"name": "mine", "arch": "resnet18", "variant": "v1.5", "dtype": stored} {
		if got := m.Get(field).String(); got != want {
			t.Errorf("model.%s = %q, want %q", field, got, want)
		}
	}
	if m.Get("resize").Int() != 256 || m.Get("crop").Int() != 224 {
		t.Errorf("resize %d, crop %d: want ImageNet's 256 and 224", m.Get("resize").Int(), m.Get("crop").Int())
	}
	if m.Get("classes").Int() != len(labels) || m.Get("labels").Length() != len(labels) || m.Get("labels").Index(3).String() != labels[3] {
		t.Errorf("classes %d, labels %v: want the %d labels given", m.Get("classes").Int(), m.Get("labels"), len(labels))
	}
	if got := m.Get("added").Get("labels").String(); got != labelsFile {
		t.Errorf("added.labels = %q, want %q", got, labelsFile)
	}
	// The test file is fp16: f16 keeps its size, int8 about halves it (conv
	// and fc weights a byte each; the F32 BatchNorm and scales add under 1%).
	if got, limit := res.Get("file").Get("byteLength").Int(), map[string]int{"F16": len(file) + 1<<16, "I8": len(file) * 51 / 100}[stored]; got > limit || m.Get("bytes").Int() != got {
		t.Errorf("converted file %d bytes (model.bytes %d), want at most %d for the %d-byte fp16 file", got, m.Get("bytes").Int(), limit, len(file))
	}

	load := call(t, w, map[string]any{"id": 2, "op": "load", "model": m, "file": res.Get("file")})
	if !load.Get("ok").Bool() {
		t.Fatalf("load of the added model: %s", load.Get("error").Get("message").String())
	}
	if got := load.Get("result").Get("source").String(); got != fromPage {
		t.Errorf("source %q, want %q", got, fromPage)
	}
	c := call(t, w, map[string]any{"id": 3, "op": "classify", "pixels": jsutil.NewUint8Array(testImage(50, 40).Pix), "width": 50, "height": 40})
	if !c.Get("ok").Bool() || c.Get("result").Get("model").String() != "mine" {
		t.Fatalf("classify with the added model: %v", c.Get("error").Get("message"))
	}
}

// TestAddModelRecognisesOfficial gives the table an entry whose hash prefix
// is the file's: the model is named after it and takes its preprocessing.
// A 10-class file with the same hash prefix is not official: torchvision's
// are ImageNet's 1000 classes.
func TestAddModelRecognisesOfficial(t *testing.T) {
	cfg, err := arch.ParseName("resnet18")
	if err != nil {
		t.Fatal(err)
	}
	ckpt, err := engine.RandomCheckpoint(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.WriteSafetensors(&buf, ckpt, checkpoint.F16); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	table := []weights.Official{{
		Name: "resnet18", Arch: "resnet18", Weights: "TEST_V1", File: "resnet18-" + hex.EncodeToString(sum[:])[:8] + ".pth",
		URL: "https://example.invalid/x.pth", Acc1: 70.5, Acc5: 89, Resize: 232, Crop: 224,
	}}
	official, _ := json.Marshal(table)
	r := call(t, &worker{}, addMsg(buf.Bytes(), map[string]any{"official": string(official)}))
	if !r.Get("ok").Bool() {
		t.Fatalf("addModel failed: %s", r.Get("error").Get("message").String())
	}
	m := r.Get("result").Get("model")
	if got := m.Get("added").Get("official").Get("title").String(); got != table[0].Title() {
		t.Errorf("official title %q, want %q", got, table[0].Title())
	}
	if m.Get("resize").Int() != 232 || m.Get("added").Get("labels").String() != labelsImageNet || m.Get("labels").Length() != 1000 {
		t.Errorf("resize %d, labels %s: want the official entry's 232 and ImageNet's labels", m.Get("resize").Int(), m.Get("added").Get("labels"))
	}
}

func TestAddModelRefusesBadInput(t *testing.T) {
	file, err := testWeightsFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		msg  map[string]any
		code string
	}{
		{"no file or url", map[string]any{"id": 1, "op": "addModel"}, codeBadRequest},
		{"not a checkpoint", addMsg([]byte("GIF89a not weights at all"), nil), codeModel},
		{"truncated", addMsg(file[:len(file)/2], nil), codeModel},
		{"labels of another length", addMsg(file, map[string]any{"labels": "a\nb\nc\n"}), codeLabels},
		{"a bundled model's name", addMsg(file, map[string]any{"name": "fashion-resnet18", "reserved": []any{"fashion-resnet18"}}), codeBadRequest},
		{"unknown dtype", addMsg(file, map[string]any{"dtype": "bf16"}), codeBadRequest},
		{"unknown variant", addMsg(file, map[string]any{"variant": "v2"}), codeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, call(t, &worker{}, tc.msg), tc.code)
		})
	}
}

// TestIndexedDBThatThrows reads the cache where the indexedDB global throws
// on access (a SecurityError in some sandboxed frames): the worker runs
// without a cache, as where there is none, instead of failing.
func TestIndexedDBThatThrows(t *testing.T) {
	js.Global().Call("eval", `Object.defineProperty(globalThis, "indexedDB", {
		configurable: true, get() { throw new DOMException("access denied", "SecurityError"); },
	})`)
	defer js.Global().Call("eval", "delete globalThis.indexedDB")
	r := call(t, &worker{}, map[string]any{"id": 1, "op": "cacheInfo"})
	if !r.Get("ok").Bool() {
		t.Fatalf("cacheInfo failed: %s", r.Get("error").Get("message").String())
	}
	if res := r.Get("result"); res.Get("available").Bool() || !strings.Contains(res.Get("reason").String(), "does not allow IndexedDB") {
		t.Errorf("want no cache and the reason, got available %v, reason %q", res.Get("available"), res.Get("reason"))
	}
}
