package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../engine/arch/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSummaryCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"summary", "resnet18"},
			readGolden(t, "resnet18.summary.txt") + readGolden(t, "resnet18.tree.txt")},
		{[]string{"summary", "-v1", "resnet50"},
			readGolden(t, "resnet50-v1.summary.txt") + readGolden(t, "resnet50-v1.tree.txt")},
		{[]string{"summary", "ResNet50", "-tree=false"}, readGolden(t, "resnet50.summary.txt")},
		{[]string{"summary", "resnet18", "-batch", "8", "-input", "160", "-tree=false"},
			readGolden(t, "resnet18.input160.summary.txt")},
		{[]string{"summary", "resnet18", "-batch=-1", "-tree=false"}, readGolden(t, "resnet18.batch-1.summary.txt")},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut.String())
			continue
		}
		if out.String() != tc.want {
			t.Errorf("%v: output differs from the PyTorch goldens", tc.args)
		}
		if errOut.Len() != 0 {
			t.Errorf("%v: stderr %q", tc.args, errOut.String())
		}
	}
}

func TestSummaryClasses(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"summary", "resnet18", "-classes", "10"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, w := range []string{
		"           Linear-68                   [64, 10]           5,130\n",
		"Total params: 11,181,642\n",
		"  (fc): Linear(in_features=512, out_features=10, bias=True)\n",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func TestSummaryCommandErrors(t *testing.T) {
	for _, args := range [][]string{
		{"summary"},
		{"summary", "resnet19"},
		{"summary", "vgg16"},
		{"summary", "resnet18", "resnet50"},
		{"summary", "resnet18", "-batch", "0"},
		{"summary", "resnet18", "-batch", "x"},
		{"summary", "resnet18", "-input", "0"},
		{"summary", "resnet18", "-classes", "0"},
		{"summary", "resnet18", "-nope"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if out.Len() != 0 {
			t.Errorf("%v: wrote %q to stdout", args, out.String())
		}
		lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
		if !strings.HasPrefix(lines[0], "resnet summary: ") {
			t.Errorf("%v: stderr %q", args, errOut.String())
		}
	}
}
