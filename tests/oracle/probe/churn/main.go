// Command churn keeps a fixed window of live objects while allocating many
// more: slot i%live of a ring is overwritten by each new object, so the live
// heap stays near live*size while the program allocates count*size bytes.
//
//	churn [size=64] [count=2000000] [live=50000] [pointers=0] [every=1000]
//
// pointers=1 allocates ceil(size/8) pointer words ([]unsafe.Pointer),
// pointers=0 a []byte. Every `every` allocations it reads runtime/metrics
// (no stop-the-world) to sample HeapInuse
// (/memory/classes/heap/objects + /memory/classes/heap/unused) and keeps the
// peak. It prints one JSON object: MemStats deltas of the loop, the end
// state, the state after a forced GC, and the sampled peaks.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"unsafe"
)

var samples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
	{Name: "/gc/heap/goal:bytes"},
}

func params() map[string]int {
	p := map[string]int{"size": 64, "count": 2000000, "live": 50000, "pointers": 0, "every": 1000}
	for _, a := range os.Args[1:] {
		k, v, ok := strings.Cut(a, "=")
		n, err := strconv.Atoi(v)
		if _, known := p[k]; !ok || err != nil || !known {
			os.Stderr.WriteString("bad argument " + a + "\n")
			os.Exit(2)
		}
		p[k] = n
	}
	return p
}

var ring []unsafe.Pointer

func main() {
	p := params()
	size, count, live, ptrs, every := p["size"], p["count"], p["live"], p["pointers"] == 1, p["every"]
	ring = make([]unsafe.Pointer, live)
	var before, end, after, mr0, mr1 runtime.MemStats

	// The first metrics.Read initialises the metrics table (heap allocations);
	// later reads of uint64 metrics must allocate nothing, which mr0/mr1 check.
	metrics.Read(samples)
	runtime.ReadMemStats(&mr0)
	for i := 0; i < 100; i++ {
		metrics.Read(samples)
	}
	runtime.ReadMemStats(&mr1)

	runtime.ReadMemStats(&before)
	var peakInuse, peakGoal, peakReleasedMax uint64
	for i := 0; i < count; i++ {
		var q unsafe.Pointer
		if ptrs {
			s := make([]unsafe.Pointer, (size+7)/8)
			q = unsafe.Pointer(&s[0])
		} else {
			s := make([]byte, size)
			q = unsafe.Pointer(&s[0])
		}
		ring[i%live] = q
		if every > 0 && i%every == every-1 {
			metrics.Read(samples)
			inuse := samples[0].Value.Uint64() + samples[1].Value.Uint64()
			peakInuse = max(peakInuse, inuse)
			peakGoal = max(peakGoal, samples[4].Value.Uint64())
			peakReleasedMax = max(peakReleasedMax, samples[3].Value.Uint64())
		}
	}
	runtime.ReadMemStats(&end)
	runtime.KeepAlive(ring)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ring)

	out := map[string]any{
		"params":               p,
		"metrics_read_mallocs": mr1.Mallocs - mr0.Mallocs,
		"loop": map[string]any{
			"Mallocs":    end.Mallocs - before.Mallocs,
			"Frees":      end.Frees - before.Frees,
			"TotalAlloc": end.TotalAlloc - before.TotalAlloc,
			"NumGC":      end.NumGC - before.NumGC,
		},
		"end": map[string]any{
			"NumGC": end.NumGC, "HeapInuse": end.HeapInuse, "HeapSys": end.HeapSys, "HeapAlloc": end.HeapAlloc,
			"HeapIdle": end.HeapIdle, "HeapReleased": end.HeapReleased, "NextGC": end.NextGC, "Sys": end.Sys,
			"HeapObjects": end.HeapObjects,
		},
		"after_gc": map[string]any{
			"NumGC": after.NumGC, "HeapInuse": after.HeapInuse, "HeapSys": after.HeapSys, "HeapAlloc": after.HeapAlloc,
			"HeapObjects": after.HeapObjects, "HeapReleased": after.HeapReleased, "NextGC": after.NextGC,
		},
		"before": map[string]any{"HeapInuse": before.HeapInuse, "HeapSys": before.HeapSys, "HeapAlloc": before.HeapAlloc, "NextGC": before.NextGC},
		"peak":   map[string]any{"HeapInuse": peakInuse, "HeapGoal": peakGoal, "HeapReleased": peakReleasedMax},
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
