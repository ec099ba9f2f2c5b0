package webgpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
)

// runReference executes p on the CPU straight from the GPU layouts (padded
// NHWC buffers, repacked weights) with textbook loops: what the shaders
// compute, without their tiling. It checks compile's wiring and the
// layouts natively; the shaders themselves are checked in the browser.
// With f16 storage it rounds weights and stored activations as the shaders
// do; with f16 arithmetic it also rounds every step of each conv's sum (see
// f16Dot), which no adapter here can run.
func runReference(p *program, input []float32, prec precision) []float32 {
	bufs := make([][]float32, len(p.buffers))
	for i, b := range p.buffers {
		bufs[i] = make([]float32, b.values)
	}
	copy(bufs[p.input], input)
	for _, s := range p.steps {
		src, dst := bufs[s.src], bufs[s.dst]
		var residual []float32
		if s.residual != noBuffer {
			residual = bufs[s.residual]
		}
		switch s.op {
		case opImage:
			padChannels(dst, src[:s.inH*s.inW*s.channels], s.channels)
		case opConv, opMatVec:
			referenceConv(s, dst, src, residual, prec)
		case opSplitSum:
			referenceSplitSum(s, dst, src, residual)
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
			roundTo(prec, dst)
		}
	}
	return bufs[p.output][:p.outputs]
}

// roundTo rounds x to the values precision prec stores.
func roundTo(prec precision, x []float32) {
	if prec.wgsl() == "f16" {
		for i, v := range x {
			x[i] = toF16(float64(v))
		}
	}
}

// toF16 rounds v to the nearest f16 value.
func toF16(v float64) float32 { return float16Value(float16Bits(float32(v))) }

// referenceConv computes a conv step; a split-K step (opConv with a split)
// writes each split's raw sums over its slice of K, as conv2d.wgsl does.
func referenceConv(s step, dst, src, residual []float32, prec precision) {
	c := s.conv
	w, bias := convWeights(c), convBias(c)
	roundTo(prec, w)
	ci4, co4 := pad4(c.In), pad4(c.Out)
	oh, ow := s.outSize()
	k4 := c.Kernel * c.Kernel * ci4 / 4
	splits, splitK4 := 1, k4
	if s.op == opConv && s.kernel.split > 1 {
		splits, splitK4 = s.kernel.split, s.kernel.splitK4(k4)
	}
	a := make([]float32, 4*k4) // one output position's receptive field, [ky][kx][ci]
	b := make([]float32, 4*k4) // one output channel's weights, in the same order
	for z := range splits {
		first, last := z*splitK4*4, min(k4, (z+1)*splitK4)*4
		for oy := range oh {
			for ox := range ow {
				for ky := range c.Kernel {
					for kx := range c.Kernel {
						iy, ix := oy*c.Stride-c.Pad+ky, ox*c.Stride-c.Pad+kx
						for ci := range ci4 {
							v := float32(0)
							if iy >= 0 && ix >= 0 && iy < s.inH && ix < s.inW {
								v = src[(iy*s.inW+ix)*ci4+ci]
							}
							a[(ky*c.Kernel+kx)*ci4+ci] = v
						}
					}
				}
				for co := range co4 {
					for k := range b {
						b[k] = w[k*co4+co]
					}
					var sum float64
					if s.op == opConv && prec == precF16Arithmetic {
						chunk := s.kernel.tile.k
						if s.kernel.direct {
							chunk = 4
						}
						sum = f16Dot(a[first:last], b[first:last], chunk)
					} else {
						for k := first; k < last; k++ {
							sum += float64(a[k]) * float64(b[k])
						}
					}
					i := (oy*ow+ox)*co4 + co
					if splits > 1 {
						dst[z*oh*ow*co4+i] = float32(sum)
						continue
					}
					sum += float64(bias[co])
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
}

// f16Dot is the sum of a[k]*b[k] as the conv shaders compute it with f16
// arithmetic: an f16 running sum, each product added with a rounding fma,
// a vec4 of the reduction at a time (its last element first), that goes
// into an f32 total after every chunk products (conv2d.wgsl's TILE_K;
// convdirect.wgsl's 4) and at the end.
func f16Dot(a, b []float32, chunk int) float64 {
	var total, part float32
	for k := 0; k < len(a); k += 4 {
		for j := 3; j >= 0; j-- {
			part = toF16(float64(a[k+j])*float64(b[k+j]) + float64(part))
		}
		if (k+4)%chunk == 0 || k+4 == len(a) {
			total += part
			part = 0
		}
	}
	return float64(total)
}

// referenceSplitSum adds a split-K conv's partial sums and applies its
// epilogue, as splitsum.wgsl does.
func referenceSplitSum(s step, dst, partials, residual []float32) {
	co4 := pad4(s.conv.Out)
	oh, ow := s.outSize()
	n, bias := oh*ow*co4, convBias(s.conv)
	for i := range n {
		sum := float64(bias[i%co4])
		for z := range s.kernel.split {
			sum += float64(partials[z*n+i])
		}
		if residual != nil {
			sum += float64(residual[i])
		}
		if s.relu {
			sum = max(sum, 0)
		}
		dst[i] = float32(sum)
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
			split := convKernel{tile: convTile{m: 16, n: 32, k: 32, threadM: 2}, split: 3}
			for name, choose := range map[string]func(step) convKernel{
				"software": softwareKernel, "gpu": gpuKernel, "split 3": func(step) convKernel { return split },
			} {
				p, err := compile(plan, tc.h, tc.w, tc.softmax, choose)
				if err != nil {
					t.Fatal(err)
				}
				got := runReference(p, input, precF32)
				var scale, worst float64
				for i := range want {
					scale = max(scale, math.Abs(float64(want[i])))
					worst = max(worst, math.Abs(float64(got[i]-want[i])))
				}
				t.Logf("%s kernels: max |diff| %.3g, largest |output| %.3g", name, worst, scale)
				if worst > 1e-5*scale {
					t.Errorf("%s kernels: outputs differ from the engine by %.3g (largest %.3g):\n got %v\nwant %v", name, worst, scale, got, want)
				}
			}
		})
	}
}

func TestCompileRefusesInputSize(t *testing.T) {
	plan := randomPlan(t, arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10})
	for _, side := range []int{engine.MinInputSize - 1, engine.MaxInputSize + 1} {
		if _, err := compile(plan, side, 64, false, softwareKernel); err == nil {
			t.Errorf("compile accepted a %dx64 input", side)
		}
	}
}

// TestStepGeometry pins the dispatches of ResNet-18 at 224x224: the stem's
// output, the max-pool's grid and the fully connected layer as a 1x1 conv.
func TestStepGeometry(t *testing.T) {
	p, err := compile(randomPlan(t, arch.Standard(18)), 224, 224, true, softwareKernel)
	if err != nil {
		t.Fatal(err)
	}
	image, stem, pool, fc := p.steps[0], p.steps[1], p.steps[2], p.steps[len(p.steps)-2]
	if x, y, _ := image.workgroups(); image.op != opImage || x != 224*224/elementWorkgroup || y != 1 {
		t.Errorf("the first step is %+v with %dx%d workgroups, want the image's padding", image, x, y)
	}
	if x, y, z := stem.workgroups(); x != 1 || y != 112*112/64 || z != 1 { // 64x64 tiles
		t.Errorf("stem workgroups %dx%dx%d, want 1x196x1", x, y, z)
	}
	if got := stem.params(); got[6] != 7*7*1 || got[5] != 112*112 {
		t.Errorf("stem params %v: want k4 = 49, m = 12544", got)
	}
	if x, y, _ := pool.workgroups(); x != 56*56*16/elementWorkgroup || y != 1 {
		t.Errorf("max-pool workgroups %dx%d", x, y)
	}
	if fc.op != opConv || !fc.kernel.direct || fc.conv.Name != "fc" || fc.dst != bufLogits {
		t.Errorf("second-last step is %+v, want the fc as a direct conv", fc)
	}
	if x, y, _ := fc.workgroups(); x != ceilDiv(250, directWorkgroup) || y != 1 {
		t.Errorf("fc workgroups %dx%d, want 16x1", x, y)
	}
	if last := p.steps[len(p.steps)-1]; last.op != opSoftmax || p.output != bufProbs {
		t.Errorf("the program does not end in a softmax")
	}
	if x, y := grid(70000); x != maxWorkgroupsPerDimension || y != 2 {
		t.Errorf("grid(70000) = %dx%d", x, y)
	}
}

// TestF16Accuracy estimates what each f16 mode costs in accuracy by
// emulating its rounding: f16 storage runs on SwiftShader too (and is
// checked there against this emulation), f16 arithmetic on lavapipe. With
// its sums going into f32 totals every few products, f16 arithmetic should
// cost little more than the f16 storage it also has.
func TestF16Accuracy(t *testing.T) {
	for _, cfg := range []arch.Config{
		{Depth: 18, BaseWidth: 16, NumClasses: 100},
		{Depth: 50, BaseWidth: 16, NumClasses: 100},
	} {
		for name, kernel := range map[string]func(step) convKernel{"software": softwareKernel, "gpu": gpuKernel} {
			t.Run(cfg.Name()+"/"+name, func(t *testing.T) {
				plan := randomPlan(t, cfg)
				p, err := compile(plan, 64, 64, false, kernel)
				if err != nil {
					t.Fatal(err)
				}
				input := randomInput(64, 64)
				want := runReference(p, input, precF32)
				ratio := map[precision]float64{}
				for _, prec := range []precision{precF16Storage, precF16Arithmetic} {
					got := runReference(p, input, prec)
					var scale, worst float64
					for i := range want {
						scale = max(scale, math.Abs(float64(want[i])))
						worst = max(worst, math.Abs(float64(got[i]-want[i])))
					}
					t.Logf("%s: max |logit diff| %.3g, largest |logit| %.3g, ratio %.3g", prec, worst, scale, worst/scale)
					if worst > 1e-2*scale {
						t.Errorf("%s moves the logits by %.3g, over 1e-2 x %.3g", prec, worst, scale)
					}
					ratio[prec] = worst / scale
				}
				if ratio[precF16Arithmetic] > 2*ratio[precF16Storage] {
					t.Errorf("f16 arithmetic moves the logits by %.3g of the largest, over twice f16 storage's %.3g", ratio[precF16Arithmetic], ratio[precF16Storage])
				}
			})
		}
	}
}

// TestSourcePrecision checks the preludes of every shader of ResNet-50
// (with a softmax) in each mode: f32 and f16 storage must not need
// shader-f16, which most adapters lack; f16 arithmetic enables it and
// computes the convs in f16. Dawn's Null adapter compiles them all
// (node bench/gpu/run.mjs --validate, in e2e/gpu-runner.test.mjs).
func TestSourcePrecision(t *testing.T) {
	p, err := compile(randomPlan(t, arch.Config{Depth: 50, BaseWidth: 8, NumClasses: 10}), 64, 64, true, gpuKernel)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.steps {
		f32, storage, arith := wgslCode(p.source(s, precF32)), wgslCode(p.source(s, precF16Storage)), p.source(s, precF16Arithmetic)
		if strings.Contains(f32, "f16") || strings.Contains(storage, "enable f16") || strings.Contains(storage, "<f16>") {
			t.Fatalf("op %d: the f32 or f16-storage source needs shader-f16:\n%s\n%s", s.op, f32, storage)
		}
		if !strings.HasPrefix(arith, "enable f16;\nalias calc = f16;\n") {
			t.Fatalf("op %d: the f16-arithmetic source does not start by enabling f16:\n%s", s.op, arith)
		}
		if s.op == opConv && !strings.Contains(arith, "alias weight4 = vec4<f16>;") {
			t.Errorf("op %d: f16 arithmetic reads its weights as something else than vec4<f16>", s.op)
		}
		if s.op == opConv && !strings.Contains(storage, "alias weight4 = vec2<u32>;") {
			t.Errorf("op %d: f16 storage does not pack its weights two to a u32", s.op)
		}
	}
}

// wgslCode is src without its comments.
func wgslCode(src string) string {
	lines := strings.Split(src, "\n")
	for i, line := range lines {
		lines[i], _, _ = strings.Cut(line, "//")
	}
	return strings.Join(lines, "\n")
}

// TestDispatches checks the profile's description of ResNet-18 at 224x224:
// one entry per step, named as the tensors are, and the total FLOPs of the
// network (1.82 GMACs, as torchvision's model card says).
func TestDispatches(t *testing.T) {
	p, err := compile(randomPlan(t, arch.Standard(18)), 224, 224, false, softwareKernel)
	if err != nil {
		t.Fatal(err)
	}
	ds := p.dispatches()
	if len(ds) != len(p.steps) {
		t.Fatalf("%d dispatches for %d steps", len(ds), len(p.steps))
	}
	first, pool, last := ds[1], ds[2], ds[len(ds)-1]
	if ds[0].Layer != "image" {
		t.Errorf("first dispatch %+v, want the image's padding", ds[0])
	}
	if first.Layer != "conv1" || first.Kernel != "conv 7x7/2" || first.Output != "112x112x64" || first.Workgroups != 196 {
		t.Errorf("stem described as %+v", first)
	}
	if pool.Layer != "maxpool" || pool.Output != "56x56x64" {
		t.Errorf("max-pool described as %+v", pool)
	}
	if last.Layer != "fc" || last.Kernel != "conv 1x1/1" || last.Tile != "direct" || last.Output != "1x1x1000" || last.FLOPs != 2*512*1000 {
		t.Errorf("fc described as %+v", last)
	}
	var flops int64
	for _, d := range ds {
		flops += d.FLOPs
	}
	if gmacs := float64(flops) / 2e9; gmacs < 1.81 || gmacs > 1.83 {
		t.Errorf("%.3f GMACs in all, want 1.82", gmacs)
	}
}

// TestKernels checks which kernels conv2d.wgsl and convdirect.wgsl accept: the default tiling,
// the ones bench/gpu measures, and refusals for shapes its const_asserts or
// WebGPU's default limits rule out.
func TestKernels(t *testing.T) {
	for _, s := range append([]string{"32x32x32/4"}, "16x32x32/2", "64x64x16/8", "64x64x32/4", "128x64x16/8", "16x64x32/2:8", "direct") {
		if _, err := parseKernel(s); err != nil {
			t.Errorf("parseKernel(%q): %v", s, err)
		}
	}
	for _, s := range []string{"32x32x32", "32x30x32/4", "128x64x32/4", "128x128x16/8", "8x64x32/1", " 32x32x32/4", "16x64x32/2:0", "16x64x32/2:", "16x64x32/2:1", "direct/16", "direct:2"} {
		if _, err := parseKernel(s); err == nil {
			t.Errorf("parseKernel(%q) accepted it", s)
		}
	}
}

// TestGPUKernels pins the per-layer choice for GPUs on ResNet-50 at
// 224x224 to what the H200 measurements favoured (see gpuKernel).
func TestGPUKernels(t *testing.T) {
	p, err := compile(randomPlan(t, arch.Standard(50)), 224, 224, false, gpuKernel)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"conv1":                 "64x32x32/4",   // 7x7 on RGB: a short reduction over a large map
		"layer1.0.conv3":        "64x32x32/4",   // 1x1 to 256 channels at 56x56
		"layer1.0.conv2":        "16x32x32/2:4", // 3x3 at 56x56x64
		"layer2.0.downsample.0": "16x64x32/2",   // 1x1 from 256 channels at 28x28
		"layer2.1.conv2":        "16x32x32/2:6", // 36 K tiles in 6 splits
		"layer3.1.conv2":        "16x32x32/2:8",
		"layer4.2.conv2":        "16x32x32/2:8", // 7x7x512 3x3: 64 tiles, 4608 long
	}
	for _, d := range p.dispatches() {
		if w, ok := want[d.Layer]; ok && d.Tile != "" && d.Tile != w {
			t.Errorf("%s (%s %s): kernel %s, want %s", d.Layer, d.Kernel, d.Output, d.Tile, w)
		}
	}
}

// TestSoftwareKernels pins the software adapter's choice: large tiles on
// maps of 32 positions and more, the direct kernel below and for the fc,
// never split; GPUs keep matvec.wgsl for the fc.
func TestSoftwareKernels(t *testing.T) {
	plan := randomPlan(t, arch.Standard(18))
	p, err := compile(plan, 32, 32, false, softwareKernel)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range p.dispatches() {
		if d.Tile == "" {
			continue
		}
		var h, w, c int
		if _, err := fmt.Sscanf(d.Output, "%dx%dx%d", &h, &w, &c); err != nil {
			t.Fatal(err)
		}
		want := softwareTile.String()
		if h*w < softwareSmallMap {
			want = directKernel.String()
		}
		if d.Tile != want {
			t.Errorf("%s (%s): kernel %s, want %s", d.Layer, d.Output, d.Tile, want)
		}
	}
	if last := p.dispatches()[len(p.steps)-1]; last.Layer != "fc" || last.Tile != directKernel.String() {
		t.Errorf("software: the last dispatch is %s %s %q, want the fc as a direct conv", last.Layer, last.Kernel, last.Tile)
	}
	p, err = compile(plan, 32, 32, false, gpuKernel)
	if err != nil {
		t.Fatal(err)
	}
	if last := p.dispatches()[len(p.steps)-1]; last.Layer != "fc" || last.Kernel != "matvec" {
		t.Errorf("gpu: the last dispatch is %s %s, want the fc as matvec", last.Layer, last.Kernel)
	}
}

// TestDirectKernelBounded: forced on every conv, the direct kernel is
// refused where a map has more positions than its threads can keep.
func TestDirectKernelBounded(t *testing.T) {
	plan := randomPlan(t, arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10})
	direct := func(step) convKernel { return directKernel }
	if _, err := compile(plan, 32, 32, false, direct); err != nil { // the stem's 16x16 map: 256 positions
		t.Errorf("32x32: %v", err)
	}
	if _, err := compile(plan, 34, 34, false, direct); err == nil || !strings.Contains(err.Error(), "direct conv kernel") {
		t.Errorf("34x34 (a 17x17 stem output): err %v, want the direct kernel refused", err)
	}
}

// TestProgramFollowsSchedule checks that for every architecture the
// dispatches are the steps of the schedule the CPU engine runs at the
// same input size (engine.Plan.Schedule), in its order, with its buffers,
// except where a conv writes over its shortcut on the CPU: there the GPU
// writes the step's spare and swaps the two buffers' names (see compile);
// and each conv is the step's, trimmed to the taps that read a pixel.
// Following which step's output each buffer holds, every dispatch reads
// what its step reads, and none writes a buffer it reads.
func TestProgramFollowsSchedule(t *testing.T) {
	split := convKernel{tile: convTile{m: 16, n: 32, k: 32, threadM: 2}, split: 3}
	for _, depth := range []int{18, 34, 50, 101, 152} {
		for _, variant := range []arch.Variant{arch.V1_5, arch.V1} {
			cfg := arch.Standard(depth)
			cfg.Variant = variant
			plan, err := engine.Layout(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{32, 224} {
				for name, choose := range map[string]func(step) convKernel{
					"software": softwareKernel, "split 3": func(step) convKernel { return split },
				} {
					p, err := compile(plan, n, n, true, choose)
					if err != nil {
						t.Fatal(err)
					}
					if err := followsSchedule(plan, plan.Schedule(n), p); err != nil {
						t.Errorf("%s %s at %dx%d, %s kernels: %v", cfg.Name(), variant, n, n, name, err)
					}
				}
			}
		}
	}
}

// followsSchedule checks program p of plan against schedule s (see
// TestProgramFollowsSchedule).
func followsSchedule(plan *engine.Plan, s engine.Schedule, p *program) error {
	steps := p.steps
	if first := steps[0]; first.op != opImage || first.src != bufImage || first.dst != bufInput {
		return fmt.Errorf("the first dispatch is %+v, not the image's padding", first)
	}
	if last := steps[len(steps)-1]; last.op != opSoftmax || last.src != bufLogits {
		return fmt.Errorf("the last dispatch is %+v, not the softmax of the logits", last)
	}
	// The layers: each dispatch but those two, a split-K conv and its sum
	// as one.
	var layers []step
	for i := 1; i < len(steps)-1; i++ {
		d := steps[i]
		if d.dst == d.src || d.dst == d.residual {
			return fmt.Errorf("dispatch %d writes buffer %d, which it reads", i, d.dst)
		}
		if d.op == opConv && d.dst == bufPartials {
			sum := steps[i+1]
			if sum.op != opSplitSum || sum.conv != d.conv || sum.dst == sum.residual {
				return fmt.Errorf("dispatch %d is %+v, not the split-K sum of dispatch %d", i+1, sum, i)
			}
			d.dst, d.residual, d.relu = sum.dst, sum.residual, sum.relu
			i++
		}
		layers = append(layers, d)
	}
	if len(layers) != len(s.Steps) {
		return fmt.Errorf("%d layers, the schedule has %d steps", len(layers), len(s.Steps))
	}
	ops := map[engine.Op]opKind{engine.OpConv: opConv, engine.OpDownsample: opConv, engine.OpMaxPool: opMaxPool,
		engine.OpAvgPool: opAvgPool, engine.OpFC: opMatVec}
	convs := plan.Convs()
	// The program's buffer of each of the schedule's, and which step's
	// output each buffer holds, on the CPU and on the GPU.
	name := map[engine.Buffer]bufferID{engine.NoBuffer: noBuffer, engine.Image: bufInput,
		engine.Features: bufFeatures, engine.Logits: bufLogits}
	cpu := map[engine.Buffer]string{engine.Image: "the image"}
	gpu := map[bufferID]string{bufInput: "the image"}
	for b := range engine.ActivationBuffers {
		name[engine.Buffer(b)] = bufferID(b)
	}
	for k, st := range s.Steps {
		d := layers[k]
		out := name[st.Out]
		if st.OverShortcut() {
			out = name[st.Spare]
		}
		op := ops[st.Op]
		if st.Op == engine.OpFC && d.kernel.direct {
			op = opConv
		}
		switch {
		case d.op != op || st.Conv >= 0 && d.conv.Conv != convs[st.Conv].Trimmed(d.inH, d.inW).Conv || d.relu != st.ReLU:
			return fmt.Errorf("layer %d is %+v, the schedule's step %+v", k, d, st)
		case d.src != name[st.In] || d.residual != name[st.Shortcut] || d.dst != out:
			return fmt.Errorf("layer %d reads %d and %d and writes %d, the schedule's step %+v reads %d and %d and writes %d",
				k, d.src, d.residual, d.dst, st, name[st.In], name[st.Shortcut], out)
		case gpu[d.src] != cpu[st.In]:
			return fmt.Errorf("layer %d reads %q, the schedule %q", k, gpu[d.src], cpu[st.In])
		case st.Shortcut != engine.NoBuffer && gpu[d.residual] != cpu[st.Shortcut]:
			return fmt.Errorf("layer %d adds %q, the schedule %q", k, gpu[d.residual], cpu[st.Shortcut])
		case st.Op == engine.OpAvgPool && p.featureMap != d.src:
			return fmt.Errorf("the feature map is buffer %d, the average pool reads %d", p.featureMap, d.src)
		}
		if st.OverShortcut() {
			name[st.Out], name[st.Spare] = name[st.Spare], name[st.Out]
		}
		cpu[st.Out], gpu[d.dst] = fmt.Sprint("step ", k), fmt.Sprint("step ", k)
	}
	return nil
}
