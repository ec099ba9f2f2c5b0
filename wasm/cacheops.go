//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// cacheInfo describes the weight cache: whether it works, the stored files
// and the origin's storage usage and quota as the browser estimates them.
func (w *worker) cacheInfo(js.Value, func(map[string]any)) (map[string]any, error) {
	ctx := context.Background()
	info := map[string]any{"available": false, "files": []any{}, "bytes": 0}
	cache, err := w.weightCache(ctx)
	if err != nil {
		info["reason"] = err.Error()
	} else {
		files, err := cache.list(ctx)
		if err != nil {
			return nil, failf(codeInternal, "The weight cache could not be listed: %v", err)
		}
		total := 0
		list := make([]any, len(files))
		for i, f := range files {
			list[i] = map[string]any{"name": f.name, "sha256": f.sha256, "bytes": f.bytes, "storedAt": f.storedAt}
			total += f.bytes
		}
		info["available"], info["files"], info["bytes"] = true, list, total
	}
	if nav := js.Global().Get("navigator"); nav.Truthy() && nav.Get("storage").Truthy() {
		storage := nav.Get("storage")
		if est, err := jsutil.Await(storage.Call("estimate"), nil); err == nil {
			info["usage"], info["quota"] = est.Get("usage"), est.Get("quota")
		}
	}
	return info, nil
}

// clearCache deletes every cached weights file and returns the new cacheInfo.
func (w *worker) clearCache(msg js.Value, progress func(map[string]any)) (map[string]any, error) {
	w.clears.Add(1)
	ctx := context.Background()
	cache, err := w.weightCache(ctx)
	if err != nil {
		return nil, failf(codeInternal, "There is no weight cache to clear (%v).", err)
	}
	if err := cache.clear(ctx); err != nil {
		return nil, failf(codeInternal, "The weight cache could not be cleared: %v", err)
	}
	return w.cacheInfo(msg, progress)
}
