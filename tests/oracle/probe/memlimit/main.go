// Command memlimit runs the churn probe's loop (64-byte pointer-free objects
// into a ring of 50,000) and, every `every` allocations, prints one JSON line
// of the runtime/metrics figures the memory-limit heap goal is made of:
//
//	goal = limit - (mappedReady - heapFree - heapAlloc) - max(mappedReady-limit, 0) - headroom
//
// where mappedReady = total - released. It is read without stopping the
// world, so it shows what the pacer sees between collections.
//
//	GOMAXPROCS=1 GOGC=100 GOMEMLIMIT=8MiB memlimit [count=300000] [every=1000]
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

var names = []string{
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/goal:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/mspan/free:bytes",
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/mcache/free:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/profiling/buckets:bytes",
	"/memory/classes/other:bytes",
	"/gc/heap/live:bytes",
	"/gc/limiter/last-enabled:gc-cycle",
}

func main() {
	p := map[string]int{"count": 300000, "every": 1000, "live": 50000}
	for _, a := range os.Args[1:] {
		k, v, _ := strings.Cut(a, "=")
		n, err := strconv.Atoi(v)
		if _, ok := p[k]; !ok || err != nil {
			os.Stderr.WriteString("bad argument " + a + "\n")
			os.Exit(2)
		}
		p[k] = n
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	ring := make([]unsafe.Pointer, p["live"])
	metrics.Read(samples) // the first read allocates; later ones do not
	enc := json.NewEncoder(os.Stdout)
	row := make(map[string]uint64, len(names)+1)
	var lines [][]uint64
	for i := 0; i < p["count"]; i++ {
		s := make([]byte, 64)
		ring[i%p["live"]] = unsafe.Pointer(&s[0])
		if i%p["every"] == p["every"]-1 {
			metrics.Read(samples)
			v := make([]uint64, len(names)+1)
			v[0] = uint64(i + 1)
			for j := range samples {
				v[j+1] = samples[j].Value.Uint64()
			}
			lines = append(lines, v)
		}
	}
	runtime.KeepAlive(ring)
	for _, v := range lines {
		row["i"] = v[0]
		for j, n := range names {
			row[n] = v[j+1]
		}
		enc.Encode(row)
	}
}
