//go:build js && wasm

package main

import (
	"syscall/js"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/cam"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/wasm/jsutil"
)

// TestClassifyCAM: classify with cam returns, for each top class and then
// the asked one, the map engine/cam computes from the CPU engine's feature
// map, with the crop in the picture's pixels; without cam there is none,
// and a bad cam is a bad request.
func TestClassifyCAM(t *testing.T) {
	cfg := arch.Config{Depth: 18, BaseWidth: 8, NumClasses: len(labels)}
	ckpt, err := engine.RandomCheckpoint(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	// 64x64 inputs end in a 2x2 feature map.
	spec := preprocess.Spec{Resize: 72, Crop: 64, Mean: [3]float32{0.4, 0.4, 0.4}, Std: [3]float32{0.3, 0.3, 0.3}}
	clf, err := classifier.New(classifier.Options{Config: cfg, Spec: spec, Labels: labels}, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{model: &loadedModel{name: "test", clf: clf}}
	img := testImage(90, 70)
	want, err := clf.ClassifyWith(img, 3, classifier.Extras{FeatureMap: true})
	if err != nil {
		t.Fatal(err)
	}
	request := func(cam any) map[string]any {
		return map[string]any{"id": 1, "op": "classify", "pixels": jsutil.NewUint8Array(img.Pix), "width": 90, "height": 70, "k": 3, "cam": cam}
	}

	if r := call(t, w, request(false)); !r.Get("ok").Bool() || !r.Get("result").Get("cam").IsUndefined() {
		t.Fatalf("cam: false gave %v", r.Get("result").Get("cam"))
	}
	notTop := 0
	for notTop < len(labels) && (notTop == want.Top[0].Index || notTop == want.Top[1].Index || notTop == want.Top[2].Index) {
		notTop++
	}
	for _, asked := range []any{true, want.Top[1].Index, notTop} {
		r := call(t, w, request(asked))
		if !r.Get("ok").Bool() {
			t.Fatalf("cam %v: %s", asked, r.Get("error").Get("message").String())
		}
		got := r.Get("result").Get("cam")
		if got.Get("width").Int() != 2 || got.Get("height").Int() != 2 {
			t.Fatalf("cam %v: a %dx%d map, want 2x2", asked, got.Get("width").Int(), got.Get("height").Int())
		}
		crop, region := got.Get("crop"), spec.CropRegion(90, 70)
		if crop.Get("x").Float() != region.X || crop.Get("y").Float() != region.Y || crop.Get("width").Float() != region.W || crop.Get("height").Float() != region.H {
			t.Errorf("cam %v: crop %v, want %+v", asked, js.Global().Get("JSON").Call("stringify", crop), region)
		}
		if got.Get("image").Get("width").Int() != 90 || got.Get("image").Get("height").Int() != 70 {
			t.Errorf("cam %v: image size %v", asked, js.Global().Get("JSON").Call("stringify", got.Get("image")))
		}
		classes := []int{want.Top[0].Index, want.Top[1].Index, want.Top[2].Index}
		if asked == notTop {
			classes = append(classes, notTop)
		}
		maps := got.Get("maps")
		if maps.Length() != len(classes) {
			t.Fatalf("cam %v: %d maps, want %d", asked, maps.Length(), len(classes))
		}
		for i, class := range classes {
			weights, _ := clf.Model().ClassWeights(class)
			m, err := cam.Compute(*want.FeatureMap, weights)
			if err != nil {
				t.Fatal(err)
			}
			gm := maps.Index(i)
			if gm.Get("index").Int() != class || gm.Get("values").Length() != len(m.Values) {
				t.Fatalf("cam %v, map %d: class %d with %d values, want class %d with %d", asked, i, gm.Get("index").Int(), gm.Get("values").Length(), class, len(m.Values))
			}
			for j, v := range m.Values {
				if g := float32(gm.Get("values").Index(j).Float()); g != v {
					t.Errorf("cam %v, class %d, position %d: %g, want %g", asked, class, j, g, v)
				}
			}
		}
	}
	for _, bad := range []any{-1, 1.5, len(labels), "top", map[string]any{}} {
		wantError(t, call(t, w, request(bad)), codeBadRequest)
	}
}
