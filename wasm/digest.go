//go:build js && wasm

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"syscall/js"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// hashChunk is how much of a file the Go hash copies in at a time.
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
	return hexDigest(subtle.Call("digest", "SHA-256", buf))
}

// hexDigest returns a function that waits for digest, a promise of
// WebCrypto's ArrayBuffer, and returns it in lowercase hex.
func hexDigest(digest js.Value) func() (string, error) {
	return func() (string, error) {
		sum, err := jsutil.Await(digest, nil)
		if err != nil {
			return "", err
		}
		b, err := jsutil.BytesOf(sum)
		if err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	}
}

// goSHA256Hex is startSHA256 in Go.
func goSHA256Hex(buf js.Value) string {
	h := newJSHash()
	h.write(buf)
	return h.sum()
}

// jsHash is a SHA-256 in Go over bytes in JavaScript Uint8Arrays, copied
// in a chunk at a time.
type jsHash struct {
	h     hash.Hash
	chunk []byte
}

func newJSHash() *jsHash { return &jsHash{h: sha256.New()} }

// write hashes the bytes of a Uint8Array.
func (j *jsHash) write(buf js.Value) {
	n := buf.Get("byteLength").Int()
	if j.chunk == nil && n > 0 {
		j.chunk = make([]byte, hashChunk)
	}
	for off := 0; off < n; off += hashChunk {
		part := j.chunk[:min(hashChunk, n-off)]
		js.CopyBytesToGo(part, buf.Call("subarray", off, off+len(part)))
		j.h.Write(part)
	}
}

// sum is the lowercase hex SHA-256 of what was written.
func (j *jsHash) sum() string { return hex.EncodeToString(j.h.Sum(nil)) }
