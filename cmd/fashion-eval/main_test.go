package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/tools/fashionmnist"
)

// TestAgainstConversions runs the bundled default model on 200 test images
// against an F32 and an int8 copy of its file: the F32 copy (exact
// widening) gives the same classes; the int8 one is reported as I8 and is
// a different file.
func TestAgainstConversions(t *testing.T) {
	if _, err := os.Stat(fashionmnist.TestImages); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("SKIPPED, NOT CHECKED: Fashion-MNIST test set missing (apt-get install dataset-fashion-mnist)")
	}
	dir := "../../weights"
	r, err := run(dir, "", "", "", 200)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(r.Weights.Path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, dt := range []checkpoint.DType{checkpoint.F32, checkpoint.I8} {
		var buf bytes.Buffer
		if err := checkpoint.WriteSafetensors(&buf, c, dt); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(tmp, string(dt)+".safetensors")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := run(dir, r.Model, path, r.Weights.Path, 200)
		if err != nil {
			t.Fatal(err)
		}
		if got.Images != 200 || got.Weights.DType != string(dt) || got.Against.SHA256 != r.Weights.SHA256 || got.Weights.Bytes != int64(buf.Len()) {
			t.Errorf("%s: %+v", dt, got)
		}
		if dt == checkpoint.F32 && (got.Agree != 200 || got.Weights.Correct != r.Weights.Correct) {
			t.Errorf("an exact F32 copy agrees on %d of 200 images, %d correct instead of %d", got.Agree, got.Weights.Correct, r.Weights.Correct)
		}
		var out bytes.Buffer
		if err := print(&out, got, false); err != nil || !strings.Contains(out.String(), "same top-1 on ") {
			t.Errorf("%s: printed %q, %v", dt, out.String(), err)
		}
	}
	if _, err := run(dir, "", "", "", 10001); err == nil {
		t.Error("-n past the test set: no error")
	}
}
