package checkpoint

import (
	"archive/zip"
	"bytes"
	"strconv"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
)

// resnet18Files builds a ResNet-18 sized checkpoint (11.7M values) as
// safetensors and as a torch.save-style .pth, one storage per tensor.
func resnet18Files(b *testing.B) (st, pth []byte) {
	n, err := arch.Standard(18).Build()
	if err != nil {
		b.Fatal(err)
	}
	c := &Checkpoint{Tensors: map[string]*Tensor{}}
	var ts []pt
	recs := []rec{{}}
	for i, w := range n.Tensors() {
		k, _ := numel(w.Shape)
		data := make([]float32, k)
		for j := range data {
			data[j] = float32(j%97) * 0.01
		}
		c.Names = append(c.Names, w.Name)
		c.Tensors[w.Name] = &Tensor{Shape: w.Shape, Data: data}
		stride := make([]int, len(w.Shape))
		s := 1
		for d := len(w.Shape) - 1; d >= 0; d-- {
			stride[d] = s
			s *= w.Shape[d]
		}
		key := strconv.Itoa(i)
		ts = append(ts, pt{w.Name, "FloatStorage", key, k, 0, w.Shape, stride})
		recs = append(recs, rec{"resnet18/data/" + key, f32bytes(data...)})
	}
	recs[0] = rec{"resnet18/data.pkl", stateDict(ts...)}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, c, F32); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), makeZip(b, zip.Store, recs...)
}

func BenchmarkRead(b *testing.B) {
	st, pth := resnet18Files(b)
	for _, f := range []struct {
		name string
		b    []byte
	}{{"safetensors", st}, {"pth", pth}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.b)))
			for b.Loop() {
				if _, err := Read(f.b); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode decodes every tensor of a ResNet-18 sized checkpoint
// stored as F32, F16 and I8, as engine.New does when it packs them.
func BenchmarkDecode(b *testing.B) {
	st, _ := resnet18Files(b)
	c, err := Read(st)
	if err != nil {
		b.Fatal(err)
	}
	for _, dt := range []DType{F32, F16, I8} {
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, c, dt); err != nil {
			b.Fatal(err)
		}
		file, err := Read(buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(dt), func(b *testing.B) {
			dst := make([]float32, 512*512*9)
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				for _, t := range file.Tensors {
					t.Decode(dst[:t.Len()], 0)
				}
			}
		})
	}
}
