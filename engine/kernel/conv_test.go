package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveConv is the textbook definition the GEMM must reproduce, in float64.
func naiveConv(src, w []float32, g Conv, ep Epilogue) []float32 {
	oh, ow := g.OutH(), g.OutW()
	out := make([]float32, oh*ow*g.OutC)
	for oy := range oh {
		for ox := range ow {
			for o := range g.OutC {
				sum := float64(ep.Bias[o])
				for ci := range g.InC {
					for ky := range g.KH {
						for kx := range g.KW {
							iy, ix := oy*g.Stride-g.Pad+ky, ox*g.Stride-g.Pad+kx
							if iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW {
								continue
							}
							sum += float64(src[(iy*g.InW+ix)*g.InC+ci]) * float64(w[((o*g.InC+ci)*g.KH+ky)*g.KW+kx])
						}
					}
				}
				i := (oy*ow+ox)*g.OutC + o
				if ep.Residual != nil {
					sum += float64(ep.Residual[i])
				}
				if ep.ReLU {
					sum = math.Max(sum, 0)
				}
				out[i] = float32(sum)
			}
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// convCases cover 1x1, 3x3 and 7x7 kernels, strides 1 and 2, edge tiles in
// M and N, and K longer than one cache block.
var convCases = []Conv{
	{InH: 5, InW: 7, InC: 3, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 5},
	{InH: 9, InW: 9, InC: 8, KH: 1, KW: 1, Stride: 1, Pad: 0, OutC: 32},
	{InH: 9, InW: 9, InC: 8, KH: 1, KW: 1, Stride: 2, Pad: 0, OutC: 17},
	{InH: 16, InW: 16, InC: 3, KH: 7, KW: 7, Stride: 2, Pad: 3, OutC: 16},
	{InH: 7, InW: 7, InC: 64, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 24},
	{InH: 14, InW: 14, InC: 40, KH: 3, KW: 3, Stride: 2, Pad: 1, OutC: 40},
	{InH: 11, InW: 11, InC: 300, KH: 1, KW: 1, Stride: 1, Pad: 0, OutC: 33},
}

// convRunner computes a convolution of geometry g with OIHW weights w.
type convRunner func(t *testing.T, dst, src, w []float32, g Conv, ep Epilogue, ws *Workspace)

func runGEMM(t *testing.T, dst, src, w []float32, g Conv, ep Epilogue, ws *Workspace) {
	pw, err := PackWeights(w, g.OutC, g.InC, g.KH, g.KW)
	if err != nil {
		t.Fatal(err)
	}
	Conv2D(dst, src, g, pw, ep, ws)
}

// winogradRunner runs Conv3x3Winograd with the given tile.
func winogradRunner(tile WinogradTile) convRunner {
	return func(t *testing.T, dst, src, w []float32, g Conv, ep Epilogue, ws *Workspace) {
		pw, err := PackWeights(w, g.OutC, g.InC, 3, 3)
		if err != nil {
			t.Fatal(err)
		}
		Conv3x3Winograd(dst, src, g, pw, tile, ep, ws)
	}
}

// checkAgainstNaive runs each case with kernel set ks, with and without a
// residual, and compares with the naive float64 convolution; slack scales
// the float32 rounding error allowed.
func checkAgainstNaive(t *testing.T, kernelName string, ks kernelSet, cases []Conv, run convRunner, slack float64) {
	saved := active
	active = ks
	defer func() { active = saved }()
	r := rand.New(rand.NewPCG(1, 2))
	ws := NewWorkspace()
	for _, g := range cases {
		for _, withRes := range []bool{false, true} {
			src := randSlice(r, g.InH*g.InW*g.InC)
			w := randSlice(r, g.OutC*g.InC*g.KH*g.KW)
			ep := Epilogue{Bias: randSlice(r, g.OutC), ReLU: withRes}
			if withRes {
				ep.Residual = randSlice(r, g.M()*g.OutC)
			}
			got := make([]float32, g.M()*g.OutC)
			run(t, got, src, w, g, ep, ws)
			want := naiveConv(src, w, g, ep)
			tol := slack * 1e-5 * math.Sqrt(float64(g.K()))
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s %+v residual=%v: out[%d] = %g, want %g", kernelName, g, withRes, i, got[i], want[i])
				}
			}
		}
	}
}

func checkConv(t *testing.T, kernelName string, ks kernelSet) {
	checkAgainstNaive(t, kernelName, ks, convCases, runGEMM, 1)
}

func TestConv2DGeneric(t *testing.T) { checkConv(t, "generic", generic) }

// TestConv2DSIMD checks every SIMD kernel set this build and CPU can run
// against the same naive reference as the generic kernels.
func TestConv2DSIMD(t *testing.T) {
	t.Logf("backend in use: %s", Backend())
	for name, ks := range simdKernels() {
		checkConv(t, name, ks)
	}
}

// TestOutputOverResidual checks that where OutputOverResidual allows it, a
// conv writing over its residual gives exactly what it gives into another
// buffer, and that it refuses a reduction of several KC blocks.
func TestOutputOverResidual(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ws := NewWorkspace()
	long := Conv{InH: 3, InW: 3, InC: kc/9 + 8, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 8}
	if OutputOverResidual(long, 0) {
		t.Errorf("OutputOverResidual allows K = %d > KC = %d by Conv2D", long.K(), kc)
	}
	for _, tile := range []WinogradTile{0, F2x2, F4x4} {
		cases := convCases
		if tile != 0 {
			cases = append(winogradCases, long)
		}
		for _, g := range cases {
			if !OutputOverResidual(g, tile) {
				t.Fatalf("OutputOverResidual(%+v, %d) is false", g, tile)
			}
			src := randSlice(r, g.InH*g.InW*g.InC)
			pw, _ := PackWeights(randSlice(r, g.OutC*g.InC*g.KH*g.KW), g.OutC, g.InC, g.KH, g.KW)
			res := randSlice(r, g.M()*g.OutC)
			run := func(dst []float32, ep Epilogue) {
				if tile == 0 {
					Conv2D(dst, src, g, pw, ep, ws)
				} else {
					Conv3x3Winograd(dst, src, g, pw, tile, ep, ws)
				}
			}
			bias := randSlice(r, g.OutC)
			want := make([]float32, len(res))
			run(want, Epilogue{Bias: bias, Residual: res, ReLU: true})
			got := slices.Clone(res)
			run(got, Epilogue{Bias: bias, Residual: got, ReLU: true})
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%+v, tile %d, over its residual: out[%d] = %g, want %g", g, tile, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConvRows checks that computing a conv's output rows in two ranges,
// as two workers do, gives exactly the whole conv, and that a range writes
// no other rows: Conv2DRows, and Conv3x3WinogradRows split at a tile row.
func TestConvRows(t *testing.T) {
	type rowsFunc func(dst, src []float32, g Conv, w *PackedWeights, ep Epilogue, ws *Workspace, y0, y1 int)
	winograd := func(tile WinogradTile) rowsFunc {
		return func(dst, src []float32, g Conv, w *PackedWeights, ep Epilogue, ws *Workspace, y0, y1 int) {
			Conv3x3WinogradRows(dst, src, g, w, tile, ep, ws, y0, y1)
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	ws := NewWorkspace()
	for _, tc := range []struct {
		name  string
		cases []Conv
		rows  rowsFunc
		unit  int // row ranges start at multiples of unit
	}{
		{"Conv2DRows", convCases, Conv2DRows, 1},
		{"Conv3x3WinogradRows F(2x2)", winogradCases, winograd(F2x2), 2},
		{"Conv3x3WinogradRows F(4x4)", winogradCases, winograd(F4x4), 4},
	} {
		for _, g := range tc.cases {
			src := randSlice(r, g.InH*g.InW*g.InC)
			pw, err := PackWeights(randSlice(r, g.OutC*g.InC*g.KH*g.KW), g.OutC, g.InC, g.KH, g.KW)
			if err != nil {
				t.Fatal(err)
			}
			ep := Epilogue{Bias: randSlice(r, g.OutC), Residual: randSlice(r, g.M()*g.OutC), ReLU: true}
			want := make([]float32, g.M()*g.OutC)
			tc.rows(want, src, g, pw, ep, ws, 0, g.OutH())
			split := g.OutH() / 2 / tc.unit * tc.unit
			got := make([]float32, len(want))
			tc.rows(got, src, g, pw, ep, ws, 0, split)
			for i := split * g.OutW() * g.OutC; i < len(got); i++ {
				if got[i] != 0 {
					t.Fatalf("%s %+v: rows [0, %d) wrote value %d", tc.name, g, split, i)
				}
			}
			tc.rows(got, src, g, pw, ep, ws, split, g.OutH())
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %+v: split at row %d: out[%d] = %g, want %g", tc.name, g, split, i, got[i], want[i])
				}
			}
		}
	}
}

// TestKernelsAgree checks each SIMD kernel set against the generic one on the
// same packed operands.
func TestKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for name, ks := range simdKernels() {
		for _, k := range []int{1, 2, 7, 64, 256} {
			lda := k + 3 // rows not back to back, as when reading the input in place
			a, b := randSlice(r, (mr-1)*lda+k), randSlice(r, k*nr)
			var want, got [mr * nr]float32
			generic.micro(k, a, lda, b, &want)
			ks.micro(k, a, lda, b, &got)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Sqrt(float64(k))*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("kc=%d: %s tile[%d] = %g, generic %g", k, name, i, got[i], want[i])
				}
			}
		}
		out, want := randSlice(r, nr), make([]float32, nr)
		tile, bias, res := randSlice(r, nr), randSlice(r, nr), randSlice(r, nr)
		copy(want, out)
		generic.store(want, tile, false, bias, res, true)
		ks.store(out, tile, false, bias, res, true)
		for i := range want {
			if math.Abs(float64(out[i]-want[i])) > 1e-6 {
				t.Fatalf("%s store: out[%d] = %g, generic %g", name, i, out[i], want[i])
			}
		}
	}
}

// TestMicroStoreAgrees checks each fused micro-kernel against the generic
// micro-kernel and store, over several tiles, with every epilogue option.
func TestMicroStoreAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const tiles, k, lda, ldc = 3, 19, 23, nr + 5
	for name, ks := range simdKernels() {
		if ks.microStore == nil {
			continue
		}
		a, b := randSlice(r, (tiles*mr-1)*lda+k), randSlice(r, k*nr)
		bias, res, out := randSlice(r, nr), randSlice(r, tiles*mr*ldc), randSlice(r, tiles*mr*ldc)
		for opts := range 16 {
			first, relu := opts&1 != 0, opts&8 != 0
			var b1, r1 []float32
			if opts&2 != 0 {
				b1 = bias
			}
			if opts&4 != 0 {
				r1 = res
			}
			want, got := slices.Clone(out), slices.Clone(out)
			for tile := range tiles {
				var c [mr * nr]float32
				generic.micro(k, a[tile*mr*lda:], lda, b, &c)
				for row := range mr {
					at := (tile*mr + row) * ldc
					var rr []float32
					if r1 != nil {
						rr = r1[at:][:nr]
					}
					generic.store(want[at:][:nr], c[row*nr:][:nr], first, b1, rr, relu)
				}
			}
			ks.microStore(tiles, k, a, lda, b, got, ldc, first, b1, r1, relu)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s, options %04b: out[%d] = %g, generic %g", name, opts, i, got[i], want[i])
				}
			}
		}
	}
}

// TestWinograd checks Conv3x3Winograd with every kernel set against the
// naive convolution.
func TestWinograd(t *testing.T) {
	checkWinograd(t, "generic", generic)
	for name, ks := range simdKernels() {
		checkWinograd(t, name, ks)
	}
}

// winogradCases have odd and even sizes (partial edge tiles), channel
// counts that leave a vector tail, and (7x7x300 to 33) output channels whose
// transformed kernels are made in more than one group.
var winogradCases = []Conv{
	{InH: 5, InW: 7, InC: 3, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 5},
	{InH: 8, InW: 8, InC: 64, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 40},
	{InH: 7, InW: 7, InC: 300, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 33},
	{InH: 1, InW: 1, InC: 16, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 16},
	{InH: 6, InW: 5, InC: 37, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 21},
	{InH: 14, InW: 14, InC: 256, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 24},
	// Several chunks of tile rows (see Conv3x3WinogradRows).
	{InH: 40, InW: 36, InC: 64, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 48},
}

func checkWinograd(t *testing.T, kernelName string, ks kernelSet) {
	checkAgainstNaive(t, kernelName+" F(2x2)", ks, winogradCases, winogradRunner(F2x2), 1)
	// F(4x4)'s transforms scale by up to 8 and 5 and round more often, so
	// its error is a few times F(2x2)'s (whole networks stay within 1e-6 of
	// PyTorch's logits: see the engine's goldens).
	checkAgainstNaive(t, kernelName+" F(4x4)", ks, winogradCases, winogradRunner(F4x4), 4)
}

func TestPackWeightsRejectsWrongSize(t *testing.T) {
	if _, err := PackWeights(make([]float32, 10), 2, 3, 1, 1); err == nil {
		t.Fatal("PackWeights accepted 10 values for a 2x3x1x1 weight")
	}
}

// benchShapes are ResNet-50 convolutions at 224x224 (stage 1 to 4).
var benchShapes = []Conv{
	{InH: 56, InW: 56, InC: 64, KH: 1, KW: 1, Stride: 1, Pad: 0, OutC: 256},
	{InH: 56, InW: 56, InC: 64, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 64},
	{InH: 28, InW: 28, InC: 128, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 128},
	{InH: 14, InW: 14, InC: 1024, KH: 1, KW: 1, Stride: 1, Pad: 0, OutC: 256},
	{InH: 7, InW: 7, InC: 512, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: 512},
	{InH: 224, InW: 224, InC: 3, KH: 7, KW: 7, Stride: 2, Pad: 3, OutC: 64},
}

func BenchmarkConv2D(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, g := range benchShapes {
		b.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d_o%d", g.InH, g.InW, g.InC, g.KH, g.Stride, g.OutC), func(b *testing.B) {
			src := randSlice(r, g.InH*g.InW*g.InC)
			pw, _ := PackWeights(randSlice(r, g.OutC*g.InC*g.KH*g.KW), g.OutC, g.InC, g.KH, g.KW)
			dst := make([]float32, g.M()*g.OutC)
			ep := Epilogue{Bias: make([]float32, g.OutC), ReLU: true}
			ws := NewWorkspace()
			for b.Loop() {
				Conv2D(dst, src, g, pw, ep, ws)
			}
			flops := 2 * float64(g.M()) * float64(g.OutC) * float64(g.K())
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPackWeights packs the weights of two of ResNet's larger convs: a
// model's build time is mostly this (run it as WebAssembly too, where it is
// slowest: GOOS=js GOARCH=wasm go test -exec go_js_wasm_exec).
func BenchmarkPackWeights(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct{ n, c, k int }{{512, 512, 3}, {2048, 512, 1}} {
		w := randSlice(r, s.n*s.c*s.k*s.k)
		b.Run(fmt.Sprintf("o%d_c%d_k%d", s.n, s.c, s.k), func(b *testing.B) {
			for b.Loop() {
				if _, err := PackWeights(w, s.n, s.c, s.k, s.k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWinograd runs ResNet's stride-1 3x3 convolutions at 224x224 with
// both tiles; GFLOP/s counts the direct convolution's work, so the figures
// compare with BenchmarkConv2D's.
func BenchmarkWinograd(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][2]int{{56, 64}, {28, 128}, {14, 256}, {7, 512}} {
		for _, tile := range []WinogradTile{F2x2, F4x4} {
			side, c := s[0], s[1]
			g := Conv{InH: side, InW: side, InC: c, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: c}
			b.Run(fmt.Sprintf("%dx%dx%d_F%dx%d", side, side, c, tile, tile), func(b *testing.B) {
				src := randSlice(r, side*side*c)
				pw, err := PackWeights(randSlice(r, c*c*9), c, c, 3, 3)
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]float32, side*side*c)
				ep := Epilogue{Bias: make([]float32, c), ReLU: true}
				ws := NewWorkspace()
				for b.Loop() {
					Conv3x3Winograd(dst, src, g, pw, tile, ep, ws)
				}
				flops := 2 * float64(g.M()) * float64(g.OutC) * float64(g.K())
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSmallSides times a 512-channel stride-1 3x3 conv on small
// outputs directly (F0) and with each Winograd tile: the measurement behind
// the engine's choice of algorithm by output side.
func BenchmarkSmallSides(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	const c = 512
	pw, err := PackWeights(randSlice(r, c*c*9), c, c, 3, 3)
	if err != nil {
		b.Fatal(err)
	}
	for _, side := range []int{4, 5, 6, 7} {
		g := Conv{InH: side, InW: side, InC: c, KH: 3, KW: 3, Stride: 1, Pad: 1, OutC: c}
		src := randSlice(r, side*side*c)
		dst := make([]float32, side*side*c)
		ep := Epilogue{Bias: make([]float32, c), ReLU: true}
		ws := NewWorkspace()
		for _, tile := range []WinogradTile{0, F2x2, F4x4} {
			b.Run(fmt.Sprintf("%dx%d_F%d", side, side, tile), func(b *testing.B) {
				for b.Loop() {
					if tile == 0 {
						Conv2D(dst, src, g, pw, ep, ws)
					} else {
						Conv3x3Winograd(dst, src, g, pw, tile, ep, ws)
					}
				}
			})
		}
	}
}

// TestColumns checks that a slice of packed weights, a view or a copy, is
// what packing those output channels alone gives.
func TestColumns(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n, c, k = 3*nr + 5, 7, 3
	w := randSlice(r, n*c*k*k)
	whole, err := PackWeights(w, n, c, k, k)
	if err != nil {
		t.Fatal(err)
	}
	per := c * k * k
	for _, cols := range [][2]int{{0, n}, {nr, 2 * nr}, {2 * nr, n}, {3, nr + 4}, {nr + 1, n}, {5, 5}} {
		lo, hi := cols[0], cols[1]
		want, err := PackWeights(w[lo*per:hi*per], hi-lo, c, k, k)
		if err != nil {
			t.Fatal(err)
		}
		got := whole.Columns(lo, hi)
		if got.K != want.K || got.N != want.N || got.Col0 != lo || !slices.Equal(got.data, want.data) {
			t.Errorf("Columns(%d, %d) = K %d N %d Col0 %d, %d values; want K %d N %d Col0 %d, %d values, and equal", lo, hi, got.K, got.N, got.Col0, len(got.data), want.K, want.N, lo, len(want.data))
		}
	}
}
