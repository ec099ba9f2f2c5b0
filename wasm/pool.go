//go:build js && wasm

package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"syscall/js"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/wasm/jsfile"
	"github.com/inbrowser/resnet/wasm/pool"
)

// usePool makes the loaded model run each image on a pool of msg.workers
// workers: this one, as worker 0, and those that have joined msg.memory
// (see package pool). The model stays whole here: worker 0's share uses it,
// and the classifier falls back to it if the pool fails.
func (w *worker) usePool(msg js.Value, _ func(map[string]any)) (map[string]any, error) {
	m := w.current()
	if m == nil {
		return nil, failf(codeNoModel, "No model is loaded yet.")
	}
	f := fields{obj: msg}
	count := f.integer("workers", 2, 64)
	if f.err != nil {
		return nil, failf(codeBadRequest, "usePool: %v", f.err)
	}
	client, err := pool.NewClient(msg.Get("memory"), m.clf.Model(), m.entry.opts.Spec.Crop, count)
	if err != nil {
		return nil, failf(codeBadRequest, "usePool: %v", err)
	}
	m.clf.SetAccelerator(client)
	return map[string]any{"backend": m.clf.Backend()}, nil
}

// joinPool makes this worker worker msg.index (1 or more) of a pool of
// msg.count for the model msg.model: it reads the weights (msg.file, or the cache the
// coordinator has just filled), keeps its share of every layer, and serves
// jobs from msg.memory until the pool ends.
func (w *worker) joinPool(msg js.Value, progress func(map[string]any)) (map[string]any, error) {
	e, err := parseEntry(msg.Get("model"))
	if err != nil {
		return nil, err
	}
	f := fields{obj: msg}
	count := f.integer("count", 2, 64)
	index := f.integer("index", 1, count-1) // the coordinator is worker 0
	if f.err != nil {
		return nil, failf(codeBadRequest, "joinPool: %v", f.err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	file, err := w.obtainWeights(context.Background(), e, msg.Get("file"), progress)
	if err != nil {
		return nil, err
	}
	data := file.data
	ckpt, err := checkpoint.ReadSafetensorsFrom(jsfile.Bytes{Value: data}, e.bytes)
	if err != nil {
		return nil, failf(codeModel, "The weights of %s cannot be read: %v", e.name, err)
	}
	side := e.opts.Spec.Crop
	m, err := engine.New(e.opts.Config, ckpt, engine.ForInputSize(side), engine.Shard(index, count))
	if err != nil {
		return nil, failf(codeModel, "The weights do not fit %s: %v", e.name, err)
	}
	if err := pool.Serve(msg.Get("memory"), m, side, index, count); err != nil {
		return nil, failf(codeBadRequest, "joinPool: %v", err)
	}
	runtime.GC() // the file and the unfolded and whole weights are garbage now
	return map[string]any{}, nil
}
