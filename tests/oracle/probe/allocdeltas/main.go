// Command allocdeltas records the MemStats deltas of allocating N objects of
// one size, for every size class, pointer-free (noscan) and pointerful
// (scan), with the GC off: Mallocs, Frees, TotalAlloc, HeapAlloc,
// HeapObjects, HeapInuse and the BySize rows that moved.
//
// Each case starts right after a span step of its span class (allocate one
// object at a time until /memory/classes/heap/objects + unused grows), so
// the cached span is fresh and no other span of the class has free slots;
// then ReadMemStats (which flushes the mcache: the fresh span goes back to
// mcentral with nelems-1 free slots), N allocations, ReadMemStats.
// N = 7 + 60000/size, so most cases end in a partly filled span.
// Scan objects above 512 bytes are requested 8 bytes short (the malloc
// header fills the slot); pointer-free objects of the last class with 32760
// bytes (32761..32768 are large).
//
// Run with GOMAXPROCS=1. Output: one JSON object per case.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"unsafe"
)

var classSize = []int{0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

var samples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
}

func inHeap() uint64 {
	metrics.Read(samples)
	return samples[0].Value.Uint64() + samples[1].Value.Uint64()
}

var keep []unsafe.Pointer
var nkeep int

func alloc(n int, scan bool) {
	var p unsafe.Pointer
	if scan {
		s := make([]unsafe.Pointer, n/8)
		p = unsafe.Pointer(&s[0])
	} else {
		s := make([]byte, n)
		p = unsafe.Pointer(&s[0])
	}
	keep[nkeep] = p
	nkeep++
}

type result struct {
	Class       int                 `json:"class"`
	Size        int                 `json:"size"`
	Kind        string              `json:"kind"`
	ReqBytes    int                 `json:"request_bytes"`
	N           int                 `json:"n"`
	Mallocs     uint64              `json:"Mallocs"`
	Frees       uint64              `json:"Frees"`
	TotalAlloc  uint64              `json:"TotalAlloc"`
	HeapAlloc   int64               `json:"HeapAlloc"`
	HeapObjects int64               `json:"HeapObjects"`
	HeapInuse   int64               `json:"HeapInuse"`
	BySize      map[string][2]int64 `json:"BySize_mallocs_frees"`
}

func main() {
	debug.SetGCPercent(-1)
	keep = make([]unsafe.Pointer, 1<<20)
	inHeap() // the first metrics.Read allocates
	var a, b runtime.MemStats
	enc := json.NewEncoder(os.Stdout)
	for c := 1; c < len(classSize); c++ {
		for _, scan := range []bool{false, true} {
			size := classSize[c]
			req, kind := size, "noscan"
			if scan {
				kind = "scan"
				if size > 512 {
					req = size - 8
				}
			} else if size > 32768-8 {
				req = 32768 - 8
			}
			if !scan && size < 16 {
				continue // the tiny allocator
			}
			runtime.GC()
			nkeep = 0
			prev := inHeap()
			for {
				alloc(req, scan)
				if cur := inHeap(); cur != prev {
					break
				}
			}
			n := 7 + 60000/size
			runtime.ReadMemStats(&a)
			for i := 0; i < n; i++ {
				alloc(req, scan)
			}
			runtime.ReadMemStats(&b)
			by := map[string][2]int64{}
			for i := range a.BySize {
				dm := int64(b.BySize[i].Mallocs - a.BySize[i].Mallocs)
				df := int64(b.BySize[i].Frees - a.BySize[i].Frees)
				if dm != 0 || df != 0 {
					by[itoa(int(a.BySize[i].Size))] = [2]int64{dm, df}
				}
			}
			enc.Encode(result{c, size, kind, req, n, b.Mallocs - a.Mallocs, b.Frees - a.Frees,
				b.TotalAlloc - a.TotalAlloc, int64(b.HeapAlloc) - int64(a.HeapAlloc),
				int64(b.HeapObjects) - int64(a.HeapObjects), int64(b.HeapInuse) - int64(a.HeapInuse), by})
			for i := range keep[:nkeep] {
				keep[i] = nil
			}
		}
	}
}

func itoa(v int) string {
	b, _ := json.Marshal(v)
	return string(b)
}
