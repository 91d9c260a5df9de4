// Command accounting allocates small batches of objects of chosen sizes and
// kinds and prints how MemStats counts them: the tiny allocator, the malloc
// header boundary (pointerful objects above 512 bytes carry 8 extra bytes),
// and the small/large boundary (maxSmallSize - mallocHeaderSize = 32760).
//
// For every case: GC disabled, ReadMemStats, allocate `n` objects (kept
// alive), ReadMemStats; print the deltas of Mallocs, Frees, TotalAlloc,
// HeapObjects, HeapAlloc, HeapInuse and of every BySize row that moved.
// Output: one JSON object per case.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"
)

type tcase struct {
	Name string `json:"name"`
	Size int    `json:"size"`
	Scan bool   `json:"scan"`
	N    int    `json:"n"`
	Seq  []int  `json:"seq,omitempty"` // tiny: repeating pattern of sizes
}

var keep = make([]unsafe.Pointer, 1<<16)
var nk int

func alloc(size int, scan bool) {
	var p unsafe.Pointer
	if scan {
		s := make([]unsafe.Pointer, size/8)
		p = unsafe.Pointer(&s[0])
	} else {
		s := make([]byte, size)
		p = unsafe.Pointer(&s[0])
	}
	keep[nk] = p
	nk++
}

func main() {
	debug.SetGCPercent(-1)
	cases := []tcase{
		{Name: "tiny 8B x1000", Size: 8, N: 1000},
		{Name: "tiny 4B x1000", Size: 4, N: 1000},
		{Name: "tiny 12B x1000", Size: 12, N: 1000},
		{Name: "tiny 5B x999", Size: 5, N: 999},
		{Name: "tiny 1B x1600", Size: 1, N: 1600},
		{Name: "tiny pattern 12,8,4 x300", N: 900, Seq: []int{12, 8, 4}},
		{Name: "tiny pattern 2,15 x500", N: 1000, Seq: []int{2, 15}},
		{Name: "noscan 16B x100", Size: 16, N: 100},
		{Name: "scan 8B x100", Size: 8, Scan: true, N: 100},
		{Name: "scan 504B x10", Size: 504, Scan: true, N: 10},
		{Name: "scan 512B x10", Size: 512, Scan: true, N: 10},
		{Name: "scan 520B x10", Size: 520, Scan: true, N: 10},
		{Name: "noscan 520B x10", Size: 520, N: 10},
		{Name: "scan 1016B x10", Size: 1016, Scan: true, N: 10},
		{Name: "scan 1024B x10", Size: 1024, Scan: true, N: 10},
		{Name: "scan 32760B x3", Size: 32760, Scan: true, N: 3},
		{Name: "scan 32768B x3", Size: 32768, Scan: true, N: 3},
		{Name: "noscan 32760B x3", Size: 32760, N: 3},
		{Name: "noscan 32761B x3", Size: 32761, N: 3},
		{Name: "noscan 32768B x3", Size: 32768, N: 3},
		{Name: "noscan 40000B x3", Size: 40000, N: 3},
		{Name: "scan 19072B x3 (class 61, not in BySize)", Size: 19064, Scan: true, N: 3},
	}
	var a, b runtime.MemStats
	enc := json.NewEncoder(os.Stdout)
	for _, c := range cases {
		runtime.GC()
		runtime.ReadMemStats(&a)
		for i := 0; i < c.N; i++ {
			if c.Seq != nil {
				alloc(c.Seq[i%len(c.Seq)], false)
			} else {
				alloc(c.Size, c.Scan)
			}
		}
		runtime.ReadMemStats(&b)
		by := map[uint32][2]int64{}
		for i := range a.BySize {
			dm := int64(b.BySize[i].Mallocs - a.BySize[i].Mallocs)
			df := int64(b.BySize[i].Frees - a.BySize[i].Frees)
			if dm != 0 || df != 0 {
				by[a.BySize[i].Size] = [2]int64{dm, df}
			}
		}
		enc.Encode(map[string]any{
			"case": c, "Mallocs": b.Mallocs - a.Mallocs, "Frees": b.Frees - a.Frees,
			"TotalAlloc": b.TotalAlloc - a.TotalAlloc, "HeapObjects": int64(b.HeapObjects) - int64(a.HeapObjects),
			"HeapAlloc": int64(b.HeapAlloc) - int64(a.HeapAlloc), "HeapInuse": int64(b.HeapInuse) - int64(a.HeapInuse),
			"BySize_mallocs_frees": by,
		})
		for i := range keep[:nk] {
			keep[i] = nil
		}
		nk = 0
	}
}
