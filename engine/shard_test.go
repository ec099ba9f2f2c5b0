package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/shard"
)

// localMemory is a shard.Memory for workers that are goroutines of one
// process: the browser's SharedArrayBuffer and Atomics barrier, in Go.
type localMemory struct {
	data []float32

	mu      sync.Mutex
	cond    *sync.Cond
	count   int // workers
	arrived int
	gen     int
}

func newLocalMemory(size, count int) *localMemory {
	m := &localMemory{data: make([]float32, size), count: count}
	m.cond = sync.NewCond(&m.mu)
	return m
}

func (m *localMemory) Store(off int, src []float32) { copy(m.data[off:], src) }
func (m *localMemory) Load(dst []float32, off int)  { copy(dst, m.data[off:]) }

func (m *localMemory) Barrier() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gen := m.gen
	if m.arrived++; m.arrived == m.count {
		m.arrived, m.gen = 0, m.gen+1
		m.cond.Broadcast()
		return nil
	}
	for gen == m.gen {
		m.cond.Wait()
	}
	return nil
}

// runSharded runs input on count workers, each a goroutine holding its own
// shard of the network (even ones a share of a whole model, see ShardOf),
// packed for side (ForInputSize, or OnlyInputSize if only), and returns
// worker 0's logits and each worker's FeatureMap.
func runSharded(t *testing.T, plan *Plan, input []float32, side, count int, only bool) ([]float32, []FeatureMap) {
	t.Helper()
	var mem *localMemory
	logits := make([][]float32, count)
	features := make([]FeatureMap, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	size := sizeOption(side, only)
	whole, err := FromPlan(plan, size)
	if err != nil {
		t.Fatal(err)
	}
	for i := range count {
		// Even workers take their share of a whole model, as the app's
		// coordinator does as worker 0; odd ones pack theirs.
		m, err := whole.ShardOf(i, count)
		if i%2 == 1 {
			m, err = FromPlan(plan, size, Shard(i, count))
		}
		if err != nil {
			t.Fatal(err)
		}
		region := m.LargestActivation(side, side)
		if mem == nil {
			mem = newLocalMemory(2*region, count)
		}
		x, err := shard.NewExchanger(mem, i, count, region)
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewSession()
		s.SetExchanger(x)
		// The worker gets only the input rows it says it reads, as in the
		// browser; any other row it read would spread NaNs to the logits.
		own := slices.Clone(input)
		lo, hi := m.InputRows(side, side, i, count)
		for j := range own {
			if r := j / (side * 3); r < lo || r >= hi {
				own[j] = float32(math.NaN())
			}
		}
		wg.Go(func() {
			// Two runs: the second reuses the buffers and exchange regions.
			for range 2 {
				if logits[i], errs[i] = s.Run(own, side, side); errs[i] != nil {
					return
				}
			}
			features[i] = s.FeatureMap()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	for i := 1; i < count; i++ {
		for j := range logits[0] {
			if logits[i][j] != logits[0][j] {
				t.Fatalf("workers 0 and %d disagree on logit %d: %g vs %g", i, j, logits[0][j], logits[i][j])
			}
		}
	}
	return logits[0], features
}

// TestShardedMatchesWhole runs networks split over 2 and 3 workers and
// wants the same logits, bit for bit, as one worker: each output value is
// computed by the same kernel in the same order either way, whether its
// layer is split by channels or (the stem and max-pool) by rows. Every
// worker ends with the whole last block's output (its FeatureMap).
func TestShardedMatchesWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  arch.Config
		side int
		only bool // packed with OnlyInputSize
	}{
		{"resnet18", arch.Config{Depth: 18, BaseWidth: 16, NumClasses: 10}, 96, false},
		{"resnet50", arch.Config{Depth: 50, BaseWidth: 16, NumClasses: 10}, 64, false},
		{"resnet50-v1", arch.Config{Depth: 50, BaseWidth: 8, NumClasses: 7, Variant: arch.V1}, 80, false},
		// 8 pooled rows in units of 4: with 3 workers one has no rows.
		{"resnet18-32px", arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10}, 32, false},
		// The last stage's 3x3 convs trimmed to 1x1 (see OnlyInputSize).
		{"resnet50-32px-only", arch.Config{Depth: 50, BaseWidth: 8, NumClasses: 10}, 32, true},
	} {
		for _, count := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s-%d-workers", tc.name, count), func(t *testing.T) {
				plan := randomPlan(t, tc.cfg, 7)
				input := make([]float32, tc.side*tc.side*3)
				r := rand.New(rand.NewPCG(3, 4))
				for i := range input {
					input[i] = float32(r.NormFloat64())
				}
				whole, err := FromPlan(plan, sizeOption(tc.side, tc.only))
				if err != nil {
					t.Fatal(err)
				}
				s := whole.NewSession()
				want, err := s.Run(input, tc.side, tc.side)
				if err != nil {
					t.Fatal(err)
				}
				got, features := runSharded(t, plan, input, tc.side, count, tc.only)
				for j := range want {
					if got[j] != want[j] {
						t.Fatalf("logit %d: %d workers give %g, one gives %g", j, count, got[j], want[j])
					}
				}
				wantMap := s.FeatureMap()
				for i, f := range features {
					if f.H != wantMap.H || f.W != wantMap.W || f.C != wantMap.C || !slices.Equal(f.Values, wantMap.Values) {
						t.Fatalf("worker %d's feature map (%dx%dx%d) is not the whole model's (%dx%dx%d)", i, f.H, f.W, f.C, wantMap.H, wantMap.W, wantMap.C)
					}
				}
			})
		}
	}
}

// TestExchangeHalo checks that each worker gets the rows next to its own,
// and only those, also past a worker that has no rows.
func TestExchangeHalo(t *testing.T) {
	const rows, rowSize, count = 8, 3, 3 // rows in units of 4: worker 0 has none
	mem := newLocalMemory(2*rows*rowSize, count)
	bufs := make([][]float32, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range count {
		x, err := shard.NewExchanger(mem, i, count, rows*rowSize)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := shard.Rows(rows, i, count)
		bufs[i] = make([]float32, rows*rowSize)
		for j := range bufs[i] {
			bufs[i][j] = -1
			if r := j / rowSize; r >= lo && r < hi {
				bufs[i][j] = float32(j)
			}
		}
		wg.Go(func() { errs[i] = x.ExchangeHalo(bufs[i], rows, rowSize) })
	}
	wg.Wait()
	for i := range count {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		lo, hi := shard.Rows(rows, i, count)
		for j, v := range bufs[i] {
			want := float32(-1)
			if r := j / rowSize; lo < hi && r >= lo-1 && r <= hi {
				want = float32(j)
			}
			if v != want {
				t.Fatalf("worker %d (rows %d to %d): value %d (row %d) is %v, want %v", i, lo, hi, j, j/rowSize, v, want)
			}
		}
	}
}

// TestShardWithoutExchanger checks that a sharded session cannot silently
// run on its own slice of every layer.
func TestShardWithoutExchanger(t *testing.T) {
	cfg := arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 10}
	ckpt, err := RandomCheckpoint(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, ckpt, Shard(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewSession().Run(make([]float32, 32*32*3), 32, 32); err == nil {
		t.Fatal("a shard ran without an Exchanger")
	}
	if _, err := New(cfg, ckpt, Shard(2, 2)); err == nil {
		t.Fatal("Shard(2, 2) was accepted")
	}
	if _, err := m.ShardOf(0, 2); err == nil {
		t.Fatal("a shard gave a share of itself")
	}
}

// BenchmarkResNet18Workers2 is BenchmarkResNet18 split over two goroutines
// sharing memory as two browser workers would.
func BenchmarkResNet18Workers2(b *testing.B) {
	cfg := arch.Standard(18)
	plan := randomPlan(b, cfg, 1)
	const count, side = 2, 224
	input := make([]float32, side*side*3)
	var mem *localMemory
	sessions := make([]*Session, count)
	for i := range count {
		m, err := FromPlan(plan, Shard(i, count))
		if err != nil {
			b.Fatal(err)
		}
		region := m.LargestActivation(side, side)
		if mem == nil {
			mem = newLocalMemory(2*region, count)
		}
		x, _ := shard.NewExchanger(mem, i, count, region)
		sessions[i] = m.NewSession()
		sessions[i].SetExchanger(x)
	}
	run := func() {
		var wg sync.WaitGroup
		for _, s := range sessions {
			wg.Go(func() { s.Run(input, side, side) })
		}
		wg.Wait()
	}
	run()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
}
