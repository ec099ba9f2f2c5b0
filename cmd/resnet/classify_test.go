package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/weights"
)

// classifyJSON runs classify -json and decodes its one result.
func classifyJSON(t *testing.T, args ...string) (result struct {
	Top    []struct{ Index int }
	Logits []float32
}) {
	t.Helper()
	code, stdout, stderr := runCLI(append([]string{"classify", "-json"}, args...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("classify %v: exit %d, stderr %q", args, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &result); err != nil {
		t.Fatalf("classify -json printed %q: %v", stdout, err)
	}
	return result
}

// TestClassifyWorksOutTheArchitecture: without -arch, a Debian-PyTorch
// checkpoint is recognised from its tensors; torchvision's official files
// by their SHA-256, which also brings their preprocessing.
func TestClassifyWorksOutTheArchitecture(t *testing.T) {
	pth := filepath.Join(goldenDir(t), "resnet18.pth")
	img := writePNG(t)
	code, stdout, stderr := runCLI("classify", "-weights", pth, "-k", "2", img)
	if code != 0 || !strings.HasPrefix(stdout, "resnet18.pth: resnet18 (v1.5), 1000 classes\nlabels: ImageNet's, assumed") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	plain := classifyJSON(t, "-weights", pth, img)
	if len(plain.Logits) != 1000 || len(plain.Top) != 5 {
		t.Fatalf("%d logits, %d classes", len(plain.Logits), len(plain.Top))
	}
	if code, _, stderr := runCLI("classify", "-weights", pth, "-arch", "resnet50", img); code != 1 || !strings.Contains(stderr, "resnet18.pth holds a resnet18, not a resnet50") {
		t.Errorf("-arch resnet50: exit %d, %q", code, stderr)
	}

	data, err := os.ReadFile(pth)
	if err != nil {
		t.Fatal(err)
	}
	saved := weights.Officials
	t.Cleanup(func() { weights.Officials = saved })
	weights.Officials = []weights.Official{{Name: "resnet18", Arch: "resnet18", Weights: "TEST_V1", File: served("resnet18", data), Acc1: 70, Resize: 232, Crop: 224}}
	code, stdout, _ = runCLI("classify", "-weights", pth, img)
	if code != 0 || !strings.HasPrefix(stdout, "resnet18.pth: torchvision ResNet-18, TEST_V1, 70.0% top-1\n") {
		t.Errorf("official: exit %d, stdout %q", code, stdout)
	}
	official := classifyJSON(t, "-weights", pth, img)
	if slices.Equal(official.Logits, plain.Logits) {
		t.Error("the official entry's resize 232 was not used")
	}
}

// seeded writes a seeded random 10-class ResNet-18 as F32 safetensors.
func seeded(t *testing.T) []byte {
	t.Helper()
	cfg := arch.Standard(18)
	cfg.NumClasses = 10
	ckpt, err := engine.RandomCheckpoint(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.WriteSafetensors(&buf, ckpt, checkpoint.F32); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestClassifyBadFiles: each kind of bad file ends in one line naming the
// problem and exit 1.
func TestClassifyBadFiles(t *testing.T) {
	dir := t.TempDir()
	img := writePNG(t)
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := seeded(t)
	nan := bytes.Clone(good)
	binary.LittleEndian.PutUint32(nan[8+binary.LittleEndian.Uint64(nan):], math.Float32bits(float32(math.NaN()))) // conv1.weight[0]
	var vgg bytes.Buffer
	vggLike := &checkpoint.Checkpoint{Names: []string{"features.0.weight", "classifier.0.weight"}, Tensors: map[string]*checkpoint.Tensor{
		"features.0.weight": {Shape: []int{4, 3, 3, 3}, Data: make([]float32, 108)}, "classifier.0.weight": {Shape: []int{2, 4}, Data: make([]float32, 8)},
	}}
	if err := checkpoint.WriteSafetensors(&vgg, vggLike, checkpoint.F32); err != nil {
		t.Fatal(err)
	}
	var evil bytes.Buffer
	zw := zip.NewWriter(&evil)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "evil/data.pkl", Method: zip.Store})
	w.Write([]byte("\x80\x02cposix\nsystem\nX\x02\x00\x00\x00ls\x85R."))
	zw.Close()
	golden := filepath.Join(goldenDir(t), "resnet18.pth")
	pth, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(pth)
	corrupt[len(corrupt)/2] ^= 0xff
	labels := file("nine.txt", []byte(strings.Repeat("x\n", 9)))

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not a checkpoint", []string{"-weights", file("notes.pth", []byte("these are notes"))}, "notes.pth: this is neither a PyTorch .pth"},
		{"another network", []string{"-weights", file("vgg.safetensors", vgg.Bytes())}, "vgg.safetensors: this is not a ResNet checkpoint"},
		{"truncated", []string{"-weights", file("cut.pth", pth[:len(pth)*6/10])}, "cut.pth: pth: not a valid zip archive"},
		{"CRC", []string{"-weights", file("crc.pth", corrupt)}, "fails its CRC check: the file is corrupt"},
		{"NaN", []string{"-weights", file("nan.safetensors", nan)}, "tensor conv1.weight: value 0 is NaN"},
		{"os.system", []string{"-weights", file("evil.pth", evil.Bytes())}, "unsupported pickle global posix.system"},
		{"labels", []string{"-weights", file("ten.safetensors", good), "-labels", labels}, "nine.txt has 9 lines, but the model has 10 classes"},
		{"endless weights", []string{"-weights", "/dev/zero"}, "/dev/zero is larger than the"},
	} {
		code, stdout, stderr := runCLI(append(append([]string{"classify"}, tc.args...), img)...)
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want one line with %q", tc.name, code, stdout, stderr, tc.want)
		}
	}
	code, _, stderr := runCLI("classify", "-weights", file("ok.safetensors", good), "/dev/zero")
	if code != 1 || !strings.Contains(stderr, "/dev/zero is larger than the") {
		t.Errorf("an endless image: exit %d, stderr %q", code, stderr)
	}
}
