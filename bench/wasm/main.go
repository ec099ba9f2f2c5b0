//go:build js && wasm

// Command wasm is the Go side of the browser benchmark (bench/web): it
// builds a ResNet from safetensors bytes on the CPU engine or the WebGPU
// backend and times single inferences. bench/run.mjs builds it twice, with
// and without GOEXPERIMENT=simd. It sets globalThis.goBench to
//
//	load(weights: Uint8Array, net: "resnet18"|..., backend: "cpu"|"webgpu")
//	    -> Promise<{parseMs, buildMs, adapter}>
//	run(input: Float32Array 224x224x3 NHWC, wantLogits: bool)
//	    -> Promise<{ms, logits?: Float32Array}>
//
// Every call runs in its own goroutine and answers through a promise: the
// WebGPU backend waits on browser promises, which must not happen inside a
// js.FuncOf callback.
package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/wasm/jsfile"
	"github.com/inbrowser/resnet/webgpu"
)

const side = 224 // every benchmark input is 224x224

// loadGCPercent is the GC target while a model loads (see load).
const loadGCPercent = 2

// runFunc runs one inference on a 224x224x3 NHWC input.
var runFunc func(input []float32) ([]float32, error)

// input is reused by every run, so that runs allocate nothing.
var input = make([]float32, side*side*3)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("load", async(load))
	api.Set("run", async(run))
	js.Global().Set("goBench", api)
	select {} // keep the exported functions alive
}

func load(args []js.Value) (any, error) {
	if len(args) != 3 {
		return nil, errors.New("load(weights, net, backend)")
	}
	start := time.Now()
	// WebAssembly memory never shrinks: collect often while tensors are
	// decoded, folded and packed, so the heap stays near the packed model.
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	// The file stays in JavaScript; tensors are copied in as they are packed.
	file := jsfile.Bytes{Value: args[0]}
	ckpt, err := checkpoint.ReadSafetensorsFrom(file, file.Len())
	if err != nil {
		return nil, err
	}
	cfg, err := arch.ParseName(args[1].String())
	if err != nil {
		return nil, err
	}
	parsed := time.Now()
	adapter := "CPU"
	switch backend := args[2].String(); backend {
	case "cpu":
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
		dev, err := webgpu.Open(context.Background())
		if err != nil {
			return nil, err
		}
		model, err := dev.Load(plan, side, side, webgpu.Options{})
		if err != nil {
			return nil, err
		}
		adapter = dev.Adapter()
		if dev.Fallback() {
			adapter += " (fallback adapter)"
		}
		runFunc = model.Run
	default:
		return nil, fmt.Errorf("unknown backend %q (want cpu or webgpu)", backend)
	}
	built := time.Now()
	runtime.GC() // the decoded and folded tensors are garbage now
	return map[string]any{"parseMs": ms(parsed.Sub(start)), "buildMs": ms(built.Sub(parsed)), "adapter": adapter}, nil
}

func run(args []js.Value) (any, error) {
	if runFunc == nil {
		return nil, errors.New("run before load")
	}
	if len(args) != 2 || args[0].Get("length").Int() != len(input) {
		return nil, fmt.Errorf("run(input, wantLogits): input must hold %d floats", len(input))
	}
	// Copy the input outside the timed region, as ONNX Runtime's timing
	// starts from a tensor already made.
	js.CopyBytesToGo(bytesOf(input), js.Global().Get("Uint8Array").New(args[0].Get("buffer"), args[0].Get("byteOffset"), args[0].Get("byteLength")))
	start := time.Now()
	logits, err := runFunc(input)
	elapsed := time.Since(start)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ms": ms(elapsed)}
	if args[1].Bool() {
		u8 := js.Global().Get("Uint8Array").New(len(logits) * 4)
		js.CopyBytesToJS(u8, bytesOf(logits))
		out["logits"] = js.Global().Get("Float32Array").New(u8.Get("buffer"))
	}
	return out, nil
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

// bytesOf views a float32 slice as its little-endian bytes (wasm is
// little-endian), for js.CopyBytesToGo/ToJS, which take bytes only.
func bytesOf(f []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*4)
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
