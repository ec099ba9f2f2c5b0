package webgpu

import "github.com/inbrowser/resnet/engine"

// Every channel count is padded to a multiple of 4 in GPU memory, so the
// shaders read and write whole vec4s: a tap's input channels and a thread's
// output channels never straddle a vec4, and the RGB input becomes RGB0.
// Padded channels hold zeros throughout: their weights and biases are zero.

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }

// unpadChannels drops the channel padding of an NHWC tensor of c channels.
func unpadChannels(x []float32, c int) []float32 {
	cp := pad4(c)
	out := make([]float32, 0, len(x)/cp*c)
	for p := 0; p+cp <= len(x); p += cp {
		out = append(out, x[p:p+c]...)
	}
	return out
}

// convWeights lays out a folded conv's OIHW weights as the implicit GEMM's
// B matrix [ky][kx][ci][co], ci and co padded to multiples of 4, so that a
// vec4 load reads four neighbouring output channels of one reduction row.
func convWeights(fc *engine.FoldedConv) []float32 {
	k, ci4, co4 := fc.Kernel, pad4(fc.In), pad4(fc.Out)
	b := make([]float32, k*k*ci4*co4)
	for o := range fc.Out {
		for ci := range fc.In {
			for ky := range k {
				for kx := range k {
					row := (ky*k+kx)*ci4 + ci
					b[row*co4+o] = fc.Weight[((o*fc.In+ci)*k+ky)*k+kx]
				}
			}
		}
	}
	return b
}

// convBias pads a folded conv's bias to the padded output channels.
func convBias(fc *engine.FoldedConv) []float32 {
	b := make([]float32, pad4(fc.Out))
	copy(b, fc.Bias)
	return b
}
