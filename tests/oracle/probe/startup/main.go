// Command startup records what the runtime itself has put in the heap before
// main runs, and what the first forced collections add.
//
// Snapshots (all taken into preallocated storage, printed at the end):
//
//	start  first statement of main
//	again  a second ReadMemStats right after (shows ReadMemStats allocates nothing)
//	gc1    after runtime.GC() #1 (the first cycle starts the mark workers)
//	gc2    after runtime.GC() #2
//	gc3    after runtime.GC() #3
//
// Output: one JSON object: per snapshot the MemStats scalars and the non-zero
// BySize rows, the deltas between consecutive snapshots, and the pacer inputs
// read from runtime/metrics after the third GC (live heap, scanned stack and
// globals, goal).
// Run with GOMAXPROCS=1 GOGC=100 (and GODEBUG=gctrace=1 to see the cycles).
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/metrics"
)

// Pacer inputs after each forced GC, to check
// goal = live + (live + stacks + globals) * GOGC/100 (floored at 4 MiB*GOGC/100).
var pacerNames = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes", "/gc/heap/goal:bytes", "/gc/scan/heap:bytes"}
var pacer [5][]metrics.Sample

func readPacer(i int) {
	pacer[i] = make([]metrics.Sample, len(pacerNames))
	for j, n := range pacerNames {
		pacer[i][j].Name = n
	}
	metrics.Read(pacer[i])
}

type row struct {
	Class   int    `json:"class"`
	Size    uint32 `json:"size"`
	Mallocs uint64 `json:"mallocs"`
	Frees   uint64 `json:"frees"`
}

type snap struct {
	Name         string `json:"name"`
	Alloc        uint64 `json:"Alloc"`
	TotalAlloc   uint64 `json:"TotalAlloc"`
	Sys          uint64 `json:"Sys"`
	Mallocs      uint64 `json:"Mallocs"`
	Frees        uint64 `json:"Frees"`
	HeapAlloc    uint64 `json:"HeapAlloc"`
	HeapSys      uint64 `json:"HeapSys"`
	HeapIdle     uint64 `json:"HeapIdle"`
	HeapInuse    uint64 `json:"HeapInuse"`
	HeapReleased uint64 `json:"HeapReleased"`
	HeapObjects  uint64 `json:"HeapObjects"`
	StackInuse   uint64 `json:"StackInuse"`
	StackSys     uint64 `json:"StackSys"`
	MSpanInuse   uint64 `json:"MSpanInuse"`
	MSpanSys     uint64 `json:"MSpanSys"`
	MCacheInuse  uint64 `json:"MCacheInuse"`
	MCacheSys    uint64 `json:"MCacheSys"`
	BuckHashSys  uint64 `json:"BuckHashSys"`
	GCSys        uint64 `json:"GCSys"`
	OtherSys     uint64 `json:"OtherSys"`
	NextGC       uint64 `json:"NextGC"`
	NumGC        uint32 `json:"NumGC"`
	NumForcedGC  uint32 `json:"NumForcedGC"`
	BySize       []row  `json:"BySize"`
}

var ms [5]runtime.MemStats

func conv(name string, m *runtime.MemStats) snap {
	s := snap{Name: name, Alloc: m.Alloc, TotalAlloc: m.TotalAlloc, Sys: m.Sys, Mallocs: m.Mallocs, Frees: m.Frees,
		HeapAlloc: m.HeapAlloc, HeapSys: m.HeapSys, HeapIdle: m.HeapIdle, HeapInuse: m.HeapInuse,
		HeapReleased: m.HeapReleased, HeapObjects: m.HeapObjects, StackInuse: m.StackInuse, StackSys: m.StackSys,
		MSpanInuse: m.MSpanInuse, MSpanSys: m.MSpanSys, MCacheInuse: m.MCacheInuse, MCacheSys: m.MCacheSys,
		BuckHashSys: m.BuckHashSys, GCSys: m.GCSys, OtherSys: m.OtherSys, NextGC: m.NextGC, NumGC: m.NumGC,
		NumForcedGC: m.NumForcedGC}
	for i, b := range m.BySize {
		if b.Mallocs != 0 || b.Frees != 0 {
			s.BySize = append(s.BySize, row{i, b.Size, b.Mallocs, b.Frees})
		}
	}
	return s
}

type delta struct {
	From, To     string
	Mallocs      int64
	Frees        int64
	TotalAlloc   int64
	HeapAlloc    int64
	HeapInuse    int64
	HeapSys      int64
	HeapObjects  int64
	StackInuse   int64
	BySizeMalloc map[int]int64
	BySizeFree   map[int]int64
}

func diff(a, b *runtime.MemStats, an, bn string) delta {
	d := delta{From: an, To: bn,
		Mallocs: int64(b.Mallocs - a.Mallocs), Frees: int64(b.Frees - a.Frees),
		TotalAlloc: int64(b.TotalAlloc - a.TotalAlloc), HeapAlloc: int64(b.HeapAlloc) - int64(a.HeapAlloc),
		HeapInuse: int64(b.HeapInuse) - int64(a.HeapInuse), HeapSys: int64(b.HeapSys) - int64(a.HeapSys),
		HeapObjects: int64(b.HeapObjects) - int64(a.HeapObjects), StackInuse: int64(b.StackInuse) - int64(a.StackInuse),
		BySizeMalloc: map[int]int64{}, BySizeFree: map[int]int64{}}
	for i := range a.BySize {
		if x := int64(b.BySize[i].Mallocs - a.BySize[i].Mallocs); x != 0 {
			d.BySizeMalloc[int(a.BySize[i].Size)] = x
		}
		if x := int64(b.BySize[i].Frees - a.BySize[i].Frees); x != 0 {
			d.BySizeFree[int(a.BySize[i].Size)] = x
		}
	}
	return d
}

func main() {
	runtime.ReadMemStats(&ms[0])
	runtime.ReadMemStats(&ms[1])
	runtime.GC()
	runtime.ReadMemStats(&ms[2])
	runtime.GC()
	runtime.ReadMemStats(&ms[3])
	runtime.GC()
	runtime.ReadMemStats(&ms[4])
	readPacer(4) // after the snapshots: the first metrics.Read allocates
	names := []string{"start", "again", "gc1", "gc2", "gc3"}
	out := struct {
		Snapshots []snap
		Deltas    []delta
		PacerGC3  map[string]uint64
	}{PacerGC3: map[string]uint64{}}
	for _, smp := range pacer[4] {
		out.PacerGC3[smp.Name] = smp.Value.Uint64()
	}
	for i := range ms {
		out.Snapshots = append(out.Snapshots, conv(names[i], &ms[i]))
		if i > 0 {
			out.Deltas = append(out.Deltas, diff(&ms[i-1], &ms[i], names[i-1], names[i]))
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
