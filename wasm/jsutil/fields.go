//go:build js && wasm

package jsutil

import (
	"errors"
	"fmt"
	"syscall/js"
)

// Fields reads typed fields of a JavaScript object; the first missing or
// mistyped field is kept in Err and later reads return zero values.
type Fields struct {
	Obj js.Value
	Err error
}

func (f *Fields) get(key string, want js.Type, what string) js.Value {
	if f.Err != nil {
		return js.Undefined()
	}
	if f.Obj.Type() != js.TypeObject {
		f.Err = errors.New("expected an object")
		return js.Undefined()
	}
	v := f.Obj.Get(key)
	if v.Type() != want {
		f.Err = fmt.Errorf("field %q must be %s", key, what)
		return js.Undefined()
	}
	return v
}

// Str reads a string.
func (f *Fields) Str(key string) string {
	v := f.get(key, js.TypeString, "a string")
	if f.Err != nil {
		return ""
	}
	return v.String()
}

// absent reports whether an optional field is missing (undefined or null);
// after an error, every field reads as absent.
func (f *Fields) absent(key string) bool {
	if f.Err != nil {
		return true
	}
	if f.Obj.Type() != js.TypeObject {
		return false // the read reports it
	}
	v := f.Obj.Get(key)
	return v.IsUndefined() || v.IsNull()
}

// OptStr reads an optional string; "" when absent.
func (f *Fields) OptStr(key string) string {
	if f.absent(key) {
		return ""
	}
	return f.Str(key)
}

// OptStrs reads an optional array of strings; nil when absent.
func (f *Fields) OptStrs(key string) []string {
	if f.absent(key) {
		return nil
	}
	v := f.get(key, js.TypeObject, "an array of strings")
	if f.Err != nil {
		return nil
	}
	if !IsInstance(v, "Array") {
		f.Err = fmt.Errorf("field %q must be an array of strings", key)
		return nil
	}
	out := make([]string, v.Length())
	for i := range out {
		if v.Index(i).Type() != js.TypeString {
			f.Err = fmt.Errorf("field %q must be an array of strings", key)
			return nil
		}
		out[i] = v.Index(i).String()
	}
	return out
}

// Int reads a whole number in [lo, hi].
func (f *Fields) Int(key string, lo, hi int) int {
	v := f.get(key, js.TypeNumber, "a number")
	if f.Err != nil {
		return 0
	}
	n := v.Float()
	if n != float64(int(n)) || int(n) < lo || int(n) > hi {
		f.Err = fmt.Errorf("field %q must be a whole number from %d to %d, got %v", key, lo, hi, n)
		return 0
	}
	return int(n)
}

// JSON returns JSON.stringify(v), for decoding an object the page passed
// into a Go type with encoding/json.
func JSON(v js.Value) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			jsErr, ok := p.(js.Error) // a cycle, a BigInt
			if !ok {
				panic(p)
			}
			err = jsErr
		}
	}()
	s := js.Global().Get("JSON").Call("stringify", v)
	if s.Type() != js.TypeString { // undefined, a function
		return nil, errors.New("expected an object")
	}
	return []byte(s.String()), nil
}

// FromJSON returns JSON.parse(data), for handing a value encoding/json
// encoded to the page.
func FromJSON(data []byte) js.Value {
	return js.Global().Get("JSON").Call("parse", string(data))
}
