package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/cam"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/weights"
)

// assumedNote is classify's line on stderr for a 1000-class model of no
// known origin without -labels.
const assumedNote = "labels: ImageNet's, assumed for 1000 classes (give -labels otherwise)\n"

// classifyJSON runs classify -json and decodes its one result. Nothing but
// the labels note may appear on stderr.
func classifyJSON(t *testing.T, args ...string) (result struct {
	Top    []struct{ Index int }
	Logits []float32
}) {
	t.Helper()
	code, stdout, stderr := runCLI(append([]string{"classify", "-json"}, args...)...)
	if code != 0 || stderr != "" && stderr != assumedNote {
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
	if code != 0 || !strings.HasPrefix(stdout, "resnet18.pth: resnet18 (v1.5), 1000 classes\nmodel loaded in ") || stderr != assumedNote {
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
	code, stdout, stderr = runCLI("classify", "-weights", pth, img)
	if code != 0 || !strings.HasPrefix(stdout, "resnet18.pth: torchvision ResNet-18, TEST_V1, 70.0% top-1\n") || stderr != "" {
		t.Errorf("official: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	official := classifyJSON(t, "-weights", pth, img)
	if slices.Equal(official.Logits, plain.Logits) {
		t.Error("the official entry's resize 232 was not used")
	}
}

// seeded writes a seeded random 10-class ResNet-18 as F32 safetensors.
func seeded(t *testing.T) []byte {
	t.Helper()
	return safetensorsOf(t, seededCheckpoint(t))
}

// seededCheckpoint is seeded's checkpoint.
func seededCheckpoint(t *testing.T) *checkpoint.Checkpoint {
	t.Helper()
	cfg := arch.Standard(18)
	cfg.NumClasses = 10
	ckpt, err := engine.RandomCheckpoint(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	return ckpt
}

// safetensorsOf writes c as F32 safetensors.
func safetensorsOf(t *testing.T, c *checkpoint.Checkpoint) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := checkpoint.WriteSafetensors(&buf, c, checkpoint.F32); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// renamed returns c's tensors with each name changed by fn; a name fn
// maps to "" is left out.
func renamed(c *checkpoint.Checkpoint, fn func(string) string) *checkpoint.Checkpoint {
	out := &checkpoint.Checkpoint{Tensors: map[string]*checkpoint.Tensor{}}
	for _, n := range c.Names {
		if m := fn(n); m != "" {
			out.Names = append(out.Names, m)
			out.Tensors[m] = c.Tensors[n]
		}
	}
	return out
}

// TestClassifyFileFlags: -json prints one object per image with exactly
// the fields the browser tests compare, and nothing else on stdout;
// DataParallel names read like plain ones; -labels names the classes and,
// without it, a 10-class model's are numbered with no note; -arch that
// agrees is accepted; -v1 moves a ResNet-50's strides.
func TestClassifyFileFlags(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ckpt := seededCheckpoint(t)
	plain := file("plain.safetensors", safetensorsOf(t, ckpt))
	dp := file("dp.safetensors", safetensorsOf(t, renamed(ckpt, func(n string) string { return "module." + n })))
	labels := file("ten.txt", []byte("zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"))
	img := writePNG(t)

	code, stdout, stderr := runCLI("classify", "-json", "-k", "3", "-weights", dp, "-labels", labels, "-arch", "ResNet18", img, img)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d lines, want one JSON object per image: %q", len(lines), stdout)
	}
	for _, line := range lines {
		var r struct {
			Image  string
			Top    []map[string]any
			Logits []float32
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &fields); err != nil || json.Unmarshal([]byte(line), &r) != nil {
			t.Fatalf("not a JSON object: %q", line)
		}
		if len(fields) != 3 || r.Image != img || len(r.Top) != 3 || len(r.Logits) != 10 {
			t.Fatalf("want image, top (3) and logits (10): %q", line)
		}
		for _, c := range r.Top {
			i, ok := c["index"].(float64)
			if len(c) != 3 || !ok || c["label"] != strings.Fields("zero one two three four five six seven eight nine")[int(i)] || c["prob"] == nil {
				t.Errorf("top entry %v: want index, its label from ten.txt and prob", c)
			}
		}
	}
	same := classifyJSON(t, "-weights", plain, img)
	if got := classifyJSON(t, "-weights", dp, img); !slices.Equal(got.Logits, same.Logits) {
		t.Error("the DataParallel names gave other logits")
	}
	// Stride placement differs only in Bottlenecks: a small ResNet-50.
	r50 := filepath.Join("..", "..", "engine", "testdata", "resnet50-w8.safetensors")
	code, stdout, _ = runCLI("classify", "-weights", r50, "-v1", img)
	if code != 0 || !strings.HasPrefix(stdout, "resnet50-w8.safetensors: resnet50 (v1), 10 classes\n") {
		t.Errorf("-v1: exit %d, stdout %q", code, stdout)
	}
	if v1, v15 := classifyJSON(t, "-weights", r50, "-v1", img), classifyJSON(t, "-weights", r50, img); slices.Equal(v1.Logits, v15.Logits) {
		t.Error("-v1 did not change the logits")
	}
	code, stdout, stderr = runCLI("classify", "-weights", plain, "-k", "10", img)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "plain.safetensors: resnet18 (v1.5), 10 classes\n") || !strings.Contains(stdout, "%  class 9\n") {
		t.Errorf("no labels for 10 classes: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
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
	short := safetensorsOf(t, renamed(seededCheckpoint(t), func(n string) string {
		if strings.HasPrefix(n, "layer3.1.") {
			return ""
		}
		return n
	}))
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
		{"other block counts", []string{"-weights", file("short.safetensors", short)}, "short.safetensors: a ResNet with [2 2 1 2] BasicBlock blocks per stage is none of ResNet-18"},
		{"-arch of another", []string{"-weights", file("r18.safetensors", good), "-arch", "resnet34"}, "r18.safetensors holds a resnet18, not a resnet34"},
		{"truncated", []string{"-weights", file("cut.pth", pth[:len(pth)*6/10])}, "cut.pth: pth: not a valid zip archive"},
		{"CRC", []string{"-weights", file("crc.pth", corrupt)}, "fails its CRC check: the file is corrupt"},
		{"NaN", []string{"-weights", file("nan.safetensors", nan)}, "tensor conv1.weight: value 0 is NaN"},
		{"os.system", []string{"-weights", file("evil.pth", evil.Bytes())}, "unsupported pickle global posix.system"},
		{"labels", []string{"-weights", file("ten.safetensors", good), "-labels", labels}, "nine.txt has 9 lines, but the model has 10 classes"},
		{"endless weights", []string{"-weights", "/dev/zero"}, "/dev/zero: this is neither a PyTorch .pth"},
	} {
		code, stdout, stderr := runCLI(append(append([]string{"classify"}, tc.args...), img)...)
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want one line with %q", tc.name, code, stdout, stderr, tc.want)
		}
	}
	code, _, stderr := runCLI("classify", "-weights", file("ok.safetensors", good), "/dev/zero")
	if code != 1 || !strings.Contains(stderr, "/dev/zero: preprocess: not a supported image") {
		t.Errorf("an endless image: exit %d, stderr %q", code, stderr)
	}
}

// TestReadLimitedStream: a stream that starts like a checkpoint but goes on
// past the limit is refused at the limit.
func TestReadLimitedStream(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write(append([]byte("PK\x03\x04"), make([]byte, 5000)...))
		w.Close()
	}()
	_, err = readLimited(fmt.Sprintf("/dev/fd/%d", r.Fd()), 1000, checkpoint.HeadBytes, checkpoint.Sniff)
	if err == nil || !strings.Contains(err.Error(), "is larger than the 1000-byte limit") {
		t.Errorf("readLimited: %v", err)
	}
}

// TestClassifyCAM: -cam writes, for each image, its top class's activation
// map over the 224x224 crop, exactly as the engine's session and package
// cam make it; -json names the file; two images of one name, or a -cam
// that is a file, are refused.
func TestClassifyCAM(t *testing.T) {
	dir := t.TempDir()
	weightsFile := filepath.Join(dir, "seeded.safetensors")
	if err := os.WriteFile(weightsFile, seeded(t), 0o644); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join("..", "..", "engine", "preprocess", "testdata", "chelsea.png")
	synthetic := writePNG(t)
	camDir := filepath.Join(dir, "maps", "new") // made by -cam
	code, stdout, stderr := runCLI("classify", "-json", "-k", "1", "-weights", weightsFile, "-cam", camDir, photo, synthetic)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	cfg := arch.Standard(18)
	cfg.NumClasses = 10
	model, err := engine.New(cfg, seededCheckpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	session := model.NewSession()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	for i, img := range []string{photo, synthetic} {
		var r struct {
			Image, CAM string
			Top        []struct{ Index int }
		}
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(img), ".png") + ".cam.png"
		if r.CAM != filepath.Join(camDir, name) {
			t.Errorf("cam %q, want %q", r.CAM, filepath.Join(camDir, name))
		}
		f, err := os.Open(r.CAM)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}

		data, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := preprocess.Decode(data, preprocess.DefaultMaxPixels)
		if err != nil {
			t.Fatal(err)
		}
		input, err := preprocess.Tensor(decoded, preprocess.ImageNet, nil)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := session.Run(input, 224, 224)
		if err != nil {
			t.Fatal(err)
		}
		top := engine.TopK(logits, 1)[0].Index
		if r.Top[0].Index != top {
			t.Fatalf("%s: top class %d, the engine's %d", img, r.Top[0].Index, top)
		}
		w, err := model.ClassWeights(top)
		if err != nil {
			t.Fatal(err)
		}
		m, err := cam.Compute(session.FeatureMap(), w)
		if err != nil {
			t.Fatal(err)
		}
		crop, err := preprocess.CropImage(input, preprocess.ImageNet)
		if err != nil {
			t.Fatal(err)
		}
		want := cam.Overlay(crop, m, 0.5)
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: the map is %v, want %v", img, got.Bounds(), want.Bounds())
		}
		for y := range 224 {
			for x := range 224 {
				if g, w := color.NRGBAModel.Convert(got.At(x, y)), want.NRGBAAt(x, y); g != w {
					t.Fatalf("%s: pixel (%d, %d) is %v, want %v", img, x, y, g, w)
				}
			}
		}
	}

	code, stdout, _ = runCLI("classify", "-k", "1", "-weights", weightsFile, "-cam", camDir, synthetic)
	if want := "  activation map of class "; code != 0 || !strings.Contains(stdout, want) || !strings.HasSuffix(stdout, filepath.Join(camDir, "test.cam.png")+"\n") {
		t.Errorf("exit %d, stdout %q: want a line naming the map", code, stdout)
	}
	other := filepath.Join(t.TempDir(), "test.jpg")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI("classify", "-weights", weightsFile, "-cam", camDir, synthetic, other); code != 2 || !strings.Contains(stderr, "would both write "+filepath.Join(camDir, "test.cam.png")) {
		t.Errorf("two images named test: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI("classify", "-weights", weightsFile, "-cam", weightsFile, synthetic); code != 1 || !strings.Contains(stderr, "-cam: ") {
		t.Errorf("-cam naming a file: exit %d, stderr %q", code, stderr)
	}
}
