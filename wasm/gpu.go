//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/kernel"
	"github.com/inbrowser/resnet/wasm/pool"
	"github.com/inbrowser/resnet/webgpu"
)

// Backend preferences a load request may carry.
const (
	backendAuto   = "auto"   // WebGPU on a hardware adapter, else the WASM engine
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

// Both ways off the CPU engine can return the feature map.
var (
	_ classifier.FeatureMapAccelerator = (*gpuAccelerator)(nil)
	_ classifier.FeatureMapAccelerator = (*pool.Client)(nil)
)

// RunFeatureMap makes the GPU a classifier.FeatureMapAccelerator: the last
// block's output is read back only for the classifications that ask.
func (g *gpuAccelerator) RunFeatureMap(input []float32) ([]float32, engine.FeatureMap, error) {
	return g.model.RunFeatureMap(input)
}

// accelerate moves clf's network to WebGPU when pref allows it and the GPU
// works. It returns a sentence for the user when the page asked for WebGPU
// or a GPU exists but the WASM engine runs instead, or "" when there is
// nothing to say.
// onLost is called with a sentence for the user if the GPU is lost later.
func accelerate(ctx context.Context, pref string, ckpt *checkpoint.Checkpoint, clf *classifier.Classifier, onLost func(string)) string {
	if pref == backendWASM {
		return ""
	}
	cpu := kernel.Backend()
	if !webgpu.Available() {
		return fmt.Sprintf("WebGPU is not available in this browser; classifying with %s.", cpu)
	}
	dev, err := webgpu.Open(ctx)
	if err != nil {
		return fmt.Sprintf("WebGPU could not start (%v); classifying with %s.", err, cpu)
	}
	if dev.Fallback() && pref == backendAuto {
		dev.Close()
		return fmt.Sprintf("The only WebGPU adapter is a software renderer (%s), slower than the CPU; classifying with %s.", dev.Adapter(), cpu)
	}
	plan, err := engine.Fold(clf.Options().Config, ckpt)
	if err != nil {
		dev.Close()
		return fmt.Sprintf("WebGPU could not load the model (%v); classifying with %s.", err, cpu)
	}
	crop := clf.Options().Spec.Crop
	model, err := dev.Load(plan, crop, crop, webgpu.Options{})
	if err != nil {
		dev.Close()
		return fmt.Sprintf("WebGPU could not load the model (%v); classifying with %s.", err, cpu)
	}
	gpu := &gpuAccelerator{dev: dev, model: model}
	clf.SetAccelerator(gpu)
	go func() {
		<-dev.Lost()
		// The classifier drops a failing accelerator on its next run; drop
		// it now too, so the page learns at once and nothing waits on a
		// dead device.
		if errors.Is(dev.Err(), webgpu.ErrDeviceLost) && clf.Backend() == gpu.Name() {
			clf.SetAccelerator(nil)
			onLost(fmt.Sprintf("The GPU was lost (%v); classifying with %s from now on.", dev.Err(), cpu))
		}
	}()
	return ""
}
