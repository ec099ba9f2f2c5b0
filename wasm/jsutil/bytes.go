//go:build js && wasm

package jsutil

import (
	"fmt"
	"syscall/js"
	"unsafe"
)

// IsInstance reports whether v is an instance of the global constructor name.
func IsInstance(v js.Value, name string) bool {
	c := js.Global().Get(name)
	return c.Type() == js.TypeFunction && v.InstanceOf(c)
}

// BytesOf copies the bytes of an ArrayBuffer, Uint8Array or
// Uint8ClampedArray into Go memory.
func BytesOf(v js.Value) ([]byte, error) {
	switch {
	case IsInstance(v, "ArrayBuffer"):
		v = js.Global().Get("Uint8Array").New(v)
	case IsInstance(v, "Uint8Array"), IsInstance(v, "Uint8ClampedArray"):
	default:
		return nil, fmt.Errorf("want an ArrayBuffer or Uint8Array, got %s", v.Type())
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// Uint8View returns a Uint8Array over the bytes of an ArrayBuffer or of a
// typed array (a Float32Array, say), for js.CopyBytesToGo and
// js.CopyBytesToJS, which take Uint8Arrays only.
func Uint8View(v js.Value) js.Value {
	if buf := v.Get("buffer"); buf.Truthy() { // a typed array
		return js.Global().Get("Uint8Array").New(buf, v.Get("byteOffset"), v.Get("byteLength"))
	}
	return js.Global().Get("Uint8Array").New(v)
}

// NewUint8Array returns a new Uint8Array holding a copy of b.
func NewUint8Array(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

// NewFloat32Array returns a new Float32Array holding a copy of f.
func NewFloat32Array(f []float32) js.Value {
	return js.Global().Get("Float32Array").New(NewUint8Array(Float32Bytes(f)).Get("buffer"))
}

// Float32Bytes views f as its little-endian bytes (WebAssembly is
// little-endian), so that float32s cross to and from typed arrays in one
// byte copy.
func Float32Bytes(f []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}

// ReadAll waits for the bytes of a Blob or a fetch Response (its
// arrayBuffer()) and returns them as a Uint8Array, outside Go's memory.
func ReadAll(v js.Value) (js.Value, error) {
	buf, err := Await(v.Call("arrayBuffer"), nil)
	if err != nil {
		return js.Value{}, err
	}
	return js.Global().Get("Uint8Array").New(buf), nil
}

// ArrayFile lets Go read a file that stays in a JavaScript Uint8Array,
// outside the WebAssembly memory, which never shrinks once grown: a range
// is copied in only when it is needed. It is a checkpoint.Source
// (checkpoint.ReadSafetensorsFrom).
type ArrayFile struct{ js.Value }

// CopyAt copies len(p) bytes from offset off into p.
func (f ArrayFile) CopyAt(p []byte, off int64) {
	js.CopyBytesToGo(p, f.Call("subarray", off, off+int64(len(p))))
}

// Len is the array's length in bytes.
func (f ArrayFile) Len() int { return f.Get("byteLength").Int() }
