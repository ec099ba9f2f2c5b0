package weights_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/tools/fashionmnist"
	"github.com/inbrowser/resnet/weights"
)

// reference is PyTorch's result on the same model and images, written by
// tools/train/eval_reference.py.
type reference struct {
	SHA256   string  `json:"sha256"`
	Images   int     `json:"images"`
	Accuracy float64 `json:"accuracy"`
}

func refDir() string {
	if d := os.Getenv("RESNET_FASHION_REF_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata-gen", "fashion-ref")
}

// missing fails in CI and skips loudly elsewhere.
func missing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(what)
	}
	t.Skip("SKIPPED, NOT CHECKED: " + what)
}

// TestBundledModelsMatchPyTorch runs every bundled Fashion-MNIST model over
// the 10,000 test images from Debian's dataset-fashion-mnist and compares
// with PyTorch on the same weights and preprocessing: accuracy within 0.1
// percentage points and the same top-1 on at least 99.8% of the images.
func TestBundledModelsMatchPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-image accuracy runs skipped in -short mode")
	}
	m, err := weights.LoadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	images, err := fashionmnist.Load(fashionmnist.TestImages, fashionmnist.TestLabels)
	if err != nil {
		missing(t, "Fashion-MNIST test set: "+err.Error()+" (apt-get install dataset-fashion-mnist)")
	}
	bundled := 0
	for i := range m.Models {
		md := &m.Models[i]
		if !strings.HasPrefix(md.Name, "fashion-") {
			continue
		}
		bundled++
		t.Run(md.Name, func(t *testing.T) {
			refPath := filepath.Join(refDir(), md.Name+".pred")
			pred, err := os.ReadFile(refPath)
			meta, err2 := os.ReadFile(refPath + ".json")
			if err != nil || err2 != nil {
				missing(t, "PyTorch reference "+refPath+" missing: run /usr/bin/python3 tools/train/eval_reference.py --model "+md.Name+" "+refPath)
			}
			var ref reference
			if err := json.Unmarshal(meta, &ref); err != nil {
				t.Fatal(err)
			}
			if ref.SHA256 != md.SHA256 || len(pred) != len(images) {
				t.Fatalf("reference %s is for other weights (sha256 %s, %d images): regenerate it", refPath, ref.SHA256, len(pred))
			}
			data, err := os.ReadFile(md.Path("."))
			if err != nil {
				t.Fatal(err)
			}
			clf, err := md.Classifier(data)
			if err != nil {
				t.Fatal(err)
			}
			correct, agree := 0, 0
			for j := range images {
				r, err := clf.Classify(images[j].Gray(), 1)
				if err != nil {
					t.Fatal(err)
				}
				top := r.Top[0].Index
				if top == images[j].Label {
					correct++
				}
				if top == int(pred[j]) {
					agree++
				}
			}
			acc := float64(correct) / float64(len(images))
			agreement := float64(agree) / float64(len(images))
			t.Logf("%s: Go accuracy %.4f, PyTorch %.4f, manifest %.4f, same top-1 on %.4f of %d images",
				md.Name, acc, ref.Accuracy, md.Accuracy, agreement, len(images))
			if d := acc - ref.Accuracy; d > 0.001 || d < -0.001 {
				t.Errorf("accuracy %.4f differs from PyTorch's %.4f by more than 0.1 points", acc, ref.Accuracy)
			}
			if agreement < 0.998 {
				t.Errorf("same top-1 as PyTorch on only %.4f of the images, want at least 0.998", agreement)
			}
		})
	}
	if bundled == 0 {
		t.Fatal("the manifest lists no bundled fashion- models")
	}
}
