//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"syscall/js"
)

// Where load found the weights.
const (
	fromCache   = "cache"
	fromNetwork = "network"
)

// weightsFile is a verified weights file and how it was obtained.
type weightsFile struct {
	data    js.Value // Uint8Array: read into Go a tensor at a time (jsfile)
	source  string   // fromCache or fromNetwork
	cached  bool     // the cache holds it now, where other workers can read it
	notices []string // cache trouble, for the user
}

// obtainWeights returns the verified weights file of e: the cached copy if
// it passes its size and hash, else a download, which is then cached.
// Cache trouble never fails the load: it only adds a notice for the user.
func (w *worker) obtainWeights(ctx context.Context, e *modelEntry, progress func(map[string]any)) (*weightsFile, error) {
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

	reported := -1
	file, err := download(e.url, e.bytes, func(done int) {
		// One event per percent is smooth enough and keeps messages few.
		if pct := done * 100 / e.bytes; pct != reported {
			reported = pct
			progress(map[string]any{"phase": "download", "loaded": done, "total": e.bytes})
		}
	})
	if err != nil {
		return nil, err
	}
	progress(map[string]any{"phase": "verify"})
	if err := verify(file, e); err != nil {
		return nil, failf(codeIntegrity, "The downloaded weights of %s are not the published ones (%v), so they were not used.", e.name, err)
	}
	cached := false
	if cache != nil {
		switch err := cache.put(ctx, e, file); {
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
