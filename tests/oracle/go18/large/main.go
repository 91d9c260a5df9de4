//go:build !go1.9
// +build !go1.9

// Command large is the Go 1.8 twin of goheap's large workload
// (src/goheap/workloads/large.py, tests/oracle/large): a window of -window
// slots; each of -steps steps allocates a pointer-free 40 KiB..4 MiB object
// (xorshift64 from -seed) into the next slot, so the slot's previous object
// dies. Every object is a large object: a span of its own.
//
// In the language of Go 1.8 (no modules, generics, any, min,
// runtime/metrics), with report.go (../report) beside it; built with the
// toolchain of ../../../shared/go1.8 (../README.md):
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o large18 .
//	GOMAXPROCS=1 GODEBUG=gctrace=1 ./large18 -window 8 -steps 10000
//
// Output: see ../report/report.go.
package main

import (
	"flag"
	"unsafe"
)

var (
	window = flag.Int("window", 16, "slots (large objects kept alive at once)")
	steps  = flag.Int("steps", 10000, "allocations")
	seed   = flag.Uint64("seed", defaultSeed, "xorshift64 seed (non-zero)")

	// slots is a global, so it is a heap object live to the end, as in the model.
	slots []unsafe.Pointer
)

func main() {
	run := start("large")
	if *window < 1 || *steps < 0 || *seed == 0 {
		fail("need -window >= 1, -steps >= 0, -seed != 0")
	}
	rng := newXorshift(*seed)
	slots = make([]unsafe.Pointer, *window)
	run.tick(*window * 8)
	requested := 0
	for i := 0; i < *steps; i++ {
		n := rng.nextLarge()
		b := make([]byte, n)
		slots[i%*window] = unsafe.Pointer(&b[0])
		run.tick(n)
		requested += n
	}
	live := *window
	if *steps < live {
		live = *steps
	}
	run.finish(func() interface{} {
		return map[string]int{"requested_bytes": requested, "live_objects": live}
	})
}
