// alloc: the live runtime's mutator cost per allocation, for `goheap calibrate`.
//
// Ring mode (default): a ring of -k pointer-free objects of -size bytes; an
// untimed warm-up pass of 2k allocations (the heap reaches its size, so no page
// is touched for the first time while timing), then -steps timed allocations,
// each replacing the oldest object. With -warmup=false it is the timing study's
// calib.go, which measured the built-in allocation figures (first touch included). Touch mode (-touch, run with GOGC=off):
// -steps objects into a growing heap, one byte written per 4 KiB page (fresh
// memory is not cleared by mallocgc, so without the write nothing touches it).
//
// Prints one JSON line: the timed loop's user and system CPU (getrusage), its
// wall time, the GCs in it, the heap's growth and HeapInuse at the end. The
// caller subtracts the GC's CPU (gctrace on stderr). Written in the language of
// Go 1.8 so that one source serves Go 1.8 and today's Go; standard library only.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

var (
	size   = flag.Int("size", 64, "object size in bytes")
	k      = flag.Int("k", 1000, "ring slots (the live objects)")
	steps  = flag.Int("steps", 1000000, "timed allocations")
	warmup = flag.Bool("warmup", true, "an untimed pass of 2k allocations first")
	touch  = flag.Bool("touch", false, "every object new heap memory (GOGC must be off)")
)

var ring []unsafe.Pointer

func cpu() (int64, int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano(), ru.Stime.Nano()
}

func loop(n int) {
	for i := 0; i < n; i++ {
		b := make([]byte, *size)
		if *touch {
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			ring = append(ring, unsafe.Pointer(&b[0]))
		} else {
			ring[i%*k] = unsafe.Pointer(&b[0])
		}
	}
}

func main() {
	flag.Parse()
	if *touch {
		ring = make([]unsafe.Pointer, 0, *steps)
	} else {
		ring = make([]unsafe.Pointer, *k)
		if *warmup {
			loop(2 * *k)
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	u0, s0 := cpu()
	t0 := time.Now()
	loop(*steps)
	wall := time.Since(t0)
	u1, s1 := cpu()
	runtime.ReadMemStats(&m1)
	fmt.Printf("{\"size\":%d,\"k\":%d,\"steps\":%d,\"user_ns\":%d,\"sys_ns\":%d,\"wall_ns\":%d,"+
		"\"numgc\":%d,\"heap_sys_growth\":%d,\"heap_inuse\":%d}\n",
		*size, *k, *steps, u1-u0, s1-s0, int64(wall), m1.NumGC-m0.NumGC,
		int64(m1.HeapSys)-int64(m0.HeapSys), m1.HeapInuse)
}
