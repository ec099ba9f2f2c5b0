//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall/js"
)

// An opError is a failure the page can act on: Code is stable and
// machine-readable, Message is a sentence to show to the user.
type opError struct {
	Code    string
	Message string
}

func (e *opError) Error() string { return e.Message }

// Error codes of replies; docs/app.md lists them.
const (
	codeBadRequest   = "bad-request"       // the message itself is malformed
	codeNoModel      = "no-model"          // classify before load
	codeUnsupported  = "unsupported-image" // not an image in a known format
	codeTooLarge     = "image-too-large"   // over the pixel budget
	codeBadImage     = "bad-image"         // a known format, but broken
	codeNetwork      = "network"           // the weights could not be downloaded
	codeIntegrity    = "integrity"         // downloaded weights fail size or SHA-256
	codeModel        = "bad-model"         // the weights do not fit the described model, or a file is no ResNet checkpoint
	codeLabels       = "bad-labels"        // a labels file that does not fit the model
	codeNotStored    = "not-stored"        // an added model whose weights are gone from the cache
	codeTooLargeFile = "file-too-large"    // a weights file over what the page can hold
	codeInternal     = "internal"          // a bug: the message says where
)

func failf(code, format string, args ...any) error {
	return &opError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// handler runs one operation: msg is the request, progress posts events
// tied to it. The result must be something js.ValueOf accepts.
type handler func(w *worker, msg js.Value, progress func(map[string]any)) (map[string]any, error)

var handlers = map[string]handler{
	"load":        (*worker).load,
	"classify":    (*worker).classify,
	"cacheInfo":   (*worker).cacheInfo,
	"clearCache":  (*worker).clearCache,
	"dispose":     (*worker).dispose,
	"usePool":     (*worker).usePool,
	"joinPool":    (*worker).joinPool,
	"measure":     (*worker).measure,
	"addModel":    (*worker).addModel,
	"listModels":  (*worker).listModels,
	"removeModel": (*worker).removeModel,
	"updateModel": (*worker).updateModel,
}

// handle answers one request with exactly one reply message, whatever the
// request holds: a panic (a bug, or JS throwing) becomes an error reply.
func (w *worker) handle(msg js.Value) {
	// The id is echoed back, so it must survive postMessage: only numbers
	// and strings are kept.
	id := js.Null()
	if msg.Type() == js.TypeObject {
		if v := msg.Get("id"); v.Type() == js.TypeNumber || v.Type() == js.TypeString {
			id = v
		}
	}
	progress := func(event map[string]any) {
		event["type"], event["id"] = "progress", id
		post(event)
	}
	result, err := func() (result map[string]any, err error) {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "resnet worker: panic: %v\n%s", p, debug.Stack())
				err = failf(codeInternal, "internal error: %v", p)
			}
		}()
		if msg.Type() != js.TypeObject || msg.Get("op").Type() != js.TypeString {
			return nil, failf(codeBadRequest, "a request must be an object with an op")
		}
		h, ok := handlers[msg.Get("op").String()]
		if !ok {
			return nil, failf(codeBadRequest, "unknown op %q", msg.Get("op").String())
		}
		return h(w, msg, progress)
	}()
	if err != nil {
		var oe *opError
		if !errors.As(err, &oe) {
			oe = &opError{Code: codeInternal, Message: err.Error()}
		}
		post(map[string]any{"type": "reply", "id": id, "ok": false, "error": map[string]any{"code": oe.Code, "message": oe.Message}})
		return
	}
	post(map[string]any{"type": "reply", "id": id, "ok": true, "result": result})
}

// post sends a message to the page.
func post(msg map[string]any) {
	js.Global().Call("postMessage", msg)
}
