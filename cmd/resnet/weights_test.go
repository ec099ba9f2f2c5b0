package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/weights"
)

// goldenDir is where tools/golden/make_goldens.py wrote the full-size
// checkpoints (torch.save of torchvision resnet18/resnet50 state_dicts).
// Without them the end-to-end tests cannot run: in CI that is a failure,
// elsewhere a loud skip.
func goldenDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RESNET_GOLDEN_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "testdata-gen", "golden")
	}
	for _, f := range []string{"resnet18.pth", "resnet50.pth"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			msg := fmt.Sprintf("no %s: run /usr/bin/python3 tools/golden/make_goldens.py testdata-gen/golden (or set RESNET_GOLDEN_DIR)", filepath.Join(dir, f))
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip("SKIPPED, NOT CHECKED: " + msg)
		}
	}
	return dir
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// served names a file as torchvision would: its name carries the first 8
// hex digits of its SHA-256.
func served(stem string, data []byte) string { return stem + "-" + sha256Hex(data)[:8] + ".pth" }

// withOfficials makes fetch look for name's checkpoint under file, as
// serving real official files is impossible here.
func withOfficials(t *testing.T, files map[string]string) {
	t.Helper()
	saved := officials
	t.Cleanup(func() { officials = saved })
	officials = map[string]weights.Official{}
	for k, v := range saved {
		officials[k] = v
	}
	for name, file := range files {
		o := officials[name]
		o.File, o.Bytes = file, 0 // a test's own file, of its own size
		officials[name] = o
	}
}

// quiet sends the progress bar to a buffer for the test's duration.
func quiet(t *testing.T) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	saved := progressOut
	progressOut = &b
	t.Cleanup(func() { progressOut = saved })
	return &b
}

// fileServer serves files by name and counts requests.
func fileServer(t *testing.T, files map[string][]byte) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		data, ok := files[strings.TrimPrefix(r.URL.Path, "/models/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// snapshot maps every file name in dir to a digest of its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string]string{}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		s[e.Name()] = sha256Hex(data)
	}
	return s
}

// checkTensors compares a written safetensors file with the .pth it came
// from: bit for bit as F32, within half an F16 ulp as F16.
func checkTensors(t *testing.T, pth []byte, stPath string, dtype checkpoint.DType) {
	t.Helper()
	want, err := checkpoint.Read(pth)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.ReadFile(stPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.Read(st)
	if err != nil {
		t.Fatalf("%s does not load: %v", stPath, err)
	}
	if !reflect.DeepEqual(got.Names, want.Names) {
		t.Fatalf("tensor names differ: got %d, want %d", len(got.Names), len(want.Names))
	}
	values := 0
	for _, name := range want.Names {
		w, g := want.Tensors[name], got.Tensors[name]
		if !reflect.DeepEqual(g.Shape, w.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, g.Shape, w.Shape)
		}
		wv, gv := w.Values(), g.Values()
		values += len(wv)
		for i, x := range wv {
			y := gv[i]
			ok := y == x
			if dtype == checkpoint.F16 {
				// Round to nearest: at most half an ulp (2^-11 relative), or
				// half the smallest subnormal step (2^-25) near zero.
				ok = math.Abs(float64(y-x)) <= math.Abs(float64(x))/2048+1.0/(1<<25)
			}
			if !ok {
				t.Fatalf("%s[%d] = %g, want %g (%s)", name, i, y, x, dtype)
			}
		}
	}
	// The element size tells what the file stores.
	elem := 4
	if dtype == checkpoint.F16 {
		elem = 2
	}
	if h := int(binary.LittleEndian.Uint64(st)); len(st)-8-h != elem*values {
		t.Errorf("%s: %d data bytes for %d values, want %s", stPath, len(st)-8-h, values, dtype)
	}
}

func writePNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), uint8(x * y), 255})
		}
	}
	path := filepath.Join(t.TempDir(), "test.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFetchRemovesStaleFiles: temporary files that a killed fetch left
// behind go at the next fetch of the same file; fresh ones (a fetch still
// running) and other files stay.
func TestFetchRemovesStaleFiles(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * staleAge)
	files := map[string]bool{ // name -> whether it must remain
		".resnet18-f37072fd.pth.download-123": false, ".resnet18-f37072fd.pth.tmp-9": false,
		".resnet18-f37072fd.pth.download-456": true, ".resnet50-0676ba61.pth.download-1": true, "notes.txt": true,
	}
	for name, keep := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if !keep || strings.Contains(name, "resnet50") || name == "notes.txt" {
			os.Chtimes(p, old, old)
		}
	}
	removeStale(dir, "resnet18-f37072fd.pth")
	for name, keep := range files {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != keep {
			t.Errorf("%s: exists %v, want %v", name, err == nil, keep)
		}
	}
}

func TestOfficials(t *testing.T) {
	want := map[string]struct {
		file, model string
		resize      int
		acc         float64
	}{
		"resnet18":    {"resnet18-f37072fd.pth", "imagenet-resnet18", 256, 69.758},
		"resnet50":    {"resnet50-0676ba61.pth", "imagenet-resnet50", 256, 76.13},
		"resnet50-v2": {"resnet50-11ad3fa6.pth", "imagenet-resnet50-v2", 232, 80.858},
	}
	for name, w := range want {
		o := officials[name]
		if o.File != w.file || modelName(o) != w.model || o.Resize != w.resize || o.Acc1 != w.acc {
			t.Errorf("%s = %+v, want %+v", name, o, w)
		}
	}
}

// TestFetch fetches Debian-PyTorch-saved checkpoints from a local server,
// checks what lands in the folder and classifies with it.
func TestFetch(t *testing.T) {
	gd := goldenDir(t)
	r18, err := os.ReadFile(filepath.Join(gd, "resnet18.pth"))
	if err != nil {
		t.Fatal(err)
	}
	r50, err := os.ReadFile(filepath.Join(gd, "resnet50.pth"))
	if err != nil {
		t.Fatal(err)
	}
	f18, f50 := served("resnet18", r18), served("resnet50", r50)
	withOfficials(t, map[string]string{"resnet18": f18, "resnet50-v2": f50})
	srv, _ := fileServer(t, map[string][]byte{f18: r18, f50: r50})
	progress := quiet(t)
	base := srv.URL + "/models/"
	dir := t.TempDir()

	code, stdout, stderr := runCLI("weights", "fetch", "resnet18", "-dtype", "f32", "-base", base, "-dir", dir)
	if code != 0 {
		t.Fatalf("fetch resnet18 -dtype f32: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "added imagenet-resnet18") {
		t.Errorf("stdout = %q", stdout)
	}
	if p := progress.String(); !strings.Contains(p, "100%") || !strings.Contains(p, f18) {
		t.Errorf("progress = %q, want the file name and 100%%", p)
	}
	st18 := filepath.Join(dir, "imagenet-resnet18.safetensors")
	checkTensors(t, r18, st18, checkpoint.F32)

	checkEntry := func(name string, resize int, acc float64, dtype string) *weights.Manifest {
		t.Helper()
		m, err := weights.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		md, err := m.Model(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(md.Path(dir))
		if err != nil {
			t.Fatal(err)
		}
		if md.SHA256 != sha256Hex(data) || md.Bytes != int64(len(data)) {
			t.Errorf("%s: manifest says %d bytes sha256 %s; file has %d, %s", name, md.Bytes, md.SHA256, len(data), sha256Hex(data))
		}
		if md.Resize != resize || md.Crop != 224 || md.InputSize != 224 || md.Classes != 1000 ||
			md.Variant != "v1.5" || md.DType != dtype || md.Accuracy != acc || md.File != name+".safetensors" ||
			md.LabelsFile != "imagenet-classes.txt" || !reflect.DeepEqual(md.Mean, []float32{0.485, 0.456, 0.406}) ||
			!reflect.DeepEqual(md.Std, []float32{0.229, 0.224, 0.225}) {
			t.Errorf("%s: entry %+v", name, md)
		}
		for _, s := range []string{"torchvision's published", "not measured here", "https://pytorch.org/vision/", base} {
			if !strings.Contains(md.Source, s) {
				t.Errorf("%s: source %q lacks %q", name, md.Source, s)
			}
		}
		if labels, err := md.Labels(); err != nil || labels[0] != "tench" {
			t.Errorf("%s: labels: %v", name, err)
		}
		return m
	}
	checkEntry("imagenet-resnet18", 256, 0.69758, "F32")

	img := writePNG(t)
	code, stdout, stderr = runCLI("classify", "-dir", dir, "-model", "imagenet-resnet18", "-k", "3", img)
	if code != 0 {
		t.Fatalf("classify: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, img) || strings.Count(stdout, "%  ") != 3 {
		t.Errorf("classify output = %q", stdout)
	}

	// Fetching again as F16 replaces the file and the entry.
	code, _, stderr = runCLI("weights", "fetch", "resnet18", "-base", base, "-dir", dir)
	if code != 0 {
		t.Fatalf("fetch resnet18: exit %d: %s", code, stderr)
	}
	checkTensors(t, r18, st18, checkpoint.F16)
	if m := checkEntry("imagenet-resnet18", 256, 0.69758, "F16"); len(m.Models) != 1 {
		t.Errorf("manifest lists %q, want only imagenet-resnet18", m.Names())
	}

	// The mirror can come from the environment; V2 resizes to 232.
	t.Setenv(baseEnv, base)
	code, _, stderr = runCLI("weights", "fetch", "-dir", dir, "resnet50-v2")
	if code != 0 {
		t.Fatalf("fetch resnet50-v2: exit %d: %s", code, stderr)
	}
	checkTensors(t, r50, filepath.Join(dir, "imagenet-resnet50-v2.safetensors"), checkpoint.F16)
	m := checkEntry("imagenet-resnet50-v2", 232, 0.80858, "F16")
	if got := m.Names(); !reflect.DeepEqual(got, []string{"imagenet-resnet18", "imagenet-resnet50-v2"}) {
		t.Errorf("manifest lists %q", got)
	}
	want := map[string]bool{"manifest.json": true, "imagenet-resnet18.safetensors": true, "imagenet-resnet50-v2.safetensors": true}
	for name := range snapshot(t, dir) {
		if !want[name] {
			t.Errorf("left behind %s", name)
		}
	}

	code, stdout, stderr = runCLI("weights", "list", "-dir", dir)
	if code != 0 || !strings.Contains(stdout, "imagenet-resnet18  resnet18 v1.5, 1000 classes, 224px  F16") ||
		!strings.Contains(stdout, "top-1 80.86%") || strings.Contains(stdout, "missing") {
		t.Errorf("list: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// failingFile is a temporary file on a disk that fills up after room bytes.
type failingFile struct {
	*os.File
	room int
}

func (f *failingFile) Write(p []byte) (int, error) {
	if len(p) > f.room {
		n, _ := f.File.Write(p[:f.room])
		f.room = 0
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.room -= len(p)
	return f.File.Write(p)
}

// diskFullFor makes the temporary files whose pattern contains kind fail
// after room bytes.
func diskFullFor(t *testing.T, kind string, room int) {
	t.Helper()
	saved := createTemp
	t.Cleanup(func() { createTemp = saved })
	createTemp = func(dir, pattern string) (tempFile, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil || !strings.Contains(pattern, kind) {
			return f, err
		}
		return &failingFile{File: f, room: room}, nil
	}
}

// prepare fills dir with a manifest listing another model and its file,
// which a failed fetch must leave alone.
func prepare(t *testing.T, dir string) {
	t.Helper()
	keep := []byte("not really weights")
	m := &weights.Manifest{Version: 1}
	m.Put(weights.Model{
		Name: "keep", Arch: "resnet18", Variant: "v1.5", Classes: 1000, InputSize: 224, Resize: 256, Crop: 224,
		Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}, LabelsFile: "imagenet-classes.txt",
		DType: "F16", File: "keep.safetensors", Bytes: int64(len(keep)), SHA256: sha256Hex(keep), Source: "test",
	})
	if err := m.WriteFile(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keep.safetensors"), keep, 0o644); err != nil {
		t.Fatal(err)
	}
}

// expectFailure runs a fetch into an empty folder and into one holding a
// model, and checks it fails with one error line containing want and
// leaves both folders exactly as they were.
func expectFailure(t *testing.T, wantCode int, want string, args ...string) {
	t.Helper()
	for _, full := range []bool{false, true} {
		dir := t.TempDir()
		if full {
			prepare(t, dir)
		}
		before := snapshot(t, dir)
		code, stdout, stderr := runCLI(append([]string{"weights", "fetch", "-dir", dir}, args...)...)
		t.Logf("exit %d: %s", code, stderr)
		if code != wantCode || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, wantCode, want)
		}
		if lines := strings.Count(stderr, "\n"); wantCode == 1 && lines != 1 {
			t.Errorf("%d error lines, want 1: %q", lines, stderr)
		}
		if stdout != "" && wantCode != 0 {
			t.Errorf("stdout = %q, want nothing", stdout)
		}
		if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
			t.Errorf("folder changed:\nbefore %v\nafter  %v", before, after)
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	return b
}

// The failures before conversion need no real checkpoint.
func TestFetchFailures(t *testing.T) {
	quiet(t)
	payload := randomBytes(300_000)
	file := served("resnet18", payload)

	t.Run("wrong hash", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": "resnet18-f37072fd.pth"}) // of this payload's size
		srv, _ := fileServer(t, map[string][]byte{"resnet18-f37072fd.pth": payload})
		expectFailure(t, 1, "does not start with f37072fd", "resnet18", "-base", srv.URL+"/models")
	})
	t.Run("truncated", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": file})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
			w.Write(payload[:len(payload)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // closes the connection mid-body
		}))
		defer srv.Close()
		expectFailure(t, 1, fmt.Sprintf("broke off after %d of %d bytes", len(payload)/2, len(payload)), "resnet18", "-base", srv.URL)
	})
	for _, status := range []int{404, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no", status)
			}))
			defer srv.Close()
			expectFailure(t, 1, fmt.Sprintf("server answered %d %s for %s/resnet50-0676ba61.pth", status, http.StatusText(status), srv.URL), "resnet50", "-base", srv.URL+"/")
		})
	}
	t.Run("disk full", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": file})
		srv, _ := fileServer(t, map[string][]byte{file: payload})
		diskFullFor(t, ".download-", 100_000)
		expectFailure(t, 1, "no space left on device", "resnet18", "-base", srv.URL+"/models/")
	})
	t.Run("not a checkpoint", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": file})
		srv, _ := fileServer(t, map[string][]byte{file: payload})
		expectFailure(t, 1, "imagenet-resnet18: converting "+file+": this is neither a PyTorch .pth", "resnet18", "-base", srv.URL+"/models/")
	})
	t.Run("timeout", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": file})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
			w.Write(payload[:1000])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // a stalled server
		}))
		defer srv.Close()
		expectFailure(t, 1, "gave up after -timeout 300ms", "resnet18", "-timeout", "300ms", "-base", srv.URL)
	})
	t.Run("endless body", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": file})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 64<<10) // chunked, no Content-Length, never ending
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		defer srv.Close()
		expectFailure(t, 1, "went past -max-bytes 1000000", "resnet18", "-max-bytes", "1000000", "-base", srv.URL)
	})
	t.Run("endless body, published size", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 64<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		defer srv.Close()
		// No -max-bytes: the table's size of resnet18 stops it.
		expectFailure(t, 1, "went past the published size of resnet18-f37072fd.pth, 46830571 bytes", "resnet18", "-base", srv.URL)
	})
	t.Run("short of the published size", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": file})
		o := officials["resnet18"]
		o.Bytes = int64(len(payload)) + 1
		officials["resnet18"] = o
		srv, _ := fileServer(t, map[string][]byte{file: payload})
		expectFailure(t, 1, fmt.Sprintf("has %d bytes, not the published %d", len(payload), len(payload)+1), "resnet18", "-base", srv.URL+"/models/")
	})
	t.Run("published size over -max-bytes", func(t *testing.T) {
		srv, n := fileServer(t, nil)
		expectFailure(t, 1, "resnet50-0676ba61.pth is published at 102530333 bytes, over -max-bytes 1000", "resnet50", "-max-bytes", "1000", "-base", srv.URL)
		if n.Load() != 0 {
			t.Errorf("%d requests, want none", n.Load())
		}
	})
	t.Run("too large", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": file})
		srv, _ := fileServer(t, map[string][]byte{file: payload})
		expectFailure(t, 1, fmt.Sprintf("is %d bytes, over -max-bytes 1000", len(payload)), "resnet18", "-max-bytes", "1000", "-base", srv.URL+"/models/")
	})
	t.Run("damaged manifest", func(t *testing.T) {
		srv, n := fileServer(t, nil)
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"version": 1, "models": [{"name": "x"}]}`), 0o644)
		code, _, stderr := runCLI("weights", "fetch", "-dir", dir, "-base", srv.URL, "resnet18")
		if code != 1 || !strings.Contains(stderr, "manifest.json") || n.Load() != 0 {
			t.Errorf("exit %d, stderr %q, %d requests; want a manifest error before any download", code, stderr, n.Load())
		}
	})
	t.Run("usage", func(t *testing.T) {
		srv, n := fileServer(t, nil)
		expectFailure(t, 2, `unknown model "resnet200"`, "resnet200", "-base", srv.URL)
		expectFailure(t, 2, `-dtype "bf16"`, "resnet18", "-dtype", "bf16", "-base", srv.URL)
		expectFailure(t, 2, "-dtype int8 is not offered here", "resnet18", "-dtype", "int8", "-base", srv.URL)
		expectFailure(t, 2, "not an http(s) URL", "resnet18", "-base", "ftp://example.com/")
		expectFailure(t, 2, "want one model", "-base", srv.URL)
		if n.Load() != 0 {
			t.Errorf("%d requests for bad command lines", n.Load())
		}
		if code, _, _ := runCLI("weights", "frobnicate"); code != 2 {
			t.Errorf("weights frobnicate: exit %d, want 2", code)
		}
	})
	t.Run("created folder removed", func(t *testing.T) {
		srv, _ := fileServer(t, nil)
		dir := filepath.Join(t.TempDir(), "new")
		if code, _, _ := runCLI("weights", "fetch", "-dir", dir, "-base", srv.URL, "resnet18"); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("failed fetch left the folder it made: %v", err)
		}
	})
}

// The failures during and after conversion need a real checkpoint.
func TestFetchFailuresGolden(t *testing.T) {
	gd := goldenDir(t)
	r18, err := os.ReadFile(filepath.Join(gd, "resnet18.pth"))
	if err != nil {
		t.Fatal(err)
	}
	r50, err := os.ReadFile(filepath.Join(gd, "resnet50.pth"))
	if err != nil {
		t.Fatal(err)
	}
	quiet(t)
	f18, f50 := served("resnet18", r18), served("resnet50", r50)
	srv, _ := fileServer(t, map[string][]byte{f18: r18, f50: r50})

	t.Run("disk full while converting", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": f18})
		diskFullFor(t, ".safetensors.tmp-", 5<<20)
		expectFailure(t, 1, "imagenet-resnet18.safetensors: write", "resnet18", "-base", srv.URL+"/models/")
	})
	t.Run("wrong architecture", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": f50}) // a resnet50 under resnet18's name
		expectFailure(t, 1, "is not a torchvision resnet18 with 1000 classes", "resnet18", "-base", srv.URL+"/models/")
	})
	t.Run("manifest write fails", func(t *testing.T) {
		withOfficials(t, map[string]string{"resnet18": f18})
		dir := t.TempDir()
		if code, _, stderr := runCLI("weights", "fetch", "-dir", dir, "-base", srv.URL+"/models/", "resnet18"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		before := snapshot(t, dir)
		saved := writeManifest
		defer func() { writeManifest = saved }()
		writeManifest = func(*weights.Manifest, string) error { return syscall.ENOSPC }
		code, _, stderr := runCLI("weights", "fetch", "-dir", dir, "-base", srv.URL+"/models/", "-dtype", "f32", "resnet18")
		if code != 1 || !strings.Contains(stderr, "updating the manifest: no space left on device") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		// The F16 file the manifest describes is back in place.
		if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
			t.Errorf("folder changed:\nbefore %v\nafter  %v", before, after)
		}
		// Into a folder with nothing to restore, the new file goes again.
		expectFailure(t, 1, "updating the manifest", "resnet18", "-base", srv.URL+"/models/")
	})
}
