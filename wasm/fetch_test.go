//go:build js && wasm

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"syscall/js"
	"testing"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// TestReadBodyBlob reads a body of more chunks than a Blob group holds
// (blobParts) and checks the Blob made as they came, the bytes and the
// hash against what was sent.
func TestReadBodyBlob(t *testing.T) {
	var data []byte
	var chunks []any
	for i := range 3*blobParts + 5 {
		chunk := make([]byte, 100+i%7)
		for j := range chunk {
			chunk[j] = byte(i + 3*j)
		}
		data = append(data, chunk...)
		chunks = append(chunks, jsutil.NewUint8Array(chunk))
	}
	start := js.FuncOf(func(_ js.Value, args []js.Value) any {
		for _, c := range chunks {
			args[0].Call("enqueue", c)
		}
		args[0].Call("close")
		return nil
	})
	defer start.Release()
	body := js.Global().Get("ReadableStream").New(map[string]any{"start": start})

	d, err := readBody(body, "test", len(data), len(data), true, true, func(int, int) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := jsutil.BytesOf(d.data); !bytes.Equal(got, data) {
		t.Error("the bytes read differ from the body's")
	}
	buf, err := jsutil.Await(d.blob.Call("arrayBuffer"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := jsutil.BytesOf(buf); !bytes.Equal(got, data) {
		t.Errorf("the Blob holds %d bytes that differ from the body's %d", len(got), len(data))
	}
	if want := sha256.Sum256(data); d.sha256 != hex.EncodeToString(want[:]) {
		t.Errorf("sha256 %s, want %x", d.sha256, want)
	}
}
