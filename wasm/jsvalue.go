//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"syscall/js"
)

// isInstance reports whether v is an instance of the global constructor name.
func isInstance(v js.Value, name string) bool {
	c := js.Global().Get(name)
	return c.Type() == js.TypeFunction && v.InstanceOf(c)
}

// bytesOf copies the bytes of an ArrayBuffer, Uint8Array or
// Uint8ClampedArray into Go memory.
func bytesOf(v js.Value) ([]byte, error) {
	switch {
	case isInstance(v, "ArrayBuffer"):
		v = js.Global().Get("Uint8Array").New(v)
	case isInstance(v, "Uint8Array"), isInstance(v, "Uint8ClampedArray"):
	default:
		return nil, fmt.Errorf("want an ArrayBuffer or Uint8Array, got %s", v.Type())
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// fields reads typed fields of a JavaScript object; the first missing or
// mistyped field is kept in err and later reads return zero values.
type fields struct {
	obj js.Value
	err error
}

func (f *fields) get(key string, want js.Type, what string) js.Value {
	if f.err != nil {
		return js.Undefined()
	}
	if f.obj.Type() != js.TypeObject {
		f.err = errors.New("expected an object")
		return js.Undefined()
	}
	v := f.obj.Get(key)
	if v.Type() != want {
		f.err = fmt.Errorf("field %q must be %s", key, what)
		return js.Undefined()
	}
	return v
}

func (f *fields) str(key string) string {
	v := f.get(key, js.TypeString, "a string")
	if f.err != nil {
		return ""
	}
	return v.String()
}

// absent reports whether an optional field is missing (undefined or null);
// after an error, every field reads as absent.
func (f *fields) absent(key string) bool {
	if f.err != nil {
		return true
	}
	if f.obj.Type() != js.TypeObject {
		return false // the read reports it
	}
	v := f.obj.Get(key)
	return v.IsUndefined() || v.IsNull()
}

// optStr reads an optional string; "" when absent.
func (f *fields) optStr(key string) string {
	if f.absent(key) {
		return ""
	}
	return f.str(key)
}

// optStrs reads an optional array of strings; nil when absent.
func (f *fields) optStrs(key string) []string {
	if f.absent(key) {
		return nil
	}
	return f.strs(key)
}

// integer reads a whole number in [lo, hi].
func (f *fields) integer(key string, lo, hi int) int {
	v := f.get(key, js.TypeNumber, "a number")
	if f.err != nil {
		return 0
	}
	n := v.Float()
	if n != float64(int(n)) || int(n) < lo || int(n) > hi {
		f.err = fmt.Errorf("field %q must be a whole number from %d to %d, got %v", key, lo, hi, n)
		return 0
	}
	return int(n)
}

// floats3 reads an array of three numbers.
func (f *fields) floats3(key string) [3]float32 {
	var out [3]float32
	v := f.get(key, js.TypeObject, "an array of 3 numbers")
	if f.err != nil {
		return out
	}
	if !isInstance(v, "Array") || v.Length() != 3 {
		f.err = fmt.Errorf("field %q must be an array of 3 numbers", key)
		return out
	}
	for i := range out {
		if v.Index(i).Type() != js.TypeNumber {
			f.err = fmt.Errorf("field %q must be an array of 3 numbers", key)
			return out
		}
		out[i] = float32(v.Index(i).Float())
	}
	return out
}

// strs reads an array of strings.
func (f *fields) strs(key string) []string {
	v := f.get(key, js.TypeObject, "an array of strings")
	if f.err != nil {
		return nil
	}
	if !isInstance(v, "Array") {
		f.err = fmt.Errorf("field %q must be an array of strings", key)
		return nil
	}
	out := make([]string, v.Length())
	for i := range out {
		if v.Index(i).Type() != js.TypeString {
			f.err = fmt.Errorf("field %q must be an array of strings", key)
			return nil
		}
		out[i] = v.Index(i).String()
	}
	return out
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
