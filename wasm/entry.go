//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/weights"
)

// modelEntry is one model of dist/manifest.json as the page passes it in a
// load request: what to download and how to build the classifier.
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

// parseEntry reads and checks a manifest entry.
func parseEntry(v js.Value) (*modelEntry, error) {
	f := fields{obj: v}
	e := &modelEntry{
		name:   f.str("name"),
		url:    f.optStr("url"),
		bytes:  f.integer("bytes", 1, maxWeightBytes),
		sha256: f.str("sha256"),
	}
	archName, variant := f.str("arch"), f.str("variant")
	e.opts.Spec = preprocess.Spec{
		Resize: f.integer("resize", 1, 4096),
		Crop:   f.integer("crop", 1, 4096),
		Mean:   f.floats3("mean"),
		Std:    f.floats3("std"),
	}
	e.opts.Labels = f.strs("labels")
	if f.err != nil {
		return nil, failf(codeBadRequest, "model entry: %v", f.err)
	}
	if !weights.IsSHA256(e.sha256) {
		return nil, failf(codeBadRequest, "model %s: sha256 %q is not 64 lowercase hex digits", e.name, e.sha256)
	}
	cfg, err := arch.ParseName(archName)
	if err != nil {
		return nil, failf(codeBadRequest, "model %s: %v", e.name, err)
	}
	if cfg.Variant, err = arch.ParseVariant(variant); err != nil {
		return nil, failf(codeBadRequest, "model %s: %v", e.name, err)
	}
	cfg.NumClasses = len(e.opts.Labels)
	if err := cfg.Validate(); err != nil {
		return nil, failf(codeBadRequest, "model %s: %v", e.name, err)
	}
	e.opts.Config = cfg
	return e, nil
}

// cacheKey names the stored weights: a new file under the same model name
// gets a new key, so a stale copy is never mistaken for the current one.
func (e *modelEntry) cacheKey() string { return e.name + "@" + e.sha256 }
