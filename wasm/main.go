//go:build js && wasm

// Command wasm is the classifier as it runs in the browser: a Go program
// inside a Web Worker (site/worker.js starts it). It answers the page's
// messages: load a model (weights from IndexedDB or the network), classify
// an image, report or clear the weight cache, dispose of the model.
// docs/app.md describes the message protocol.
package main

import (
	"syscall/js"

	"github.com/inbrowser/resnet/engine/kernel"
)

func main() {
	w := &worker{}
	// Each request runs in its own goroutine: handlers wait on promises and
	// IndexedDB requests, which would deadlock on the callback's goroutine.
	js.Global().Set("onmessage", js.FuncOf(func(_ js.Value, args []js.Value) any {
		go w.handle(args[0].Get("data"))
		return nil
	}))
	post(map[string]any{"type": "ready", "backend": kernel.Backend()})
	select {}
}
