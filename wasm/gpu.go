//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/kernel"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/wasm/jsutil"
	"github.com/inbrowser/resnet/wasm/pool"
	"github.com/inbrowser/resnet/webgpu"
)

// Backends a load request may ask for. The page decides between them by
// measuring (see measure): the worker does not guess from the adapter.
const (
	backendWebGPU = "webgpu" // WebGPU whenever it works, software adapters too
	backendWASM   = "wasm"   // the WASM engine only
)

// gpuAccelerator runs the classifier's network on WebGPU.
type gpuAccelerator struct {
	dev   *webgpu.Device
	model *webgpu.Model
}

func (g *gpuAccelerator) Run(input []float32) ([]float32, error) { return g.model.Run(input) }
func (g *gpuAccelerator) Name() string                           { return "WebGPU (" + g.dev.Adapter() + ")" }
func (g *gpuAccelerator) Close()                                 { g.model.Close(); g.dev.Close() }

// Both ways off the CPU engine can return the feature map; the GPU also
// takes the next image while one is read back.
var (
	_ classifier.PipelinedAccelerator  = (*gpuAccelerator)(nil)
	_ classifier.FeatureMapAccelerator = (*pool.Client)(nil)
)

// RunFeatureMap makes the GPU a classifier.FeatureMapAccelerator: the last
// block's output is read back only for the classifications that ask.
func (g *gpuAccelerator) RunFeatureMap(input []float32) ([]float32, engine.FeatureMap, error) {
	return g.model.RunFeatureMap(input)
}

// Submit makes the GPU a classifier.PipelinedAccelerator: a webcam's next
// frame is written and submitted while this one's logits are read back.
func (g *gpuAccelerator) Submit(input []float32, featureMap bool) (func() ([]float32, engine.FeatureMap, error), error) {
	r, err := g.model.Submit(input, featureMap)
	if err != nil {
		return nil, err
	}
	return r.Wait, nil
}

// accelerate moves clf's network to WebGPU when pref asks for it and the
// GPU works. It returns a sentence for the user when the WASM engine runs
// instead, or "" when there is nothing to say.
func accelerate(ctx context.Context, pref string, ckpt *checkpoint.Checkpoint, clf *classifier.Classifier) string {
	if pref == backendWASM {
		return ""
	}
	gpu, notice := openGPU(ctx, ckpt, clf)
	if gpu != nil {
		useGPU(clf, gpu)
	}
	return notice
}

// openGPU loads clf's network on a new WebGPU device. When it cannot, it
// returns a sentence for the user saying why and what runs instead.
func openGPU(ctx context.Context, ckpt *checkpoint.Checkpoint, clf *classifier.Classifier) (*gpuAccelerator, string) {
	cpu := kernel.Backend()
	if !webgpu.Available() {
		return nil, fmt.Sprintf("WebGPU is not available in this browser; classifying with %s.", cpu)
	}
	dev, err := webgpu.Open(ctx)
	if err != nil {
		return nil, fmt.Sprintf("WebGPU could not start (%v); classifying with %s.", err, cpu)
	}
	plan, err := engine.Fold(clf.Options().Config, ckpt)
	if err != nil {
		dev.Close()
		return nil, fmt.Sprintf("WebGPU could not load the model (%v); classifying with %s.", err, cpu)
	}
	crop := clf.Options().Spec.Crop
	model, err := dev.Load(plan, crop, crop, webgpu.Options{})
	if err != nil {
		dev.Close()
		return nil, fmt.Sprintf("WebGPU could not load the model (%v); classifying with %s.", err, cpu)
	}
	return &gpuAccelerator{dev: dev, model: model}, ""
}

// useGPU makes gpu run clf's network. If the device is lost later, the
// worker drops it and posts {type: "backend", backend, notice}.
func useGPU(clf *classifier.Classifier, gpu *gpuAccelerator) {
	clf.SetAccelerator(gpu)
	go func() {
		<-gpu.dev.Lost()
		// The classifier drops a failing accelerator on its next run; drop
		// it now too, so the page learns at once and nothing waits on a
		// dead device.
		if errors.Is(gpu.dev.Err(), webgpu.ErrDeviceLost) && clf.Backend() == gpu.Name() {
			clf.SetAccelerator(nil)
			notice := fmt.Sprintf("The GPU was lost (%v); classifying with %s from now on.", gpu.dev.Err(), kernel.Backend())
			post(map[string]any{"type": "backend", "backend": clf.Backend(), "notice": notice})
		}
	}()
}

// measureRuns is how many timed inferences measure takes the median of,
// after one untimed run (pipelines, caches, the pool's first job).
const measureRuns = 3

// measure times the model of load number msg.load on WebGPU and on what
// runs it now (the CPU engine, alone or with its pool), on a mid-gray
// picture of the model's input size, and keeps the faster. The GPU's
// network comes from msg.file, the Blob of verified weights load returned.
// Once a timed GPU run takes twice the CPU's median the GPU has lost, and
// its remaining runs are skipped: a software adapter can take seconds a
// run. The result is {gpuMs, cpuMs, chosen: "webgpu" | "wasm", backend},
// or {unavailable: sentence} when WebGPU cannot run the model.
func (w *worker) measure(msg js.Value, _ func(map[string]any)) (map[string]any, error) {
	f := jsutil.Fields{Obj: msg}
	load := f.Int("load", 1, 1<<53)
	if f.Err != nil {
		return nil, failf(codeBadRequest, "measure: %v", f.Err)
	}
	m := w.current()
	superseded := func() error {
		if w.current() != m || m == nil || m.load != int64(load) {
			return failf(codeNoModel, "The model the measurement was started for is no longer loaded.")
		}
		return nil
	}
	if err := superseded(); err != nil {
		return nil, err
	}
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	ckpt, err := readWeightsBlob(m.entry, msg.Get("file"))
	if err != nil {
		return nil, err
	}
	gpu, notice := openGPU(context.Background(), ckpt, m.clf)
	ckpt = nil
	runtime.GC() // the unfolded weights are garbage now
	if gpu == nil {
		return map[string]any{"unavailable": notice}, nil
	}
	kept := false
	defer func() {
		if !kept {
			gpu.Close()
		}
	}()
	if err := superseded(); err != nil {
		return nil, err
	}

	crop := m.clf.Options().Spec.Crop
	gray := image.NewGray(image.Rect(0, 0, crop, crop))
	for i := range gray.Pix {
		gray.Pix[i] = 128
	}
	var cpu []time.Duration
	for i := 0; i <= measureRuns; i++ {
		r, err := m.clf.Classify(gray, 1)
		if err != nil {
			return nil, failf(codeInternal, "measure: %v", err)
		}
		if err := superseded(); err != nil {
			return nil, err
		}
		if i > 0 {
			cpu = append(cpu, r.Inference)
		}
	}
	cpuMedian := median(cpu)
	input, err := preprocess.Tensor(gray, m.clf.Options().Spec, nil)
	if err != nil {
		return nil, failf(codeInternal, "measure: %v", err)
	}
	var onGPU []time.Duration
	for i := 0; i <= measureRuns; i++ {
		start := time.Now()
		if _, err := gpu.Run(input); err != nil {
			return map[string]any{"unavailable": fmt.Sprintf("WebGPU failed (%v); classifying with %s.", err, m.clf.Backend())}, nil
		}
		took := time.Since(start)
		if err := superseded(); err != nil {
			return nil, err
		}
		if i == 0 {
			continue
		}
		onGPU = append(onGPU, took)
		if took > 2*cpuMedian {
			break
		}
	}
	gpuMedian, chosen := median(onGPU), backendWASM
	if gpuMedian < cpuMedian {
		useGPU(m.clf, gpu)
		kept, chosen = true, backendWebGPU
	}
	return map[string]any{"gpuMs": ms(gpuMedian), "cpuMs": ms(cpuMedian), "chosen": chosen, "backend": m.clf.Backend()}, nil
}

// median of durations; the upper one of an even count.
func median(d []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(d))
	return s[len(s)/2]
}
