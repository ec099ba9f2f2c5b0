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
	"github.com/inbrowser/resnet/wasm/pool"
)

// loadGCPercent is the GC target while a model loads (load, joinPool):
// collections are cheap, as the heap is mostly float slices, which the GC
// does not scan, and a low target keeps the heap near the packed model
// (ResNet-50: 123 MB at 2%, 130 MB at 10%).
const loadGCPercent = 2

// load makes the model described by msg.model the current one. The
// result carries what the page's pool of workers needs (the file, verified,
// and the shared memory's size), and where the time went.
func (w *worker) load(msg js.Value, progress func(map[string]any)) (map[string]any, error) {
	e, err := parseEntry(msg.Get("model"))
	if err != nil {
		return nil, err
	}
	pref, err := backendPreference(msg.Get("backend"))
	if err != nil {
		return nil, err
	}
	// WebAssembly memory never shrinks: collect often while tensors are
	// decoded, folded and packed, so the heap stays near the packed model.
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	ctx := context.Background()
	file, err := w.obtainWeights(ctx, e, msg.Get("file"), msg.Get("preread"), true, progress)
	if err != nil {
		return nil, err
	}
	clf, ckpt, err := buildClassifier(e, file, progress)
	if damaged := file.verified(); damaged != nil {
		if file.source != fromCache {
			return nil, damaged
		}
		// The cached copy changed since it was stored: whatever was built
		// from it goes, and the published file is downloaded again.
		notices := append(file.notices, w.discardDamaged(ctx, e)...)
		if file, err = w.obtainWeights(ctx, e, js.Undefined(), js.Undefined(), false, progress); err != nil {
			return nil, err
		}
		file.notices = append(notices, file.notices...)
		clf, ckpt, err = buildClassifier(e, file, progress)
		if damaged := file.verified(); damaged != nil {
			return nil, damaged
		}
	}
	if err != nil {
		return nil, err
	}
	notices := append(file.notices, file.stored()...)
	if notice := accelerate(ctx, pref, ckpt, clf); notice != "" {
		notices = append(notices, notice)
	}
	m := &loadedModel{load: w.loads.Add(1), name: e.name, entry: e, clf: clf}
	w.setModel(m)
	// The decoded tensors and any previous model are garbage now;
	// collect them before the first image needs the memory.
	runtime.GC()
	result := map[string]any{
		"name":        e.name,
		"load":        m.load,
		"source":      file.source,
		"notices":     anySlice(notices),
		"backend":     clf.Backend(),
		"timings":     file.timings,
		"memoryBytes": wasmMemoryBytes(),
	}
	if clf.Backend() == kernel.Backend() {
		// On the CPU the page may spread each image over a pool of workers
		// (usePool), which build their shares from this verified file.
		result["poolBytes"] = pool.LayoutFor(clf.Model(), e.opts.Spec.Crop).Bytes
		result["poolControl"] = pool.ControlWords()
		result["file"] = file.share
	}
	return result, nil
}

// buildClassifier reads file's tensors and builds e's classifier, adding
// the time of each step to file.timings. A file still downloading is
// built as it arrives: parse and build then count only the time they ran,
// not their waits for bytes, and afterDownload is the time from the last
// byte to the build's end. If the download fails meanwhile, the build stops (its error
// says so, and verified gives the download's).
func buildClassifier(e *modelEntry, file *weightsFile, progress func(map[string]any)) (clf *classifier.Classifier, ckpt *checkpoint.Checkpoint, err error) {
	a := file.arriving
	if a == nil {
		progress(map[string]any{"phase": "build"}) // else once it has arrived
	} else {
		defer func() {
			if r := recover(); r != nil {
				if r != errNotArrived {
					panic(r)
				}
				clf, ckpt, err = nil, nil, failf(codeNetwork, "The weights of %s stopped arriving.", e.name)
			}
		}()
	}
	waited := func() time.Duration {
		if a == nil {
			return 0
		}
		return a.waitedFor()
	}
	start, waits := time.Now(), waited()
	// Manifests and added models (converted when added) are safetensors.
	ckpt, err = checkpoint.ReadSafetensorsFrom(file.reader(), e.bytes)
	if err != nil {
		return nil, nil, failf(codeModel, "The weights of %s cannot be read: %v", e.name, err)
	}
	parsed, parseWaits := time.Now(), waited()
	clf, err = classifier.New(e.opts, ckpt)
	if err != nil {
		return nil, nil, failf(codeModel, "The weights do not fit %s: %v", e.name, err)
	}
	file.timings["parse"] = ms(parsed.Sub(start) - (parseWaits - waits))
	file.timings["build"] = ms(time.Since(parsed) - (waited() - parseWaits))
	if a != nil {
		file.timings["afterDownload"] = ms(a.since())
	}
	return clf, ckpt, nil
}

// backendPreference reads a load request's optional backend field.
func backendPreference(v js.Value) (string, error) {
	if v.IsUndefined() || v.IsNull() {
		return backendWASM, nil
	}
	if v.Type() == js.TypeString {
		switch p := v.String(); p {
		case backendWebGPU, backendWASM:
			return p, nil
		}
	}
	return "", failf(codeBadRequest, "backend must be %q or %q", backendWebGPU, backendWASM)
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
