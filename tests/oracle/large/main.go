// Command large is the Go twin of goheap's large workload
// (src/goheap/workloads/large.py): a window of -window slots; each of
// -steps steps allocates a pointer-free 40 KiB..4 MiB object (xorshift64
// from -seed) into the next slot, so the slot's previous object dies.
//
//	go run ./large -window 16 -steps 10000
//
// Every object is larger than 32 KiB: a span of its own from the page heap.
package main

import (
	"flag"
	"unsafe"

	"goheap/oracle/internal/report"
	"goheap/oracle/internal/xorshift"
)

var (
	window = flag.Int("window", 16, "slots (large objects kept alive at once)")
	steps  = flag.Int("steps", 10000, "allocations")
	seed   = flag.Uint64("seed", xorshift.DefaultSeed, "xorshift64 seed (non-zero)")

	// slots is a global, so it is a heap object live to the end, as in the model.
	slots []unsafe.Pointer
)

func main() {
	run := report.Start("large")
	if *window < 1 || *steps < 0 || *seed == 0 {
		report.Fail("need -window >= 1, -steps >= 0, -seed != 0")
	}
	rng := xorshift.New(*seed)
	slots = make([]unsafe.Pointer, *window)
	run.Tick()
	requested := 0
	for i := 0; i < *steps; i++ {
		n := rng.NextLarge()
		b := make([]byte, n)
		slots[i%*window] = unsafe.Pointer(&b[0])
		run.Tick()
		requested += n
	}
	run.Finish(func() any {
		return map[string]int{"requested_bytes": requested, "live_objects": min(*window, *steps)}
	})
}
