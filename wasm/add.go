//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall/js"
	"time"
	"unicode"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/wasm/jsutil"
	"github.com/inbrowser/resnet/weights"
)

// Where an added model's class names come from (ModelInfo.labels in
// resnet.d.ts).
const (
	labelsImageNet = "imagenet" // ImageNet's 1000 names: an official checkpoint, or assumed for 1000 classes
	labelsFile     = "file"     // a labels file the person gave
	labelsIndex    = "index"    // "class 0" .. "class N-1"
)

// maxNameLength bounds the name a person gives an added model.
const maxNameLength = 100

// addModel turns a person's checkpoint (msg.file, a Uint8Array, or
// msg.url to download) into a model of the page: it reads the .pth or
// safetensors file, works out which ResNet it is from its tensors,
// recognises torchvision's official checkpoints by their SHA-256, converts
// the weights to a safetensors file of msg.dtype ("F32", "F16" or "int8") and
// stores that with the model's description in the weight cache, in one
// transaction. The original file is not kept. When the cache cannot take
// it (no IndexedDB, a full quota) the reply carries the converted file for
// the page to keep while it is open.
//
// Other fields: fileName (for the default name), name, labels (the text of
// a labels file), variant ("v1.5" or "v1"), official (JSON of the table of
// official checkpoints, []weights.Official), reserved (names already taken
// by bundled models).
func (w *worker) addModel(msg js.Value, progress func(map[string]any)) (map[string]any, error) {
	req, err := readAddRequest(msg)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	src, srcSHA := msg.Get("file"), ""
	if !src.Truthy() {
		file, err := downloadCheckpoint(req.url, maxWeightBytes, progress)
		if err != nil {
			return nil, err
		}
		src, srcSHA = file.data, file.sha256
	}
	progress(map[string]any{"phase": "read"})
	added, converted, err := convertCheckpoint(req, src, srcSHA, progress)
	if err != nil {
		return nil, err
	}
	src = js.Undefined() // the original is garbage from here on
	e, err := parseEntry(added)
	if err != nil {
		return nil, failf(codeInternal, "the added model's entry: %v", err)
	}
	progress(map[string]any{"phase": "store"})
	cache, err := w.weightCache(ctx)
	if err == nil {
		err = cache.put(ctx, e, converted, added)
	}
	result := map[string]any{"model": added, "stored": err == nil, "notices": []any{}}
	switch {
	case err == nil:
	case isQuotaError(err):
		result["notices"] = []any{"There is not enough storage space to keep this model in the browser: it works until this page is closed."}
	default:
		result["notices"] = []any{fmt.Sprintf("The model could not be stored in the browser (%v): it works until this page is closed.", err)}
	}
	if err != nil {
		result["file"] = converted
	}
	runtime.GC()
	result["memoryBytes"] = wasmMemoryBytes()
	return result, nil
}

// addRequest is an addModel request's options.
type addRequest struct {
	url, fileName, name, labels string
	variant                     arch.Variant
	dtype                       checkpoint.DType
	officials                   []weights.Official
	reserved                    map[string]bool
}

func readAddRequest(msg js.Value) (*addRequest, error) {
	f := jsutil.Fields{Obj: msg}
	req := &addRequest{dtype: checkpoint.F32, reserved: map[string]bool{}}
	req.url, req.fileName, req.name, req.labels = f.OptStr("url"), f.OptStr("fileName"), f.OptStr("name"), f.OptStr("labels")
	variant, dtype, official := f.OptStr("variant"), f.OptStr("dtype"), f.OptStr("official")
	for _, name := range f.OptStrs("reserved") {
		req.reserved[name] = true
	}
	if f.Err != nil {
		return nil, failf(codeBadRequest, "addModel: %v", f.Err)
	}
	if !msg.Get("file").Truthy() && req.url == "" {
		return nil, failf(codeBadRequest, "addModel: it needs file (a Uint8Array) or url")
	}
	if file := msg.Get("file"); file.Truthy() && !jsutil.IsInstance(file, "Uint8Array") {
		return nil, failf(codeBadRequest, "addModel: file must be a Uint8Array")
	}
	var err error
	if req.variant, err = arch.ParseVariant(variant); err != nil {
		return nil, failf(codeBadRequest, "addModel: %v", err)
	}
	switch strings.ToUpper(dtype) {
	case "", "F32":
	case "F16":
		req.dtype = checkpoint.F16
	case "INT8":
		req.dtype = checkpoint.I8
	default:
		return nil, failf(codeBadRequest, "addModel: dtype %q (want f32, f16 or int8)", dtype)
	}
	if official != "" {
		if err := json.Unmarshal([]byte(official), &req.officials); err != nil {
			return nil, failf(codeBadRequest, "addModel: the table of official checkpoints: %v", err)
		}
	}
	return req, nil
}

// convertCheckpoint reads the checkpoint in src (a Uint8Array, whose
// SHA-256 is srcSHA if it is known already, else ""), describes
// the model it holds as a manifest entry (plus an "added" part, see
// addedInfo) and converts its weights to a new safetensors Uint8Array.
func convertCheckpoint(req *addRequest, src js.Value, srcSHA string, progress func(map[string]any)) (js.Value, js.Value, error) {
	fileName := req.fileName
	if fileName == "" {
		fileName = "the file"
	}
	size := src.Get("byteLength").Int()
	if size > maxWeightBytes {
		return js.Value{}, js.Value{}, failf(codeTooLargeFile, "%s is %.0f MB; the page takes weights files up to %.0f MB (a ResNet-152 in float32 is 240 MB).",
			fileName, float64(size)/1e6, float64(maxWeightBytes)/1e6)
	}
	fileSHA := srcSHA
	if fileSHA == "" {
		var err error
		if fileSHA, err = startSHA256(src)(); err != nil {
			return js.Value{}, js.Value{}, failf(codeInternal, "hashing %s: %v", fileName, err)
		}
	}
	ckpt, err := checkpoint.ReadFrom(jsutil.ArrayFile{Value: src}, int64(size))
	if err != nil {
		return js.Value{}, js.Value{}, failf(codeModel, "%s cannot be used: %v", fileName, err)
	}
	cfg, err := ckpt.InferArch()
	if err != nil {
		return js.Value{}, js.Value{}, failf(codeModel, "%s cannot be used: %v", fileName, err)
	}
	cfg.Variant = req.variant
	var official *weights.Official
	if cfg.NumClasses == 1000 { // torchvision's are ImageNet-1K's
		official = weights.MatchOfficial(req.officials, fileSHA, cfg.Name())
	}

	labels, labelsFrom, err := addedLabels(req, cfg.NumClasses)
	if err != nil {
		return js.Value{}, js.Value{}, err
	}
	name, err := addedName(req, fileSHA)
	if err != nil {
		return js.Value{}, js.Value{}, err
	}
	spec := preprocess.ImageNet
	if official != nil {
		spec = official.Spec()
	}

	outSize, err := checkpoint.SafetensorsSize(ckpt, req.dtype)
	if err != nil {
		return js.Value{}, js.Value{}, failf(codeModel, "%s cannot be used: %v", fileName, err)
	}
	out := &arrayWriter{buf: js.Global().Get("Uint8Array").New(outSize), progress: progress}
	if err := checkpoint.WriteSafetensors(out, ckpt, req.dtype); err != nil {
		return js.Value{}, js.Value{}, failf(codeModel, "%s cannot be used: %v", fileName, err)
	}
	if out.n != int(outSize) {
		return js.Value{}, js.Value{}, failf(codeInternal, "converting %s wrote %d bytes, want %d", fileName, out.n, outSize)
	}
	sum, err := startSHA256(out.buf)()
	if err != nil {
		return js.Value{}, js.Value{}, failf(codeInternal, "hashing the converted weights: %v", err)
	}

	info := map[string]any{
		"file": path.Base(req.fileName), "fileBytes": size, "fileSHA256": fileSHA,
		"labels": labelsFrom, "official": nil, "addedAt": float64(time.Now().UnixMilli()),
	}
	accuracy, source := 0.0, fmt.Sprintf("Added in this browser from %s.", fileName)
	if official != nil {
		info["official"] = map[string]any{"name": official.Name, "weights": official.Weights, "acc1": official.Acc1, "title": official.Title(), "url": official.URL}
		accuracy = official.Acc1 / 100
		source = official.Title() + "; recognised by the SHA-256 of " + fileName + "."
	}
	added, err := json.Marshal(info)
	if err != nil {
		return js.Value{}, js.Value{}, failf(codeInternal, "the added model's entry: %v", err)
	}
	entry, err := json.Marshal(weights.PageModel{
		Model: weights.Model{
			Name: name, Arch: cfg.Name(), Variant: cfg.Variant.String(), Classes: cfg.NumClasses,
			InputSize: spec.Crop, Resize: spec.Resize, Crop: spec.Crop, Mean: spec.Mean[:], Std: spec.Std[:],
			DType: string(req.dtype), Bytes: outSize, SHA256: sum, Accuracy: accuracy, Source: source,
		},
		ClassNames: labels, Added: added,
	})
	if err != nil {
		return js.Value{}, js.Value{}, failf(codeInternal, "the added model's entry: %v", err)
	}
	return jsutil.FromJSON(entry), out.buf, nil
}

// addedLabels returns the class names of an added model and where they
// come from.
// Official checkpoints have 1000 classes, so they get ImageNet's.
func addedLabels(req *addRequest, classes int) ([]string, string, error) {
	if req.labels != "" {
		labels, err := weights.ParseLabels([]byte(req.labels))
		if err != nil {
			return nil, "", failf(codeLabels, "The labels file cannot be used: %v.", err)
		}
		if len(labels) != classes {
			return nil, "", failf(codeLabels, "The labels file has %d lines, but the model has %d classes: one class name a line, in the model’s order.", len(labels), classes)
		}
		return labels, labelsFile, nil
	}
	if classes == 1000 {
		labels, err := weights.ImageNetLabels()
		return labels, labelsImageNet, err
	}
	labels := make([]string, classes)
	for i := range labels {
		labels[i] = fmt.Sprintf("class %d", i)
	}
	return labels, labelsIndex, nil
}

// addedName is the name the model gets: the one asked for, else the file's
// name without its extension, else one made from the hash.
func addedName(req *addRequest, fileSHA string) (string, error) {
	name := strings.TrimSpace(req.name)
	if name == "" {
		base := path.Base(strings.ReplaceAll(req.fileName, "\\", "/"))
		name = strings.TrimSpace(strings.TrimSuffix(base, path.Ext(base)))
	}
	if name == "" || name == "." || name == "/" {
		name = "model-" + fileSHA[:8]
	}
	if len(name) > maxNameLength || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", failf(codeBadRequest, "A model name must be at most %d characters, with no control characters.", maxNameLength)
	}
	if req.reserved[name] {
		return "", failf(codeBadRequest, "%s is the name of a bundled model; choose another name.", name)
	}
	return name, nil
}

// arrayWriter writes into a Uint8Array of the final size, reporting
// progress at most once per percent.
type arrayWriter struct {
	buf      js.Value
	n        int
	reported int
	progress func(map[string]any)
}

func (a *arrayWriter) Write(p []byte) (int, error) {
	total := a.buf.Get("byteLength").Int()
	if a.n+len(p) > total {
		return 0, fmt.Errorf("the converted file is larger than its computed %d bytes", total)
	}
	js.CopyBytesToJS(a.buf.Call("subarray", a.n, a.n+len(p)), p)
	a.n += len(p)
	if pct := a.n * 100 / total; pct != a.reported {
		a.reported = pct
		a.progress(map[string]any{"phase": "convert", "loaded": a.n, "total": total})
	}
	return len(p), nil
}

// listModels returns the descriptions of the added models in the cache.
func (w *worker) listModels(js.Value, func(map[string]any)) (map[string]any, error) {
	ctx := context.Background()
	cache, err := w.weightCache(ctx)
	if err != nil {
		return map[string]any{"models": []any{}, "available": false}, nil
	}
	models, err := cache.models(ctx)
	if err != nil {
		return nil, failf(codeInternal, "The added models could not be listed: %v", err)
	}
	list := make([]any, len(models))
	for i, m := range models {
		list[i] = m
	}
	return map[string]any{"models": list, "available": true}, nil
}

// removeModel deletes an added model and its weights from the cache.
func (w *worker) removeModel(msg js.Value, _ func(map[string]any)) (map[string]any, error) {
	f := jsutil.Fields{Obj: msg}
	name := f.Str("name")
	if f.Err != nil {
		return nil, failf(codeBadRequest, "removeModel: %v", f.Err)
	}
	ctx := context.Background()
	cache, err := w.weightCache(ctx)
	if err != nil {
		return map[string]any{}, nil // nothing was stored
	}
	if err := cache.removeModel(ctx, name); err != nil {
		return nil, failf(codeInternal, "%s could not be removed: %v", name, err)
	}
	return map[string]any{}, nil
}

// updateModel stores a changed description of an added model (msg.model,
// e.g. with the other stride placement); its weights must be stored.
func (w *worker) updateModel(msg js.Value, _ func(map[string]any)) (map[string]any, error) {
	added := msg.Get("model")
	e, err := parseEntry(added)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	cache, err := w.weightCache(ctx)
	if err != nil {
		return nil, failf(codeNotStored, "%s is not stored in this browser (%v).", e.name, err)
	}
	files, err := cache.list(ctx)
	if err != nil {
		return nil, failf(codeInternal, "The weight cache could not be listed: %v", err)
	}
	if !slices.ContainsFunc(files, func(f cachedFile) bool { return f.key == e.cacheKey() }) {
		return nil, failf(codeNotStored, "%s is not stored in this browser.", e.name)
	}
	if err := cache.setModel(ctx, e.name, added); err != nil {
		return nil, failf(codeInternal, "%s could not be updated: %v", e.name, err)
	}
	return map[string]any{}, nil
}

// downloadCheckpoint downloads a checkpoint a person pointed to by URL.
// Other sites must allow the download (CORS), which browsers do not tell
// apart from being offline: the message names both and the way around.
func downloadCheckpoint(url string, maxBytes int, progress func(map[string]any)) (*downloaded, error) {
	file, err := download(url, 0, maxBytes, false, func(done, total int) {
		event := map[string]any{"phase": "download", "loaded": done}
		if total > 0 {
			event["total"] = total
		}
		progress(event)
	}, nil)
	var fe *fetchError
	switch {
	case errors.As(err, &fe) && fe.status != "":
		return nil, failf(codeNetwork, "Could not download %s: %v.", url, fe)
	case errors.As(err, &fe):
		return nil, failf(codeNetwork, "Could not download %s (%v). The site may not allow downloads from other pages (CORS), or it cannot be reached. Open the link in a new tab to save the file, then drop it here.", url, fe.cause)
	}
	return file, err
}
