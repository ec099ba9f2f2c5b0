package kernel

// kernelSet is one implementation of the two innermost loops.
type kernelSet struct {
	// micro sets c to the MR x NR product of a (MR rows of kc values, lda
	// apart) and b (a packed panel, kc x NR).
	micro func(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32)
	// store merges one full tile row into the output and runs the epilogue.
	store func(out, t []float32, first bool, bias, res []float32, relu bool)
	// microStore, where a set has it, is micro followed by store on every
	// row, without the round trip through memory: out and res hold MR rows
	// ldc apart. Short K makes that round trip a large part of the work.
	microStore func(kc int, a []float32, lda int, b []float32, out []float32, ldc int, first bool, bias, res []float32, relu bool)
	// winoIn and winoOut are Winograd's per-tile transforms over channels.
	winoIn  func(out, d *[winogradTiles][]float32)
	winoOut func(out *[4][]float32, m *[winogradTiles][]float32, bias []float32, res *[4][]float32, relu bool)
	// maxInto sets out[i] = max(out[i], in[i]) (max-pooling).
	maxInto func(out, in []float32)
}

// generic is the plain-Go kernel set: the reference every SIMD set is tested
// against, and the kernels of builds without SIMD.
var generic = kernelSet{microKernelGeneric, storeRowGeneric, nil, winogradInGeneric, winogradOutGeneric, maxIntoGeneric}

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

// winogradInGeneric computes V = Bᵀ d B channel by channel, where d[i] is
// element i (row-major) of the 4x4 input tile and out[i] of V.
// Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
func winogradInGeneric(out, d *[winogradTiles][]float32) {
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

// winogradOutGeneric computes the 2x2 output Y = Aᵀ M A channel by channel
// and writes relu?(Y + bias + res) to out[k] for each output pixel k that
// is not nil. Aᵀ = [1 1 1 0; 0 1 -1 -1].
func winogradOutGeneric(out *[4][]float32, m *[winogradTiles][]float32, bias []float32, res *[4][]float32, relu bool) {
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
			if out[k] == nil {
				continue
			}
			v += bias[co]
			if res[k] != nil {
				v += res[k][co]
			}
			if relu {
				v = max(v, 0)
			}
			out[k][co] = v
		}
	}
}
