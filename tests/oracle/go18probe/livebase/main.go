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
//	cd tests/oracle/go18probe/livebase
//	GOROOT=$GO18 GO111MODULE=off $GO18/bin/go build -o /tmp/livebase18 .
//	GOMAXPROCS=1 /tmp/livebase18; GOMAXPROCS=2 /tmp/livebase18
//
// Measured (Go 1.8, linux/amd64, 20 runs each; the most common line):
// GOMAXPROCS=1 "base 16800 73 4194304 131072 851968 196608 0" (13 runs),
// "held 8405408 74 16810816"; GOMAXPROCS=2 "base 23952 79 4194304 131072
// 819200 229376 0" (7 runs; HeapAlloc 23952 in 15, HeapInuse up to 188416),
// "held 8412560 80 16825120". The others: a goroutine or a few objects
// more (see goheap.profiles.go18).
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
