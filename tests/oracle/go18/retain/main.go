//go:build !go1.9
// +build !go1.9

// Command retain is the Go 1.8 twin of goheap's retain workload
// (src/goheap/workloads/retain.py, tests/oracle/retain): one
// []unsafe.Pointer of -count slots, then -count objects of -size bytes kept
// in it until the end. With -pointers 0 each object is a pointer-free
// []byte (tiny-allocated below 16 bytes); with -pointers 1 it is
// ceil(size/8) pointer words.
//
// In the language of Go 1.8, with report.go (../report) beside it; built
// with the toolchain of ../../../shared/go1.8 (../README.md):
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o retain18 .
//	GOMAXPROCS=1 ./retain18 -size 48 -count 100000
//
// Output: see ../report/report.go.
package main

import (
	"flag"
	"unsafe"
)

var (
	size     = flag.Int("size", 64, "bytes per object")
	count    = flag.Int("count", 10000, "number of objects")
	pointers = flag.Int("pointers", 0, "1: objects are all pointer words; 0: pointer-free bytes")

	// keep is a global, so it is a heap object live to the end, as in the model.
	keep []unsafe.Pointer
)

func main() {
	run := start("retain")
	if *size < 1 || *count < 0 || (*pointers != 0 && *pointers != 1) {
		fail("need -size >= 1, -count >= 0, -pointers 0 or 1")
	}
	keep = make([]unsafe.Pointer, *count)
	run.tick(*count * 8)
	for i := range keep {
		if *pointers != 0 {
			keep[i] = unsafe.Pointer(&make([]unsafe.Pointer, (*size+7)/8)[0])
		} else {
			keep[i] = unsafe.Pointer(&make([]byte, *size)[0])
		}
		run.tick(*size)
	}
	run.finish(func() interface{} {
		return map[string]int{"objects": len(keep)}
	})
}
