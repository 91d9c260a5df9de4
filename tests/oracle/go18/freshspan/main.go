// Command freshspan measures what an allocation costs on memory fresh from
// the OS: with GOGC=off, -n objects of -size bytes into a heap that only
// grows, each kept in one []unsafe.Pointer (faulted in before timing), and
// the CPU time of the loop from getrusage. Go does not clear such memory
// (needzero is off) and nothing writes it, so what remains is the
// allocation path and the page heap's work per new span (mcentral.grow,
// mheap.alloc; Go 1.8 also clears 256 B of its separate heap bitmap per
// 8 KiB page). Go 1.8's language, so both toolchains build it:
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o fresh18 main.go
//	GO111MODULE=off go build -o fresh127 main.go
//	for s in 16 48 128 512 2048 8192 32768 65536 262144 1048576; do
//	    GOGC=off GOMAXPROCS=1 ./fresh18 -size $s -n $((67108864 / s)); done
//
// Output: one JSON line, {"size", "n", "cpu_ns", "sys_ns"}. Per allocation,
// median of 5 (2-vCPU VM, load 3-9): Go 1.8 14.8 / 18.7 / 22.7 / 51.8 / 164 /
// 631 / 1230 / 2540 / 8531 / 24984 ns for the sizes above: about 15 ns plus
// 420 ns per span of small objects plus 200 ns per 8 KiB page. Go 1.27:
// 15.0 / 25.8 / 57.4 / 181.5 / 93.2 / 277 / 573 / 652 / 1531 / 4516 ns (16-512
// B spans fault their last page in for the inline mark bits; from 32 KiB on,
// large objects: about 450 ns plus 32 ns per page). CostModel's fresh_span_ns_*
// and fresh_page_ns_* (docs/model.md "The clock").
package main

import (
	"flag"
	"fmt"
	"syscall"
	"unsafe"
)

var (
	n    = flag.Int("n", 150000, "allocations")
	size = flag.Int("size", 48, "bytes")
	keep []unsafe.Pointer
)

func cpu() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func sys() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Stime.Nano()
}

func main() {
	flag.Parse()
	keep = make([]unsafe.Pointer, *n)
	for i := range keep { // fault keep in first: only the allocations are timed
		keep[i] = nil
	}
	c0, s0 := cpu(), sys()
	for i := range keep {
		keep[i] = unsafe.Pointer(&make([]byte, *size)[0])
	}
	c1, s1 := cpu(), sys()
	fmt.Printf("{\"size\": %d, \"n\": %d, \"cpu_ns\": %d, \"sys_ns\": %d}\n", *size, *n, c1-c0, s1-s0)
}
