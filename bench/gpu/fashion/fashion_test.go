package fashion

import (
	"testing"

	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/tools/fashionmnist"
)

// TestInputs checks that the inputs are the classifier's preprocessing of
// the test images, in order, with their labels.
func TestInputs(t *testing.T) {
	const n = 3
	set, err := Inputs("../../../weights", "fashion-resnet18", n, fashionmnist.TestImages, fashionmnist.TestLabels)
	if err != nil {
		t.Fatal(err)
	}
	images, err := fashionmnist.Load(fashionmnist.TestImages, fashionmnist.TestLabels)
	if err != nil {
		t.Fatal(err)
	}
	spec := preprocess.Spec{Resize: set.Crop, Crop: set.Crop, Mean: [3]float32{0.2856, 0.2856, 0.2856}, Std: [3]float32{0.3385, 0.3385, 0.3385}}
	size := spec.Len()
	if len(set.Inputs) != n*size || len(set.Labels) != n {
		t.Fatalf("%d values and %d labels, want %d and %d", len(set.Inputs), len(set.Labels), n*size, n)
	}
	for i := range n {
		want, err := preprocess.Tensor(images[i].Gray(), spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range want {
			if set.Inputs[i*size+j] != v {
				t.Fatalf("image %d value %d: %v, want %v", i, j, set.Inputs[i*size+j], v)
			}
		}
		if int(set.Labels[i]) != images[i].Label {
			t.Errorf("image %d: label %d, want %d", i, set.Labels[i], images[i].Label)
		}
	}
	if _, err := Inputs("../../../weights", "fashion-resnet18", 10001, fashionmnist.TestImages, fashionmnist.TestLabels); err == nil {
		t.Error("10,001 images of a test set of 10,000: no error")
	}
}
