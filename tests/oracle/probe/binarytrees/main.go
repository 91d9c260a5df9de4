// Command binarytrees mirrors goheap's binarytrees workload (the
// benchmarks-game pattern, run sequentially):
//
//	binarytrees [depth=14] [every=1000]
//
// Nodes are struct{ left, right *Node } (16 bytes, two pointers). Every
// `every` node allocations it samples HeapInuse through runtime/metrics
// (no stop-the-world) and keeps the peak. It prints one JSON object with
// the MemStats deltas of the run, the end state, the state after a forced
// GC, and the sampled peak.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
)

type Node struct{ left, right *Node }

var samples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
}

var (
	every, nalloc int
	peakInuse     uint64
)

func sample() {
	nalloc++
	if every > 0 && nalloc%every == 0 {
		metrics.Read(samples)
		peakInuse = max(peakInuse, samples[0].Value.Uint64()+samples[1].Value.Uint64())
	}
}

func bottomUpTree(depth int) *Node {
	if depth <= 0 {
		n := &Node{}
		sample()
		return n
	}
	l := bottomUpTree(depth - 1)
	r := bottomUpTree(depth - 1)
	n := &Node{l, r}
	sample()
	return n
}

func (n *Node) itemCheck() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.itemCheck() + n.right.itemCheck()
}

func main() {
	p := map[string]int{"depth": 14, "every": 1000}
	for _, a := range os.Args[1:] {
		k, v, ok := strings.Cut(a, "=")
		n, err := strconv.Atoi(v)
		if _, known := p[k]; !ok || err != nil || !known {
			os.Stderr.WriteString("bad argument " + a + "\n")
			os.Exit(2)
		}
		p[k] = n
	}
	every = p["every"]
	metrics.Read(samples) // first read initialises the metrics table
	var before, end, after runtime.MemStats
	runtime.ReadMemStats(&before)

	maxDepth := max(6, p["depth"])
	checked := bottomUpTree(maxDepth + 1).itemCheck()
	longLived := bottomUpTree(maxDepth)
	for d := 4; d <= maxDepth; d += 2 {
		for i := 0; i < 1<<(maxDepth-d+4); i++ {
			checked += bottomUpTree(d).itemCheck()
		}
	}
	checked += longLived.itemCheck()

	runtime.ReadMemStats(&end)
	runtime.KeepAlive(longLived)
	runtime.GC()
	runtime.ReadMemStats(&after)

	out := map[string]any{
		"params":  p,
		"checked": checked,
		"nodes":   nalloc,
		"loop": map[string]any{
			"Mallocs": end.Mallocs - before.Mallocs, "Frees": end.Frees - before.Frees,
			"TotalAlloc": end.TotalAlloc - before.TotalAlloc, "NumGC": end.NumGC - before.NumGC,
		},
		"end": map[string]any{
			"NumGC": end.NumGC, "HeapInuse": end.HeapInuse, "HeapSys": end.HeapSys, "HeapAlloc": end.HeapAlloc,
			"HeapReleased": end.HeapReleased, "NextGC": end.NextGC, "HeapObjects": end.HeapObjects,
		},
		"after_gc": map[string]any{
			"NumGC": after.NumGC, "HeapInuse": after.HeapInuse, "HeapSys": after.HeapSys, "HeapAlloc": after.HeapAlloc,
			"HeapObjects": after.HeapObjects, "HeapReleased": after.HeapReleased, "NextGC": after.NextGC,
		},
		"before": map[string]any{"HeapInuse": before.HeapInuse, "HeapSys": before.HeapSys, "HeapAlloc": before.HeapAlloc},
		"peak":   map[string]any{"HeapInuse": peakInuse},
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
