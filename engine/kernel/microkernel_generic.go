package kernel

// kernelSet is one implementation of the two innermost loops.
type kernelSet struct {
	// micro sets c to the MR x NR product of a (MR rows of kc values, lda
	// apart) and b (a packed panel, kc x NR).
	micro func(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32)
	// store merges one full tile row into the output and runs the epilogue.
	store func(out, t []float32, first bool, bias, res []float32, relu bool)
	// microStore, where a set has it, is micro followed by store on every
	// row, without the round trip through memory, for tiles consecutive
	// tiles: A rows lda apart, out and res rows ldc apart. Short K makes
	// that round trip a large part of the work; doing several tiles per
	// call saves the calls, which WebAssembly makes costly.
	microStore func(tiles, kc int, a []float32, lda int, b []float32, out []float32, ldc int, first bool, bias, res []float32, relu bool)
	// winoIn and winoOut are Winograd F(2x2, 3x3)'s per-tile transforms
	// over channels, winoW its kernel transform; wino4In, wino4Out and
	// wino4W are F(4x4, 3x3)'s.
	winoIn, wino4In   winoInFunc
	winoOut, wino4Out winoOutFunc
	winoW, wino4W     winoWFunc
	// maxInto sets out[i] = max(out[i], in[i]) (max-pooling).
	maxInto func(out, in []float32)
	// dot returns sum a[i]*b[i] over len(a) (the fully connected layer).
	dot func(a, b []float32) float32
}

// winoInFunc computes V = Bᵀ d B for one tile, channel by channel: d[i] is
// element i (row-major) of the input tile, out[i] of V.
type winoInFunc func(out, d [][]float32)

// winoOutFunc computes Y = Aᵀ M A for one tile, channel by channel, and
// writes relu?(Y + bias + res) to out[k] for each output pixel k
// (row-major) that is not nil; res[k] may be nil.
type winoOutFunc func(out, m [][]float32, bias []float32, res [][]float32, relu bool)

// winoWFunc computes U = G g Gᵀ for n kernels side by side: g[t*gs+k] is
// tap t (row-major) of kernel k, u[i*us+k] gets element i (row-major) of
// its U.
type winoWFunc func(u []float32, us int, g []float32, gs, n int)

// generic is the plain-Go kernel set: the reference every SIMD set is tested
// against, and the kernels of builds without SIMD.
var generic = kernelSet{
	micro: microKernelGeneric, store: storeRowGeneric,
	winoIn: winogradInGeneric, winoOut: winogradOutGeneric,
	wino4In: winograd4InGeneric, wino4Out: winograd4OutGeneric,
	winoW: winogradWeightsGeneric, wino4W: winograd4WeightsGeneric,
	maxInto: maxIntoGeneric, dot: dotGeneric,
}

// dotGeneric sums in four interleaved accumulators, which lets the
// compiler overlap the additions.
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func maxIntoGeneric(out, in []float32) {
	for i, v := range in[:len(out)] {
		out[i] = max(out[i], v)
	}
}

// active is the kernel set this build runs on this CPU.
var active = pickKernels()

// microKernelGeneric is the plain-Go micro-kernel.
func microKernelGeneric(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32) {
	*c = [mr * nr]float32{}
	for k := range kc {
		bv := b[k*nr:][:nr]
		for r := range mr {
			x := a[r*lda+k]
			row := c[r*nr:][:nr]
			for j, y := range bv {
				row[j] += x * y
			}
		}
	}
}

// storeRowGeneric writes out = relu?(t + (first ? 0 : out) + bias + res),
// where a nil bias or res adds nothing.
func storeRowGeneric(out, t []float32, first bool, bias, res []float32, relu bool) {
	for j, v := range t {
		if !first {
			v += out[j]
		}
		if bias != nil {
			v += bias[j]
		}
		if res != nil {
			v += res[j]
		}
		if relu {
			v = max(v, 0)
		}
		out[j] = v
	}
}

// winogradInGeneric is F(2x2, 3x3)'s input transform (a winoInFunc),
// Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
func winogradInGeneric(out, d [][]float32) {
	for ci := range d[0] {
		var p [16]float32
		for i := range p {
			p[i] = d[i][ci]
		}
		var r [16]float32 // Bᵀ d, row by row
		for j := range 4 {
			r[0+j] = p[0+j] - p[8+j]
			r[4+j] = p[4+j] + p[8+j]
			r[8+j] = p[8+j] - p[4+j]
			r[12+j] = p[4+j] - p[12+j]
		}
		for i := range 4 { // (Bᵀ d) B, column by column
			out[i*4+0][ci] = r[i*4+0] - r[i*4+2]
			out[i*4+1][ci] = r[i*4+1] + r[i*4+2]
			out[i*4+2][ci] = r[i*4+2] - r[i*4+1]
			out[i*4+3][ci] = r[i*4+1] - r[i*4+3]
		}
	}
}

// winogradWeightsGeneric is F(2x2, 3x3)'s kernel transform (a winoWFunc),
// G g Gᵀ with the 4x3 G of g4.
func winogradWeightsGeneric(u []float32, us int, g []float32, gs, n int) {
	for k := range n {
		var t [12]float32 // G g: column j from column j of g
		for j := range 3 {
			t[j], t[3+j], t[6+j], t[9+j] = g4(g[j*gs+k], g[(3+j)*gs+k], g[(6+j)*gs+k])
		}
		for i := range 4 { // (G g) Gᵀ: row i from row i
			at := i*4*us + k
			u[at], u[at+us], u[at+2*us], u[at+3*us] = g4(t[i*3], t[i*3+1], t[i*3+2])
		}
	}
}

// g4 multiplies (x0, x1, x2) by F(2x2, 3x3)'s G =
//
//	[ 1    0   0 ]
//	[1/2  1/2 1/2]
//	[1/2 -1/2 1/2]
//	[ 0    0   1 ]
func g4(x0, x1, x2 float32) (y0, y1, y2, y3 float32) {
	s := x0 + x2
	return x0, 0.5 * (s + x1), 0.5 * (s - x1), x2
}

// winogradOutGeneric is F(2x2, 3x3)'s output transform (a winoOutFunc),
// Aᵀ = [1 1 1 0; 0 1 -1 -1].
func winogradOutGeneric(out, m [][]float32, bias []float32, res [][]float32, relu bool) {
	for co := range bias {
		var s [8]float32 // Aᵀ M: two rows of four
		for j := range 4 {
			s[j] = m[j][co] + m[4+j][co] + m[8+j][co]
			s[4+j] = m[4+j][co] - m[8+j][co] - m[12+j][co]
		}
		y := [4]float32{ // (Aᵀ M) A
			s[0] + s[1] + s[2], s[1] - s[2] - s[3],
			s[4] + s[5] + s[6], s[5] - s[6] - s[7],
		}
		for k, v := range y {
			storeWinogradPixel(out, res, k, co, v+bias[co], relu)
		}
	}
}

// storeWinogradPixel writes output pixel k's channel co, v, plus the
// residual, through ReLU, unless the pixel lies past the image edge.
func storeWinogradPixel(out, res [][]float32, k, co int, v float32, relu bool) {
	if out[k] == nil {
		return
	}
	if res[k] != nil {
		v += res[k][co]
	}
	if relu {
		v = max(v, 0)
	}
	out[k][co] = v
}

// winograd4InGeneric is F(4x4, 3x3)'s input transform (a winoInFunc), Bᵀ d B
// with the 6x6 Bᵀ of bt6, each element then scaled by winograd4Scale.
func winograd4InGeneric(out, d [][]float32) {
	for ci := range d[0] {
		var p [36]float32
		for i := range p {
			p[i] = d[i][ci]
		}
		var r [36]float32 // Bᵀ d: column j of the result from column j of d
		for j := range 6 {
			r[j], r[6+j], r[12+j], r[18+j], r[24+j], r[30+j] = bt6(p[j], p[6+j], p[12+j], p[18+j], p[24+j], p[30+j])
		}
		for i := range 6 { // (Bᵀ d) B: row i of the result from row i
			row := r[i*6:]
			v0, v1, v2, v3, v4, v5 := bt6(row[0], row[1], row[2], row[3], row[4], row[5])
			for j, v := range [6]float32{v0, v1, v2, v3, v4, v5} {
				out[i*6+j][ci] = v * winograd4Scale[i*6+j][0]
			}
		}
	}
}

// bt6 multiplies (d0..d5) by F(4x4, 3x3)'s Bᵀ =
//
//	[4  0 -5  0 1 0]
//	[0 -4 -4  1 1 0]
//	[0  4 -4 -1 1 0]
//	[0 -2 -1  2 1 0]
//	[0  2 -1 -2 1 0]
//	[0  4  0 -5 0 1]
func bt6(d0, d1, d2, d3, d4, d5 float32) (t0, t1, t2, t3, t4, t5 float32) {
	return 4*d0 - 5*d2 + d4,
		d3 + d4 - 4*(d1+d2),
		d4 - d3 + 4*(d1-d2),
		d4 - d2 + 2*(d3-d1),
		d4 - d2 - 2*(d3-d1),
		4*d1 - 5*d3 + d5
}

// winograd4WeightsGeneric is F(4x4, 3x3)'s kernel transform (a winoWFunc),
// G g Gᵀ with the 6x3 scaled G of g6.
func winograd4WeightsGeneric(u []float32, us int, g []float32, gs, n int) {
	for k := range n {
		var t [18]float32 // G g: column j from column j of g
		for j := range 3 {
			t[j], t[3+j], t[6+j], t[9+j], t[12+j], t[15+j] = g6(g[j*gs+k], g[(3+j)*gs+k], g[(6+j)*gs+k])
		}
		for i := range 6 { // (G g) Gᵀ: row i from row i
			at := i*6*us + k
			u[at], u[at+us], u[at+2*us], u[at+3*us], u[at+4*us], u[at+5*us] = g6(t[i*3], t[i*3+1], t[i*3+2])
		}
	}
}

// g6 multiplies (x0, x1, x2) by F(4x4, 3x3)'s G with its rows scaled by
// winograd4D to integers,
//
//	[1  0  0]
//	[1  1  1]
//	[1 -1  1]
//	[1  2  4]
//	[1 -2  4]
//	[0  0  1]
//
// which needs one multiply where G needs six: the kernel transform runs on
// every kernel at every inference. The kernels so come out as D U D (D the
// diagonal of winograd4D), and the input transform scales V by the inverse
// (winograd4Scale), which leaves every product U ⊙ V as it was. Under Node
// this made the F(4x4) convs at 28x28, 14x14 and 7x7 11-12% faster
// (BenchmarkWinograd), layer 4's kernels outnumbering its tiles 64 to 1;
// in Chromium, whose compiler is newer, whole networks did not change
// measurably (three alternated runs of bench/run.mjs).
func g6(x0, x1, x2 float32) (y0, y1, y2, y3, y4, y5 float32) {
	s, t, d := x0+x2, x0+4*x2, x1+x1
	return x0, s + x1, s - x1, t + d, t - d, x2
}

// winograd4D scales the rows of F(4x4, 3x3)'s G (see g6).
var winograd4D = [6]float64{4, -6, -6, 24, 24, 1}

// winograd4Scale[i][:] is 1/(d_a d_b) for element i = 6a + b of V, the
// inverse of what g6's scaled G multiplies element i of U by, repeated for
// the widest vector.
var winograd4Scale = func() (s [36][16]float32) {
	for i := range s {
		for j := range s[i] {
			s[i][j] = float32(1 / (winograd4D[i/6] * winograd4D[i%6]))
		}
	}
	return s
}()

// winograd4OutGeneric is F(4x4, 3x3)'s output transform (a winoOutFunc),
// Aᵀ M A with the 4x6 Aᵀ of at6.
func winograd4OutGeneric(out, m [][]float32, bias []float32, res [][]float32, relu bool) {
	for co := range bias {
		var s [24]float32 // Aᵀ M: column j from column j of M
		for j := range 6 {
			s[j], s[6+j], s[12+j], s[18+j] = at6(m[j][co], m[6+j][co], m[12+j][co], m[18+j][co], m[24+j][co], m[30+j][co])
		}
		for i := range 4 { // (Aᵀ M) A: row i from row i
			row := s[i*6:]
			y0, y1, y2, y3 := at6(row[0], row[1], row[2], row[3], row[4], row[5])
			for k, v := range [4]float32{y0, y1, y2, y3} {
				storeWinogradPixel(out, res, i*4+k, co, v+bias[co], relu)
			}
		}
	}
}

// at6 multiplies (m0..m5) by F(4x4, 3x3)'s Aᵀ =
//
//	[1 1  1 1  1 0]
//	[0 1 -1 2 -2 0]
//	[0 1  1 4  4 0]
//	[0 1 -1 8 -8 1]
func at6(m0, m1, m2, m3, m4, m5 float32) (y0, y1, y2, y3 float32) {
	a, b := m1+m2, m1-m2
	c, d := m3+m4, m3-m4
	return m0 + a + c, b + 2*d, a + 4*c, b + 8*d + m5
}
