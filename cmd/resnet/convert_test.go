package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine/checkpoint"
)

const tinyPTH = "../../engine/checkpoint/testdata/tiny.pth"

// convert runs the subcommand and returns exit code, stdout and stderr.
func convert(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"convert"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// noLeftovers fails if dir holds anything but the named files.
func noLeftovers(t *testing.T, dir string, want ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	// tiny.pth holds NaN and Inf (special.*), which convert refuses.
	code, _, stderr := convert(tinyPTH, filepath.Join(dir, "x.safetensors"))
	if code != 1 || !strings.Contains(stderr, "tensor special.f32: value 2 is +Inf") {
		t.Errorf("converting NaN and Inf: exit %d, stderr %q", code, stderr)
	}
	noLeftovers(t, dir)

	src, err := os.ReadFile(tinyPTH)
	if err != nil {
		t.Fatal(err)
	}
	want, err := checkpoint.Read(src)
	if err != nil {
		t.Fatal(err)
	}
	want.Names = slices.DeleteFunc(want.Names, func(n string) bool { return strings.HasPrefix(n, "special.") })
	finite := filepath.Join(t.TempDir(), "finite.safetensors")
	var buf bytes.Buffer
	if err := checkpoint.WriteSafetensors(&buf, &checkpoint.Checkpoint{Names: want.Names, Tensors: subset(want.Tensors, want.Names)}, checkpoint.F32); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(finite, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b, c, d := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors"), filepath.Join(dir, "c.safetensors"), filepath.Join(dir, "d.safetensors")
	for _, tc := range []struct {
		args  []string
		out   string
		dtype checkpoint.DType
	}{
		{[]string{finite, a}, a, checkpoint.F32},
		{[]string{finite, b, "-dtype", "f16"}, b, checkpoint.F16},
		{[]string{"-dtype=F16", a, c}, c, checkpoint.F16}, // flag first
		{[]string{b, d, "-dtype", "int8"}, d, checkpoint.I8},
	} {
		code, stdout, stderr := convert(tc.args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
		out := tc.out
		if !strings.HasPrefix(stdout, "wrote "+out+": 13 tensors, ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: stdout %q", tc.args, stdout)
		}
		if tc.dtype == checkpoint.I8 && !strings.Contains(stdout, " as I8 with a scale per output channel, ") {
			t.Errorf("%v: stdout %q does not say what is I8", tc.args, stdout)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := checkpoint.ReadSafetensors(b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Names, want.Names) {
			t.Fatalf("names %q, want %q", got.Names, want.Names)
		}
		w := want.Tensors["1.running_var"].Values()[0]
		if g := got.Tensors["1.running_var"].Values()[0]; tc.dtype == checkpoint.F32 && g != w || tc.dtype == checkpoint.F16 && (g == w || g-w > 1e-3 || w-g > 1e-3) {
			t.Errorf("%v: running_var[0] = %v, original %v", tc.args, g, w)
		}
		if tc.dtype == checkpoint.I8 {
			checkInt8(t, got, want, tc.args[0])
		}
	}
	noLeftovers(t, dir, "a.safetensors", "b.safetensors", "c.safetensors", "d.safetensors")
}

// checkInt8 checks a file convert -dtype int8 wrote from the F16 file
// f16: its I8 header entries, each weight within half a quantization step
// (1/254 of its output channel's largest magnitude) of the F16 value, and
// the other tensors exactly the F16 file's (in F32, which F16 widens to
// exactly).
func checkInt8(t *testing.T, got, want *checkpoint.Checkpoint, f16 string) {
	t.Helper()
	raw, err := os.ReadFile(f16)
	if err != nil {
		t.Fatal(err)
	}
	src, err := checkpoint.ReadSafetensors(raw)
	if err != nil {
		t.Fatal(err)
	}
	quantized := 0
	for _, n := range want.Names {
		g, s := got.Tensors[n].Values(), src.Tensors[n].Values()
		shape := want.Tensors[n].Shape
		if len(shape) < 2 {
			if !slices.Equal(g, s) {
				t.Errorf("%s: %v, want the F16 file's %v", n, g, s)
			}
			continue
		}
		quantized++
		if len(s) == 0 {
			continue
		}
		per := len(s) / shape[0]
		for o := range shape[0] {
			var m float64
			for _, v := range s[o*per : (o+1)*per] {
				m = max(m, math.Abs(float64(v)))
			}
			for i := o * per; i < (o+1)*per; i++ {
				if d := math.Abs(float64(g[i] - s[i])); d > m/254*1.0001 {
					t.Fatalf("%s[%d] = %v, F16 %v: more than half a step (%g) apart", n, i, g[i], s[i], m/254)
				}
			}
		}
	}
	if quantized == 0 {
		t.Error("no tensor of two or more dimensions in the fixture")
	}
}

// subset is the tensors of m named in names.
func subset(m map[string]*checkpoint.Tensor, names []string) map[string]*checkpoint.Tensor {
	out := map[string]*checkpoint.Tensor{}
	for _, n := range names {
		out[n] = m[n]
	}
	return out
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.pth")
	if err := os.WriteFile(corrupt, []byte("this is not a checkpoint at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy := filepath.Join(dir, "busy")
	if err := os.MkdirAll(filepath.Join(busy, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.safetensors")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{filepath.Join(dir, "missing.pth"), out}, 1, "missing.pth"},
		{[]string{corrupt, out}, 1, "corrupt.pth: this is neither a PyTorch .pth (the zip torch.save writes) nor a safetensors file"},
		{[]string{tinyPTH, filepath.Join(dir, "nodir", "out.safetensors")}, 1, "nodir"},
		{[]string{tinyPTH, busy}, 1, "busy"}, // rename onto a non-empty directory
		{[]string{tinyPTH}, 2, "want an input and an output file, got 1 arguments"},
		{[]string{tinyPTH, out, "extra"}, 2, "got 3 arguments"},
		{[]string{tinyPTH, out, "-dtype", "bf16"}, 2, `-dtype "bf16" (want f32, f16 or int8)`},
		{[]string{tinyPTH, out, "-bogus"}, 2, "flag provided but not defined"},
	} {
		code, stdout, stderr := convert(tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if !strings.HasPrefix(lines[0], "resnet convert: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: stderr %q, want one line with %q", tc.args, stderr, tc.want)
		}
		wantLines := 1
		if tc.code == 2 {
			wantLines = 2 // the error, then the usage line
			if !strings.HasPrefix(lines[len(lines)-1], "usage: resnet convert IN.pth") {
				t.Errorf("%v: no usage line in %q", tc.args, stderr)
			}
		}
		if len(lines) != wantLines {
			t.Errorf("%v: stderr has %d lines, want %d: %q", tc.args, len(lines), wantLines, stderr)
		}
		if stdout != "" {
			t.Errorf("%v: stdout %q", tc.args, stdout)
		}
	}
	// No output and no temporary files were left behind.
	noLeftovers(t, dir, "busy", "corrupt.pth")
	noLeftovers(t, busy, "x")
}
