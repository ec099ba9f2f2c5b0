//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/inbrowser/resnet/webgpu/jsgpu"
)

// download fetches url, expecting exactly size bytes, into a new Uint8Array,
// reading the body as a stream so that onProgress can report the bytes
// received so far.
func download(url string, size int, onProgress func(done int)) (js.Value, error) {
	resp, err := jsgpu.Await(js.Global().Call("fetch", url), nil)
	if err != nil {
		return js.Value{}, failf(codeNetwork, "Could not download %s (%v). Check the connection and try again.", url, err)
	}
	if !resp.Get("ok").Bool() {
		return js.Value{}, failf(codeNetwork, "Could not download %s: the server answered %d %s.", url, resp.Get("status").Int(), resp.Get("statusText").String())
	}
	buf := js.Global().Get("Uint8Array").New(size)
	reader := resp.Get("body").Call("getReader")
	defer reader.Call("releaseLock")
	done := 0
	for {
		chunk, err := jsgpu.Await(reader.Call("read"), nil)
		if err != nil {
			return js.Value{}, failf(codeNetwork, "Downloading %s broke off after %d of %d bytes (%v).", url, done, size, err)
		}
		if chunk.Get("done").Bool() {
			break
		}
		data := chunk.Get("value")
		n := data.Get("byteLength").Int()
		if done+n > size {
			reader.Call("cancel")
			return js.Value{}, failf(codeIntegrity, "%s is larger than the %d bytes the manifest promises.", url, size)
		}
		buf.Call("set", data, done)
		done += n
		onProgress(done)
	}
	if done != size {
		return js.Value{}, failf(codeIntegrity, "%s has %d bytes; the manifest promises %d.", url, done, size)
	}
	return buf, nil
}
