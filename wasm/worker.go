//go:build js && wasm

package main

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall/js"

	"github.com/inbrowser/resnet/engine/classifier"
)

// worker is the state of the Go side of one Web Worker: at most one loaded
// model, and the weight cache once opened.
type worker struct {
	mu    sync.Mutex
	model *loadedModel // nil until a load succeeds, and after dispose

	cacheOnce sync.Once
	cache     *weightCache
	cacheErr  error // why there is no cache; the worker then runs without

	// clears counts clearCache requests: weights fetched while one came
	// are not stored, so that a clear is never undone by a download that
	// was already under way.
	clears atomic.Int64

	loads atomic.Int64 // numbers the loads, so that usePool can name one
}

type loadedModel struct {
	load  int64 // which load made it (worker.loads)
	name  string
	entry *modelEntry
	clf   *classifier.Classifier
}

// current returns the loaded model, or nil.
func (w *worker) current() *loadedModel {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.model
}

func (w *worker) setModel(m *loadedModel) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.model = m
}

// weightCache opens the cache on first use.
func (w *worker) weightCache(ctx context.Context) (*weightCache, error) {
	w.cacheOnce.Do(func() { w.cache, w.cacheErr = openWeightCache(ctx) })
	return w.cache, w.cacheErr
}

// wasmMemoryBytes is the size of this worker's WebAssembly memory, which
// never shrinks, so it is also the most it has used; 0 where worker.js did
// not publish the memory (under Node).
func wasmMemoryBytes() int {
	mem := js.Global().Get("wasmMemory")
	if !mem.Truthy() {
		return 0
	}
	return mem.Get("buffer").Get("byteLength").Int()
}
