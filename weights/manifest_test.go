package weights

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadEmbedded(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	d := m.Default()
	if d == nil || d.Name != "fashion-resnet18" {
		t.Fatalf("default model = %+v, want fashion-resnet18", d)
	}
	for _, md := range m.Models {
		labels, err := md.Labels()
		if err != nil {
			t.Fatal(err)
		}
		if len(labels) != md.Classes {
			t.Errorf("%s: %d labels, want %d", md.Name, len(labels), md.Classes)
		}
		if _, err := md.Config(); err != nil {
			t.Errorf("%s: %v", md.Name, err)
		}
		if md.Accuracy < 0.9 {
			t.Errorf("%s: accuracy %.4f below 0.9", md.Name, md.Accuracy)
		}
	}
	if labels, _ := d.Labels(); labels[0] != "T-shirt/top" || labels[9] != "Ankle boot" {
		t.Errorf("fashion labels = %q", labels)
	}
}

// The weights files are not embedded; when they sit next to the manifest
// (as in the repository), they must match it byte for byte.
func TestFilesMatchManifest(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, md := range m.Models {
		data, err := os.ReadFile(md.Path("."))
		if os.IsNotExist(err) {
			t.Logf("%s: %s not present, skipped", md.Name, md.File)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := md.Check(data); err != nil {
			t.Error(err)
		}
	}
}

func sample() map[string]any {
	return map[string]any{
		"name": "m1", "arch": "resnet50", "variant": "v1.5", "classes": 10,
		"input_size": 32, "resize": 32, "crop": 32,
		"mean": []float64{0.3, 0.3, 0.3}, "std": []float64{0.35, 0.35, 0.35},
		"labels": "fashion-mnist-classes.txt", "dtype": "F16",
		"file": "m1.safetensors", "bytes": 3, "sha256": sha("abc"),
		"accuracy": 0.91, "source": "test",
	}
}

// quantized is a valid "quantized" record.
func quantized() map[string]any {
	return map[string]any{"from_dtype": "F16", "from_bytes": 6, "from_sha256": sha("abcdef"), "from_accuracy": 0.912, "agreement": 0.995}
}

// int8Sample makes m an int8 entry with its quantized record.
func int8Sample(m map[string]any) {
	m["dtype"], m["eval_images"], m["quantized"] = "I8", 10000, quantized()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func encode(t *testing.T, models ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"version": 1, "models": models})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	a, b := sample(), sample()
	b["name"], b["default"], b["variant"] = "m2", true, "v1"
	m, err := Parse(encode(t, a, b))
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Default(); d.Name != "m2" {
		t.Errorf("default = %s, want m2", d.Name)
	}
	md, err := m.Model("m1")
	if err != nil || md.Name != "m1" || md.Std[2] != 0.35 {
		t.Fatalf("Model(m1) = %+v, %v", md, err)
	}
	if _, err := m.Model("nope"); err == nil || !strings.Contains(err.Error(), "m1, m2") {
		t.Errorf("Model(nope) error = %v, want one listing m1, m2", err)
	}
	if got, want := md.Path("dir"), filepath.Join("dir", "m1.safetensors"); got != want {
		t.Errorf("Path = %s, want %s", got, want)
	}
	if err := md.Check([]byte("abc")); err != nil {
		t.Error(err)
	}
	if err := md.Check([]byte("abd")); err == nil {
		t.Error("Check accepted wrong content")
	}
	if err := md.Check([]byte("abcd")); err == nil {
		t.Error("Check accepted wrong size")
	}
	c, err := md.Config()
	if err != nil || c.Depth != 50 || c.NumClasses != 10 {
		t.Errorf("Config = %+v, %v", c, err)
	}
	if labels, err := md.Labels(); err != nil || len(labels) != 10 {
		t.Errorf("Labels = %q, %v", labels, err)
	}
	// An int8 entry with what quantizing cost.
	q := sample()
	int8Sample(q)
	m, err = Parse(encode(t, q))
	if err != nil {
		t.Fatal(err)
	}
	if md := m.Models[0]; md.DType != "I8" || md.Quantized == nil || md.Quantized.Agreement != 0.995 || md.Quantized.FromDType != "F16" {
		t.Errorf("int8 entry parsed as %+v (quantized %+v)", md, md.Quantized)
	}
	// No default marked: the first model.
	m, err = Parse(encode(t, a))
	if err != nil {
		t.Fatal(err)
	}
	if m.Default().Name != "m1" {
		t.Errorf("default = %s, want m1", m.Default().Name)
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]func(m map[string]any){
		"missing name":      func(m map[string]any) { delete(m, "name") },
		"missing arch":      func(m map[string]any) { delete(m, "arch") },
		"bad arch":          func(m map[string]any) { m["arch"] = "vgg16" },
		"bad variant":       func(m map[string]any) { m["variant"] = "v2" },
		"missing file":      func(m map[string]any) { delete(m, "file") },
		"file with dir":     func(m map[string]any) { m["file"] = "../x.safetensors" },
		"not safetensors":   func(m map[string]any) { m["file"] = "x.pth" },
		"missing sha256":    func(m map[string]any) { delete(m, "sha256") },
		"short sha256":      func(m map[string]any) { m["sha256"] = "abc" },
		"upper sha256":      func(m map[string]any) { m["sha256"] = strings.ToUpper(sha("abc")) },
		"non-hex sha256":    func(m map[string]any) { m["sha256"] = strings.Repeat("g", 64) },
		"zero bytes":        func(m map[string]any) { m["bytes"] = 0 },
		"zero classes":      func(m map[string]any) { m["classes"] = 0 },
		"crop over resize":  func(m map[string]any) { m["crop"] = 40; m["input_size"] = 40 },
		"two means":         func(m map[string]any) { m["mean"] = []float64{0.1, 0.2} },
		"zero std":          func(m map[string]any) { m["std"] = []float64{0.1, 0, 0.1} },
		"bad dtype":         func(m map[string]any) { m["dtype"] = "BF16" },
		"quantized F16":     func(m map[string]any) { m["quantized"] = quantized() },
		"quantized no eval": func(m map[string]any) { m["dtype"] = "I8"; m["quantized"] = quantized() },
		"quantized from I8": func(m map[string]any) { int8Sample(m); m["quantized"].(map[string]any)["from_dtype"] = "I8" },
		"quantized bad sha": func(m map[string]any) { int8Sample(m); m["quantized"].(map[string]any)["from_sha256"] = "abc" },
		"quantized 0 bytes": func(m map[string]any) { int8Sample(m); m["quantized"].(map[string]any)["from_bytes"] = 0 },
		"agreement percent": func(m map[string]any) { int8Sample(m); m["quantized"].(map[string]any)["agreement"] = 99.9 },
		"quantized unknown": func(m map[string]any) { int8Sample(m); m["quantized"].(map[string]any)["bits"] = 8 },
		"accuracy percent":  func(m map[string]any) { m["accuracy"] = 91.0 },
		"missing labels":    func(m map[string]any) { delete(m, "labels") },
		"missing source":    func(m map[string]any) { delete(m, "source") },
		"unknown field":     func(m map[string]any) { m["colour"] = "red" },
		"negative input":    func(m map[string]any) { m["input_size"] = -1 },
		"name with a slash": func(m map[string]any) { m["name"] = "a/b" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := sample()
			mutate(m)
			if _, err := Parse(encode(t, m)); err == nil {
				t.Error("accepted")
			}
		})
	}
	t.Run("duplicate names", func(t *testing.T) {
		if _, err := Parse(encode(t, sample(), sample())); err == nil || !strings.Contains(err.Error(), "duplicate") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("two defaults", func(t *testing.T) {
		a, b := sample(), sample()
		b["name"] = "m2"
		a["default"], b["default"] = true, true
		if _, err := Parse(encode(t, a, b)); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("no models", func(t *testing.T) {
		if _, err := Parse(encode(t)); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("bad version", func(t *testing.T) {
		if _, err := Parse([]byte(`{"version": 2, "models": []}`)); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("not json", func(t *testing.T) {
		if _, err := Parse([]byte(`{"version": 1,`)); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("labels count", func(t *testing.T) {
		s := sample()
		s["classes"] = 11
		m, err := Parse(encode(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Models[0].Labels(); err == nil {
			t.Error("Labels accepted 10 lines for 11 classes")
		}
	})
	t.Run("labels missing", func(t *testing.T) {
		s := sample()
		s["labels"] = "nope.txt"
		m, err := Parse(encode(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Models[0].Labels(); err == nil {
			t.Error("Labels read a file that is not embedded")
		}
	})
}
