// Command churn is the Go twin of goheap's churn workload
// (src/goheap/workloads/churn.py): a ring of -k pointer slots; each of
// -steps steps allocates a pointer-free object of a random size (xorshift64
// from -seed) into the next slot, so the slot's previous object dies.
//
//	go run ./churn -k 1000 -steps 100000 -seed 88172645463325252
//
// The sizes come from internal/xorshift (NextSize), which draws exactly what
// the model's churn.next_size draws.
package main

import (
	"flag"
	"unsafe"

	"goheap/oracle/internal/report"
	"goheap/oracle/internal/xorshift"
)

var (
	k     = flag.Int("k", 1000, "ring slots (objects kept alive at once)")
	steps = flag.Int("steps", 100000, "allocations")
	seed  = flag.Uint64("seed", xorshift.DefaultSeed, "xorshift64 seed (non-zero)")

	// ring is a global, so it is a heap object live to the end, as in the model.
	ring []unsafe.Pointer
)

func main() {
	run := report.Start("churn")
	if *k < 1 || *steps < 0 || *seed == 0 {
		report.Fail("need -k >= 1, -steps >= 0, -seed != 0")
	}
	rng := xorshift.New(*seed)
	ring = make([]unsafe.Pointer, *k) // one scan object of k*8 bytes
	run.Tick()
	requested := 0
	for i := 0; i < *steps; i++ {
		n := rng.NextSize()
		b := make([]byte, n) // size not constant: always the heap
		ring[i%*k] = unsafe.Pointer(&b[0])
		run.Tick()
		requested += n
	}
	run.Finish(func() any {
		return map[string]int{"requested_bytes": requested, "live_objects": min(*k, *steps)}
	})
}
