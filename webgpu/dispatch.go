package webgpu

import "fmt"

// Dispatch describes one dispatch of an inference and, from Model.Profile,
// its time on the GPU.
type Dispatch struct {
	Layer      string // the conv's tensor prefix ("layer1.0.conv1", "fc"), or "image", "maxpool", "avgpool", "softmax"
	Kernel     string // e.g. "conv 3x3/2", "maxpool 3x3/2"
	Tile       string // a conv's kernel, "MxNxK/T" or "MxNxK/T:S" (see Options.ConvKernel)
	Output     string // height x width x channels, e.g. "56x56x64"
	Workgroups int
	FLOPs      int64 // 2 per multiply-add; 0 for pooling and softmax
	GPUNanos   int64 // from timestamp queries; 0 until profiled
}

// dispatches describes the program's steps in order.
func (p *program) dispatches() []Dispatch {
	out := make([]Dispatch, len(p.steps))
	for i, s := range p.steps {
		oh, ow := s.outSize()
		x, y, z := s.workgroups()
		d := Dispatch{Output: fmt.Sprintf("%dx%dx%d", oh, ow, s.outChannels()), Workgroups: x * y * z}
		switch s.op {
		case opImage:
			d.Layer, d.Kernel = "image", "pad channels"
		case opConv, opMatVec:
			c := s.conv
			d.Layer, d.Kernel = c.Name, fmt.Sprintf("conv %dx%d/%d", c.Kernel, c.Kernel, c.Stride)
			d.FLOPs = 2 * int64(oh*ow) * int64(c.Out) * int64(c.Kernel*c.Kernel*c.In)
			if s.op == opConv {
				d.Tile = s.kernel.String()
			} else {
				d.Kernel = "matvec"
			}
		case opSplitSum:
			d.Layer, d.Kernel = s.conv.Name, fmt.Sprintf("split-K sum of %d", s.kernel.split)
		case opMaxPool:
			d.Layer, d.Kernel = "maxpool", fmt.Sprintf("maxpool %dx%d/%d", s.pool, s.pool, s.stride)
		case opAvgPool:
			d.Layer, d.Kernel = "avgpool", fmt.Sprintf("avgpool %dx%d", s.inH, s.inW)
		case opSoftmax:
			d.Layer, d.Kernel = "softmax", "softmax"
		}
		out[i] = d
	}
	return out
}
