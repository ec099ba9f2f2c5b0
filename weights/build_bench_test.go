package weights_test

import (
	"os"
	"strings"
	"testing"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/weights"
)

// BenchmarkBuildBundled builds each bundled model from its file's bytes as
// the page's first worker does (engine/classifier): parsed, folded and
// packed for its input size only.
func BenchmarkBuildBundled(b *testing.B) {
	m, err := weights.LoadDir(".")
	if err != nil {
		b.Fatal(err)
	}
	for i := range m.Models {
		md := &m.Models[i]
		if !strings.HasPrefix(md.Name, "fashion-") {
			continue
		}
		data, err := os.ReadFile(md.Path("."))
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := md.Config()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(md.Name, func(b *testing.B) {
			for b.Loop() {
				ckpt, err := checkpoint.Read(data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := engine.New(cfg, ckpt, engine.OnlyInputSize(md.Crop)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
