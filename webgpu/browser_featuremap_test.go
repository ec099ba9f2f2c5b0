//go:build js && wasm

package webgpu

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/inbrowser/resnet/engine/cam"
	"github.com/inbrowser/resnet/internal/goldens"
)

// camGolden is engine/testdata's description of a narrow model's class
// activation maps (tools/golden/make_goldens.py).
type camGolden struct {
	CAM struct {
		InputFile string `json:"input_file"`
		Input     [2]int `json:"input"` // height, width
		Map       [2]int `json:"map"`
		Channels  int    `json:"channels"`
	} `json:"cam"`
}

// checkMap fails unless got is within tol of the largest |want| of want,
// and logs the ratio.
func checkMap(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, scale := maxDiff(got, want)
	t.Logf("%s: max |diff| %.3g, largest |value| %.3g, ratio %.3g", what, worst, scale, worst/scale)
	if worst > tol*scale || math.IsNaN(worst) {
		t.Errorf("%s: differs by %.3g, over %.0e x %.3g", what, worst, tol, scale)
	}
}

// TestFeatureMapGoldens runs the narrow goldens on their 80x48 CAM input
// with RunFeatureMap and compares the last block's output and every
// class's activation map with PyTorch's (within 1e-4 of the largest
// magnitude), and the logits with Run's; on ResNet-18 the GPU kernels
// (split-K, whose sums the last dispatch writes) and f16 storage too, f16
// within 1e-2.
func TestFeatureMapGoldens(t *testing.T) {
	dev := openDevice(t)
	for _, name := range []string{"resnet18-w8", "resnet50-w8", "resnet50-w8-v1"} {
		t.Run(name, func(t *testing.T) {
			plan, _, _, _ := loadGolden(t, name)
			var g camGolden
			if err := json.Unmarshal(fetchBytes(t, *testdataURL+name+".json"), &g); err != nil {
				t.Fatal(err)
			}
			h, w := g.CAM.Input[0], g.CAM.Input[1]
			mh, mw, c := g.CAM.Map[0], g.CAM.Map[1], g.CAM.Channels
			input := goldens.CHWToHWC(float32s(fetchBytes(t, *testdataURL+g.CAM.InputFile)), 3, h, w)
			layer4 := goldens.CHWToHWC(float32s(fetchBytes(t, *testdataURL+name+".layer4.f32")), c, mh, mw)
			cams := float32s(fetchBytes(t, *testdataURL+name+".cam.f32"))
			type mapCase struct {
				opts Options
				tol  float64
			}
			cases := []mapCase{{Options{}, 1e-4}}
			if name == "resnet18-w8" { // each Load takes seconds on SwiftShader
				cases = append(cases, mapCase{Options{ConvKernel: "gpu"}, 1e-4}, mapCase{Options{F16: true}, 1e-2})
			}
			for _, tc := range cases {
				m, err := dev.Load(plan, h, w, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				logits, fm, err := m.RunFeatureMap(input)
				if err != nil {
					t.Fatal(err)
				}
				if fm.H != mh || fm.W != mw || fm.C != c {
					t.Fatalf("%+v: a %dx%dx%d feature map, PyTorch's layer4 is %dx%dx%d", tc.opts, fm.H, fm.W, fm.C, mh, mw, c)
				}
				what := fmt.Sprintf("%+v", tc.opts)
				checkMap(t, what+" layer4 vs PyTorch", fm.Values, layer4, tc.tol)
				worst := 0.0
				for k := range plan.Config.NumClasses {
					got, err := cam.Compute(fm, plan.FCWeight[k*c:(k+1)*c])
					if err != nil {
						t.Fatal(err)
					}
					want := cams[k*mh*mw : (k+1)*mh*mw]
					d, scale := maxDiff(got.Values, want)
					worst = max(worst, d/scale)
					if d > tc.tol*scale || math.IsNaN(d) {
						t.Errorf("%s class %d: CAM differs from PyTorch's by %.3g, over %.0e x %.3g", what, k, d, tc.tol, scale)
					}
				}
				t.Logf("%s CAMs of %d classes vs PyTorch: worst max |diff| / largest |value| of a map %.3g", what, plan.Config.NumClasses, worst)
				logits = append([]float32(nil), logits...)
				again, err := m.Run(input)
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, what+" RunFeatureMap's logits vs Run's", logits, again, 0)
			}
		})
	}
}
