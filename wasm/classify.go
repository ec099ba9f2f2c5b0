//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"
	"syscall/js"

	"github.com/inbrowser/resnet/engine/cam"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/wasm/jsutil"
)

// defaultTopK is how many classes a reply lists unless the request says.
const defaultTopK = 5

// classify classifies msg.image (an encoded image file's bytes) or
// msg.pixels (RGBA bytes, msg.width x msg.height, as in ImageData); with
// msg.logits the reply carries the network's raw output too, and with
// msg.cam (true, or a class index) class activation maps (camReply).
func (w *worker) classify(msg js.Value, _ func(map[string]any)) (map[string]any, error) {
	m := w.current()
	if m == nil {
		return nil, failf(codeNoModel, "No model is loaded yet.")
	}
	encoded, img, k, err := readClassifyRequest(msg, m.clf.Options().MaxPixels)
	if err != nil {
		return nil, imageError(err)
	}
	camClass, err := readCAMRequest(msg, m.clf.Options().Config.NumClasses)
	if err != nil {
		return nil, err
	}
	extras := classifier.Extras{FeatureMap: camClass != noCAM}
	var r *classifier.Result
	if img != nil {
		r, err = m.clf.ClassifyWith(img, k, extras)
	} else {
		r, err = m.clf.ClassifyBytesWith(encoded, k, extras)
	}
	if err != nil {
		return nil, imageError(err)
	}
	top := make([]any, len(r.Top))
	for i, c := range r.Top {
		top[i] = map[string]any{"index": c.Index, "label": c.Label, "prob": c.Prob}
	}
	result := map[string]any{
		"model":   m.name,
		"top":     top,
		"backend": r.Backend,
		"timings": map[string]any{
			"decode": ms(r.Decode), "preprocess": ms(r.Preprocess), "inference": ms(r.Inference),
		},
	}
	if r.Fallback != "" {
		result["fallback"] = r.Fallback
	}
	if msg.Get("logits").Truthy() {
		result["logits"] = jsutil.NewFloat32Array(r.Logits)
	}
	if extras.FeatureMap {
		if result["cam"], err = camReply(m.clf, r, camClass); err != nil {
			return nil, failf(codeInternal, "class activation map: %v", err)
		}
	}
	return result, nil
}

// noCAM and topCAM are readCAMRequest's answers for no map and the top
// class's map.
const (
	noCAM  = -2
	topCAM = -1
)

// readCAMRequest reads msg.cam: absent or false for no map, true for the
// top class's, or a class index.
func readCAMRequest(msg js.Value, classes int) (int, error) {
	v := msg.Get("cam")
	switch {
	case v.IsUndefined() || v.IsNull() || v.Type() == js.TypeBoolean && !v.Bool():
		return noCAM, nil
	case v.Type() == js.TypeBoolean:
		return topCAM, nil
	case v.Type() == js.TypeNumber && v.Float() == float64(v.Int()) && v.Int() >= 0 && v.Int() < classes:
		return v.Int(), nil
	}
	return 0, failf(codeBadRequest, "classify: cam must be true or a class index from 0 to %d", classes-1)
}

// camReply is the class activation maps of a result: one for each class
// of r.Top, in order, then class's if it is not among them; all of
// feature-map size (fm.H x fm.W, unnormalized: cam.Compute), with the
// crop the network saw in the picture's pixels and the picture's size.
// The page normalizes, resizes and colours them itself (cam.Viridis,
// which cmd/build-wasm publishes as viridis.js), so that another class of
// the top ones needs no second request, and the feature map is not kept.
func camReply(clf *classifier.Classifier, r *classifier.Result, class int) (map[string]any, error) {
	classes := make([]int, 0, len(r.Top)+1)
	for _, c := range r.Top {
		classes = append(classes, c.Index)
	}
	if class >= 0 && !slices.Contains(classes, class) {
		classes = append(classes, class)
	}
	fm := *r.FeatureMap
	// All maps' values in one buffer, crossing into JavaScript at once.
	n := fm.H * fm.W
	all := make([]float32, 0, n*len(classes))
	for _, c := range classes {
		weights, err := clf.Model().ClassWeights(c)
		if err != nil {
			return nil, err
		}
		m, err := cam.Compute(fm, weights)
		if err != nil {
			return nil, err
		}
		all = append(all, m.Values...)
	}
	values := jsutil.NewFloat32Array(all)
	maps := make([]any, len(classes))
	for i, c := range classes {
		maps[i] = map[string]any{"index": c, "values": values.Call("subarray", i*n, (i+1)*n)}
	}
	return map[string]any{
		"width": fm.W, "height": fm.H, "maps": maps,
		"crop":  map[string]any{"x": r.Crop.X, "y": r.Crop.Y, "width": r.Crop.W, "height": r.Crop.H},
		"image": map[string]any{"width": r.Size.X, "height": r.Size.Y},
	}, nil
}

// readClassifyRequest returns the encoded image of a classify request, or
// its pixels wrapped as an image, and how many classes to list.
func readClassifyRequest(msg js.Value, maxPixels int) (encoded []byte, img image.Image, k int, err error) {
	f := jsutil.Fields{Obj: msg}
	k = defaultTopK
	if msg.Get("k").Truthy() {
		k = f.Int("k", 1, 1<<20)
	}
	switch {
	case f.Err != nil:
	case msg.Get("image").Truthy():
		encoded, f.Err = jsutil.BytesOf(msg.Get("image"))
	case msg.Get("pixels").Truthy():
		width, height := f.Int("width", 1, 1<<16), f.Int("height", 1, 1<<16)
		if f.Err == nil && width*height > maxPixels {
			return nil, nil, 0, &preprocess.TooLargeError{Width: width, Height: height, MaxPixels: maxPixels}
		}
		if f.Err == nil {
			img, f.Err = nrgba(msg.Get("pixels"), width, height)
		}
	default:
		f.Err = errors.New("it needs image (encoded bytes) or pixels (RGBA bytes) with width and height")
	}
	if f.Err != nil {
		return nil, nil, 0, failf(codeBadRequest, "classify: %v", f.Err)
	}
	return encoded, img, k, nil
}

// nrgba wraps RGBA bytes as an image without copying them again. Canvas
// pixels are not premultiplied, hence NRGBA.
func nrgba(pixels js.Value, width, height int) (image.Image, error) {
	pix, err := jsutil.BytesOf(pixels)
	if err != nil {
		return nil, err
	}
	if len(pix) != 4*width*height {
		return nil, fmt.Errorf("%d pixel bytes for %dx%d RGBA, want %d", len(pix), width, height, 4*width*height)
	}
	return &image.NRGBA{Pix: pix, Stride: 4 * width, Rect: image.Rect(0, 0, width, height)}, nil
}

// imageError turns a decoding or preprocessing failure into a message for
// the person who chose the image.
func imageError(err error) error {
	var oe *opError
	var large *preprocess.TooLargeError
	var damaged *preprocess.DecodeError
	switch {
	case errors.As(err, &oe):
		return err
	case errors.Is(err, preprocess.ErrUnsupported):
		return failf(codeUnsupported, "This is not an image the classifier can read. It reads JPEG, PNG, GIF, BMP, TIFF and WebP files.")
	case errors.As(err, &large):
		return failf(codeTooLarge, "This image is too large: %d×%d pixels is %.0f megapixels, and the limit is %.0f.",
			large.Width, large.Height, float64(large.Width)*float64(large.Height)/1e6, float64(large.MaxPixels)/1e6)
	case errors.As(err, &damaged):
		return failf(codeBadImage, "This %s file is damaged or cut off, so it cannot be read. Try saving the picture again.", strings.ToUpper(damaged.Format))
	}
	return failf(codeBadImage, "This image could not be read: %s.", strings.TrimPrefix(err.Error(), "preprocess: "))
}
