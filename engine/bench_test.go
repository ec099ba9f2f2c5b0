package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/kernel"
)

// benchmarkResNet measures single-image latency at 224x224 on one goroutine.
func benchmarkResNet(b *testing.B, cfg arch.Config) {
	ckpt, err := RandomCheckpoint(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg, ckpt)
	if err != nil {
		b.Fatal(err)
	}
	s := m.NewSession()
	input := make([]float32, 224*224*3)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range input {
		input[i] = float32(r.NormFloat64())
	}
	if _, err := s.Run(input, 224, 224); err != nil { // warm-up: allocates buffers
		b.Fatal(err)
	}
	b.Logf("backend: %s", kernel.Backend())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Run(input, 224, 224); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
}

func BenchmarkResNet18(b *testing.B) { benchmarkResNet(b, arch.Standard(18)) }
func BenchmarkResNet50(b *testing.B) { benchmarkResNet(b, arch.Standard(50)) }

// TestRunDoesNotAllocate pins "no allocation per inference after the first".
func TestRunDoesNotAllocate(t *testing.T) {
	cfg := arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10}
	ckpt, err := RandomCheckpoint(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	input := make([]float32, 64*64*3)
	if _, err := s.Run(input, 64, 64); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { s.Run(input, 64, 64) }); n != 0 {
		t.Fatalf("Run allocates %v times per call after the first", n)
	}
}
