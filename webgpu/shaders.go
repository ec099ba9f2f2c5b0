package webgpu

import (
	_ "embed"
	"fmt"
	"strings"
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
	// matvec.wgsl: a workgroup computes 8 vec4s of outputs (32 classes),
	// each summed by 32 threads over a 32nd of the features, then added up
	// in workgroup memory: 1000 classes make 32 workgroups, and each
	// thread's 8 neighbours read 128 contiguous bytes of weights.
	matvecColumns = 8
	matvecSlices  = 32
)

// maxWorkgroupsPerDimension is the WebGPU default of
// maxComputeWorkgroupsPerDimension, which every device offers.
const maxWorkgroupsPerDimension = 65535

var (
	//go:embed image.wgsl
	imageWGSL string
	//go:embed conv2d.wgsl
	conv2dWGSL string
	//go:embed conv.wgsl
	convWGSL string
	//go:embed convdirect.wgsl
	convdirectWGSL string
	//go:embed epilogue.wgsl
	epilogueWGSL string
	//go:embed splitsum.wgsl
	splitsumWGSL string
	//go:embed matvec.wgsl
	matvecWGSL string
	//go:embed maxpool.wgsl
	maxpoolWGSL string
	//go:embed avgpool.wgsl
	avgpoolWGSL string
	//go:embed softmax.wgsl
	softmaxWGSL string
)

// source returns the WGSL of step s when p is computed at precision prec:
// the prelude of storage types, tile sizes and switches that the .wgsl file
// expects, then the file. Steps with the same source share a pipeline.
func (p *program) source(s step, prec precision) string {
	var b strings.Builder
	if prec.arithmetic() == "f16" {
		b.WriteString("enable f16;\n")
	}
	// calc is the type conv2d.wgsl computes in; the other shaders compute in f32.
	fmt.Fprintf(&b, "alias calc = %s;\n", prec.arithmetic())
	alias := func(name string, stored precision) { b.WriteString(storageType(name, stored)) }
	constant := func(name string, v any) {
		if n, ok := v.(int); ok {
			v = fmt.Sprintf("%du", n)
		}
		fmt.Fprintf(&b, "const %s = %v;\n", name, v)
	}
	if s.op != opSoftmax { // softmax reads and writes f32 logits; image reads plain f32
		alias("in4", p.stored(s.src, prec))
		alias("out4", p.stored(s.dst, prec))
	}
	switch s.op {
	case opImage:
		constant("WORKGROUP", elementWorkgroup)
		b.WriteString(imageWGSL)
	case opConv:
		alias("weight4", prec)
		constant("RESIDUAL", s.residual != noBuffer)
		constant("RELU", s.relu)
		constant("F16_ARITHMETIC", prec.arithmetic() == "f16")
		b.WriteString(convWGSL)
		b.WriteString(epilogueWGSL)
		if s.kernel.direct {
			oh, ow := s.outSize()
			constant("POSITIONS", oh*ow)
			constant("WORKGROUP", directWorkgroup)
			b.WriteString(convdirectWGSL)
			break
		}
		t := s.kernel.tile
		constant("TILE_M", t.m)
		constant("TILE_N", t.n)
		constant("TILE_K", t.k)
		constant("THREAD_M", t.threadM)
		c := s.conv
		constant("POINTWISE", c.Kernel == 1 && c.Stride == 1 && c.Pad == 0)
		constant("SPLIT", s.kernel.split > 1)
		b.WriteString(conv2dWGSL)
	case opSplitSum:
		constant("WORKGROUP", elementWorkgroup)
		constant("RESIDUAL", s.residual != noBuffer)
		constant("RELU", s.relu)
		b.WriteString(epilogueWGSL)
		b.WriteString(splitsumWGSL)
	case opMatVec:
		alias("weight4", prec)
		constant("COLUMNS", matvecColumns)
		constant("SLICES", matvecSlices)
		b.WriteString(matvecWGSL)
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

// storageType declares the WGSL type name for four values stored as
// stored says, with name_f32 and name_calc to read them as a vec4<f32> and
// a vec4<calc>, and to_name to store a vec4<f32>. With f16 storage the
// values are packed two to a u32 (pack2x16float, core WGSL): the same
// bytes as the vec4<f16> of f16 arithmetic, without needing shader-f16.
func storageType(name string, stored precision) string {
	var format string
	switch stored {
	case precF16Storage:
		format = `alias %[1]s = vec2<u32>;
fn %[1]s_f32(v: %[1]s) -> vec4<f32> { return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y)); }
fn %[1]s_calc(v: %[1]s) -> vec4<calc> { return %[1]s_f32(v); }
fn to_%[1]s(v: vec4<f32>) -> %[1]s { return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw)); }
`
	case precF16Arithmetic:
		format = `alias %[1]s = vec4<f16>;
fn %[1]s_f32(v: %[1]s) -> vec4<f32> { return vec4<f32>(v); }
fn %[1]s_calc(v: %[1]s) -> vec4<calc> { return v; }
fn to_%[1]s(v: vec4<f32>) -> %[1]s { return vec4<f16>(v); }
`
	default:
		format = `alias %[1]s = vec4<f32>;
fn %[1]s_f32(v: %[1]s) -> vec4<f32> { return v; }
fn %[1]s_calc(v: %[1]s) -> vec4<calc> { return vec4<calc>(v); }
fn to_%[1]s(v: vec4<f32>) -> %[1]s { return v; }
`
	}
	return fmt.Sprintf(format, name)
}

// stored is how buffer id holds its values when p runs at precision prec.
func (p *program) stored(id bufferID, prec precision) precision {
	if p.buffers[id].exact {
		return precF32
	}
	return prec
}

// params returns the uniform block of step s, in the field order of its
// shader's struct.
func (s step) params() []uint32 {
	oh, ow := s.outSize()
	c4 := uint32(pad4(s.channels) / 4)
	switch s.op {
	case opImage:
		return []uint32{uint32(s.inH*s.inW) * c4, uint32(s.channels), c4}
	case opConv:
		c := s.conv
		k4 := c.Kernel * c.Kernel * int(c4)
		return []uint32{uint32(s.inH), uint32(s.inW), c4, uint32(ow), uint32(pad4(c.Out) / 4),
			uint32(oh * ow), uint32(k4), uint32(c.Kernel), uint32(c.Stride), uint32(c.Pad), uint32(s.kernel.splitK4(k4))}
	case opSplitSum:
		n := uint32(oh * ow * pad4(s.conv.Out) / 4)
		return []uint32{n, uint32(s.kernel.split), uint32(pad4(s.conv.Out) / 4)}
	case opMatVec:
		return []uint32{c4, uint32(pad4(s.conv.Out) / 4)}
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
func (s step) workgroups() (x, y, z int) {
	oh, ow := s.outSize()
	c4 := pad4(s.outChannels()) / 4
	switch s.op {
	case opConv:
		if s.kernel.direct {
			return ceilDiv(c4, directWorkgroup), 1, 1
		}
		return ceilDiv(c4, s.kernel.tile.n/4), ceilDiv(oh*ow, s.kernel.tile.m), s.kernel.split
	case opImage, opSplitSum, opMaxPool:
		x, y := grid(ceilDiv(oh*ow*c4, elementWorkgroup))
		return x, y, 1
	case opMatVec:
		return ceilDiv(c4, matvecColumns), 1, 1
	case opAvgPool:
		return ceilDiv(c4, elementWorkgroup), 1, 1
	default: // opSoftmax
		return 1, 1, 1
	}
}

// grid spreads n workgroups over x and y so that neither exceeds
// maxWorkgroupsPerDimension; the shader skips the surplus of the last row.
func grid(n int) (x, y int) {
	x = min(n, maxWorkgroupsPerDimension)
	return x, ceilDiv(n, x)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
