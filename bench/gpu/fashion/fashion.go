// Package fashion makes the Fashion-MNIST test images into a bundled
// model's network inputs, for the GPU runner's parity mode
// (bench/gpu/run.mjs --parity, through bench/wasm's fashion): preprocessed
// as the classifier does (the manifest's resize, crop and normalization)
// into N x crop x crop x 3 NHWC float32 values, with their labels.
package fashion

import (
	"fmt"

	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/tools/fashionmnist"
	"github.com/inbrowser/resnet/weights"
)

// Set is the first N test images as one model's network sees them.
type Set struct {
	Inputs  []float32 // N x Crop x Crop x 3, NHWC
	Labels  []byte    // N, each indexing fashionmnist.Classes
	Crop    int       // the side of each input
	Weights string    // the model's weights file
}

// Inputs reads model's entry from the manifest in weightsDir and the
// first n images of the gzip-compressed IDX files imagesGz and labelsGz
// (fashionmnist.TestImages and TestLabels where Debian installs them).
func Inputs(weightsDir, model string, n int, imagesGz, labelsGz string) (*Set, error) {
	m, err := weights.LoadDir(weightsDir)
	if err != nil {
		return nil, err
	}
	md, err := m.Model(model)
	if err != nil {
		return nil, err
	}
	opts, err := md.Options()
	if err != nil {
		return nil, err
	}
	images, err := fashionmnist.Load(imagesGz, labelsGz)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > len(images) {
		return nil, fmt.Errorf("%d images asked for: the test set has %d", n, len(images))
	}
	size := opts.Spec.Len()
	set := &Set{Inputs: make([]float32, n*size), Labels: make([]byte, n), Crop: opts.Spec.Crop, Weights: md.Path(weightsDir)}
	var tensor []float32
	for i, im := range images[:n] {
		if tensor, err = preprocess.Tensor(im.Gray(), opts.Spec, tensor); err != nil {
			return nil, err
		}
		copy(set.Inputs[i*size:], tensor)
		set.Labels[i] = byte(im.Label)
	}
	return set, nil
}
