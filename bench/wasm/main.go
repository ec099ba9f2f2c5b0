//go:build js && wasm

// Command wasm is the Go side of the browser benchmark (bench/web) and of
// the GPU runner under Node (bench/gpu): it builds a ResNet from
// safetensors bytes on the CPU engine or the WebGPU backend and times
// single inferences. bench/run.mjs builds it twice, with and without
// GOEXPERIMENT=simd. It sets globalThis.goBench to
//
//	random(net: "resnet18"|..., seed: number) -> Promise<Uint8Array>
//	    seeded random weights as an F32 safetensors file (engine.RandomCheckpoint)
//	load(weights: Uint8Array, net ("" for the checkpoint's own), backend: "cpu"|"webgpu", options?: {size?: 224, f16?: false, f16Arithmetic?: false, kernel?: "MxNxK/T[:S]"})
//	    -> Promise<{parseMs, buildMs, adapter, f16, f16Arithmetic, shaderF16, timestamps}>
//	    f16 is webgpu.Options.F16 (f16 storage), f16Arithmetic Options.F16Arithmetic
//	    (rejected with webgpu.ErrNoShaderF16's message where the device lacks shader-f16)
//	run(input: Float32Array size x size x 3 NHWC, wantLogits: bool)
//	    -> Promise<{ms, logits?: Float32Array}>
//	profile(input) -> Promise<[{layer, kernel, output, workgroups, flops, gpuNs}]>
//	    WebGPU only, where the device has timestamp-query
//	fashion(weightsDir, model, n, imagesGz, labelsGz)
//	    -> Promise<{inputs: Float32Array, labels: Uint8Array, crop, weights: path}>
//	    the first n Fashion-MNIST test images as a bundled model's inputs
//	    (bench/gpu/fashion); it reads files, so only under Node with the
//	    real fs given to wasm_exec.js (bench/gpu/run.mjs --parity)
//
// Every call runs in its own goroutine and answers through a promise: the
// WebGPU backend waits on browser promises, which must not happen inside a
// js.FuncOf callback.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/bench/gpu/fashion"
	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/wasm/jsutil"
	"github.com/inbrowser/resnet/webgpu"
)

// defaultSide is the input side when load is given none: the browser
// benchmark's 224x224.
const defaultSide = 224

// loadGCPercent is the GC target while a model loads (see load).
const loadGCPercent = 2

// The loaded model: one at a time, replaced by each load.
var (
	runFunc     func(input []float32) ([]float32, error)
	profileFunc func(input []float32) ([]webgpu.Dispatch, error)
	closeFunc   = func() {}
	input       []float32 // reused by every run, so that runs allocate nothing
)

// device is opened by the first WebGPU load and kept: an adapter gives one
// device, and every later load shares it.
var device *webgpu.Device

func main() {
	api := js.Global().Get("Object").New()
	api.Set("random", async(random))
	api.Set("load", async(load))
	api.Set("run", async(run))
	api.Set("profile", async(profile))
	api.Set("fashion", async(fashionInputs))
	js.Global().Set("goBench", api)
	select {} // keep the exported functions alive
}

func random(args []js.Value) (any, error) {
	if len(args) != 2 {
		return nil, errors.New("random(net, seed)")
	}
	cfg, err := arch.ParseName(args[0].String())
	if err != nil {
		return nil, err
	}
	ckpt, err := engine.RandomCheckpoint(cfg, uint64(args[1].Int()))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := checkpoint.WriteSafetensors(&b, ckpt, checkpoint.F32); err != nil {
		return nil, err
	}
	return jsutil.NewUint8Array(b.Bytes()), nil
}

func load(args []js.Value) (any, error) {
	if len(args) < 3 {
		return nil, errors.New("load(weights, net, backend, options?)")
	}
	side, f16, f16Arithmetic, kernel := defaultSide, false, false, ""
	if len(args) > 3 && args[3].Truthy() {
		if v := args[3].Get("size"); v.Truthy() {
			side = v.Int()
		}
		f16 = args[3].Get("f16").Truthy()
		f16Arithmetic = args[3].Get("f16Arithmetic").Truthy()
		if v := args[3].Get("kernel"); v.Truthy() {
			kernel = v.String()
		}
	}
	closeFunc()
	runFunc, profileFunc, closeFunc = nil, nil, func() {}
	start := time.Now()
	// WebAssembly memory never shrinks: collect often while tensors are
	// decoded, folded and packed, so the heap stays near the packed model.
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	// The file stays in JavaScript; tensors are copied in as they are packed.
	file := jsutil.ArrayFile{Value: args[0]}
	ckpt, err := checkpoint.ReadSafetensorsFrom(file, file.Len())
	if err != nil {
		return nil, err
	}
	cfg, err := configOf(args[1].String(), ckpt)
	if err != nil {
		return nil, err
	}
	parsed := time.Now()
	info := map[string]any{"adapter": "CPU", "f16": false, "f16Arithmetic": false, "shaderF16": false, "timestamps": false}
	switch backend := args[2].String(); backend {
	case "cpu":
		if f16 || f16Arithmetic {
			return nil, errors.New("the CPU engine computes in f32 only")
		}
		m, err := engine.New(cfg, ckpt) // packed for 224x224, the default
		if err != nil {
			return nil, err
		}
		s := m.NewSession()
		runFunc = func(in []float32) ([]float32, error) { return s.Run(in, side, side) }
	case "webgpu":
		plan, err := engine.Fold(cfg, ckpt)
		if err != nil {
			return nil, err
		}
		if device == nil || device.Err() != nil {
			if device, err = webgpu.Open(context.Background()); err != nil {
				return nil, err
			}
		}
		model, err := device.Load(plan, side, side, webgpu.Options{F16: f16, F16Arithmetic: f16Arithmetic, ConvKernel: kernel})
		if err != nil {
			return nil, err
		}
		adapter := device.Adapter()
		if device.Fallback() {
			adapter += " (fallback adapter)"
		}
		info["adapter"], info["f16"], info["f16Arithmetic"], info["timestamps"] = adapter, f16, f16Arithmetic, device.HasTimestamps()
		info["shaderF16"] = device.HasShaderF16()
		runFunc, closeFunc = model.Run, model.Close
		if device.HasTimestamps() {
			profileFunc = model.Profile
		}
	default:
		return nil, fmt.Errorf("unknown backend %q (want cpu or webgpu)", backend)
	}
	input = make([]float32, side*side*3)
	built := time.Now()
	runtime.GC() // the decoded and folded tensors are garbage now
	info["parseMs"], info["buildMs"] = ms(parsed.Sub(start)), ms(built.Sub(parsed))
	return info, nil
}

// configOf is the architecture net names, or with net "" the one the
// checkpoint's tensors describe (a trained model's, with its classes).
func configOf(net string, ckpt *checkpoint.Checkpoint) (arch.Config, error) {
	if net == "" {
		return ckpt.InferArch()
	}
	return arch.ParseName(net)
}

// readInput copies the Float32Array args[0] into input, outside any timed
// region, as ONNX Runtime's timing starts from a tensor already made.
func readInput(args []js.Value) error {
	if runFunc == nil {
		return errors.New("no model loaded")
	}
	if len(args) == 0 || args[0].Get("length").Int() != len(input) {
		return fmt.Errorf("the input must be a Float32Array of %d values (NHWC)", len(input))
	}
	js.CopyBytesToGo(jsutil.Float32Bytes(input), jsutil.Uint8View(args[0]))
	return nil
}

func run(args []js.Value) (any, error) {
	if err := readInput(args); err != nil {
		return nil, err
	}
	start := time.Now()
	logits, err := runFunc(input)
	elapsed := time.Since(start)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ms": ms(elapsed)}
	if len(args) > 1 && args[1].Bool() {
		out["logits"] = jsutil.NewFloat32Array(logits)
	}
	return out, nil
}

func profile(args []js.Value) (any, error) {
	if err := readInput(args); err != nil {
		return nil, err
	}
	if profileFunc == nil {
		return nil, errors.New("profile needs a WebGPU model on a device with timestamp-query")
	}
	ds, err := profileFunc(input)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(ds))
	for i, d := range ds {
		out[i] = map[string]any{"layer": d.Layer, "kernel": d.Kernel, "output": d.Output,
			"tile": d.Tile, "workgroups": d.Workgroups, "flops": float64(d.FLOPs), "gpuNs": float64(d.GPUNanos)}
	}
	return out, nil
}

func fashionInputs(args []js.Value) (any, error) {
	if len(args) != 5 {
		return nil, errors.New("fashion(weightsDir, model, n, imagesGz, labelsGz)")
	}
	set, err := fashion.Inputs(args[0].String(), args[1].String(), args[2].Int(), args[3].String(), args[4].String())
	if err != nil {
		return nil, err
	}
	return map[string]any{"inputs": jsutil.NewFloat32Array(set.Inputs), "labels": jsutil.NewUint8Array(set.Labels),
		"crop": set.Crop, "weights": set.Weights}, nil
}

// async wraps f as a JavaScript function returning a promise that f's
// result settles; f runs in a new goroutine so that it may block.
func async(f func([]js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) any {
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, settle []js.Value) any {
			resolve, reject := settle[0], settle[1]
			go func() {
				v, err := f(args)
				if err != nil {
					reject.Invoke(js.Global().Get("Error").New(err.Error()))
					return
				}
				resolve.Invoke(v)
			}()
			return nil
		}))
	})
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
