//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/wasm/jsutil"
)

// Where load found the weights.
const (
	fromCache   = "cache"
	fromNetwork = "network"
	fromPage    = "page" // a copy the page kept: an added model that could not be stored
)

// weightsFile is a weights file, how it was obtained, and its integrity
// check, which for a cached file may still be running beside the build.
type weightsFile struct {
	data     js.Value      // Uint8Array: read into Go a tensor at a time (jsutil.ArrayFile)
	arriving *arrivingFile // data while it downloads; nil for a file that is all there
	share    js.Value      // a Blob of it for the page's pool workers: the cache's own, else a copy (see blobOf)
	source   string        // fromCache, fromNetwork or fromPage
	notices  []string      // cache trouble, for the user

	check   *pendingCheck // nil once the file is known to be intact
	store   func() error  // waits for a downloaded file's write to the cache; nil if none is under way
	timings map[string]any
}

// verified waits for the file's integrity check; an error means the bytes
// are not the published ones (or, for a download, did not all come) and
// nothing built from them may be used. The verify timing is the time it
// waited (0 if the hash was done first), except for a download, hashed as
// it came, whose check sets it.
func (f *weightsFile) verified() error {
	if f.check == nil {
		return nil
	}
	start := time.Now()
	err := f.check.wait()
	if f.arriving == nil {
		f.timings["verify"] = ms(time.Since(start))
	}
	f.check = nil
	return err
}

// reader is the file as the checkpoint reader reads it.
func (f *weightsFile) reader() checkpoint.Source {
	if f.arriving != nil {
		return f.arriving
	}
	return jsutil.ArrayFile{Value: f.data}
}

// obtainWeights returns the weights file of e: given, a copy the page
// holds, if it is a Uint8Array; else the cached copy if there is one of
// the right size; else a download, checked and then cached. preread is
// what the page started while this worker started (resnet.js's preload):
// the cached copy found, or the download begun, or undefined. A cached
// copy's SHA-256 is checked while the caller builds the model (see
// verified); one that fails is deleted, and useCache false then skips the
// cache. Cache trouble never fails the load: it only adds a notice.
func (w *worker) obtainWeights(ctx context.Context, e *modelEntry, given, preread js.Value, useCache bool, progress func(map[string]any)) (*weightsFile, error) {
	start := time.Now()
	early := takeEarlyRead()
	if given.Truthy() {
		if err := startCheck(given, e).wait(); err != nil {
			return nil, failf(codeIntegrity, "The weights of %s the page passed are damaged (%v).", e.name, err)
		}
		return &weightsFile{data: given, share: blobOf(given), source: fromPage, timings: map[string]any{"verify": ms(time.Since(start))}}, nil
	}
	var notices []string
	body := prereadBody(preread, e)
	var cache *weightCache
	if !body.Truthy() { // else the page found no cached copy before it began this download
		var err error
		if cache, err = w.weightCache(ctx); err != nil {
			notices = append(notices, cacheUnavailable(err))
		}
	}
	if cache != nil && useCache {
		progress(map[string]any{"phase": "cache"})
		f, err := cachedWeights(ctx, cache, e, preread, early)
		switch {
		case err != nil:
			notices = append(notices, fmt.Sprintf("The weight cache could not be read (%v).", err))
		case f != nil && f.check != nil && f.check.knownErr != nil:
			notices = append(notices, w.discardDamaged(ctx, e)...)
		case f != nil:
			f.notices = notices
			if f.timings == nil {
				f.timings = map[string]any{"cacheRead": ms(time.Since(start))}
			}
			return f, nil
		}
	}

	if e.url == "" {
		return nil, failf(codeNotStored, "The weights of %s are no longer stored in this browser. Add the file again.", e.name)
	}
	if body.Truthy() {
		start = time.UnixMilli(int64(preread.Get("startedAt").Float()))
	}
	// The caller builds the model from the file as it arrives; its check
	// waits for the download's end and says whether the file is e's.
	arriving := newArrivingFile(e.bytes)
	f := &weightsFile{data: arriving.buf, arriving: arriving, source: fromNetwork, notices: notices, timings: map[string]any{}}
	done := make(chan fetched, 1)
	go func() {
		done <- w.downloadWeights(ctx, e, body, cache, arriving, progress)
	}()
	f.check = &pendingCheck{wait: func() error {
		r := <-done
		f.notices = append(f.notices, r.notices...)
		if r.err != nil {
			return r.err
		}
		f.share, f.store = r.file.blob, r.store
		f.timings["download"] = ms(r.ended.Sub(start))
		f.timings["verify"] = ms(r.file.hashing)
		return nil
	}}
	return f, nil
}

// fetched is how a download of weights ended: the file, or why not, and
// the write to the cache begun.
type fetched struct {
	file    *downloaded
	err     error
	ended   time.Time
	store   func() error // waits for the write; nil if none was begun
	notices []string
}

// downloadWeights downloads e's file into arriving, from body (the page's
// download, if it began one) or its own fetch, checks it against e and
// begins storing it in cache. With body, cache is not open yet: the page
// found no copy there, so it opens while the file is read.
func (w *worker) downloadWeights(ctx context.Context, e *modelEntry, body js.Value, cache *weightCache, arriving *arrivingFile, progress func(map[string]any)) fetched {
	clears := w.clears.Load()
	onProgress := func(done, total int) {
		progress(map[string]any{"phase": "download", "loaded": done, "total": total})
	}
	var file *downloaded
	var err error
	if body.Truthy() {
		go w.weightCache(ctx)
		file, err = readBody(body, e.url, e.bytes, e.bytes, true, true, onProgress, arriving)
	} else {
		file, err = download(e.url, e.bytes, 0, true, onProgress, arriving)
	}
	r := fetched{ended: time.Now()}
	var fe *fetchError
	switch {
	case errors.As(err, &fe):
		r.err = failf(codeNetwork, "Could not download %s (%v). Check the connection and try again.", e.url, fe)
	case err != nil:
		r.err = err
	case file.sha256 != e.sha256:
		r.err = failf(codeIntegrity, "The downloaded weights of %s are not the published ones (sha256 %s, want %s), so they were not used.", e.name, file.sha256, e.sha256)
	}
	if r.err != nil {
		arriving.fail()
		return r
	}
	r.file = file
	progress(map[string]any{"phase": "build"})
	if body.Truthy() {
		if cache, err = w.weightCache(ctx); err != nil {
			r.notices = append(r.notices, cacheUnavailable(err))
		}
	}
	switch {
	case cache == nil:
	case w.clears.Load() != clears:
		r.notices = append(r.notices, "The cache was cleared during the download, so the weights were not stored.")
	default:
		// The browser writes the file while the model's build ends.
		store := cache.startPut(e, file.blob, js.Undefined())
		r.store = func() error { return store(ctx) }
	}
	return r
}

// cacheUnavailable is the notice when the weight cache cannot be opened.
func cacheUnavailable(err error) string {
	return fmt.Sprintf("The weights cannot be cached (%v), so they will be downloaded again on every visit.", err)
}

// stored waits for the write of a downloaded file to the cache, and says
// in a notice if it failed.
func (f *weightsFile) stored() []string {
	if f.store == nil {
		return nil
	}
	err := f.store()
	f.store = nil
	switch {
	case err == nil:
		return nil
	case isQuotaError(err):
		return []string{"There is not enough storage space to cache the weights, so they will be downloaded again on the next visit."}
	}
	return []string{fmt.Sprintf("The weights could not be cached (%v), so they will be downloaded again on the next visit.", err)}
}

// prereadBody is the body of e's download as the page started it (a
// ReadableStream of a response that was ok), or undefined.
func prereadBody(preread js.Value, e *modelEntry) js.Value {
	if !preread.Truthy() || preread.Get("key").String() != e.cacheKey() {
		return js.Undefined()
	}
	return preread.Get("body")
}

// cachedWeights reads e's file from the cache and starts its integrity
// check; nil if the cache has none. preread is what the page found in the
// cache while this worker started (resnet.js's preload: {key, blob}), or
// undefined; early is the worker script's read of that blob, begun before
// the Go program ran ({key, blob, read: a promise of {bytes, digest?,
// ms}}: digest, WebCrypto's, still runs while the model is built), or
// undefined.
func cachedWeights(ctx context.Context, cache *weightCache, e *modelEntry, preread, early js.Value) (*weightsFile, error) {
	if early.Truthy() && early.Get("key").String() == e.cacheKey() {
		// A read that failed is tried again below, from the cache.
		if r, err := jsutil.Await(early.Get("read"), nil); err == nil {
			f := &weightsFile{data: r.Get("bytes"), share: early.Get("blob"), source: fromCache}
			f.timings = map[string]any{"cacheRead": r.Get("ms").Float()}
			f.check = digestCheck(f.data, r.Get("digest"), e)
			return f, nil
		}
	}
	var stored js.Value
	if preread.Truthy() && preread.Get("key").String() == e.cacheKey() {
		stored = preread.Get("blob")
	}
	var err error
	if !stored.Truthy() {
		var ok bool
		if stored, ok, err = cache.get(ctx, e.cacheKey()); err != nil || !ok {
			return nil, err
		}
	}
	f := &weightsFile{data: stored, share: stored, source: fromCache}
	if jsutil.IsInstance(stored, "Blob") {
		// put stores Blobs; a Uint8Array stored by an earlier version
		// of the page is read as it is.
		if f.data, err = jsutil.ReadAll(stored); err != nil {
			return nil, err
		}
	}
	f.check = startCheck(f.data, e)
	return f, nil
}

// takeEarlyRead returns the worker script's early read of a cached file
// (see cachedWeights), which only the first load may use, and forgets it,
// so that a load of another model frees its bytes.
func takeEarlyRead() js.Value {
	early := js.Global().Get("cachedRead")
	js.Global().Delete("cachedRead")
	return early
}

// blobOf returns a Blob of a Uint8Array's bytes. The page keeps it for as
// long as the model, to start pool workers again: a Blob's bytes live
// outside the page's heap, and posting one to a worker copies nothing.
func blobOf(data js.Value) js.Value {
	return js.Global().Get("Blob").New([]any{data})
}

// discardDamaged deletes e's damaged file from the cache and says so.
func (w *worker) discardDamaged(ctx context.Context, e *modelEntry) []string {
	notices := []string{"The cached weights were damaged, so they were deleted and downloaded again."}
	cache, _ := w.weightCache(ctx)
	if err := cache.delete(ctx, e.cacheKey()); err != nil {
		notices = append(notices, fmt.Sprintf("The damaged weights could not be deleted (%v).", err))
	}
	return notices
}

// pendingCheck is the check of a file's size and SHA-256 against its
// manifest entry; the hash may run in the browser while Go goes on.
type pendingCheck struct {
	knownErr error // known at once
	wait     func() error
}

// startCheck starts checking file, a Uint8Array, against e, without
// copying it into Go memory.
func startCheck(file js.Value, e *modelEntry) *pendingCheck {
	return digestCheck(file, js.Undefined(), e)
}

// digestCheck is startCheck for a file whose WebCrypto digest was begun
// already (a promise of its ArrayBuffer), or not (undefined).
func digestCheck(file, digest js.Value, e *modelEntry) *pendingCheck {
	c := sizeCheck(file, e)
	if c.knownErr != nil {
		return c
	}
	var hashed func() (string, error)
	if digest.Truthy() {
		hashed = hexDigest(digest)
	} else {
		hashed = startSHA256(file)
	}
	c.wait = func() error {
		sum, err := hashed()
		if err != nil {
			return err
		}
		if sum != e.sha256 {
			return fmt.Errorf("sha256 %s, want %s", sum, e.sha256)
		}
		return nil
	}
	return c
}

// sizeCheck is the part of a check known at once: that file is a
// Uint8Array of e's size. Its wait returns that error.
func sizeCheck(file js.Value, e *modelEntry) *pendingCheck {
	c := &pendingCheck{}
	if !jsutil.IsInstance(file, "Uint8Array") {
		c.knownErr = fmt.Errorf("want a Uint8Array, got %s", file.Type())
	} else if n := file.Get("byteLength").Int(); n != e.bytes {
		c.knownErr = fmt.Errorf("%d bytes, want %d", n, e.bytes)
	}
	c.wait = func() error { return c.knownErr }
	return c
}
