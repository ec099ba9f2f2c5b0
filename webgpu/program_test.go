package webgpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
)

// runReference executes p on the CPU straight from the GPU layouts (padded
// NHWC buffers, repacked weights) with textbook loops: what the shaders
// compute, without their tiling. It checks compile's wiring and the
// layouts natively; the shaders themselves are checked in the browser.
// With storeF16 it rounds weights and stored activations as the f16 option
// does, which SwiftShader cannot run.
func runReference(p *program, input []float32, st storage) []float32 {
	bufs := make([][]float32, len(p.buffers))
	for i, b := range p.buffers {
		bufs[i] = make([]float32, b.values)
	}
	padChannels(bufs[p.input], input, p.inC)
	roundTo(st, bufs[p.input])
	for _, s := range p.steps {
		src, dst := bufs[s.src], bufs[s.dst]
		switch s.op {
		case opConv:
			var residual []float32
			if s.residual != noBuffer {
				residual = bufs[s.residual]
			}
			referenceConv(s, dst, src, residual, st)
		case opMaxPool:
			referenceMaxPool(s, dst, src)
		case opAvgPool:
			c4 := pad4(s.channels)
			for c := range c4 {
				var sum float64
				for pos := range s.inH * s.inW {
					sum += float64(src[pos*c4+c])
				}
				dst[c] = float32(sum / float64(s.inH*s.inW))
			}
		case opSoftmax:
			engine.Softmax(dst[:s.channels], src[:s.channels])
		}
		if !p.buffers[s.dst].exact {
			roundTo(st, dst)
		}
	}
	return bufs[p.output][:p.outputs]
}

// roundTo rounds x to the values storage st can hold.
func roundTo(st storage, x []float32) {
	if st == storeF16 {
		for i, v := range x {
			x[i] = float16Value(float16Bits(v))
		}
	}
}

func referenceConv(s step, dst, src, residual []float32, st storage) {
	c := s.conv
	w, bias := convWeights(c), convBias(c)
	roundTo(st, w)
	ci4, co4 := pad4(c.In), pad4(c.Out)
	oh, ow := s.outSize()
	for oy := range oh {
		for ox := range ow {
			for co := range co4 {
				sum := float64(bias[co])
				for ky := range c.Kernel {
					for kx := range c.Kernel {
						iy, ix := oy*c.Stride-c.Pad+ky, ox*c.Stride-c.Pad+kx
						if iy < 0 || ix < 0 || iy >= s.inH || ix >= s.inW {
							continue
						}
						for ci := range ci4 {
							sum += float64(src[(iy*s.inW+ix)*ci4+ci]) * float64(w[((ky*c.Kernel+kx)*ci4+ci)*co4+co])
						}
					}
				}
				i := (oy*ow+ox)*co4 + co
				if residual != nil {
					sum += float64(residual[i])
				}
				if s.relu {
					sum = max(sum, 0)
				}
				dst[i] = float32(sum)
			}
		}
	}
}

func referenceMaxPool(s step, dst, src []float32) {
	c4 := pad4(s.channels)
	oh, ow := s.outSize()
	for oy := range oh {
		for ox := range ow {
			for c := range c4 {
				best := float32(math.Inf(-1))
				for ky := range s.pool {
					for kx := range s.pool {
						iy, ix := oy*s.stride-s.poolPad+ky, ox*s.stride-s.poolPad+kx
						if iy >= 0 && ix >= 0 && iy < s.inH && ix < s.inW {
							best = max(best, src[(iy*s.inW+ix)*c4+c])
						}
					}
				}
				dst[(oy*ow+ox)*c4+c] = best
			}
		}
	}
}

func randomPlan(t *testing.T, cfg arch.Config) *engine.Plan {
	t.Helper()
	ckpt, err := engine.RandomCheckpoint(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := engine.Fold(cfg, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func randomInput(h, w int) []float32 {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, h*w*3)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// TestProgramMatchesEngine runs compiled programs through runReference and
// compares them with the CPU engine. Base width 6 makes every channel count
// but the input's a non-multiple of 4, so the padding is exercised; the
// non-square input checks that heights and widths are not swapped.
func TestProgramMatchesEngine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     arch.Config
		h, w    int
		softmax bool
	}{
		{"resnet18", arch.Config{Depth: 18, BaseWidth: 6, NumClasses: 10}, 32, 32, false},
		{"resnet18 40x36 softmax", arch.Config{Depth: 18, BaseWidth: 6, NumClasses: 7}, 40, 36, true},
		{"resnet50 v1.5", arch.Config{Depth: 50, BaseWidth: 6, NumClasses: 10}, 36, 44, false},
		{"resnet50 v1", arch.Config{Depth: 50, Variant: arch.V1, BaseWidth: 6, NumClasses: 10}, 32, 32, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := randomPlan(t, tc.cfg)
			m, err := engine.FromPlan(plan)
			if err != nil {
				t.Fatal(err)
			}
			input := randomInput(tc.h, tc.w)
			want, err := m.NewSession().Run(input, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if tc.softmax {
				engine.Softmax(want, want)
			}
			p, err := compile(plan, tc.h, tc.w, tc.softmax)
			if err != nil {
				t.Fatal(err)
			}
			got := runReference(p, input, storeF32)
			var scale, worst float64
			for i := range want {
				scale = max(scale, math.Abs(float64(want[i])))
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("max |diff| %.3g, largest |output| %.3g", worst, scale)
			if worst > 1e-5*scale {
				t.Errorf("outputs differ from the engine by %.3g (largest %.3g):\n got %v\nwant %v", worst, scale, got, want)
			}
		})
	}
}

func TestCompileRefusesInputSize(t *testing.T) {
	plan := randomPlan(t, arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10})
	for _, side := range []int{engine.MinInputSize - 1, engine.MaxInputSize + 1} {
		if _, err := compile(plan, side, 64, false); err == nil {
			t.Errorf("compile accepted a %dx64 input", side)
		}
	}
}

// TestStepGeometry pins the dispatches of ResNet-18 at 224x224: the stem's
// output, the max-pool's grid and the fully connected layer as a 1x1 conv.
func TestStepGeometry(t *testing.T) {
	p, err := compile(randomPlan(t, arch.Standard(18)), 224, 224, true)
	if err != nil {
		t.Fatal(err)
	}
	stem, pool, fc := p.steps[0], p.steps[1], p.steps[len(p.steps)-2]
	if x, y := stem.workgroups(); x != 2 || y != 112*112/32 {
		t.Errorf("stem workgroups %dx%d, want 2x392", x, y)
	}
	if got := stem.params(); got[6] != 7*7*1 || got[5] != 112*112 {
		t.Errorf("stem params %v: want k4 = 49, m = 12544", got)
	}
	if x, y := pool.workgroups(); x != 56*56*16/elementWorkgroup || y != 1 {
		t.Errorf("max-pool workgroups %dx%d", x, y)
	}
	if fc.op != opConv || fc.conv.Name != "fc" || fc.dst != bufLogits {
		t.Errorf("second-last step is %+v, want the fc conv", fc)
	}
	if x, y := fc.workgroups(); x != ceilDiv(250, 8) || y != 1 {
		t.Errorf("fc workgroups %dx%d, want 32x1", x, y)
	}
	if last := p.steps[len(p.steps)-1]; last.op != opSoftmax || p.output != bufProbs {
		t.Errorf("the program does not end in a softmax")
	}
	if x, y := grid(70000); x != maxWorkgroupsPerDimension || y != 2 {
		t.Errorf("grid(70000) = %dx%d", x, y)
	}
}

// TestF16Accuracy estimates what Options.F16 costs in accuracy by emulating
// its rounding, since no test machine has shader-f16.
func TestF16Accuracy(t *testing.T) {
	for _, cfg := range []arch.Config{
		{Depth: 18, BaseWidth: 16, NumClasses: 100},
		{Depth: 50, BaseWidth: 16, NumClasses: 100},
	} {
		t.Run(cfg.Name(), func(t *testing.T) {
			plan := randomPlan(t, cfg)
			p, err := compile(plan, 64, 64, false)
			if err != nil {
				t.Fatal(err)
			}
			input := randomInput(64, 64)
			want := runReference(p, input, storeF32)
			got := runReference(p, input, storeF16)
			var scale, worst float64
			for i := range want {
				scale = max(scale, math.Abs(float64(want[i])))
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("f16 storage: max |logit diff| %.3g, largest |logit| %.3g, ratio %.3g", worst, scale, worst/scale)
			if worst > 1e-2*scale {
				t.Errorf("f16 storage moves the logits by %.3g, over 1e-2 x %.3g", worst, scale)
			}
		})
	}
}
