//go:build !go1.9
// +build !go1.9

// Command livebase measures the live heap a Go 1.8 program holds before it
// allocates anything of its own -- the runtime's objects, which goheap does
// not allocate but whose bytes Go 1.8's pacer counts in heap_marked -- and
// shows them in the goal: after the twins' warm-up (a 1µs sleep, the mark
// workers, one runtime.GC()) it prints HeapAlloc, then holds one 8 MiB
// pointer-free array, runs runtime.GC() again (in Go 1.8 a forced GC marks
// with the world stopped, so nothing is allocated black) and prints
// HeapAlloc and NextGC: NextGC = 2 * heap_marked at GOGC=100. The first
// line also has the pages the program holds at that point: HeapInuse,
// HeapSys, StackInuse and HeapReleased.
//
// Only runtime and time are imported (no fmt, os or flag: their package
// initialisation allocates) and println writes to stderr.
//
//	cd tests/oracle/go18/livebase
//	GOROOT=$GO18 GO111MODULE=off $GO18/bin/go build -o /tmp/livebase18 .
//	GOMAXPROCS=1 /tmp/livebase18; GOMAXPROCS=2 /tmp/livebase18
//
// Measured (Go 1.8, linux/amd64, 5 runs each, identical every run):
// GOMAXPROCS=1 base 12696, after the array 8401304 with NextGC 16802608;
// GOMAXPROCS=2 base 19416, 8408024, 16816048 (see goheap.profiles.go18).
package main

import (
	"runtime"
	"time"
	_ "unsafe" // for go:linkname
)

//go:linkname gcBgMarkStartWorkers runtime.gcBgMarkStartWorkers
func gcBgMarkStartWorkers()

var (
	stats runtime.MemStats
	hold  []byte
)

func main() {
	time.Sleep(time.Microsecond)
	gcBgMarkStartWorkers()
	runtime.GC()
	runtime.ReadMemStats(&stats)
	println("base", stats.HeapAlloc, stats.HeapObjects, stats.NextGC,
		stats.HeapInuse, stats.HeapSys, stats.StackInuse, stats.HeapReleased)
	hold = make([]byte, 8<<20)
	runtime.GC()
	runtime.ReadMemStats(&stats)
	println("held", stats.HeapAlloc, stats.HeapObjects, stats.NextGC)
}
