// Command spanfill measures, for every size class, how many objects the live
// runtime puts in one span, for pointer-free (noscan) and pointerful (scan)
// objects.
//
// Method 1 (exact, per span): allocate objects one at a time and watch the
// bytes held by in-use heap spans (runtime/metrics
// /memory/classes/heap/objects + /memory/classes/heap/unused, which is
// MemStats.HeapInuse and does not stop the world). Each step up is a new
// span; the number of allocations between two steps is the span's nelems.
//
// Method 2 (MemStats check): right after a step, ReadMemStats (this flushes
// the mcache, leaving nelems-1 free slots in a partial span), allocate
// K*nelems objects with K = nelems+1, ReadMemStats again. HeapInuse must have
// grown by exactly K spans; a per-span count off by one in either direction
// would give K-1 or K+1.
//
// Run with GOMAXPROCS=1. GC is disabled while measuring (SetGCPercent(-1)).
// Output: one JSON object per line, then a summary table on stderr.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"unsafe"
)

// Size of each size class (class 0 unused), as in
// internal/runtime/gc/sizeclasses.go of this toolchain.
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
	Class      int    `json:"class"`
	Size       int    `json:"size"`
	Kind       string `json:"kind"`
	ReqBytes   int    `json:"request_bytes"`
	SpanBytes  uint64 `json:"span_bytes"`
	Nelems     []int  `json:"nelems_per_span"`
	K          int    `json:"memstats_k"`
	SpansAdded uint64 `json:"memstats_spans_added"`
	MemStatsOK bool   `json:"memstats_ok"`
}

// measure returns the per-span counts seen between consecutive span steps.
func measure(req int, scan bool, steps int) (counts []int, spanBytes uint64) {
	prev := inHeap()
	n := 0
	seen := 0
	for seen <= steps {
		alloc(req, scan)
		n++
		cur := inHeap()
		if cur != prev {
			if seen > 0 {
				counts = append(counts, n-1)
			}
			spanBytes = cur - prev
			n = 1 // this allocation is the first object of the new span
			seen++
			prev = cur
		}
	}
	return
}

func main() {
	debug.SetGCPercent(-1)
	keep = make([]unsafe.Pointer, 4<<20)
	var ms0, ms1 runtime.MemStats
	var table []result
	for c := 1; c < len(classSize); c++ {
		for _, scan := range []bool{false, true} {
			size := classSize[c]
			req := size
			kind := "noscan"
			if scan {
				kind = "scan"
				if size > 512 {
					req = size - 8 // malloc header takes 8 bytes of the slot
				}
			} else if size > 32768-8 {
				req = 32768 - 8 // 32761..32768 noscan bytes are large objects
			}
			if !scan && size < 16 {
				continue // noscan < 16 B goes to the tiny allocator (class 2)
			}
			runtime.GC()
			nkeep = 0
			counts, spanBytes := measure(req, scan, 3)
			nel := counts[len(counts)-1]
			k := nel + 1
			if k < 4 {
				k = 4
			}
			runtime.ReadMemStats(&ms0)
			for i := 0; i < k*nel; i++ {
				alloc(req, scan)
			}
			runtime.ReadMemStats(&ms1)
			added := (ms1.HeapInuse - ms0.HeapInuse) / spanBytes
			r := result{c, size, kind, req, spanBytes, counts, k, added, added == uint64(k) && (ms1.HeapInuse-ms0.HeapInuse)%spanBytes == 0}
			table = append(table, r)
			for i := range keep[:nkeep] {
				keep[i] = nil
			}
		}
	}
	// Tiny: 8-byte pointer-free objects share 16-byte blocks of class 2.
	runtime.GC()
	nkeep = 0
	counts, spanBytes := measure(8, false, 3)
	table = append(table, result{2, 16, "tiny8", 8, spanBytes, counts, 0, 0, true})

	enc := json.NewEncoder(os.Stdout)
	for _, r := range table {
		enc.Encode(r)
	}
	fmt.Fprintf(os.Stderr, "%5s %6s %6s %5s %9s %s\n", "class", "size", "kind", "pages", "nelems", "memstats")
	for _, r := range table {
		fmt.Fprintf(os.Stderr, "%5d %6d %6s %5d %9v %v(%d/%d)\n", r.Class, r.Size, r.Kind, r.SpanBytes/8192, r.Nelems, r.MemStatsOK, r.SpansAdded, r.K)
	}
}
