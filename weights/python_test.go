package weights

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// writeWithPython has tools/pyutil/manifest.py write dir/manifest.json
// with two entries made by its entry(), as tools/train/train_fashion.py
// writes the bundled ones: py-b, then py-a, the default, with training
// details.
const writeWithPython = `import os, sys
sys.path.insert(0, sys.argv[1])
from pyutil import manifest
d = sys.argv[2]
for name, default in (("py-b", False), ("py-a", True)):
    path = os.path.join(d, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(b"the weights of " + name.encode())
    manifest.upsert(os.path.join(d, "manifest.json"), manifest.entry(
        path, name=name, arch="resnet50", variant="v1", classes=10, size=28, resize=32,
        mean=[0.2860, 0.2860, 0.2860], std=[0.3530, 0.3530, 0.3530], labels="fashion-mnist-classes.txt",
        dtype="F16", accuracy=0.9284, eval_images=10000 if default else None,
        training={"epochs": 3, "seconds": 12, "seed": 1, "optimizer": "SGD"} if default else None,
        source="written by tools/pyutil/manifest.py", default=default))
`

// A manifest written by the Python helper is one Go reads, every field in
// place (Parse refuses unknown fields, so a renamed key fails here), and
// Go's writer gives back the same bytes, so either can update the other's.
func TestPythonManifestLoads(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("SKIPPED, NOT CHECKED: no /usr/bin/python3")
	}
	dir := t.TempDir()
	if out, err := exec.Command(py, "-c", writeWithPython, filepath.Join("..", "tools"), dir).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Models) != 2 || m.Models[0].Name != "py-a" || m.Models[1].Name != "py-b" || m.Default().Name != "py-a" {
		t.Fatalf("models %v, default %s; want py-a (default) and py-b", m.Names(), m.Default().Name)
	}
	a := &m.Models[0]
	data, err := os.ReadFile(a.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Check(data); err != nil {
		t.Errorf("the file's size and hash as Python recorded them: %v", err)
	}
	opts, err := a.Options()
	if err != nil {
		t.Fatal(err)
	}
	cfg := opts.Config
	if cfg.Name() != "resnet50" || cfg.Variant.String() != "v1" || cfg.NumClasses != 10 || len(opts.Labels) != 10 ||
		opts.Spec.Resize != 32 || opts.Spec.Crop != 28 || opts.Spec.Mean[2] != 0.286 || opts.Spec.Std[0] != 0.353 {
		t.Errorf("options %+v", opts)
	}
	if a.InputSize != 28 || a.DType != "F16" || a.Accuracy != 0.9284 || a.EvalImages != 10000 ||
		a.Source != "written by tools/pyutil/manifest.py" || a.Training == nil || a.Training.Epochs != 3 || a.Training.Optimizer != "SGD" {
		t.Errorf("entry %+v", a)
	}
	if b := &m.Models[1]; b.Default || b.Training != nil || b.EvalImages != 0 {
		t.Errorf("py-b: %+v", b)
	}

	want, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	rewritten := filepath.Join(t.TempDir(), ManifestFile)
	if err := m.WriteFile(rewritten); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(rewritten); !bytes.Equal(got, want) {
		t.Errorf("Go rewrites the Python manifest differently:\n--- python\n%s\n--- go\n%s", want, got)
	}
}
