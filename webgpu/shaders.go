package webgpu

import (
	_ "embed"
	"fmt"
	"strings"
)

// Tile sizes of conv2d.wgsl. A workgroup computes convTileM output
// positions x convTileN output channels with (convTileN/4) x
// (convTileM/convThreadM) = 8 x 8 threads.
const (
	// 32 positions: the 7x7 maps of the last stage at 224x224 fill two row
	// tiles (77% used), and 112x112 maps give 392 tiles to spread.
	convTileM = 32
	// 32 channels, one vec4 per thread along x: every ResNet width is a
	// multiple of 32 except the narrow test networks, whose edge tiles the
	// op tests cover.
	convTileN = 32
	// 32 reduction values per pair of barriers: the A and B tiles take
	// 8 KiB of workgroup memory (every device offers 16 KiB), and even the
	// 4608-long reductions of the last stage need only 144 rounds.
	convTileK = 32
	// 4 positions per thread: 16 accumulators (4 vec4) per thread, and 8
	// workgroup-memory loads feed 16 vec4 multiply-adds.
	convThreadM = 4
)

// Workgroup sizes of the other kernels.
const (
	// One thread per output vec4 in maxpool.wgsl and avgpool.wgsl: 64 is a
	// multiple of every GPU's SIMD width (32 or 64) without being so large
	// that the 2-workgroup average pools leave most threads idle.
	elementWorkgroup = 64
	// softmax.wgsl reduces in one workgroup: 256 threads, the most every
	// device allows, for up to a few thousand classes in a few strides.
	softmaxWorkgroup = 256
)

// maxWorkgroupsPerDimension is the WebGPU default of
// maxComputeWorkgroupsPerDimension, which every device offers.
const maxWorkgroupsPerDimension = 65535

var (
	//go:embed conv2d.wgsl
	conv2dWGSL string
	//go:embed maxpool.wgsl
	maxpoolWGSL string
	//go:embed avgpool.wgsl
	avgpoolWGSL string
	//go:embed softmax.wgsl
	softmaxWGSL string
)

// source returns the WGSL of step s when p is stored as st: the prelude of
// storage types, tile sizes and switches that the .wgsl file expects, then
// the file. Steps with the same source share a pipeline.
func (p *program) source(s step, st storage) string {
	var b strings.Builder
	if st == storeF16 {
		b.WriteString("enable f16;\n")
	}
	alias := func(name string, t string) { fmt.Fprintf(&b, "alias %s = vec4<%s>;\n", name, t) }
	constant := func(name string, v any) {
		if n, ok := v.(int); ok {
			v = fmt.Sprintf("%du", n)
		}
		fmt.Fprintf(&b, "const %s = %v;\n", name, v)
	}
	if s.op != opSoftmax { // softmax reads and writes f32 logits
		alias("in4", p.scalar(s.src, st))
		alias("out4", p.scalar(s.dst, st))
	}
	switch s.op {
	case opConv:
		alias("weight4", st.wgsl())
		constant("TILE_M", convTileM)
		constant("TILE_N", convTileN)
		constant("TILE_K", convTileK)
		constant("THREAD_M", convThreadM)
		c := s.conv
		constant("POINTWISE", c.Kernel == 1 && c.Stride == 1 && c.Pad == 0)
		constant("RESIDUAL", s.residual != noBuffer)
		constant("RELU", s.relu)
		b.WriteString(conv2dWGSL)
	case opMaxPool:
		constant("WORKGROUP", elementWorkgroup)
		b.WriteString(maxpoolWGSL)
	case opAvgPool:
		constant("WORKGROUP", elementWorkgroup)
		b.WriteString(avgpoolWGSL)
	case opSoftmax:
		constant("WORKGROUP", softmaxWorkgroup)
		b.WriteString(softmaxWGSL)
	}
	return b.String()
}

// scalar is the WGSL type buffer id holds under storage st.
func (p *program) scalar(id bufferID, st storage) string {
	if p.buffers[id].exact {
		return "f32"
	}
	return st.wgsl()
}

// params returns the uniform block of step s, in the field order of its
// shader's struct.
func (s step) params() []uint32 {
	oh, ow := s.outSize()
	c4 := uint32(pad4(s.channels) / 4)
	switch s.op {
	case opConv:
		c := s.conv
		return []uint32{uint32(s.inH), uint32(s.inW), c4, uint32(ow), uint32(pad4(c.Out) / 4),
			uint32(oh * ow), uint32(c.Kernel*c.Kernel) * c4, uint32(c.Kernel), uint32(c.Stride), uint32(c.Pad)}
	case opMaxPool:
		return []uint32{uint32(s.inH), uint32(s.inW), c4, uint32(ow), uint32(oh*ow) * c4,
			uint32(s.pool), uint32(s.stride), uint32(s.poolPad)}
	case opAvgPool:
		return []uint32{uint32(s.inH * s.inW), c4}
	default: // opSoftmax
		return []uint32{uint32(s.channels)}
	}
}

// workgroups returns the dispatch size of step s.
func (s step) workgroups() (x, y int) {
	oh, ow := s.outSize()
	c4 := pad4(s.outChannels()) / 4
	switch s.op {
	case opConv:
		return ceilDiv(c4, convTileN/4), ceilDiv(oh*ow, convTileM)
	case opMaxPool:
		return grid(ceilDiv(oh*ow*c4, elementWorkgroup))
	case opAvgPool:
		return ceilDiv(c4, elementWorkgroup), 1
	default: // opSoftmax
		return 1, 1
	}
}

// grid spreads n workgroups over x and y so that neither exceeds
// maxWorkgroupsPerDimension; the shader skips the surplus of the last row.
func grid(n int) (x, y int) {
	x = min(n, maxWorkgroupsPerDimension)
	return x, ceilDiv(n, x)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
