// Command pageheap shows how the page heap grows and gives memory back.
//
// Steps (GC off while growing):
//  1. start: HeapSys/HeapInuse/HeapIdle/HeapReleased, /memory/classes/heap/*.
//  2. allocate pointer-free large objects of 1, 2, 4, ... 1024 pages (kept),
//     recording after each: growth of HeapSys comes in whole 4 MiB palloc
//     chunks (mheap.grow rounds the page count up to 512 pages), and memory
//     that is mapped but never used counts as released.
//  3. drop everything, runtime.GC(): pages go back to the page heap
//     (free but not released: HeapIdle grows, HeapReleased does not).
//  4. debug.FreeOSMemory(): scavenges every free page (forced), so
//     HeapReleased = HeapIdle except free pages held in this P's page cache.
//  5. allocate 8 MiB of 64 KiB objects again: reuse of released pages
//     moves them back (HeapReleased falls, HeapSys unchanged).
//
// Output: one JSON object per step.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"unsafe"
)

var samples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
	{Name: "/memory/classes/heap/stacks:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/gc/heap/goal:bytes"},
}

var enc = json.NewEncoder(os.Stdout)

func report(step string, extra map[string]any) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	metrics.Read(samples)
	out := map[string]any{
		"step": step, "HeapSys": m.HeapSys, "HeapInuse": m.HeapInuse, "HeapIdle": m.HeapIdle,
		"HeapReleased": m.HeapReleased, "HeapAlloc": m.HeapAlloc, "StackInuse": m.StackInuse,
		"NextGC": m.NextGC, "NumGC": m.NumGC, "Sys": m.Sys, "GCSys": m.GCSys,
	}
	for _, s := range samples {
		out[s.Name] = s.Value.Uint64()
	}
	for k, v := range extra {
		out[k] = v
	}
	enc.Encode(out)
}

var keep []unsafe.Pointer

func big(n int) unsafe.Pointer {
	s := make([]byte, n)
	return unsafe.Pointer(&s[0])
}

func main() {
	metrics.Read(samples)
	report("start", nil)
	debug.SetGCPercent(-1)
	for pages := 1; pages <= 1024; pages *= 2 {
		keep = append(keep, big(pages*8192))
		report("alloc", map[string]any{"pages": pages})
	}
	keep = nil
	debug.SetGCPercent(100)
	runtime.GC()
	report("after GC", nil)
	debug.FreeOSMemory()
	report("after FreeOSMemory", nil)
	debug.SetGCPercent(-1)
	for i := 0; i < 128; i++ {
		keep = append(keep, big(64<<10))
	}
	report("realloc 128 x 64KiB", nil)
}
