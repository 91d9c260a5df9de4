// alloc: the live runtime's mutator cost per allocation, for `goheap calibrate`.
//
// Ring mode (default): a ring of -k pointer-free objects of -size bytes;
// -passes untimed warm-up passes over the ring (the heap reaches its steady
// size, so few pages are touched for the first time while timing), then
// -steps timed allocations, each replacing the oldest object. With
// -warmup=false it is the timing study's calib.go (first touch included).
// Touch mode (-touch, run with GOGC=off): -steps objects into a growing heap,
// one byte written per 4 KiB page (fresh memory is not cleared by mallocgc,
// so without the write nothing touches it).
//
// With -cpuprofile the timed loop is profiled; the caller reads which share
// of its samples fell in clearing, refilling and sweeping. Prints one JSON
// line: the timed loop's user and system CPU (getrusage), its wall time, the
// GCs in it, the heap's growth and HeapInuse at the end. The caller subtracts
// the GC's CPU (gctrace on stderr). Written in the language of Go 1.8 so that
// one source serves Go 1.8 and today's Go; standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
	"unsafe"
)

var (
	size    = flag.Int("size", 64, "object size in bytes")
	k       = flag.Int("k", 1000, "ring slots (the live objects)")
	steps   = flag.Int("steps", 1000000, "timed allocations")
	warmup  = flag.Bool("warmup", true, "untimed warm-up passes over the ring first")
	passes  = flag.Int("passes", 2, "warm-up passes over the ring (k allocations each)")
	profile = flag.String("cpuprofile", "", "write a CPU profile of the timed loop to this file")
	hz      = flag.Int("profilehz", 1000, "CPU profile samples per second (with -cpuprofile)")
	touch   = flag.Bool("touch", false, "every object new heap memory (GOGC must be off)")
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

// startProfile starts the CPU profile at -profilehz: the rate is set first, so
// StartCPUProfile's own 100 Hz is refused (the runtime says so on stderr) and
// the profile's header keeps 100 Hz. Only the samples' shares are used.
func startProfile() {
	f, err := os.Create(*profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	runtime.SetCPUProfileRate(*hz)
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func main() {
	flag.Parse()
	if *touch {
		ring = make([]unsafe.Pointer, 0, *steps)
	} else {
		ring = make([]unsafe.Pointer, *k)
		if *warmup {
			loop(*passes * *k)
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if *profile != "" {
		startProfile()
	}
	u0, s0 := cpu()
	t0 := time.Now()
	loop(*steps)
	wall := time.Since(t0)
	u1, s1 := cpu()
	if *profile != "" {
		pprof.StopCPUProfile()
	}
	runtime.ReadMemStats(&m1)
	fmt.Printf("{\"size\":%d,\"k\":%d,\"steps\":%d,\"user_ns\":%d,\"sys_ns\":%d,\"wall_ns\":%d,"+
		"\"numgc\":%d,\"heap_sys_growth\":%d,\"heap_inuse\":%d}\n",
		*size, *k, *steps, u1-u0, s1-s0, int64(wall), m1.NumGC-m0.NumGC,
		int64(m1.HeapSys)-int64(m0.HeapSys), m1.HeapInuse)
}
