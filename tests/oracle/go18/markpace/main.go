// Command markpace times the mutator's two extra costs while a GC cycle
// marks, on live Go 1.8 and Go 1.27 (the same file builds on both): a
// pointer store with the write barrier on, and an allocation allocated
// black (mallocgc's gcmarknewobject). It keeps a live heap of -live
// linked 48-byte objects so that marks are long, then alternates timed
// chunks of -chunk pointer stores (slots[i] = a live object: no
// allocation) and -chunk allocations of 48 pointer-free bytes (dropped),
// tagging each chunk with runtime.gcphase (linked by name) at its start
// and end. Chunks marking throughout (phase 1 at both ends) against chunks
// with the collector off throughout give the extra per event; the trimmed
// mean drops the slowest 10% of chunks (preemptions by the mark worker,
// assists) and the median is printed beside it.
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o markpace18 main.go
//	go build -ldflags=-checklinkname=0 -o markpace127 main.go      # Go 1.27
//	GOMAXPROCS=1 GODEBUG=gctrace=1 ./markpace18 -rounds 40000
//
// Output: per kind (store, alloc) and phase (off, mark): chunks, median
// and trimmed mean ns per event.
//
// Measured (2-vCPU VM, load 1.3-2, 2 runs each, -rounds 20000; extra =
// median marking - median off, ns per event): store over a non-nil slot
// (-same) Go 1.8 31.2-31.4, Go 1.27 9.3-10.3; store over nil (-same
// -nilold) Go 1.8 23.2-23.3, Go 1.27 6.1-6.2; store of not yet marked
// objects (default) Go 1.8 31.9, Go 1.27 10.6-10.7 (the difference is
// greying: mark work). Allocation (48 B, pointer-free) Go 1.8 6.1-8.8,
// Go 1.27 12.3-15.1. Off-phase medians: store 1.2-1.6, allocation 17-20.
// The trimmed means of allocation chunks swing with assists and lazy
// sweeping and are not used. The markpace experiment (docs/fidelity.md).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"
	"unsafe"
)

//go:linkname rtgcphase runtime.gcphase
var rtgcphase uint32

type node struct {
	next *node
	pad  [5]uintptr
}

var (
	live   = flag.Int("live", 1000000, "live 48-byte objects (a linked list)")
	rounds = flag.Int("rounds", 40000, "rounds of one store chunk and one alloc chunk")
	chunk  = flag.Int("chunk", 512, "events per timed chunk")
	nilold = flag.Bool("nilold", false, "clear the slots (untimed) before each store chunk: every timed store overwrites nil")
	same   = flag.Bool("same", false, "store one object every time (marked after its first shade: the barrier without greying)")

	slots []*node
	nodes []*node
	sink  unsafe.Pointer
)

//go:noinline
func alloc48() unsafe.Pointer {
	return unsafe.Pointer(&make([]byte, 48)[0])
}

type sample struct {
	ns    int64
	phase uint32 // 2*phase at start + phase at end
}

func stats(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	sort.Float64s(xs)
	med := xs[len(xs)/2]
	k := len(xs) - len(xs)/10
	s := 0.0
	for _, x := range xs[:k] {
		s += x
	}
	return med, s / float64(k)
}

func main() {
	flag.Parse()
	nodes = make([]*node, *live)
	var head *node
	for i := range nodes {
		n := &node{next: head}
		nodes[i] = n
		head = n
	}
	slots = make([]*node, *chunk)
	if *same {
		for i := range nodes {
			nodes[i] = head
		}
	}
	runtime.GC()
	c := *chunk
	var st, al []sample
	st = make([]sample, 0, *rounds)
	al = make([]sample, 0, *rounds)
	idx := 0
	for r := 0; r < *rounds; r++ {
		if *nilold {
			for j := range slots {
				slots[j] = nil
			}
		}
		p0 := rtgcphase
		t0 := time.Now().UnixNano()
		for j := 0; j < c; j++ {
			slots[j] = nodes[idx+j]
		}
		t1 := time.Now().UnixNano()
		st = append(st, sample{t1 - t0, p0*2 + rtgcphase})
		idx += c
		if idx+c > len(nodes) {
			idx = 0
		}
		p0 = rtgcphase
		t0 = time.Now().UnixNano()
		for j := 0; j < c; j++ {
			alloc48()
		}
		t1 = time.Now().UnixNano()
		al = append(al, sample{t1 - t0, p0*2 + rtgcphase})
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("numgc %d live %d chunk %d rounds %d same %v nilold %v\n", ms.NumGC, *live, c, *rounds, *same, *nilold)
	for _, k := range []struct {
		name string
		ss   []sample
	}{{"store", st}, {"alloc", al}} {
		var off, mark []float64
		for _, s := range k.ss {
			x := float64(s.ns) / float64(c)
			switch s.phase {
			case 0:
				off = append(off, x)
			case 3:
				mark = append(mark, x)
			}
		}
		m0, t0 := stats(off)
		m1, t1 := stats(mark)
		fmt.Printf("%s off chunks %d median %.2f tmean %.2f | mark chunks %d median %.2f tmean %.2f | extra median %.2f tmean %.2f\n",
			k.name, len(off), m0, t0, len(mark), m1, t1, m1-m0, t1-t0)
	}
	_ = sink
	fmt.Fprintln(os.Stderr, "done")
}
