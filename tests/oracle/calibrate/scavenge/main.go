// scavenge: the live runtime's cost of returning a free page to the OS, for
// `goheap calibrate`.
//
// The heap is grown to -mib MiB of large objects (1 MiB each, every page
// written, so every page is backed), which are then dropped and collected:
// their pages are free and still backed ("retained"). The probe then times
// debug.FreeOSMemory, which collects again and releases every retained page
// (madvise MADV_DONTNEED on Linux), and subtracts the time of a runtime.GC
// on the same empty heap just before it. With -refault it then allocates and
// writes the same amount again and reports that too: the released pages fault
// back in.
//
// Prints one JSON line: the pages released (HeapReleased's growth, in bytes),
// the physical page size, and the user and system CPU (getrusage) and wall
// time of the release and of the GC alone. Written in the language of Go 1.8
// so that one source serves Go 1.8 and today's Go; standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
)

var (
	mib     = flag.Int("mib", 256, "MiB of heap to grow, free and release")
	refault = flag.Bool("refault", false, "allocate the same again and time it (released pages fault in)")
)

var keep [][]byte

func cpu() (int64, int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano(), ru.Stime.Nano()
}

func grow() {
	for i := 0; i < *mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
}

type span struct{ user, sys, wall int64 }

func timed(f func()) span {
	u0, s0 := cpu()
	t0 := time.Now()
	f()
	wall := time.Since(t0)
	u1, s1 := cpu()
	return span{u1 - u0, s1 - s0, int64(wall)}
}

func main() {
	flag.Parse()
	debug.SetGCPercent(-1)
	grow()
	keep = nil
	runtime.GC()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	gc := timed(runtime.GC)
	rel := timed(debug.FreeOSMemory)
	runtime.ReadMemStats(&m1)
	var again span
	if *refault {
		again = timed(grow)
	}
	fmt.Printf("{\"released\":%d,\"page\":%d,\"retained_before\":%d,"+
		"\"free_user_ns\":%d,\"free_sys_ns\":%d,\"free_wall_ns\":%d,"+
		"\"gc_user_ns\":%d,\"gc_sys_ns\":%d,\"gc_wall_ns\":%d,"+
		"\"refault_user_ns\":%d,\"refault_sys_ns\":%d,\"refault_wall_ns\":%d}\n",
		int64(m1.HeapReleased)-int64(m0.HeapReleased), os.Getpagesize(),
		int64(m0.HeapIdle)-int64(m0.HeapReleased),
		rel.user, rel.sys, rel.wall, gc.user, gc.sys, gc.wall,
		again.user, again.sys, again.wall)
}
