package engine

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/internal/goldens"
)

// int8Tolerance bounds how far the int8 networks' logits may be from the
// float networks', as a fraction of the largest float logit. Measured with
// PyTorch in float64 (make_goldens.py's int8.max_abs_diff): 0.52% to 1.03%
// on the width-8 goldens, 0.92% (ResNet-18), 1.28% (ResNet-50) and 1.46%
// (v1 ResNet-50) on the full-size ones; the bound is twice the worst.
const int8Tolerance = 0.03

// runInt8Golden checks NAME.int8.safetensors, written by PyTorch's side
// (tools/pyutil/safetensors_io.py): the engine gives PyTorch's logits for
// the network it holds within the project's 1e-4 bar, and those are within
// int8Tolerance of the float network's with the same top-1. Go's writer
// quantizes NAME.safetensors to the same bytes.
func runInt8Golden(t *testing.T, dir, name string) {
	goldens.Require(t, dir, name+".json")
	if _, err := os.Stat(filepath.Join(dir, name+".int8.safetensors")); err != nil {
		msg := name + ".int8.safetensors missing in " + dir + ": goldens older than the int8 format; run tools/golden/make_goldens.py again"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED, NOT CHECKED: " + msg)
	}
	m, input, float, size := loadGolden(t, dir, name, ".int8.safetensors")
	logits, err := m.NewSession().Run(input, size, size)
	if err != nil {
		t.Fatal(err)
	}
	checkLogits(t, logits, goldens.ReadF32(t, filepath.Join(dir, name+".int8.logits.f32")))

	var scale, worst float64
	for i, v := range float {
		scale = math.Max(scale, math.Abs(float64(v)))
		worst = math.Max(worst, math.Abs(float64(logits[i]-v)))
	}
	t.Logf("int8 against the float network: max |logit diff| %.3g, largest |logit| %.3g, ratio %.3g", worst, scale, worst/scale)
	if worst > int8Tolerance*scale {
		t.Errorf("int8 logits differ from the float network's by %.3g, over %g x %.3g", worst, int8Tolerance, scale)
	}
	if g, w := TopK(logits, 1)[0].Index, TopK(float, 1)[0].Index; g != w {
		t.Errorf("int8 top-1 is class %d, the float network's %d", g, w)
	}

	f32, err := os.ReadFile(filepath.Join(dir, name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ckpt, err := checkpoint.Read(f32)
	if err != nil {
		t.Fatal(err)
	}
	var ours bytes.Buffer
	if err := checkpoint.WriteSafetensors(&ours, ckpt, checkpoint.I8); err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(filepath.Join(dir, name+".int8.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// The headers differ in metadata and spacing; the data must not.
	a, b := dataSection(ours.Bytes()), dataSection(theirs)
	if !bytes.Equal(a, b) {
		i := 0
		for i < min(len(a), len(b)) && a[i] == b[i] {
			i++
		}
		t.Errorf("Go's int8 data (%d bytes) differs from PyTorch's side's (%d bytes) from data offset %d", len(a), len(b), i)
	}
}

// dataSection is what follows a safetensors file's header.
func dataSection(b []byte) []byte {
	return b[8+binary.LittleEndian.Uint64(b):]
}

// TestSmallInt8Goldens runs the committed narrow ResNets' int8 files.
func TestSmallInt8Goldens(t *testing.T) {
	for _, name := range []string{"resnet18-w8", "resnet50-w8", "resnet50-w8-v1"} {
		t.Run(name, func(t *testing.T) { runInt8Golden(t, "testdata", name) })
	}
}

// TestFullInt8Goldens runs the full-size ResNets' int8 files.
func TestFullInt8Goldens(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size goldens skipped in -short mode")
	}
	for _, name := range []string{"resnet18", "resnet50", "resnet50-v1"} {
		t.Run(name, func(t *testing.T) { runInt8Golden(t, goldens.LargeDir(1), name) })
	}
}
