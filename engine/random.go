package engine

import (
	"math"
	"math/rand/v2"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
)

// RandomCheckpoint returns seeded random weights for cfg, with He-scaled
// convolutions and non-trivial BatchNorm statistics. Benchmarks use it: speed
// does not depend on the values, and no file has to be read.
func RandomCheckpoint(cfg arch.Config, seed uint64) (*checkpoint.Checkpoint, error) {
	net, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	c := &checkpoint.Checkpoint{Tensors: map[string]*checkpoint.Tensor{}}
	for _, t := range net.Tensors() {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		data := make([]float32, n)
		fanIn := float64(n / t.Shape[0])
		for i := range data {
			switch {
			case len(t.Shape) > 1: // conv or fc weight
				data[i] = float32(r.NormFloat64() * math.Sqrt(2/fanIn))
			case hasSuffix(t.Name, ".running_var"):
				data[i] = float32(0.5 + r.Float64())
			case hasSuffix(t.Name, ".weight"):
				data[i] = float32(0.5 + 0.5*r.Float64())
			default:
				data[i] = float32(0.1 * r.NormFloat64())
			}
		}
		c.Names = append(c.Names, t.Name)
		c.Tensors[t.Name] = &checkpoint.Tensor{Shape: t.Shape, Data: data}
	}
	return c, nil
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}
