//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// A fetchError is a download that did not start: the request failed
// (offline, refused, or blocked by CORS, which the browser does not tell
// apart) or the server answered with an error status.
type fetchError struct {
	url    string
	status string // "" when the request itself failed
	cause  error
}

func (e *fetchError) Error() string {
	if e.status != "" {
		return fmt.Sprintf("the server answered %s", e.status)
	}
	return e.cause.Error()
}

// download fetches url, reading the body as a stream so that onProgress
// can report the bytes received so far against the total, once per
// percent. With size > 0 the body must be exactly size bytes; with size 0
// it may be up to max bytes, and its Content-Length, when the server
// sends one, is then the size it must have. With withBlob, the result
// holds a Blob of the bytes too; with into (nil, or of the exact size),
// the bytes go there as they come (see readBody).
func download(url string, size, maxBytes int, withBlob bool, onProgress func(done, total int), into *arrivingFile) (*downloaded, error) {
	resp, err := jsutil.Await(js.Global().Call("fetch", url), nil)
	if err != nil {
		return nil, &fetchError{url: url, cause: err}
	}
	if !resp.Get("ok").Bool() {
		return nil, &fetchError{url: url, status: fmt.Sprintf("%d %s", resp.Get("status").Int(), resp.Get("statusText").String())}
	}
	limit, exact := size, size > 0
	if !exact {
		limit = maxBytes
		if n, ok := contentLength(resp); ok {
			if n > maxBytes {
				return nil, failf(codeTooLargeFile, "%s is %.0f MB; the page takes weights files up to %.0f MB.", url, float64(n)/1e6, float64(maxBytes)/1e6)
			}
			size, exact, limit = n, true, n
		}
	}
	return readBody(resp.Get("body"), url, size, limit, exact, withBlob, onProgress, into)
}

// downloaded is a file read from a response body: its bytes, a Blob of
// them and their SHA-256, each made as the chunks came in, so that the
// waits for the network hide the work. (Each fresh megabyte costs about 3
// ms on a 2-core VM: after an 11 MB download, the Blob took 40-60 ms, and
// WebCrypto's copy and hash 45-75 ms.)
type downloaded struct {
	data    js.Value      // Uint8Array
	blob    js.Value      // undefined unless asked for
	sha256  string        // lowercase hex
	hashing time.Duration // of the download's time
}

// blobParts is how many chunks' Blobs a download joins into one as it
// goes (a Blob of Blobs shares their bytes): made of all its chunks at
// the end, the Blob of a 98 MB download at 50 Mbit/s took 187 ms after
// the last byte; made of such groups, a few milliseconds.
const blobParts = 64

// readBody reads the body of url's response (a ReadableStream), as
// download describes: at most limit bytes, and exactly size if exact.
// With into, an arrivingFile of size bytes, each chunk is added to it as
// it comes.
func readBody(body js.Value, url string, size, limit int, exact, withBlob bool, onProgress func(done, total int), into *arrivingFile) (*downloaded, error) {
	var buf js.Value
	switch {
	case into != nil:
		buf = into.buf
	case exact:
		buf = js.Global().Get("Uint8Array").New(size)
	default:
		buf = js.Global().Get("Uint8Array").New(min(limit, 1<<20))
	}
	reader := body.Call("getReader")
	defer reader.Call("releaseLock")
	hash := newJSHash()
	var groups, parts []any // Blobs of blobParts chunks, and of the chunks since
	var hashing time.Duration
	done, reported := 0, -1
	for {
		chunk, err := jsutil.Await(reader.Call("read"), nil)
		if err != nil {
			return nil, failf(codeNetwork, "Downloading %s broke off after %d bytes (%v).", url, done, err)
		}
		if chunk.Get("done").Bool() {
			break
		}
		data := chunk.Get("value")
		n := data.Get("byteLength").Int()
		if done+n > limit {
			reader.Call("cancel")
			if exact {
				return nil, failf(codeIntegrity, "%s is larger than the %d bytes promised.", url, size)
			}
			return nil, failf(codeTooLargeFile, "%s is larger than %.0f MB, the most the page takes.", url, float64(limit)/1e6)
		}
		if done+n > buf.Get("byteLength").Int() { // size unknown: grow
			grown := js.Global().Get("Uint8Array").New(min(limit, 2*(done+n)))
			grown.Call("set", buf.Call("subarray", 0, done))
			buf = grown
		}
		buf.Call("set", data, done)
		if into != nil {
			into.add(done + n)
		}
		if withBlob {
			parts = append(parts, js.Global().Get("Blob").New([]any{data}))
			if len(parts) == blobParts {
				groups, parts = append(groups, js.Global().Get("Blob").New(parts)), nil
			}
		}
		hashed := time.Now()
		hash.write(data)
		hashing += time.Since(hashed)
		done += n
		if total := max(size, done); done*100/total != reported {
			reported = done * 100 / total
			onProgress(done, size)
		}
	}
	if exact && done != size {
		return nil, failf(codeIntegrity, "%s has %d bytes; %d were promised.", url, done, size)
	}
	if done != buf.Get("byteLength").Int() {
		buf = buf.Call("slice", 0, done) // a view would keep (and store) the whole grown buffer
	}
	d := &downloaded{data: buf, blob: js.Undefined(), sha256: hash.sum(), hashing: hashing}
	if withBlob {
		d.blob = js.Global().Get("Blob").New(append(groups, parts...))
	}
	return d, nil
}

// contentLength is the response's Content-Length, when it sends a valid one
// for the body as read: not for a compressed body, which the browser
// inflates (nor across origins, unless the server exposes it).
func contentLength(resp js.Value) (int, bool) {
	headers := resp.Get("headers")
	if enc := headers.Call("get", "content-encoding"); enc.Type() == js.TypeString && enc.String() != "identity" {
		return 0, false
	}
	v := headers.Call("get", "content-length")
	if v.Type() != js.TypeString {
		return 0, false
	}
	var n int
	if _, err := fmt.Sscanf(v.String(), "%d", &n); err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
