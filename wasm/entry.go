//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/wasm/jsutil"
	"github.com/inbrowser/resnet/weights"
)

// modelEntry is a model as the page passes it in a load request (a
// weights.PageModel): what to download and how to build the classifier.
type modelEntry struct {
	name   string
	url    string // of the weights file; "" for a model added from a file, which only the cache holds
	bytes  int    // exact size of the weights file
	sha256 string // lowercase hex
	opts   classifier.Options
}

// maxWeightBytes bounds the download a manifest may ask for; the largest
// ResNet (152, float32) is 240 MB.
const maxWeightBytes = 1 << 30

// parseEntry reads and checks a model entry through weights.PageModel, the
// type cmd/build-wasm writes dist/manifest.json with.
func parseEntry(v js.Value) (*modelEntry, error) {
	data, err := jsutil.JSON(v)
	if err != nil {
		return nil, failf(codeBadRequest, "model entry: %v", err)
	}
	pm, err := weights.ParsePageModel(data)
	if err != nil {
		return nil, failf(codeBadRequest, "%v", err)
	}
	if pm.Bytes > maxWeightBytes {
		return nil, failf(codeBadRequest, "model %s: bytes %d larger than %d", pm.Name, pm.Bytes, maxWeightBytes)
	}
	opts, err := pm.Options()
	if err != nil {
		return nil, failf(codeBadRequest, "%v", err)
	}
	return &modelEntry{name: pm.Name, url: pm.URL, bytes: int(pm.Bytes), sha256: pm.SHA256, opts: opts}, nil
}

// cacheKey names the stored weights: a new file under the same model name
// gets a new key, so a stale copy is never mistaken for the current one.
func (e *modelEntry) cacheKey() string { return e.name + "@" + e.sha256 }
