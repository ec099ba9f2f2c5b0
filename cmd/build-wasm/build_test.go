package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/inbrowser/resnet/weights"
)

// testWeights writes a weights folder with one model whose "weights" are a
// few random bytes: the build copies and hashes them but never parses them.
func testWeights(t *testing.T) (dir string, weightsFile []byte) {
	t.Helper()
	dir = t.TempDir()
	weightsFile = []byte("not really weights, but hashed like them")
	if err := os.WriteFile(filepath.Join(dir, "tiny.safetensors"), weightsFile, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(weightsFile)
	m := &weights.Manifest{Version: 1}
	m.Put(weights.Model{
		Name: "tiny", Arch: "resnet18", Variant: "v1.5", Classes: 10, InputSize: 32, Resize: 32, Crop: 32,
		Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25}, LabelsFile: "fashion-mnist-classes.txt",
		DType: "F16", File: "tiny.safetensors", Bytes: int64(len(weightsFile)), SHA256: hex.EncodeToString(sum[:]),
		Accuracy: 0.5, Source: "test", Default: true,
	})
	m.Put(weights.Model{
		Name: "absent", Arch: "resnet50", Variant: "v1.5", Classes: 10, InputSize: 32, Resize: 32, Crop: 32,
		Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25}, LabelsFile: "fashion-mnist-classes.txt",
		DType: "F16", File: "absent.safetensors", Bytes: 1, SHA256: strings.Repeat("0", 64), Source: "test",
	})
	if err := m.WriteFile(filepath.Join(dir, weights.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	return dir, weightsFile
}

// TestBuildLayout builds the real engine and site once and checks what the
// page relies on: the asset map, hashed names, compressed siblings, the
// page's manifest and the rewritten index.html.
func TestBuildLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the engine twice for js/wasm")
	}
	brotliLevel = 1
	t.Cleanup(func() { brotliLevel = 11 })
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	weightsDir, weightsFile := testWeights(t)
	out := filepath.Join(t.TempDir(), "dist")
	if _, err := build(root, weightsDir, out); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil {
		t.Fatal(err)
	} else if st.Mode().Perm() != 0o755 {
		t.Errorf("the build directory has mode %v, want 0755: readable by a web server running as another user", st.Mode().Perm())
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	var assets map[string]string
	if err := json.Unmarshal(read("assets.json"), &assets); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"resnet.wasm", "resnet-simd.wasm", "wasm_exec.js", "worker.js", "resnet.js", "app.js", "style.css", "viridis.js", "models/tiny.safetensors"} {
		hashed, ok := assets[name]
		if !ok {
			t.Errorf("assets.json lacks %s", name)
			continue
		}
		data := read(hashed)
		sum := sha256.Sum256(data)
		if !hashedFile.MatchString(hashed) || !strings.Contains(hashed, hex.EncodeToString(sum[:])[:hashLen]) {
			t.Errorf("%s is published as %s, which does not carry its content hash", name, hashed)
		}
	}
	if !bytes.Equal(read(assets["models/tiny.safetensors"]), weightsFile) {
		t.Error("the published weights differ from the weights file")
	}

	plain, simd := read(assets["resnet.wasm"]), read(assets["resnet-simd.wasm"])
	if !bytes.HasPrefix(plain, []byte("\x00asm")) || !bytes.HasPrefix(simd, []byte("\x00asm")) || bytes.Equal(plain, simd) {
		t.Error("want two different WebAssembly modules for the plain and SIMD builds")
	}
	if gz := read(assets["resnet.wasm"] + ".gz"); !bytes.Equal(gunzip(t, gz), plain) {
		t.Error("resnet.wasm.gz does not decompress to resnet.wasm")
	}
	if br := read(assets["resnet-simd.wasm"] + ".br"); !bytes.Equal(unbrotli(t, br), simd) {
		t.Error("resnet-simd.wasm.br does not decompress to resnet-simd.wasm")
	}

	var manifest struct {
		Models []json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(read("manifest.json"), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Models) != 1 {
		t.Fatalf("manifest.json lists %d models, want only the one whose file exists", len(manifest.Models))
	}
	// The worker's parser (wasm/entry.go) takes what the build publishes.
	m, err := weights.ParsePageModel(manifest.Models[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "tiny" || m.URL != assets["models/tiny.safetensors"] || len(m.ClassNames) != 10 || m.ClassNames[9] != "Ankle boot" || !m.Default {
		t.Errorf("manifest.json entry: %+v", m)
	}

	index := string(read("index.html"))
	for _, want := range []string{
		`src="` + assets["app.js"] + `"`,
		`href="` + assets["style.css"] + `"`,
		`"./resnet.js":"./` + assets["resnet.js"] + `"`,
		`"./viridis.js":"./` + assets["viridis.js"] + `"`, // generated, not in site/
		`<link rel="modulepreload" href="` + assets["resnet.js"] + `">`,
	} {
		if !strings.Contains(index, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	// Every module imports the others at their hashed names, so that
	// resnet.js works in any page, not only under index.html.
	for module, imports := range map[string][]string{
		"app.js":     {"resnet.js", "images.js"},
		"resnet.js":  {"engine-code.js"},
		"heatmap.js": {"viridis.js"},
	} {
		code := string(read(assets[module]))
		for _, dep := range imports {
			if !strings.Contains(code, "from './"+assets[dep]+"';") || strings.Contains(code, "from './"+dep+"';") {
				t.Errorf("%s does not import %s as %s", assets[module], dep, assets[dep])
			}
		}
	}
	if strings.Contains(index, `"app.js"`) || strings.Contains(index, `"style.css"`) {
		t.Error("index.html still refers to unhashed files")
	}
	for _, page := range []string{"app.js", "worker.js"} { // the page's own script, and the worker's
		if strings.Contains(index, `modulepreload" href="`+assets[page]) {
			t.Errorf("index.html preloads %s", page)
		}
	}
	if strings.Index(index, `type="importmap"`) > strings.Index(index, `type="module"`) {
		t.Error("the import map comes after a module script")
	}

	// A second build replaces the first.
	if _, err := build(root, weightsDir, out); err != nil {
		t.Fatalf("rebuilding over a build: %v", err)
	}
}

func TestBuildRefusesToReplaceOtherDirectories(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := build("/nonexistent", "/nonexistent", out); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("build into a foreign directory: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(out, "notes.txt")); err != nil {
		t.Fatal("the foreign directory was touched")
	}
}

func TestAddModulesRefusesCycles(t *testing.T) {
	d := &dist{dir: t.TempDir(), assets: map[string]string{}}
	err := d.addModules(map[string][]byte{
		"a.js": []byte("import { b } from './b.js';\n"),
		"b.js": []byte("import { a } from './a.js';\n"),
		"c.js": []byte("export const c = 1;\n"),
	})
	if err == nil || !strings.Contains(err.Error(), "a.js, b.js import each other in a cycle") {
		t.Errorf("modules in a cycle: %v", err)
	}
	err = (&dist{dir: t.TempDir(), assets: map[string]string{}}).addModules(map[string][]byte{"a.js": []byte("import { x } from './missing.js';\n")})
	if err == nil || !strings.Contains(err.Error(), "a module the site lacks") {
		t.Errorf("a module importing a missing one: %v", err)
	}
}

func TestRewriteIndexNeedsAModuleScript(t *testing.T) {
	if _, err := rewriteIndex(`<script src="app.js"></script>`, map[string]string{"app.js": "app.0123456789.js"}, []string{"app.js"}); err == nil {
		t.Error("want an error for an index.html without a module script")
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unbrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
