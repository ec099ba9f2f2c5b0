//go:build js && wasm

package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/kernel"
	"github.com/inbrowser/resnet/wasm/jsfile"
	"github.com/inbrowser/resnet/wasm/pool"
)

// loadGCPercent is the GC target while a model loads (load, joinPool):
// collections are cheap, as the heap is mostly float slices, which the GC
// does not scan, and a low target keeps the heap near the packed model
// (ResNet-50: 123 MB at 2%, 130 MB at 10%).
const loadGCPercent = 2

// load makes the model described by msg.model the current one. With
// msg.forPool, the result carries what a pool of workers for it needs.
func (w *worker) load(msg js.Value, progress func(map[string]any)) (map[string]any, error) {
	e, err := parseEntry(msg.Get("model"))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	// WebAssembly memory never shrinks: collect often while tensors are
	// decoded, folded and packed, so the heap stays near the packed model.
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	file, err := w.obtainWeights(context.Background(), e, msg.Get("file"), progress)
	if err != nil {
		return nil, err
	}
	notices := file.notices
	obtained := time.Now()
	progress(map[string]any{"phase": "build"})
	// Manifests only list .safetensors files; not calling checkpoint.Read
	// keeps the .pth reader and its unpickler out of the binary (170 kB).
	ckpt, err := checkpoint.ReadSafetensorsFrom(jsfile.Bytes{Value: file.data}, e.bytes)
	if err != nil {
		return nil, failf(codeModel, "The weights of %s cannot be read: %v", e.name, err)
	}
	clf, err := classifier.New(e.opts, ckpt)
	if err != nil {
		return nil, failf(codeModel, "The weights do not fit %s: %v", e.name, err)
	}
	pref, err := backendPreference(msg.Get("backend"))
	if err != nil {
		return nil, err
	}
	onLost := func(notice string) {
		post(map[string]any{"type": "backend", "backend": clf.Backend(), "notice": notice})
	}
	if notice := accelerate(context.Background(), pref, ckpt, clf, onLost); notice != "" {
		notices = append(notices, notice)
	}
	w.setModel(&loadedModel{name: e.name, entry: e, clf: clf})
	// The decoded tensors and any previous model are garbage now;
	// collect them before the first image needs the memory.
	runtime.GC()
	result := map[string]any{
		"name":        e.name,
		"source":      file.source,
		"notices":     anySlice(notices),
		"backend":     clf.Backend(),
		"timings":     map[string]any{"weights": ms(obtained.Sub(start)), "build": ms(time.Since(obtained))},
		"memoryBytes": wasmMemoryBytes(),
	}
	if clf.Backend() == kernel.Backend() {
		// On the CPU the page may spread each image over a pool of workers
		// (usePool); this is the shared memory they need.
		result["poolBytes"] = pool.LayoutFor(clf.Model(), e.opts.Spec.Crop).Bytes
		if msg.Get("forPool").Truthy() && file.source == fromNetwork && !file.cached {
			// The pool's workers read the weights from the cache; without
			// one they get this copy rather than download them again.
			result["file"] = file.data
		}
	}
	return result, nil
}

// backendPreference reads a load request's optional backend field.
func backendPreference(v js.Value) (string, error) {
	if v.IsUndefined() || v.IsNull() {
		return backendAuto, nil
	}
	if v.Type() == js.TypeString {
		switch p := v.String(); p {
		case backendAuto, backendWebGPU, backendWASM:
			return p, nil
		}
	}
	return "", failf(codeBadRequest, "backend must be %q, %q or %q", backendAuto, backendWebGPU, backendWASM)
}

// dispose drops the current model so that its memory can be reused.
func (w *worker) dispose(js.Value, func(map[string]any)) (map[string]any, error) {
	w.setModel(nil)
	runtime.GC()
	return map[string]any{}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// anySlice converts for js.ValueOf, which takes []any but not []string.
func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
