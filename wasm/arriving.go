//go:build js && wasm

package main

import (
	"errors"
	"sync"
	"syscall/js"
	"time"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// arrivingFile is a weights file while it downloads, as a
// checkpoint.Source: CopyAt waits until the bytes it asks for are in, so
// that the model is built during the download rather than after it. Both
// run as goroutines of the worker's one thread: the build runs while the
// download waits for the network, and chunks that come meanwhile wait in
// the page's stream (resnet.js's gathered) until the build waits for
// bytes. The files' tensors come in the order the build reads them
// (docs/architecture.md#int8-weights), so it trails the download closely.
type arrivingFile struct {
	buf  js.Value // Uint8Array of the whole file, filled from the start
	size int      // its length

	mu       sync.Mutex
	arrived  sync.Cond
	have     int           // bytes in buf so far
	complete time.Time     // when the last byte came
	failed   bool          // the download ended before the file did
	waited   time.Duration // CopyAt's time waiting for bytes
}

// errNotArrived is what CopyAt panics with once the download has failed:
// the bytes asked for will never come, and a checkpoint.Source has no way
// to return an error. buildClassifier recovers it; the download's own
// error is what the load reports.
var errNotArrived = errors.New("the weights stopped arriving")

func newArrivingFile(size int) *arrivingFile {
	f := &arrivingFile{buf: js.Global().Get("Uint8Array").New(size), size: size}
	f.arrived.L = &f.mu
	return f
}

// add records that buf holds its first have bytes.
func (f *arrivingFile) add(have int) {
	f.mu.Lock()
	f.have = have
	if have == f.size {
		f.complete = time.Now()
	}
	f.mu.Unlock()
	f.arrived.Broadcast()
}

// fail records that no more bytes will come.
func (f *arrivingFile) fail() {
	f.mu.Lock()
	f.failed = true
	f.mu.Unlock()
	f.arrived.Broadcast()
}

// CopyAt copies len(p) bytes from offset off into p once they are in.
func (f *arrivingFile) CopyAt(p []byte, off int64) {
	end := int(off) + len(p)
	f.mu.Lock()
	if f.have < end && !f.failed {
		start := time.Now()
		for f.have < end && !f.failed {
			f.arrived.Wait()
		}
		f.waited += time.Since(start)
	}
	in := f.have >= end
	f.mu.Unlock()
	if !in {
		panic(errNotArrived)
	}
	jsutil.ArrayFile{Value: f.buf}.CopyAt(p, off)
}

// waitedFor is how long CopyAt has waited for bytes so far.
func (f *arrivingFile) waitedFor() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waited
}

// since is the time since the last byte came, 0 if it has not.
func (f *arrivingFile) since() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.complete.IsZero() {
		return 0
	}
	return time.Since(f.complete)
}
