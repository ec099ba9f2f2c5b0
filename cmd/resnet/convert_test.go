package main

import (
	"bytes"
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
	a, b, c := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors"), filepath.Join(dir, "c.safetensors")
	for _, tc := range []struct {
		args  []string
		out   string
		dtype checkpoint.DType
	}{
		{[]string{finite, a}, a, checkpoint.F32},
		{[]string{finite, b, "-dtype", "f16"}, b, checkpoint.F16},
		{[]string{"-dtype=F16", a, c}, c, checkpoint.F16}, // flag first
	} {
		code, stdout, stderr := convert(tc.args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
		out := tc.out
		if !strings.HasPrefix(stdout, "wrote "+out+": 13 tensors, ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: stdout %q", tc.args, stdout)
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
	}
	noLeftovers(t, dir, "a.safetensors", "b.safetensors", "c.safetensors")
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
		{[]string{tinyPTH, out, "-dtype", "bf16"}, 2, `-dtype "bf16" (want f32 or f16)`},
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
