//go:build js && wasm

package main

import (
	"strings"
	"testing"
)

// Node has no WebGPU: measure says so, and the CPU keeps the model.
func TestMeasureWithoutWebGPU(t *testing.T) {
	w := &worker{}
	r := call(t, w, map[string]any{"id": 1, "op": "load", "model": testEntry(t)})
	if !r.Get("ok").Bool() {
		t.Fatalf("load failed: %s", r.Get("error").Get("message").String())
	}
	loaded := r.Get("result")
	if loaded.Get("notices").Length() != 1 {
		t.Errorf("a load without a backend asked for the CPU, yet said %v", loaded.Get("notices"))
	}
	load, file := loaded.Get("load").Int(), loaded.Get("file")

	m := call(t, w, map[string]any{"id": 2, "op": "measure", "load": load, "file": file})
	if !m.Get("ok").Bool() {
		t.Fatalf("measure failed: %s", m.Get("error").Get("message").String())
	}
	if why := m.Get("result").Get("unavailable").String(); !strings.Contains(why, "WebGPU is not available") {
		t.Errorf("measure says %q, want that WebGPU is not available", why)
	}
	if b := w.current().clf.Backend(); strings.Contains(b, "WebGPU") {
		t.Errorf("backend %q after a measurement without WebGPU", b)
	}

	wantError(t, call(t, w, map[string]any{"id": 3, "op": "measure", "load": load + 1, "file": file}), codeNoModel)
	wantError(t, call(t, w, map[string]any{"id": 4, "op": "measure", "file": file}), codeBadRequest)
	wantError(t, call(t, w, map[string]any{"id": 5, "op": "measure", "load": load, "file": "weights"}), codeBadRequest)
	wantError(t, call(t, w, map[string]any{"id": 6, "op": "load", "model": testEntry(t), "backend": "auto"}), codeBadRequest)
}
