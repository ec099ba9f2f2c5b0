//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
)

// Where load found the weights.
const (
	fromCache   = "cache"
	fromNetwork = "network"
	fromPage    = "page" // a copy the page kept: an added model that could not be stored
)

// weightsFile is a verified weights file and how it was obtained.
type weightsFile struct {
	data    js.Value // Uint8Array: read into Go a tensor at a time (jsfile)
	source  string   // fromCache, fromNetwork or fromPage
	cached  bool     // the cache holds it now, where other workers can read it
	notices []string // cache trouble, for the user
}

// obtainWeights returns the verified weights file of e: given, a copy the
// page holds, if it is a Uint8Array; else the cached copy if it passes its
// size and hash; else a download, which is then cached. Cache trouble never
// fails the load: it only adds a notice for the user.
func (w *worker) obtainWeights(ctx context.Context, e *modelEntry, given js.Value, progress func(map[string]any)) (*weightsFile, error) {
	if given.Truthy() {
		if err := verify(given, e); err != nil {
			return nil, failf(codeIntegrity, "The weights of %s the page passed are damaged (%v).", e.name, err)
		}
		return &weightsFile{data: given, source: fromPage}, nil
	}
	var notices []string
	cache, err := w.weightCache(ctx)
	if err != nil {
		notices = append(notices, fmt.Sprintf("The weights cannot be cached (%v), so they will be downloaded again on every visit.", err))
	}
	if cache != nil {
		progress(map[string]any{"phase": "cache"})
		stored, ok, err := cache.get(ctx, e.cacheKey())
		if err != nil {
			notices = append(notices, fmt.Sprintf("The weight cache could not be read (%v).", err))
		}
		if ok {
			if err := verify(stored, e); err == nil {
				return &weightsFile{data: stored, source: fromCache, cached: true, notices: notices}, nil
			}
			notices = append(notices, "The cached weights were damaged, so they were deleted and downloaded again.")
			if err := cache.delete(ctx, e.cacheKey()); err != nil {
				notices = append(notices, fmt.Sprintf("The damaged weights could not be deleted (%v).", err))
			}
		}
	}

	clears := w.clears.Load()
	if e.url == "" {
		return nil, failf(codeNotStored, "The weights of %s are no longer stored in this browser. Add the file again.", e.name)
	}
	file, err := download(e.url, e.bytes, 0, func(done, total int) {
		progress(map[string]any{"phase": "download", "loaded": done, "total": total})
	})
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) {
			return nil, failf(codeNetwork, "Could not download %s (%v). Check the connection and try again.", e.url, fe)
		}
		return nil, err
	}
	progress(map[string]any{"phase": "verify"})
	if err := verify(file, e); err != nil {
		return nil, failf(codeIntegrity, "The downloaded weights of %s are not the published ones (%v), so they were not used.", e.name, err)
	}
	cached := false
	if cache != nil && w.clears.Load() != clears {
		notices = append(notices, "The cache was cleared during the download, so the weights were not stored.")
	} else if cache != nil {
		switch err := cache.put(ctx, e, file, js.Undefined()); {
		case isQuotaError(err):
			notices = append(notices, "There is not enough storage space to cache the weights, so they will be downloaded again on the next visit.")
		case err != nil:
			notices = append(notices, fmt.Sprintf("The weights could not be cached (%v), so they will be downloaded again on the next visit.", err))
		default:
			cached = true
		}
	}
	return &weightsFile{data: file, source: fromNetwork, cached: cached, notices: notices}, nil
}

// verify checks the size and SHA-256 of file, a Uint8Array, against the
// manifest entry, without copying it into Go memory.
func verify(file js.Value, e *modelEntry) error {
	if !isInstance(file, "Uint8Array") {
		return fmt.Errorf("want a Uint8Array, got %s", file.Type())
	}
	if n := file.Get("byteLength").Int(); n != e.bytes {
		return fmt.Errorf("%d bytes, want %d", n, e.bytes)
	}
	sum, err := sha256Hex(file)
	if err != nil {
		return err
	}
	if sum != e.sha256 {
		return fmt.Errorf("sha256 %s, want %s", sum, e.sha256)
	}
	return nil
}
