package webgpu

import "fmt"

// limits are the device limits a program must fit. Every buffer is bound
// whole (activations) or is one conv's weights, so each must fit both.
type limits struct {
	maxStorageBufferBindingSize int64
	maxBufferSize               int64
}

// check refuses a program with a buffer over a device limit when stored as
// st. Nothing is split: at ResNet sizes the largest buffer (ResNet-50's
// activations at 1024x1024, 64 MiB in f32) is half the 128 MiB binding
// size every device offers, so only unusually wide networks or huge class
// counts can be refused.
func (p *program) check(lim limits, st precision) error {
	fits := func(what string, bytes int64) error {
		switch {
		case bytes > lim.maxBufferSize:
			return &LimitError{What: what, Bytes: bytes, Limit: lim.maxBufferSize, LimitName: "maxBufferSize"}
		case bytes > lim.maxStorageBufferBindingSize:
			return &LimitError{What: what, Bytes: bytes, Limit: lim.maxStorageBufferBindingSize, LimitName: "maxStorageBufferBindingSize"}
		}
		return nil
	}
	for _, b := range p.buffers {
		if err := fits(fmt.Sprintf("the activations of a %dx%d input", p.inW, p.inH), b.bytes(st)); err != nil {
			return err
		}
	}
	for _, s := range p.steps {
		if s.op == opConv || s.op == opMatVec {
			c := s.conv
			if err := fits("the weights of "+c.Name, int64(c.Kernel*c.Kernel*pad4(c.In)*pad4(c.Out)*st.size())); err != nil {
				return err
			}
		}
	}
	return nil
}

// bytes is the size of b when activations are stored as st.
func (b buffer) bytes(st precision) int64 {
	if b.exact {
		return int64(b.values) * 4
	}
	return int64(b.values) * int64(st.size())
}
