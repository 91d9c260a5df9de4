//go:build !go1.9
// +build !go1.9

// Command fragmentation is the Go 1.8 twin of goheap's fragmentation
// workload (src/goheap/workloads/fragmentation.py,
// tests/oracle/fragmentation), the case of golang/go#18896: -count
// pointer-free objects of -size bytes, all but every -nelems-th dropped,
// then runtime.GC(). One survivor per span pins every span.
//
// -nelems must be the number of objects in one span of -size's size class
// in Go 1.8 (`goheap sizeclasses --profile go1.8`, column "objects").
//
// In the language of Go 1.8, with report.go (../report) beside it; built
// with the toolchain of ../../../shared/go1.8 (../README.md):
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o fragmentation18 .
//	GOMAXPROCS=1 ./fragmentation18 -size 64 -count 100000 -nelems 128
//
// Output: see ../report/report.go.
package main

import (
	"flag"
	"runtime"
	"unsafe"
)

var (
	size   = flag.Int("size", 64, "bytes per object (16..32768)")
	count  = flag.Int("count", 100000, "objects allocated")
	nelems = flag.Int("nelems", 0, "objects per span of -size's size class (required)")

	// all is a global, so it is a heap object live to the end, as in the model.
	all []unsafe.Pointer
)

func main() {
	run := start("fragmentation")
	if *size < 16 || *size > 32768 || *count < 1 {
		fail("need -size between 16 and 32768 and -count >= 1")
	}
	if *nelems < 1 {
		fail("-nelems is required: objects per span of the size class of -size %d", *size)
	}
	all = make([]unsafe.Pointer, *count)
	run.tick(*count * 8)
	for i := range all {
		b := make([]byte, *size) // size not constant: always the heap
		all[i] = unsafe.Pointer(&b[0])
		run.tick(*size)
	}
	for i := range all {
		if i%*nelems != 0 {
			all[i] = nil // drop all but every nelems-th object
		}
	}
	runtime.GC()
	h := readHeap()
	run.finish(func() interface{} {
		return map[string]interface{}{
			"nelems":      *nelems,
			"kept":        (*count + *nelems - 1) / *nelems,
			"HeapAlloc":   h.HeapAlloc,
			"HeapInuse":   h.HeapInuse,
			"HeapObjects": h.HeapObjects,
		}
	})
}
