// Package report gives every oracle program the same output: one JSON
// object on stdout describing what the Go runtime did during the workload.
//
// A program calls Start after defining its flags, Tick after each of the
// workload's allocations, and Finish (with a function returning its own
// results) at the end, while the objects it keeps are still referenced
// (globals, or runtime.KeepAlive after Finish).
//
// The JSON object:
//
//	workload, params (every flag but -sample), go_version, gomaxprocs
//	memstats:  Mallocs, Frees, TotalAlloc and BySize[].Mallocs/Frees as deltas
//	           over the run; HeapAlloc, HeapInuse, HeapObjects, HeapSys,
//	           HeapIdle, HeapReleased, NextGC, NumGC, NumForcedGC,
//	           PauseTotalNs, Sys as read at the end
//	baseline:  the same fields read before the workload (all absolute)
//	after_gc:  HeapAlloc, HeapInuse, HeapObjects after a runtime.GC() at the end
//	peak:      HeapInuse, the largest /memory/classes/heap/objects:bytes +
//	           /memory/classes/heap/unused:bytes seen, read with runtime/metrics
//	           (which does not stop the world) every -sample allocations and at
//	           the start and end; samples, how many reads that took
//	result:    what the workload itself reports
//
// Nothing here allocates between Start and Finish: the metric samples are
// allocated once in Start, and ReadMemStats fills a MemStats in place.
package report

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"time"
)

var sampleEvery = flag.Int("sample", 1000,
	"read the heap's in-use bytes (runtime/metrics) every N allocations; 0: only at start and end")

// The two runtime/metrics that add up to MemStats.HeapInuse.
var warmup = flag.Bool("warmup", true,
	"set up the runtime's one-time state before the baseline (a 1µs sleep, one runtime.GC()), so that it is not counted")

var peakMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
}

// SizeStats is one MemStats.BySize entry.
type SizeStats struct {
	Size    uint32
	Mallocs uint64
	Frees   uint64
}

// Stats is the part of runtime.MemStats the oracle reports.
type Stats struct {
	Mallocs      uint64
	Frees        uint64
	TotalAlloc   uint64
	HeapAlloc    uint64
	HeapInuse    uint64
	HeapObjects  uint64
	HeapSys      uint64
	HeapIdle     uint64
	HeapReleased uint64
	NextGC       uint64
	NumGC        uint32
	NumForcedGC  uint32
	PauseTotalNs uint64
	Sys          uint64
	BySize       []SizeStats
}

// AfterGC is the heap after the final runtime.GC().
type AfterGC struct {
	HeapAlloc   uint64
	HeapInuse   uint64
	HeapObjects uint64
}

// Peak is the largest heap in use seen while the workload ran.
type Peak struct {
	HeapInuse uint64
	Samples   uint64 `json:"samples"`
	Every     int    `json:"every"`
}

type output struct {
	Workload   string         `json:"workload"`
	Params     map[string]any `json:"params"`
	GoVersion  string         `json:"go_version"`
	GOMAXPROCS int            `json:"gomaxprocs"`
	MemStats   Stats          `json:"memstats"`
	Baseline   Stats          `json:"baseline"`
	AfterGC    AfterGC        `json:"after_gc"`
	Peak       Peak           `json:"peak"`
	Result     any            `json:"result"`
}

// Run is one workload being measured.
type Run struct {
	workload string
	params   map[string]any
	base     runtime.MemStats
	end      runtime.MemStats
	samples  []metrics.Sample
	every    int
	n        int
	peak     Peak
}

// Start parses the command line, reads the baseline and starts sampling.
func Start(workload string) *Run {
	flag.Parse()
	if flag.NArg() != 0 {
		Fail("unexpected arguments %q (flags only; -h lists them)", flag.Args())
	}
	if *sampleEvery < 0 {
		Fail("-sample must be >= 0, got %d", *sampleEvery)
	}
	r := &Run{workload: workload, params: map[string]any{}, every: *sampleEvery}
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name != "sample" && f.Name != "warmup" {
			r.params[f.Name] = f.Value.(flag.Getter).Get()
		}
	})
	r.samples = make([]metrics.Sample, len(peakMetrics))
	for i, name := range peakMetrics {
		r.samples[i].Name = name
	}
	r.peak.Every = r.every
	// The first metrics.Read builds the runtime's table of metrics (about
	// fifty allocations): do it before the baseline so they are not counted.
	r.sample()
	if *warmup {
		// The first timer a P runs grows its timer heap (a 16-byte slice)
		// and starts the netpoller. Without this sleep that happens when
		// the background scavenger first sleeps, inside the workload in
		// most runs (docs/go1.27-notes.md §11).
		time.Sleep(time.Microsecond)
		// The first GC starts the mark workers (112 B + 16, 480, 512 B per P).
		runtime.GC()
	}
	runtime.ReadMemStats(&r.base)
	return r
}

// Tick counts one workload allocation, sampling the heap every -sample of them.
func (r *Run) Tick() {
	r.n++
	if r.every > 0 && r.n%r.every == 0 {
		r.sample()
	}
}

func (r *Run) sample() {
	metrics.Read(r.samples)
	var v uint64
	for _, s := range r.samples {
		if s.Value.Kind() != metrics.KindUint64 {
			Fail("runtime/metrics has no %s in %s", s.Name, runtime.Version())
		}
		v += s.Value.Uint64()
	}
	if v > r.peak.HeapInuse {
		r.peak.HeapInuse = v
	}
	r.peak.Samples++
}

// Finish reads the final statistics, runs runtime.GC() and prints the JSON
// with what result returns (called after the final reads, so that whatever
// it allocates is not counted). The caller keeps its live objects
// referenced until after Finish returns.
func (r *Run) Finish(result func() any) {
	r.sample()
	runtime.ReadMemStats(&r.end)
	runtime.GC()
	var gc runtime.MemStats
	runtime.ReadMemStats(&gc)
	var res any = map[string]any{}
	if result != nil {
		res = result()
	}
	out := output{
		Workload:   r.workload,
		Params:     r.params,
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		MemStats:   delta(&r.base, &r.end),
		Baseline:   stats(&r.base),
		AfterGC:    AfterGC{gc.HeapAlloc, gc.HeapInuse, gc.HeapObjects},
		Peak:       r.peak,
		Result:     res,
	}
	b, err := json.Marshal(out)
	if err != nil {
		Fail("encoding the report: %v", err)
	}
	os.Stdout.Write(append(b, '\n'))
}

// Heap is what a workload reports about the heap at some point of its own.
type Heap struct {
	HeapAlloc   uint64
	HeapInuse   uint64
	HeapObjects uint64
}

// ReadHeap reads HeapAlloc, HeapInuse and HeapObjects (runtime.ReadMemStats).
func ReadHeap() Heap {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return Heap{m.HeapAlloc, m.HeapInuse, m.HeapObjects}
}

// Fail prints one line on stderr and exits with status 2.
func Fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: error: %s\n", os.Args[0], fmt.Sprintf(format, args...))
	os.Exit(2)
}

func stats(m *runtime.MemStats) Stats {
	s := Stats{
		Mallocs: m.Mallocs, Frees: m.Frees, TotalAlloc: m.TotalAlloc,
		HeapAlloc: m.HeapAlloc, HeapInuse: m.HeapInuse, HeapObjects: m.HeapObjects,
		HeapSys: m.HeapSys, HeapIdle: m.HeapIdle, HeapReleased: m.HeapReleased,
		NextGC: m.NextGC, NumGC: m.NumGC, NumForcedGC: m.NumForcedGC,
		PauseTotalNs: m.PauseTotalNs, Sys: m.Sys,
		BySize: make([]SizeStats, len(m.BySize)),
	}
	for i, b := range m.BySize {
		s.BySize[i] = SizeStats{b.Size, b.Mallocs, b.Frees}
	}
	return s
}

// delta: the end's gauges, and the counters (Mallocs, Frees, TotalAlloc,
// BySize) as differences from the baseline.
func delta(base, end *runtime.MemStats) Stats {
	s := stats(end)
	s.Mallocs -= base.Mallocs
	s.Frees -= base.Frees
	s.TotalAlloc -= base.TotalAlloc
	for i := range s.BySize {
		s.BySize[i].Mallocs -= base.BySize[i].Mallocs
		s.BySize[i].Frees -= base.BySize[i].Frees
	}
	return s
}
