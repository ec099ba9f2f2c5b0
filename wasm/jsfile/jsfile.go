//go:build js && wasm

// Package jsfile lets Go read a file that stays in a JavaScript Uint8Array,
// outside the WebAssembly memory, which never shrinks once grown: a range
// is copied in only when it is needed (checkpoint.ReadSafetensorsFrom).
package jsfile

import "syscall/js"

// Bytes is a Uint8Array read as a checkpoint.Source.
type Bytes struct{ js.Value }

// CopyAt copies len(p) bytes from offset off into p.
func (b Bytes) CopyAt(p []byte, off int64) {
	js.CopyBytesToGo(p, b.Call("subarray", off, off+int64(len(p))))
}

// Len is the array's length in bytes.
func (b Bytes) Len() int { return b.Get("byteLength").Int() }
