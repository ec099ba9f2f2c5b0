//go:build js && wasm

package webgpu

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/inbrowser/resnet/webgpu/jsgpu"
)

// Profile runs one inference as Run does, but with each dispatch in a
// compute pass of its own that writes GPU timestamps, and returns every
// dispatch with its GPU time. The separate passes cost a little, so use Run
// for latency and Profile for where the time goes. It needs HasTimestamps.
func (m *Model) Profile(input []float32) ([]Dispatch, error) {
	if !m.dev.timed {
		return nil, errors.New("webgpu: this device cannot time dispatches (no timestamp-query)")
	}
	p := m.prog
	if want := p.inH * p.inW * p.inC; len(input) != want {
		return nil, fmt.Errorf("input has %d values, want %d", len(input), want)
	}
	if err := m.dev.Err(); err != nil {
		return nil, err
	}
	t := newTimer(m.dev.gpu, len(m.dispatches))
	defer t.destroy()
	if _, err := m.execute(input, t); err != nil {
		return nil, err
	}
	stamps := make([]byte, 8*2*len(m.dispatches))
	if err := m.dev.gpu.ReadInto(stamps, t.readback); err != nil {
		return nil, m.dev.lostOr(fmt.Errorf("webgpu: reading the timestamps back failed: %w", err))
	}
	ds := p.dispatches()
	for i := range ds {
		begin, end := binary.LittleEndian.Uint64(stamps[16*i:]), binary.LittleEndian.Uint64(stamps[16*i+8:])
		if end > begin { // an implementation may clamp or zero a stamp
			ds[i].GPUNanos = int64(end - begin)
		}
	}
	return ds, nil
}

// timer holds the timestamp slots of a profiled run: two per dispatch.
type timer struct {
	queries            jsgpu.QuerySet
	resolved, readback jsgpu.Buffer
	count              int
}

func newTimer(g *jsgpu.Device, dispatches int) *timer {
	n := 2 * dispatches
	return &timer{
		queries:  g.CreateTimestampQuerySet(n),
		resolved: g.CreateBuffer(int64(8*n), jsgpu.UsageQueryResolve|jsgpu.UsageCopySrc),
		readback: g.CreateBuffer(int64(8*n), jsgpu.UsageMapRead|jsgpu.UsageCopyDst),
		count:    n,
	}
}

// resolve records the copy of the timestamps into the readback buffer.
func (t *timer) resolve(enc jsgpu.CommandEncoder) {
	enc.ResolveQuerySet(t.queries, t.count, t.resolved)
	enc.CopyBufferToBuffer(t.resolved, t.readback, int64(8*t.count))
}

func (t *timer) destroy() {
	t.queries.Destroy()
	t.resolved.Destroy()
	t.readback.Destroy()
}
