//go:build !goexperiment.simd || !(amd64 || wasm)

package kernel

// Register tile of the plain build, which runs the generic kernels
// (microkernel_generic.go) only.
const (
	mr = 4
	nr = 8
)

func pickKernels() kernelSet { return generic }

// simdKernels lists the SIMD kernel sets this CPU can run: none here.
func simdKernels() map[string]kernelSet { return nil }

// Backend names the kernels in use, for timings and benchmark reports.
func Backend() string { return "plain Go" }
