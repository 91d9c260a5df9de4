//go:build !go1.9
// +build !go1.9

// Command churn is the Go 1.8 twin of goheap's churn workload
// (src/goheap/workloads/churn.py, tests/oracle/churn): a ring of -k pointer
// slots; each of -steps steps allocates a pointer-free object of a random
// size (xorshift64 from -seed) into the next slot, so the slot's previous
// object dies.
//
// In the language of Go 1.8 (no modules, generics, any, min,
// runtime/metrics), with report.go (../report) beside it; built with the
// toolchain of ../../../shared/go1.8 (../README.md):
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o churn18 .
//	GOMAXPROCS=1 GODEBUG=gctrace=1 ./churn18 -k 100000 -steps 2000000
//
// The output is the JSON object of tests/oracle/internal/report (its
// Go 1.8 version is ../report/report.go, shared by every Go 1.8 twin),
// plus "cycles" and "series": the pacer state as sampled.
package main

import (
	"flag"
	"unsafe"
)

var (
	k     = flag.Int("k", 1000, "ring slots (objects kept alive at once)")
	steps = flag.Int("steps", 100000, "allocations")
	seed  = flag.Uint64("seed", defaultSeed, "xorshift64 seed (non-zero)")

	// ring is a global, so it is a heap object live to the end, as in the model.
	ring []unsafe.Pointer
)

func main() {
	run := start("churn")
	if *k < 1 || *steps < 0 || *seed == 0 {
		fail("need -k >= 1, -steps >= 0, -seed != 0")
	}
	rng := newXorshift(*seed)
	ring = make([]unsafe.Pointer, *k) // one scan object of k*8 bytes
	run.tick(*k * 8)
	requested := 0
	for i := 0; i < *steps; i++ {
		n := rng.nextSize()
		b := make([]byte, n) // size not constant: always the heap
		ring[i%*k] = unsafe.Pointer(&b[0])
		run.tick(n)
		requested += n
	}
	live := *k
	if *steps < live {
		live = *steps
	}
	run.finish(func() interface{} {
		return map[string]int{"requested_bytes": requested, "live_objects": live}
	})
}
