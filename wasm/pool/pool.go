//go:build js && wasm

// Package pool runs one inference on several Web Workers, each a Go
// WebAssembly instance holding a shard of the network (package
// engine/shard), through one SharedArrayBuffer:
//
//	words 0..15   int32 control words (below)
//	input         the preprocessed image, side x side x 3 float32
//	exchange      2 regions of the largest activation (engine/shard)
//
// The coordinator (the worker that talks to the page and preprocesses
// images) is worker 0: it holds the whole model, to fall back on, and
// computes worker 0's share of every image with it (engine.Model.ShardOf)
// after writing the input and bumping the job word. The other workers
// wait for jobs with Atomics.waitAsync, so that between images they stay
// responsive, and all meet at an Atomics barrier after each convolution
// whose output another worker reads. Worker 0 ends with the logits.
//
// A worker that dies (a crash, or terminate()) would leave the others
// waiting forever, so every wait also watches the abort word: the page
// sets it when a worker reports an error, a worker sets it when its run
// fails, and the coordinator sets it when a job takes far longer than the
// slowest one before. The coordinator's client then fails its run and the
// classifier falls back to its own whole copy of the network.
package pool

import (
	"errors"
	"fmt"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/kernel"
	"github.com/inbrowser/resnet/engine/shard"
	"github.com/inbrowser/resnet/wasm/jsutil"
)

// Control words. AbortWord is also set by the page (see ControlWords).
const (
	jobWord     = 0 // bumped by the coordinator to start an inference
	AbortWord   = 2 // nonzero: give up; the pool is finished
	arrivedWord = 3 // barrier: workers arrived in the current phase
	phaseWord   = 4 // barrier: phases completed
	headerWords = 16
)

// ControlWords tells the page (site/resnet.js) where the control words it
// touches are: it sets the abort word and wakes the waited ones.
func ControlWords() map[string]any {
	return map[string]any{"header": headerWords, "abort": AbortWord, "waited": []any{jobWord, phaseWord}}
}

// barrierSpins is how many times a worker checks the barrier before it
// sleeps on it.
const barrierSpins = 2000

// pollMs bounds each blocking wait, so that waits notice the abort word
// even when nobody notifies them.
const pollMs = 50

// ErrAborted means the pool was given up: a worker failed or stopped.
var ErrAborted = errors.New("one of its workers stopped")

// Layout places the parts of the shared memory, in float32s from the start
// of the buffer.
type Layout struct {
	input, exchange int
	region          int // values in one exchange region
	Bytes           int // size of the SharedArrayBuffer
}

// LayoutFor lays out the memory for model m run on side x side inputs.
func LayoutFor(m *engine.Model, side int) Layout {
	l := Layout{input: headerWords, region: m.LargestActivation(side, side)}
	l.exchange = l.input + side*side*3
	l.Bytes = 4 * (l.exchange + 2*l.region)
	return l
}

// inputPart returns the part of a side x side x 3 input, as float32
// offsets [lo, hi) into it, that workers [first, last) of count read: all
// of it that has to pass through the shared memory for them.
func inputPart(m *engine.Model, side, count, first, last int) (lo, hi int) {
	lo, hi = side, 0
	for i := first; i < last; i++ {
		a, b := m.InputRows(side, side, i, count)
		if a < b {
			lo, hi = min(lo, a), max(hi, b)
		}
	}
	if lo >= hi {
		return 0, 0
	}
	return lo * side * 3, hi * side * 3
}

// memory is the SharedArrayBuffer as seen by one worker.
type memory struct {
	bytes   js.Value // Uint8Array over the whole buffer
	ctl     js.Value // Int32Array over the control words
	atomics js.Value
	count   int
	// deadline, when set (the coordinator's), is when a barrier gives up
	// waiting for a worker that may be dead.
	deadline time.Time
}

func newMemory(sab js.Value, l Layout, count int) (*memory, error) {
	if !jsutil.IsInstance(sab, "SharedArrayBuffer") {
		return nil, errors.New("pool: memory must be a SharedArrayBuffer")
	}
	if n := sab.Get("byteLength").Int(); n != l.Bytes {
		return nil, fmt.Errorf("pool: the shared memory has %d bytes, the model needs %d", n, l.Bytes)
	}
	return &memory{
		bytes:   js.Global().Get("Uint8Array").New(sab),
		ctl:     js.Global().Get("Int32Array").New(sab, 0, headerWords),
		atomics: js.Global().Get("Atomics"),
		count:   count,
	}, nil
}

func (m *memory) load(word int) int { return m.atomics.Call("load", m.ctl, word).Int() }
func (m *memory) add(word, n int) int {
	return m.atomics.Call("add", m.ctl, word, n).Int()
}
func (m *memory) notify(word int) { m.atomics.Call("notify", m.ctl, word) }

// wait sleeps until word may have changed from old (or pollMs passes).
func (m *memory) wait(word, old int) { m.atomics.Call("wait", m.ctl, word, old, pollMs) }

func (m *memory) aborted() bool { return m.load(AbortWord) != 0 }

// abort gives the pool up and wakes every waiter.
func (m *memory) abort() {
	m.atomics.Call("store", m.ctl, AbortWord, 1)
	for _, w := range []int{jobWord, phaseWord} {
		m.notify(w)
	}
}

// Store and Load move float32s (at float32 offsets) between Go memory and
// the shared buffer; with Barrier they make a shard.Memory.
func (m *memory) Store(off int, src []float32) {
	js.CopyBytesToJS(m.bytes.Call("subarray", 4*off, 4*(off+len(src))), jsutil.Float32Bytes(src))
}

func (m *memory) Load(dst []float32, off int) {
	js.CopyBytesToGo(jsutil.Float32Bytes(dst), m.bytes.Call("subarray", 4*off, 4*(off+len(dst))))
}

// Barrier is a phase barrier: the last worker to arrive starts the next
// phase. Each worker reads the phase before arriving, so it cannot miss it.
func (m *memory) Barrier() error {
	phase := m.load(phaseWord)
	if m.add(arrivedWord, 1) == m.count-1 {
		m.atomics.Call("store", m.ctl, arrivedWord, 0)
		m.add(phaseWord, 1)
		m.notify(phaseWord)
		return nil
	}
	// The others are usually about as far: look a while before sleeping,
	// since waking a sleeping thread takes the OS much longer.
	for range barrierSpins {
		if m.load(phaseWord) != phase {
			return nil
		}
	}
	for m.load(phaseWord) == phase {
		if m.aborted() {
			return ErrAborted
		}
		if !m.deadline.IsZero() && time.Now().After(m.deadline) {
			m.abort()
			return errors.New("the other workers did not keep up: one may have stopped")
		}
		m.wait(phaseWord, phase)
	}
	return nil
}

// exchangeArea offsets a shard.Memory by the exchange area's start.
type exchangeArea struct {
	*memory
	base int
}

func (e exchangeArea) Store(off int, src []float32) { e.memory.Store(e.base+off, src) }
func (e exchangeArea) Load(dst []float32, off int)  { e.memory.Load(dst, e.base+off) }

// Serve makes this Web Worker worker index of count (index 1 or more; the
// coordinator is worker 0): it runs its shard m (built with
// engine.Shard(index, count)) on every job the coordinator posts in sab,
// until the pool is aborted. It returns at once; the work happens in a
// goroutine.
func Serve(sab js.Value, m *engine.Model, side, index, count int) error {
	if index == 0 {
		return errors.New("pool: worker 0 is the coordinator's")
	}
	mem, l, s, err := join(sab, m, side, index, count)
	if err != nil {
		return err
	}
	input := make([]float32, side*side*3)
	lo, hi := inputPart(m, side, count, index, index+1)
	go func() {
		for job := mem.load(jobWord); ; job++ {
			if !mem.waitJob(job) {
				return
			}
			mem.Load(input[lo:hi], l.input+lo)
			if _, err := s.Run(input, side, side); err != nil {
				mem.abort()
				return
			}
		}
	}()
	return nil
}

// waitJob waits, without blocking the worker's event loop, until the job
// word moves past job; it reports false if the pool was aborted instead.
func (m *memory) waitJob(job int) bool {
	for m.load(jobWord) == job {
		if m.aborted() {
			return false
		}
		r := m.atomics.Call("waitAsync", m.ctl, jobWord, job, 1000)
		if r.Get("async").Bool() {
			jsutil.Await(r.Get("value"), nil) // resolves with "ok" or "timed-out"; both mean look again
		}
	}
	return !m.aborted()
}

// Client is the coordinator's side: a classifier.Accelerator that runs
// each inference on the pool, computing worker 0's share itself.
type Client struct {
	mem     *memory
	layout  Layout
	session *engine.Session // worker 0's share of the coordinator's model
	side    int
	// inputLo, inputHi: the part of the input the other workers read
	inputLo, inputHi int
	slowest          time.Duration
}

// NewClient connects to a pool of count workers, this one included,
// sharing sab, which must be laid out for model m (the coordinator's own,
// whole copy) at side x side.
func NewClient(sab js.Value, m *engine.Model, side, count int) (*Client, error) {
	share, err := m.ShardOf(0, count)
	if err != nil {
		return nil, err
	}
	mem, l, s, err := join(sab, share, side, 0, count)
	if err != nil {
		return nil, err
	}
	c := &Client{mem: mem, layout: l, session: s, side: side}
	c.inputLo, c.inputHi = inputPart(m, side, count, 1, count)
	return c, nil
}

// join connects worker index of count, whose share of the model is m, to
// the pool's memory sab: it returns its view of the memory, the layout and
// a session that exchanges through it.
func join(sab js.Value, m *engine.Model, side, index, count int) (*memory, Layout, *engine.Session, error) {
	l := LayoutFor(m, side)
	mem, err := newMemory(sab, l, count)
	if err != nil {
		return nil, Layout{}, nil, err
	}
	x, err := shard.NewExchanger(exchangeArea{mem, l.exchange}, index, count, l.region)
	if err != nil {
		return nil, Layout{}, nil, err
	}
	s := m.NewSession()
	s.SetExchanger(x)
	return mem, l, s, nil
}

// Run runs one side x side x 3 input on the workers.
func (c *Client) Run(input []float32) ([]float32, error) {
	m := c.mem
	if m.aborted() {
		return nil, ErrAborted
	}
	start := time.Now()
	// A dead worker never reaches the next barrier: give up on a job that
	// takes far longer than any before (the first allows for a slow
	// device).
	m.deadline = start.Add(5*time.Second + 20*c.slowest)
	m.Store(c.layout.input+c.inputLo, input[c.inputLo:c.inputHi])
	m.add(jobWord, 1)
	m.notify(jobWord)
	logits, err := c.session.Run(input, c.side, c.side)
	if err != nil {
		m.abort()
		return nil, err
	}
	c.slowest = max(c.slowest, time.Since(start))
	return logits, nil
}

// RunFeatureMap is Run that also returns the last block's output: the
// network's last exchange gathers it whole on every worker, so worker 0's
// session has it at no extra cost (a view, overwritten by the next run).
func (c *Client) RunFeatureMap(input []float32) ([]float32, engine.FeatureMap, error) {
	logits, err := c.Run(input)
	if err != nil {
		return nil, engine.FeatureMap{}, err
	}
	return logits, c.session.FeatureMap(), nil
}

// Name says what runs the network.
func (c *Client) Name() string {
	return fmt.Sprintf("%s on %d workers", kernel.Backend(), c.mem.count)
}

// Close stops the workers; the page then terminates them.
func (c *Client) Close() { c.mem.abort() }
