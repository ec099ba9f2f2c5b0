package kernel

// kernelSet is one implementation of the two innermost loops.
type kernelSet struct {
	// micro sets c to the MR x NR product of a (MR rows of kc values, lda
	// apart) and b (a packed panel, kc x NR).
	micro func(kc int, a []float32, lda int, b []float32, c *[mr * nr]float32)
	// store merges one full tile row into the output and runs the epilogue.
	store func(out, t []float32, first bool, bias, res []float32, relu bool)
}

// generic is the plain-Go kernel set: the reference every SIMD set is tested
// against, and the kernels of builds without SIMD.
var generic = kernelSet{microKernelGeneric, storeRowGeneric}

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
