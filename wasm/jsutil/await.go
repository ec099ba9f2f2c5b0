//go:build js && wasm

// Package jsutil is the bridge between Go compiled to WebAssembly and the
// JavaScript around it, shared by the worker (wasm/), its pool (wasm/pool)
// and the WebGPU bindings (webgpu/jsgpu): promises as blocking calls, byte
// copies between Go and typed arrays, and typed reads of an object's fields.
//
// A call that waits for a promise blocks its goroutine while the event loop
// keeps running. Never make one from inside a js.FuncOf callback, whose
// goroutine the event loop waits for: the promise could never settle.
package jsutil

import (
	"errors"
	"syscall/js"
)

// Error is a JavaScript exception or promise rejection, such as a
// DOMException or a GPUPipelineError.
type Error struct {
	Name    string // "OperationError", "GPUPipelineError", ...
	Message string
}

func (e *Error) Error() string { return e.Name + ": " + e.Message }

// errorOf converts a rejection reason.
func errorOf(v js.Value) *Error {
	if v.Type() == js.TypeObject {
		return &Error{Name: v.Get("name").String(), Message: v.Get("message").String()}
	}
	return &Error{Name: "Error", Message: v.String()}
}

// ErrAborted is returned by a wait that ended because its abort channel
// closed before the promise settled.
var ErrAborted = errors.New("jsutil: wait aborted")

// Await blocks the calling goroutine until promise settles and returns its
// value or its rejection as an *Error, or returns ErrAborted if abort
// closes first (abort may be nil).
func Await(promise js.Value, abort <-chan struct{}) (js.Value, error) {
	type settled struct {
		value js.Value
		err   error
	}
	// Buffered: the callbacks never block, and the one that runs can finish
	// even after an aborted wait has stopped listening.
	done := make(chan settled, 1)
	first := func(args []js.Value) js.Value {
		if len(args) == 0 {
			return js.Undefined()
		}
		return args[0]
	}
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{value: first(args)}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{err: errorOf(first(args))}
		return nil
	})
	release := func() {
		then.Release()
		catch.Release()
	}
	promise.Call("then", then, catch)
	select {
	case s := <-done:
		release()
		return s.value, s.err
	case <-abort:
		go func() { // the callbacks must live until the promise settles
			<-done
			release()
		}()
		return js.Undefined(), ErrAborted
	}
}
