package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/kernel"
)

// everyArchitecture lists every ResNet the engine runs: each depth in
// torchvision's (v1.5) and the paper's (v1) layout, at full width.
func everyArchitecture() []arch.Config {
	var all []arch.Config
	for _, depth := range []int{18, 34, 50, 101, 152} {
		for _, v := range []arch.Variant{arch.V1_5, arch.V1} {
			cfg := arch.Standard(depth)
			cfg.Variant = v
			all = append(all, cfg)
		}
	}
	return all
}

// reads is what a layer reads, by the names of the layers that wrote it
// ("image" for the input): its input and, for a block's last conv, the
// shortcut.
type reads struct {
	op            Op
	in, shortcut  string
	relu, isBlock bool
}

// layerReads is what each layer of p reads, by its name (a conv's tensor
// prefix, "maxpool", "avgpool", "fc"), from the network's structure alone.
func layerReads(p *Plan) map[string]reads {
	want := map[string]reads{
		p.Stem.Name: {op: OpConv, in: "image", relu: true},
		"maxpool":   {op: OpMaxPool, in: p.Stem.Name},
	}
	x := "maxpool" // the block input
	for _, b := range p.Blocks {
		shortcut := x
		if b.Downsample != nil {
			want[b.Downsample.Name] = reads{op: OpDownsample, in: x, isBlock: true}
			shortcut = b.Downsample.Name
		}
		for i, c := range b.Convs {
			r := reads{op: OpConv, in: x, relu: true, isBlock: true}
			if i == len(b.Convs)-1 {
				r.shortcut = shortcut
			}
			want[c.Name], x = r, c.Name
		}
	}
	want["avgpool"] = reads{op: OpAvgPool, in: x}
	want["fc"] = reads{op: OpFC, in: "avgpool"}
	return want
}

// stepName names the layer of step st of p's schedule.
func stepName(p *Plan, st Step) string {
	switch st.Op {
	case OpConv, OpDownsample:
		return p.Convs()[st.Conv].Name
	case OpMaxPool:
		return "maxpool"
	case OpAvgPool:
		return "avgpool"
	}
	return "fc"
}

// checkSchedule checks that s, p's schedule for n x n inputs, runs every
// layer of p once, in an order in which what each reads exists, and keeps
// the buffer-reuse rule: following which layer's output each buffer
// holds, every step reads the outputs the network's structure says (no
// step overwrote one still needed), no step writes a buffer it reads as
// its input, a conv writes over its shortcut only where its CPU kernel
// stores each output once, and then its Spare holds nothing read later.
func checkSchedule(p *Plan, s Schedule, n int) error {
	want := layerReads(p)
	holds := map[Buffer]string{Image: "image"} // the layer whose output each buffer holds
	for b := range Buffer(ActivationBuffers) {
		holds[b] = fmt.Sprint("nothing in buffer ", b)
	}
	lastRead := map[string]int{} // the last step reading each layer's output
	done := map[string]bool{}
	type spare struct {
		step  int
		value string
	}
	var spares []spare
	convs := p.Convs()
	err := s.walk(func(i int) arch.Conv { return convs[i].Conv }, n, n, func(k int, st Step, in, out shape) error {
		name := stepName(p, st)
		r, ok := want[name]
		switch {
		case !ok || done[name]:
			return fmt.Errorf("step %d runs %s, which is not a layer or ran already", k, name)
		case st.Op != r.op || st.ReLU != r.relu || (st.Block >= 0) != r.isBlock:
			return fmt.Errorf("step %d (%s) is %+v, want op %d, ReLU %v", k, name, st, r.op, r.relu)
		case holds[st.In] != r.in:
			return fmt.Errorf("step %d (%s) reads buffer %d, which holds %q, not %q", k, name, st.In, holds[st.In], r.in)
		case (st.Shortcut != NoBuffer || r.shortcut != "") && holds[st.Shortcut] != r.shortcut:
			return fmt.Errorf("step %d (%s) adds buffer %d, which holds %q, not %q", k, name, st.Shortcut, holds[st.Shortcut], r.shortcut)
		case st.Out == st.In:
			return fmt.Errorf("step %d (%s) writes the buffer it reads, %d", k, name, st.In)
		case (st.Op == OpAvgPool) != (st.Out == Features) || (st.Op == OpFC) != (st.Out == Logits) ||
			st.Out < 0 && st.Out != Features && st.Out != Logits || st.Out >= ActivationBuffers:
			return fmt.Errorf("step %d (%s) writes buffer %d", k, name, st.Out)
		}
		if st.Op == OpConv || st.Op == OpDownsample {
			g := geometry(convs[st.Conv].Conv, in.h, in.w)
			if st.Winograd != 0 && !g.Winograd() {
				return fmt.Errorf("step %d (%s) runs Winograd on a conv it does not fit", k, name)
			}
			if st.OverShortcut() && !kernel.OutputOverResidual(g, st.Winograd) {
				return fmt.Errorf("step %d (%s) writes over its shortcut, which its kernel may not", k, name)
			}
		}
		if st.OverShortcut() {
			if st.Spare < 0 || st.Spare >= ActivationBuffers {
				return fmt.Errorf("step %d (%s) has spare %d", k, name, st.Spare)
			}
			spares = append(spares, spare{k, holds[st.Spare]})
		} else if st.Spare != NoBuffer {
			return fmt.Errorf("step %d (%s) has a spare but writes no shortcut", k, name)
		}
		lastRead[holds[st.In]] = k
		if st.Shortcut != NoBuffer {
			lastRead[holds[st.Shortcut]] = k
		}
		holds[st.Out], done[name] = name, true
		return nil
	})
	if err != nil {
		return err
	}
	for _, sp := range spares {
		if k, ok := lastRead[sp.value]; ok && k >= sp.step {
			return fmt.Errorf("step %d reads %s, which step %d's spare held", k, sp.value, sp.step)
		}
	}
	if len(done) != len(want) {
		return fmt.Errorf("%d layers run, want %d", len(done), len(want))
	}
	return nil
}

// TestScheduleKeepsWhatIsRead checks every architecture's schedule (see
// checkSchedule) at input sizes that give Winograd and GEMM convs both
// writing over their shortcut and not: ResNet-18's 3x3 convs from 128
// channels on are GEMMs over more than one reduction block at 32x32, and
// Winograd at 224x224.
func TestScheduleKeepsWhatIsRead(t *testing.T) {
	for _, cfg := range everyArchitecture() {
		p, err := Layout(cfg)
		if err != nil {
			t.Fatal(err)
		}
		over := 0
		for _, n := range []int{32, 64, 224} {
			s := p.Schedule(n)
			if err := checkSchedule(p, s, n); err != nil {
				t.Errorf("%s %s at %dx%d: %v", cfg.Name(), cfg.Variant, n, n, err)
			}
			for _, st := range s.Steps {
				if st.OverShortcut() {
					over++
				}
			}
		}
		if over == 0 {
			t.Errorf("%s %s: no conv writes over its shortcut, at any size", cfg.Name(), cfg.Variant)
		}
	}
}

// TestModelRunsItsSchedule checks that a model runs its plan's schedule
// for the input size it was packed for, each conv with the kernel the
// schedule names.
func TestModelRunsItsSchedule(t *testing.T) {
	cfg := arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10}
	plan := randomPlan(t, cfg, 3)
	for _, n := range []int{32, 224} {
		m, err := FromPlan(plan, ForInputSize(n))
		if err != nil {
			t.Fatal(err)
		}
		s := plan.Schedule(n)
		if !slices.Equal(m.schedule.Steps, s.Steps) {
			t.Errorf("at %d the model runs %v, not its plan's %v", n, m.schedule, s)
		}
		for _, st := range s.Steps {
			if st.Conv >= 0 && m.convs[st.Conv].winograd != st.Winograd {
				t.Errorf("at %d conv %s runs as %d, not %d", n, m.convs[st.Conv].spec.Name, m.convs[st.Conv].winograd, st.Winograd)
			}
		}
	}
}
