//go:build js && wasm

package main

import (
	"runtime"
	"runtime/debug"
	"syscall/js"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/wasm/jsutil"
	"github.com/inbrowser/resnet/wasm/pool"
)

// usePool makes the model of load number msg.load run each image on a pool
// of msg.workers workers: this one, as worker 0, and those that have joined
// msg.memory (see package pool). The model stays whole here: worker 0's share uses it,
// and the classifier falls back to it if the pool fails.
func (w *worker) usePool(msg js.Value, _ func(map[string]any)) (map[string]any, error) {
	f := jsutil.Fields{Obj: msg}
	load := f.Int("load", 1, 1<<53)
	count := f.Int("workers", 2, 64)
	if f.Err != nil {
		return nil, failf(codeBadRequest, "usePool: %v", f.Err)
	}
	// The pool starts while the model already classifies; the page may
	// have moved on to another model meanwhile.
	m := w.current()
	if m == nil || m.load != int64(load) {
		return nil, failf(codeNoModel, "The model the pool was started for is no longer loaded.")
	}
	client, err := pool.NewClient(msg.Get("memory"), m.clf.Model(), m.entry.opts.Spec.Crop, count)
	if err != nil {
		return nil, failf(codeBadRequest, "usePool: %v", err)
	}
	m.clf.SetAccelerator(client)
	return map[string]any{"backend": m.clf.Backend()}, nil
}

// joinPool makes this worker worker msg.index (1 or more) of a pool of
// msg.count for the model msg.model: it reads the weights msg.file (a Blob
// of the coordinator's verified copy), keeps its share of every layer, and
// serves jobs from msg.memory until the pool ends.
func (w *worker) joinPool(msg js.Value, _ func(map[string]any)) (map[string]any, error) {
	e, err := parseEntry(msg.Get("model"))
	if err != nil {
		return nil, err
	}
	f := jsutil.Fields{Obj: msg}
	count := f.Int("count", 2, 64)
	index := f.Int("index", 1, count-1) // the coordinator is worker 0
	if f.Err != nil {
		return nil, failf(codeBadRequest, "joinPool: %v", f.Err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	ckpt, err := readWeightsBlob(e, msg.Get("file"))
	if err != nil {
		return nil, err
	}
	side := e.opts.Spec.Crop
	m, err := engine.New(e.opts.Config, ckpt, engine.OnlyInputSize(side), engine.Shard(index, count))
	if err != nil {
		return nil, failf(codeModel, "The weights do not fit %s: %v", e.name, err)
	}
	if err := pool.Serve(msg.Get("memory"), m, side, index, count); err != nil {
		return nil, failf(codeBadRequest, "joinPool: %v", err)
	}
	runtime.GC() // the file and the unfolded and whole weights are garbage now
	return map[string]any{}, nil
}

// readWeightsBlob reads the tensors of file, the Blob of e's verified
// weights that load returned, from which the pool's workers and measure
// build without reading the cache or hashing again.
func readWeightsBlob(e *modelEntry, file js.Value) (*checkpoint.Checkpoint, error) {
	if !jsutil.IsInstance(file, "Blob") || file.Get("size").Int() != e.bytes {
		return nil, failf(codeBadRequest, "file must be the model's weights, a Blob of %d bytes", e.bytes)
	}
	data, err := jsutil.ReadAll(file)
	if err != nil {
		return nil, failf(codeInternal, "the weights could not be read (%v)", err)
	}
	ckpt, err := checkpoint.ReadSafetensorsFrom(jsutil.ArrayFile{Value: data}, e.bytes)
	if err != nil {
		return nil, failf(codeModel, "The weights of %s cannot be read: %v", e.name, err)
	}
	return ckpt, nil
}
