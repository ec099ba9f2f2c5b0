// Package goldens reads the reference outputs tools/golden/make_goldens.py
// writes from PyTorch, for the tests of several packages.
package goldens

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
)

// Network is what make_goldens.py writes of a network, NAME.json.
type Network struct {
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
	Classes int    `json:"classes"`
	Input   int    `json:"input"` // the side of NAME.input.f32
	Width   int    `json:"width"` // the base width, 0 for torchvision's 64
	CAM     struct {
		InputFile string `json:"input_file"`
		Input     [2]int `json:"input"` // height, width
		Map       [2]int `json:"map"`
		Channels  int    `json:"channels"`
		Top       int    `json:"top"`
	} `json:"cam"`
}

// Load reads network name's description and its weights, NAME+weightsExt,
// from dir, and returns them with the architecture they describe.
func Load(t *testing.T, dir, name, weightsExt string) (Network, arch.Config, *checkpoint.Checkpoint) {
	t.Helper()
	return LoadWith(t, func(file string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, name, weightsExt)
}

// LoadWith is Load with the files read by read (a browser test fetches
// them).
func LoadWith(t *testing.T, read func(file string) []byte, name, weightsExt string) (Network, arch.Config, *checkpoint.Checkpoint) {
	t.Helper()
	var g Network
	if err := json.Unmarshal(read(name+".json"), &g); err != nil {
		t.Fatal(err)
	}
	cfg, err := arch.ParseName(g.Arch)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Variant, err = arch.ParseVariant(g.Variant); err != nil {
		t.Fatal(err)
	}
	cfg.NumClasses = g.Classes
	if g.Width != 0 {
		cfg.BaseWidth = g.Width
	}
	ckpt, err := checkpoint.Read(read(name + weightsExt))
	if err != nil {
		t.Fatal(err)
	}
	return g, cfg, ckpt
}

// LargeDir is where test.sh writes the full-size goldens (too large to
// commit), relative to a package up depth folders below the module root;
// RESNET_GOLDEN_DIR overrides it.
func LargeDir(depth int) string {
	if d := os.Getenv("RESNET_GOLDEN_DIR"); d != "" {
		return d
	}
	parts := []string{}
	for range depth {
		parts = append(parts, "..")
	}
	return filepath.Join(append(parts, "testdata-gen", "golden")...)
}

// Require fails in CI and skips loudly elsewhere when file is missing in
// dir, so that a CI run can never pass without checking it.
func Require(t *testing.T, dir, file string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
		return
	}
	msg := "golden " + file + " missing in " + dir + ": run `/usr/bin/python3 tools/golden/make_goldens.py testdata-gen/golden` (needs Debian's python3-torch)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED, NOT CHECKED: " + msg)
}

// ReadF32 reads a file of little-endian float32s.
func ReadF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// CHWToHWC reorders PyTorch's [C][H][W] into the engine's [H][W][C].
func CHWToHWC(x []float32, c, h, w int) []float32 {
	out := make([]float32, len(x))
	for ci := range c {
		for p := range h * w {
			out[p*c+ci] = x[ci*h*w+p]
		}
	}
	return out
}
