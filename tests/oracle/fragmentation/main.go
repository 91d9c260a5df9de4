// Command fragmentation is the Go twin of goheap's fragmentation workload
// (src/goheap/workloads/fragmentation.py), the case of golang/go#18896:
// -count pointer-free objects of -size bytes, all but every -nelems-th
// dropped, then runtime.GC(). A span goes back to the page heap only when
// all its objects are free, so one survivor per span pins every span:
// HeapInuse stays far above HeapAlloc.
//
//	go run ./fragmentation -size 64 -count 100000 -nelems 128
//
// -nelems must be the number of objects in one span of -size's size class
// in the Go runtime that runs this (for go1.27: `goheap sizeclasses
// --profile go1.27`, column "objects"); the program cannot read the
// runtime's table. Any value keeps the workload well defined; only the
// right one keeps exactly one object per span.
package main

import (
	"flag"
	"runtime"
	"unsafe"

	"goheap/oracle/internal/report"
)

var (
	size   = flag.Int("size", 64, "bytes per object (16..32768)")
	count  = flag.Int("count", 100000, "objects allocated")
	nelems = flag.Int("nelems", 0, "objects per span of -size's size class (required)")

	// all is a global, so it is a heap object live to the end, as in the model.
	all []unsafe.Pointer
)

func main() {
	run := report.Start("fragmentation")
	if *size < 16 || *size > 32768 || *count < 1 {
		report.Fail("need -size between 16 and 32768 and -count >= 1")
	}
	if *nelems < 1 {
		report.Fail("-nelems is required: objects per span of the size class of -size %d", *size)
	}
	all = make([]unsafe.Pointer, *count)
	run.Tick()
	for i := range all {
		b := make([]byte, *size) // size not constant: always the heap
		all[i] = unsafe.Pointer(&b[0])
		run.Tick()
	}
	for i := range all {
		if i%*nelems != 0 {
			all[i] = nil // drop all but every nelems-th object
		}
	}
	runtime.GC()
	h := report.ReadHeap()
	run.Finish(func() any {
		return map[string]any{
			"nelems":      *nelems,
			"kept":        (*count + *nelems - 1) / *nelems,
			"HeapAlloc":   h.HeapAlloc,
			"HeapInuse":   h.HeapInuse,
			"HeapObjects": h.HeapObjects,
		}
	})
}
