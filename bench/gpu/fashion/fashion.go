// Command fashion writes the Fashion-MNIST test images as a bundled
// model's network sees them, for the GPU runner's parity mode
// (bench/gpu/run.mjs --parity): preprocessed as the classifier does (the
// manifest's resize, crop and normalization) into N x crop x crop x 3 NHWC
// float32 values, DIR/MODEL.inputs.f32, and their labels, one byte each,
// DIR/MODEL.labels.u8. It prints the model's weights file and crop as JSON.
//
//	go run ./bench/gpu/fashion -model fashion-resnet18 -n 10000 -out DIR
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/tools/fashionmnist"
	"github.com/inbrowser/resnet/weights"
)

func main() {
	model := flag.String("model", "fashion-resnet18", "a bundled model of weights/manifest.json")
	n := flag.Int("n", 10000, "the first n test images")
	out := flag.String("out", ".", "folder to write to")
	flag.Parse()
	if err := run(*model, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fashion:", err)
		os.Exit(1)
	}
}

func run(name string, n int, out string) error {
	m, err := weights.LoadDir("weights")
	if err != nil {
		return err
	}
	md, err := m.Model(name)
	if err != nil {
		return err
	}
	opts, err := md.Options()
	if err != nil {
		return err
	}
	images, err := fashionmnist.Load(fashionmnist.TestImages, fashionmnist.TestLabels)
	if err != nil {
		return err
	}
	if n < 1 || n > len(images) {
		return fmt.Errorf("-n %d: the test set has %d images", n, len(images))
	}
	inputs := make([]byte, 0, n*opts.Spec.Len()*4)
	labels := make([]byte, n)
	var tensor []float32
	for i, im := range images[:n] {
		if tensor, err = preprocess.Tensor(im.Gray(), opts.Spec, tensor); err != nil {
			return err
		}
		for _, v := range tensor {
			inputs = binary.LittleEndian.AppendUint32(inputs, math.Float32bits(v))
		}
		labels[i] = byte(im.Label)
	}
	if err := os.WriteFile(filepath.Join(out, name+".inputs.f32"), inputs, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, name+".labels.u8"), labels, 0o644); err != nil {
		return err
	}
	abs, err := filepath.Abs(md.Path("weights"))
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"weights": abs, "crop": opts.Spec.Crop, "images": n})
}
