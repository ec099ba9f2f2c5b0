//go:build js && wasm

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"syscall/js"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// hashChunk is how much of a file the Go fallback copies in at a time.
const hashChunk = 1 << 20

// startSHA256 starts hashing buf, a Uint8Array, and returns a function
// that waits for its lowercase hex SHA-256. WebCrypto hashes about five
// times faster than Go compiled to WebAssembly (50 ms against 240 ms for
// 47 MB), and off this thread, so the caller builds the model meanwhile;
// it only exists in secure contexts (https, localhost), so plain http
// falls back to Go, which hashes at once, reading a chunk at a time.
func startSHA256(buf js.Value) func() (string, error) {
	subtle := js.Global().Get("crypto").Get("subtle")
	if !subtle.Truthy() {
		sum := goSHA256Hex(buf)
		return func() (string, error) { return sum, nil }
	}
	promise := subtle.Call("digest", "SHA-256", buf)
	return func() (string, error) {
		digest, err := jsutil.Await(promise, nil)
		if err != nil {
			return "", err
		}
		sum, err := jsutil.BytesOf(digest)
		if err != nil {
			return "", err
		}
		return hex.EncodeToString(sum), nil
	}
}

// goSHA256Hex is startSHA256 in Go.
func goSHA256Hex(buf js.Value) string {
	file := jsutil.ArrayFile{Value: buf}
	h := sha256.New()
	chunk := make([]byte, hashChunk)
	for off, n := 0, file.Len(); off < n; off += hashChunk {
		part := chunk[:min(hashChunk, n-off)]
		file.CopyAt(part, int64(off))
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}
