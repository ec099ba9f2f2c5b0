//go:build js && wasm

package jsgpu

import "syscall/js"

// FeatureTimestamps is the device feature that lets passes write GPU
// timestamps.
const FeatureTimestamps = "timestamp-query"

// UsageQueryResolve lets a buffer receive ResolveQuerySet's values.
const UsageQueryResolve Usage = 0x0200

// QuerySet is a GPUQuerySet of timestamps.
type QuerySet struct{ v js.Value }

// CreateTimestampQuerySet makes count timestamp slots. The device needs
// FeatureTimestamps.
func (d *Device) CreateTimestampQuerySet(count int) QuerySet {
	return QuerySet{d.v.Call("createQuerySet", map[string]any{"type": "timestamp", "count": count})}
}

// Destroy frees the query set.
func (q QuerySet) Destroy() { q.v.Call("destroy") }

// BeginTimedComputePass starts a compute pass that writes the GPU's clock
// into slot begin of q when it starts and into slot end when it ends.
func (e CommandEncoder) BeginTimedComputePass(q QuerySet, begin, end int) ComputePass {
	return ComputePass{e.v.Call("beginComputePass", map[string]any{
		"timestampWrites": map[string]any{"querySet": q.v, "beginningOfPassWriteIndex": begin, "endOfPassWriteIndex": end}})}
}

// ResolveQuerySet writes slots [0, count) of q into dst as little-endian
// uint64 nanoseconds; dst needs UsageQueryResolve.
func (e CommandEncoder) ResolveQuerySet(q QuerySet, count int, dst Buffer) {
	e.v.Call("resolveQuerySet", q.v, 0, count, dst.v, 0)
}
