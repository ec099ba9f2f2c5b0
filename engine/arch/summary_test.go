package arch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The goldens in testdata come from PyTorch 1.13 and torchvision 0.14 through
// testdata/make_summaries.py, never from this package: regenerate them there.

func mustBuild(t *testing.T, depth int, v Variant) *Network {
	t.Helper()
	c := Standard(depth)
	c.Variant = v
	n, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// firstDiff reports the first differing line, which is easier to read than
// two whole tables.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "(no line differs)"
}

var goldenCases = []struct {
	file  string
	depth int
	v     Variant
}{
	{"resnet18", 18, V1_5},
	{"resnet34", 34, V1_5},
	{"resnet50", 50, V1_5},
	{"resnet50-v1", 50, V1},
	{"resnet101", 101, V1_5},
	{"resnet101-v1", 101, V1},
	{"resnet152", 152, V1_5},
	{"resnet152-v1", 152, V1},
}

func TestSummaryMatchesPyTorch(t *testing.T) {
	for _, tc := range goldenCases {
		got := mustBuild(t, tc.depth, tc.v).Summary(64, 224)
		if want := golden(t, tc.file+".summary.txt"); got != want {
			t.Errorf("%s: summary differs from torchsummary, %s", tc.file, firstDiff(got, want))
		}
	}
	n := mustBuild(t, 18, V1_5)
	for _, tc := range []struct {
		file         string
		batch, input int
	}{
		{"resnet18.batch-1.summary.txt", -1, 224},
		{"resnet18.input160.summary.txt", 8, 160},
	} {
		if got, want := n.Summary(tc.batch, tc.input), golden(t, tc.file); got != want {
			t.Errorf("%s: summary differs from torchsummary, %s", tc.file, firstDiff(got, want))
		}
	}
}

func TestModuleTreeMatchesPyTorch(t *testing.T) {
	for _, tc := range goldenCases {
		got := mustBuild(t, tc.depth, tc.v).ModuleTree()
		if want := golden(t, tc.file+".tree.txt"); got != want {
			t.Errorf("%s: tree differs from print(model), %s", tc.file, firstDiff(got, want))
		}
	}
}

// TestSummaryDocumentFigures pins the founding document's figures, so a
// regenerated golden cannot quietly move them.
func TestSummaryDocumentFigures(t *testing.T) {
	for _, tc := range []struct {
		depth int
		v     Variant
		rows  int
		want  []string
	}{
		{18, V1_5, 68, []string{
			"            Conv2d-1         [64, 64, 112, 112]           9,408\n",
			"         MaxPool2d-4           [64, 64, 56, 56]               0\n",
			"           Conv2d-24          [64, 128, 28, 28]           8,192\n",
			"           Linear-68                 [64, 1000]         513,000\n",
			"\nTotal params: 11,689,512\n",
			"\nTrainable params: 11,689,512\n",
			"\nNon-trainable params: 0\n",
			"\nInput size (MB): 36.75\n",
			"\nForward/backward pass size (MB): 4018.74\n",
			"\nParams size (MB): 44.59\n",
			"\nEstimated Total Size (MB): 4100.08\n",
		}},
		{50, V1, 174, []string{
			"            Conv2d-5           [64, 64, 56, 56]           4,096\n",
			"           Conv2d-37          [64, 128, 28, 28]          32,768\n",
			"          Linear-174                 [64, 1000]       2,049,000\n",
			"\nTotal params: 25,557,032\n",
			"\nInput size (MB): 36.75\n",
			// Not the document's 15200.01 / 15334.25: see the comment in Summary.
			"\nForward/backward pass size (MB): 17567.99\n",
			"\nParams size (MB): 97.49\n",
			"\nEstimated Total Size (MB): 17702.23\n",
		}},
	} {
		n := mustBuild(t, tc.depth, tc.v)
		s := n.Summary(64, 224)
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("resnet%d %s summary lacks %q", tc.depth, tc.v, w)
			}
		}
		if got := len(n.summaryRows(64, 224)); got != tc.rows {
			t.Errorf("resnet%d %s: %d rows, want %d", tc.depth, tc.v, got, tc.rows)
		}
	}
}

func TestModuleTreeSample(t *testing.T) {
	const head = "ResNet(\n" +
		"  (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)\n" +
		"  (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n" +
		"  (relu): ReLU(inplace=True)\n" +
		"  (maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)\n" +
		"  (layer1): Sequential(\n" +
		"    (0): BasicBlock(\n"
	if got := mustBuild(t, 18, V1_5).ModuleTree(); !strings.HasPrefix(got, head) {
		t.Errorf("resnet18 tree starts\n%s", got[:min(len(got), len(head))])
	}
}

func TestCommas(t *testing.T) {
	for v, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 9408: "9,408",
		513000: "513,000", 11689512: "11,689,512", -1234567: "-1,234,567"} {
		if got := commas(v); got != want {
			t.Errorf("commas(%d) = %q, want %q", v, got, want)
		}
	}
}
