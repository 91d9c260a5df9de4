// Command finalizers is the Go twin of goheap's finalizers workload
// (src/goheap/workloads/finalizers.py): -count 32-byte objects, each with
// a finalizer, all dropped, then three runtime.GC()s.
//
//	go run ./finalizers -count 10000
//
// Finalizers run on the runtime's finalizer goroutine, after the GC that
// queued them. So that the counts it reports are the GC's doing and not the
// scheduler's, after each runtime.GC() the program yields (runtime.Gosched,
// which does not allocate) until every finalizer set has run or 10 s have
// passed. Expected: every finalizer has run after the first GC, which keeps
// the objects for them (HeapObjects still includes them); the second GC
// frees them; the third has nothing to do.
//
// Besides the workload's own objects the runtime allocates a few things
// here: the finalizer goroutine (on the first SetFinalizer) and the frame
// it calls finalizers with.
package main

import (
	"flag"
	"runtime"
	"sync/atomic"
	"time"

	"goheap/oracle/internal/report"
)

// Obj is 32 bytes with one pointer, at offset 8.
type Obj struct {
	id   int64
	next *Obj
	pad  [2]int64
}

var (
	count = flag.Int("count", 10000, "objects with a finalizer")
	ran   atomic.Int64

	// objs is a global, so it is a heap object live to the end, as in the model.
	objs []*Obj
)

func finalize(*Obj) { ran.Add(1) }

type afterGC struct {
	FinalizersRun int64  `json:"finalizers_run"`
	HeapObjects   uint64 `json:"HeapObjects"`
	HeapAlloc     uint64 `json:"HeapAlloc"`
	HeapInuse     uint64 `json:"HeapInuse"`
	WaitedNs      int64  `json:"waited_ns"`
}

func main() {
	run := report.Start("finalizers")
	if *count < 1 {
		report.Fail("-count must be >= 1, got %d", *count)
	}
	objs = make([]*Obj, *count)
	run.Tick()
	for i := range objs {
		o := &Obj{id: int64(i)}
		run.Tick()
		runtime.SetFinalizer(o, finalize)
		objs[i] = o
	}
	for i := range objs {
		objs[i] = nil // the last reference to the object is gone
	}
	var after [3]afterGC
	for j := range after {
		runtime.GC()
		start := time.Now()
		for ran.Load() < int64(*count) && time.Since(start) < 10*time.Second {
			runtime.Gosched()
		}
		waited := time.Since(start)
		h := report.ReadHeap()
		after[j] = afterGC{ran.Load(), h.HeapObjects, h.HeapAlloc, h.HeapInuse, int64(waited)}
	}
	run.Finish(func() any {
		return map[string]any{"finalizers_set": *count, "after_gc": after}
	})
}
