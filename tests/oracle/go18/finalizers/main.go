//go:build !go1.9
// +build !go1.9

// Command finalizers is the Go 1.8 twin of goheap's finalizers workload
// (src/goheap/workloads/finalizers.py, tests/oracle/finalizers): -count
// 32-byte objects, each with a finalizer, all dropped, then three
// runtime.GC()s. After each GC the program yields (runtime.Gosched) until
// every finalizer set has run or 10 s have passed, so that the counts are
// the GC's doing and not the scheduler's.
//
// In the language of Go 1.8 (sync/atomic functions, not atomic.Int64),
// with report.go (../report) beside it; built with the toolchain of
// ../../../shared/go1.8 (../README.md):
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o finalizers18 .
//	GOMAXPROCS=1 ./finalizers18 -count 10000
//
// Output: see ../report/report.go.
package main

import (
	"flag"
	"runtime"
	"sync/atomic"
	"time"
)

// Obj is 32 bytes with one pointer, at offset 8.
type Obj struct {
	id   int64
	next *Obj
	pad  [2]int64
}

var (
	count = flag.Int("count", 10000, "objects with a finalizer")
	ran   int64 // finalizers run (sync/atomic)

	// objs is a global, so it is a heap object live to the end, as in the model.
	objs []*Obj
)

func finalize(*Obj) { atomic.AddInt64(&ran, 1) }

type afterGCRun struct {
	FinalizersRun int64  `json:"finalizers_run"`
	HeapObjects   uint64 `json:"HeapObjects"`
	HeapAlloc     uint64 `json:"HeapAlloc"`
	HeapInuse     uint64 `json:"HeapInuse"`
	WaitedNs      int64  `json:"waited_ns"`
}

func main() {
	run := start("finalizers")
	if *count < 1 {
		fail("-count must be >= 1, got %d", *count)
	}
	objs = make([]*Obj, *count)
	run.tick(*count * 8)
	for i := range objs {
		o := &Obj{id: int64(i)}
		run.tick(32)
		runtime.SetFinalizer(o, finalize)
		objs[i] = o
	}
	for i := range objs {
		objs[i] = nil // the last reference to the object is gone
	}
	var after [3]afterGCRun
	for j := range after {
		runtime.GC()
		start := time.Now()
		for atomic.LoadInt64(&ran) < int64(*count) && time.Since(start) < 10*time.Second {
			runtime.Gosched()
		}
		waited := time.Since(start)
		h := readHeap()
		after[j] = afterGCRun{atomic.LoadInt64(&ran), h.HeapObjects, h.HeapAlloc, h.HeapInuse, int64(waited)}
	}
	run.finish(func() interface{} {
		return map[string]interface{}{"finalizers_set": *count, "after_gc": after}
	})
}
