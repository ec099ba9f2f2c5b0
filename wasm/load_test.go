//go:build js && wasm

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/wasm/jsutil"
)

// testWeightsFile is a seeded random 10-class ResNet-18 as fp16 safetensors.
var testWeightsFile = sync.OnceValues(func() ([]byte, error) {
	cfg, err := arch.ParseName("resnet18")
	if err != nil {
		return nil, err
	}
	cfg.NumClasses = len(labels)
	ckpt, err := engine.RandomCheckpoint(cfg, 2)
	if err != nil {
		return nil, err
	}
	var file bytes.Buffer
	err = checkpoint.WriteSafetensors(&file, ckpt, checkpoint.F16)
	return file.Bytes(), err
})

// testEntry returns a manifest entry for testWeightsFile served as a data:
// URL (Node's fetch reads those; it has no IndexedDB, which is the case of
// a browser without one).
func testEntry(t *testing.T) map[string]any {
	t.Helper()
	file, err := testWeightsFile()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(file)
	labelList := make([]any, len(labels))
	for i, l := range labels {
		labelList[i] = l
	}
	return map[string]any{
		"name": "test-resnet18", "arch": "resnet18", "variant": "v1.5", "classes": len(labels),
		"url":        "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(file),
		"bytes":      len(file),
		"sha256":     hex.EncodeToString(sum[:]),
		"input_size": 32, "resize": 32, "crop": 32, "mean": []any{0.3, 0.3, 0.3}, "std": []any{0.35, 0.35, 0.35},
		"labels": labelList, "dtype": "F16", "accuracy": 0, "source": "a seeded random ResNet-18",
	}
}

func TestLoadWithoutIndexedDB(t *testing.T) {
	w := &worker{}
	r := call(t, w, map[string]any{"id": 1, "op": "load", "model": testEntry(t), "backend": "webgpu"})
	if !r.Get("ok").Bool() {
		t.Fatalf("load failed: %s", r.Get("error").Get("message").String())
	}
	res := r.Get("result")
	if res.Get("source").String() != fromNetwork {
		t.Errorf("source %q, want %q", res.Get("source").String(), fromNetwork)
	}
	// Node has neither IndexedDB nor WebGPU: one notice for each.
	notices := res.Get("notices")
	if notices.Length() != 2 || !strings.Contains(notices.Index(0).String(), "cannot be cached") ||
		!strings.Contains(notices.Index(1).String(), "WebGPU is not available") {
		t.Errorf("want a notice that the weights cannot be cached and one that WebGPU is unavailable, got %v", notices)
	}
	if b := res.Get("backend").String(); !strings.Contains(b, "WASM") && !strings.Contains(b, "plain Go") {
		t.Errorf("backend %q, want the WASM engine", b)
	}
	c := call(t, w, map[string]any{"id": 2, "op": "classify", "pixels": jsutil.NewUint8Array(make([]byte, 4*40*40)), "width": 40, "height": 40})
	if !c.Get("ok").Bool() || c.Get("result").Get("model").String() != "test-resnet18" {
		t.Fatalf("classify after load: %v", c.Get("error").Get("message"))
	}
	info := call(t, w, map[string]any{"id": 3, "op": "cacheInfo"})
	if !info.Get("ok").Bool() {
		t.Fatalf("cacheInfo: %s", info.Get("error").Get("message").String())
	}
	if info.Get("result").Get("available").Bool() {
		t.Error("cacheInfo claims a cache")
	}
}

func TestLoadRejectsWrongWeights(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
		code   string
	}{
		{"wrong hash", func(e map[string]any) { e["sha256"] = strings.Repeat("ab", 32) }, codeIntegrity},
		{"longer than promised", func(e map[string]any) { e["bytes"] = e["bytes"].(int) - 1 }, codeIntegrity},
		{"shorter than promised", func(e map[string]any) { e["bytes"] = e["bytes"].(int) + 1 }, codeIntegrity},
		{"unreachable", func(e map[string]any) { e["url"] = "http://127.0.0.1:1/weights.safetensors" }, codeNetwork},
		// The build, which reads the file as it arrives, waits for bytes
		// that never come: the load must end all the same.
		{"broken off halfway", func(e map[string]any) {
			file, _ := testWeightsFile()
			e["url"] = "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(file[:len(file)/2])
		}, codeIntegrity},
		{"other architecture", func(e map[string]any) { e["arch"] = "resnet34" }, codeModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &worker{}
			entry := testEntry(t)
			tc.change(entry)
			wantError(t, call(t, w, map[string]any{"id": 1, "op": "load", "model": entry}), tc.code)
			if w.current() != nil {
				t.Error("a failed load left a model behind")
			}
		})
	}
}

// TestGoSHA256 checks the hash used where WebCrypto is missing (plain
// http) over a file of several chunks with a partial last one.
func TestGoSHA256(t *testing.T) {
	data := make([]byte, 2*hashChunk+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	buf := jsutil.NewUint8Array(data)
	want := sha256.Sum256(data)
	if got := goSHA256Hex(buf); got != hex.EncodeToString(want[:]) {
		t.Fatalf("goSHA256Hex = %s, want %x", got, want)
	}
}
