// Command minring is the smallest program whose mark order goheap measures:
// the runtime, runtime/metrics (read every 1000 allocations, as the oracle
// twins do) and a global ring of 10,000 pointers, slot i%10000 overwritten
// by each new pointer-free object of 16 to 4015 bytes, 3,000,000 times. It
// imports nothing else (not even os: its init allocates heap objects), so
// what its collector scans beyond the ring is the runtime's own heap, as in
// the profile's runtime_heap_scan.
//
// benchmarks/drain_order.py builds it against an instrumented runtime to
// show where the ring lies in each cycle's heap scan work.
package main

import (
	"runtime/metrics"
	"unsafe"
)

const (
	k     = 10000
	steps = 3000000
)

var ring []unsafe.Pointer

func main() {
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	ring = make([]unsafe.Pointer, k)
	x := uint64(88172645463325252)
	for i := 0; i < steps; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b := make([]byte, 16+x%4000)
		ring[i%k] = unsafe.Pointer(&b[0])
		if i%1000 == 0 {
			metrics.Read(s)
		}
	}
}
