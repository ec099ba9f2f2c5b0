// Package jsgpu is a thin binding of the browser's WebGPU API for Go
// compiled to WebAssembly (syscall/js): the calls a compute-only backend
// needs, and nothing about what it computes.
//
// A call that returns a JavaScript promise blocks the calling goroutine
// until the promise settles (jsutil.Await); the page and the worker's
// event loop keep running. Such calls must not be made from inside a
// js.FuncOf callback, whose goroutine the event loop waits for. Every wait
// on a device's promise also ends when the device is lost, so a lost GPU
// cannot hang the caller.
package jsgpu
