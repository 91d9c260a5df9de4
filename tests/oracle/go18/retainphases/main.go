//go:build !go1.9
// +build !go1.9

// Command retainphases times goheap's retain workload (size 48, pointer-free
// objects kept in one []unsafe.Pointer) on Go 1.8, phase by phase: every
// -chunk allocations it records the time taken and whether the collector
// was marking at the chunk's start and end (runtime.gcphase, linked by
// name). Unlike the twins it has no sampler in the loop, so it measures the
// bare program the model simulates.
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o retainphases main.go
//	GOMAXPROCS=1 GODEBUG=gctrace=1 ./retainphases -n 150000
//
// Output: one line per chunk, "start_ns duration_ns phases" (phases =
// 2*phase at start + phase at end; 0 = not marking, 3 = marking
// throughout). Subtract gctrace's assist and worker CPU from the marking
// chunks to get the mutator's own cost there.
//
// Measured (2-vCPU VM, load 2-5; docs/model.md "The clock"): 22-24 ns per
// allocation on memory fresh from the OS before the first cycle; ~41 ns
// while marking (84-87 ns per allocation minus 0.9 ms of assists over
// 21,000 allocations: the write barrier on the store and allocate-black);
// 17-23 ns between cycles. With -n 150000 the program ends inside its
// second mark in 5 of 10 runs (workload cycles 1 or 2, decided by whether a
// scheduling point lets the worker finish that mark); with -n 200000 it
// completes 2 in 10 of 10.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"
)

//go:linkname rtgcphase runtime.gcphase
var rtgcphase uint32

var (
	n     = flag.Int("n", 150000, "allocations")
	size  = flag.Int("size", 48, "bytes per object")
	chunk = flag.Int("chunk", 1000, "allocations per timed chunk")

	// keep is a global, so it is a heap object live to the end, as in the model.
	keep []unsafe.Pointer
)

func main() {
	flag.Parse()
	runtime.GC()
	keep = make([]unsafe.Pointer, *n)
	t00 := time.Now().UnixNano()
	out := make([]int64, 0, 3*(*n / *chunk + 1))
	for i := 0; i < *n; i += *chunk {
		p0 := rtgcphase
		t0 := time.Now().UnixNano()
		for j := i; j < i+*chunk && j < *n; j++ {
			keep[j] = unsafe.Pointer(&make([]byte, *size)[0])
		}
		t1 := time.Now().UnixNano()
		out = append(out, t0-t00, t1-t0, int64(p0)*2+int64(rtgcphase))
	}
	for i := 0; i < len(out); i += 3 {
		fmt.Fprintf(os.Stdout, "%d %d %d\n", out[i], out[i+1], out[i+2])
	}
}
