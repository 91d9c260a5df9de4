// Command retain is the Go twin of goheap's retain workload
// (src/goheap/workloads/retain.py): one []unsafe.Pointer of -count slots,
// then -count objects of -size bytes kept in it until the end.
//
//	go run ./retain -size 48 -count 100000 [-pointers 1]
//
// With -pointers 0 each object is a pointer-free []byte (tiny-allocated
// below 16 bytes); with -pointers 1 it is ceil(size/8) pointer words. The
// sizes are not constants, so every object is allocated on the heap.
package main

import (
	"flag"
	"unsafe"

	"goheap/oracle/internal/report"
)

var (
	size     = flag.Int("size", 64, "bytes per object")
	count    = flag.Int("count", 10000, "number of objects")
	pointers = flag.Int("pointers", 0, "1: objects are all pointer words; 0: pointer-free bytes")

	// keep is a global, so it is a heap object live to the end, as in the model.
	keep []unsafe.Pointer
)

func main() {
	run := report.Start("retain")
	if *size < 1 || *count < 0 || (*pointers != 0 && *pointers != 1) {
		report.Fail("need -size >= 1, -count >= 0, -pointers 0 or 1")
	}
	keep = make([]unsafe.Pointer, *count)
	run.Tick()
	for i := range keep {
		if *pointers != 0 {
			keep[i] = unsafe.Pointer(&make([]unsafe.Pointer, (*size+7)/8)[0])
		} else {
			keep[i] = unsafe.Pointer(&make([]byte, *size)[0])
		}
		run.Tick()
	}
	run.Finish(func() any {
		return map[string]int{"objects": len(keep)}
	})
}
