//go:build !go1.9
// +build !go1.9

// The report shared by the Go 1.8 twins: each program directory holds a
// symbolic link to this file (report.go -> ../report/report.go) and to
// linkname.s (empty: it lets report.go declare a runtime function), so that
// `go build .` there compiles it with the program's main.go as one package
// main (Go 1.8 has no modules; a GOPATH package would need a GOPATH layout).
//
// The report: the JSON object of tests/oracle/internal/report, in Go 1.8's
// language. Go 1.8 has no runtime/metrics and its ReadMemStats stops the
// world and flushes every mcache, so the peak is read from the runtime's
// own statistics instead: runtime.memstats is linked by name (below) and
// its heap_inuse - stacks_inuse (= MemStats.HeapInuse) read without any
// synchronisation every -sample allocations, like the go1.27 twins' metrics
// read. -memstats-mb N adds a runtime.ReadMemStats every N MB allocated
// (to measure how much that perturbs the run: "peak_readmemstats").
// -series N records heap_inuse, heap_live, gc_trigger, next_gc, numgc and
// gcphase every N allocations ("series"); "cycles" holds, for each GC cycle
// number the sampler saw, the first sample after it (heap_marked, trigger,
// goal).

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
	_ "unsafe" // for go:linkname
)

var (
	sampleEvery = flag.Int("sample", 1000, "read HeapInuse (runtime.memstats, no stop-the-world) every N allocations")
	warmup      = flag.Bool("warmup", true, "a 1µs sleep, the mark workers and one runtime.GC() before the baseline")
	memstatsMB  = flag.Int("memstats-mb", 0, "also call runtime.ReadMemStats every N MB allocated (0: never)")
	seriesEvery = flag.Int("series", 0, "record the runtime's pacer state every N allocations (0: never)")
)

const defaultSeed uint64 = 88172645463325252

// mstats18 mirrors Go 1.8's runtime.mstats (runtime/mstats.go) field for field.
type mstats18 struct {
	alloc, totalAlloc, sys, nlookup, nmalloc, nfree                      uint64
	heapAlloc, heapSys, heapIdle, heapInuse, heapReleased, heapObjects   uint64
	stacksInuse, stacksSys, mspanInuse, mspanSys, mcacheInuse, mcacheSys uint64
	buckhashSys, gcSys, otherSys                                         uint64
	nextGC, lastGC, pauseTotalNs                                         uint64
	pauseNs, pauseEnd                                                    [256]uint64
	numgc, numforcedgc                                                   uint32
	gcCPUFraction                                                        float64
	enablegc, debuggc                                                    bool
	bySize                                                               [67]struct {
		size           uint32
		nmalloc, nfree uint64
	}
	tinyallocs, gcTrigger, heapLive, heapScan, heapMarked uint64
}

//go:linkname rtmemstats runtime.memstats
var rtmemstats mstats18

//go:linkname rtgcphase runtime.gcphase
var rtgcphase uint32

// gcBgMarkStartWorkers is the runtime's own (runtime/mgc.go): it starts a
// background mark worker goroutine for each P that has none. Go 1.8's
// runtime.GC() does not call it (gcStart does only for a background cycle),
// so without this call the first background cycle would start the workers
// inside the workload and count 2 objects as the workload's: the worker's
// g (malg's new(g), 416 B) and its parkInfo (16 B). The warm-up calls it,
// as newer runtimes' GC() does. (The empty linkname.s beside this file
// lets a body-less function compile.)
//go:linkname gcBgMarkStartWorkers runtime.gcBgMarkStartWorkers
func gcBgMarkStartWorkers()

type xorshift struct{ x uint64 }

func newXorshift(seed uint64) *xorshift { return &xorshift{x: seed} }

func (s *xorshift) next() uint64 {
	x := s.x
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	s.x = x
	return x
}

// nextSize: churn's sizes, 70% 16..64 B, 25% 65..2048 B, 5% 4..64 KiB.
func (s *xorshift) nextSize() int {
	u := s.next() % 100
	switch {
	case u < 70:
		return 16 + int(s.next()%49)
	case u < 95:
		return 65 + int(s.next()%1984)
	default:
		return 4096 + int(s.next()%61441)
	}
}

// nextLarge: large's sizes, a band [40 KiB<<k, 2x] (k in 0..6) capped at 4 MiB.
func (s *xorshift) nextLarge() int {
	k := s.next() % 7
	lo := uint64(40960) << k
	hi := 2 * lo
	if hi > 4194304 {
		hi = 4194304
	}
	return int(lo + s.next()%(hi-lo+1))
}

type sizeStats struct {
	Size    uint32
	Mallocs uint64
	Frees   uint64
}

type stats struct {
	Mallocs, Frees, TotalAlloc                           uint64
	HeapAlloc, HeapInuse, HeapObjects, HeapSys, HeapIdle uint64
	HeapReleased, NextGC                                 uint64
	NumGC, NumForcedGC                                   uint32
	PauseTotalNs, Sys                                    uint64
	BySize                                               []sizeStats
}

type afterGC struct{ HeapAlloc, HeapInuse, HeapObjects uint64 }

type peak struct {
	HeapInuse uint64
	Samples   uint64 `json:"samples"`
	Every     int    `json:"every"`
}

// point is one reading of the runtime's statistics (no stop-the-world).
type point struct {
	N          int    `json:"n"`     // workload allocations so far
	Bytes      uint64 `json:"bytes"` // workload bytes requested so far
	HeapInuse  uint64 `json:"heap_inuse"`
	HeapLive   uint64 `json:"heap_live"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	HeapMarked uint64 `json:"heap_marked"`
	Trigger    uint64 `json:"trigger"`
	NextGC     uint64 `json:"next_gc"`
	NumGC      uint32 `json:"numgc"`
	Phase      uint32 `json:"phase"`
}

type output struct {
	Workload   string                 `json:"workload"`
	Params     map[string]interface{} `json:"params"`
	GoVersion  string                 `json:"go_version"`
	GOMAXPROCS int                    `json:"gomaxprocs"`
	MemStats   stats                  `json:"memstats"`
	Baseline   stats                  `json:"baseline"`
	AfterGC    afterGC                `json:"after_gc"`
	Peak       peak                   `json:"peak"`
	PeakRMS    uint64                 `json:"peak_readmemstats,omitempty"`
	ReadMemN   int                    `json:"readmemstats_calls,omitempty"`
	Cycles     []point                `json:"cycles"`
	Series     []point                `json:"series,omitempty"`
	WallNs     int64                  `json:"wall_ns"`
	Result     interface{}            `json:"result"`
}

type runState struct {
	workload  string
	params    map[string]interface{}
	base, end runtime.MemStats
	n         int
	bytes     uint64
	nextRMS   uint64
	rms       runtime.MemStats
	out       output
	lastNumGC uint32
	cycles    []point
	series    []point
	started   time.Time
}

func readPoint(n int, bytes uint64) point {
	m := &rtmemstats
	return point{N: n, Bytes: bytes, HeapInuse: m.heapInuse - m.stacksInuse, HeapLive: m.heapLive,
		HeapAlloc: m.heapAlloc, HeapMarked: m.heapMarked, Trigger: m.gcTrigger, NextGC: m.nextGC,
		NumGC: m.numgc, Phase: rtgcphase}
}

func start(workload string) *runState {
	flag.Parse()
	if flag.NArg() != 0 {
		fail("unexpected arguments %q (flags only; -h lists them)", flag.Args())
	}
	if *sampleEvery < 0 || *memstatsMB < 0 || *seriesEvery < 0 {
		fail("-sample, -memstats-mb and -series must be >= 0")
	}
	r := &runState{workload: workload, params: map[string]interface{}{}}
	flag.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "sample", "warmup", "memstats-mb", "series":
		default:
			r.params[f.Name] = f.Value.(flag.Getter).Get()
		}
	})
	r.out.Peak.Every = *sampleEvery
	r.cycles = make([]point, 0, 4096)
	if *seriesEvery > 0 {
		r.series = make([]point, 0, 1<<16)
	}
	if *warmup {
		time.Sleep(time.Microsecond)
		gcBgMarkStartWorkers()
		runtime.GC()
	}
	runtime.ReadMemStats(&r.base)
	// The mirror must agree with what ReadMemStats copied out of it.
	p := readPoint(0, 0)
	if p.HeapInuse != r.base.HeapInuse || p.NextGC != r.base.NextGC || p.NumGC != r.base.NumGC {
		fail("runtime.memstats mirror disagrees with ReadMemStats (not Go 1.8?): %+v", p)
	}
	r.lastNumGC = p.NumGC
	r.nextRMS = uint64(*memstatsMB) << 20
	r.sample()
	r.started = time.Now()
	return r
}

// tick counts one workload allocation of size bytes.
func (r *runState) tick(size int) {
	r.n++
	r.bytes += uint64(size)
	if *sampleEvery > 0 && r.n%*sampleEvery == 0 {
		r.sample()
	}
	if *seriesEvery > 0 && r.n%*seriesEvery == 0 && len(r.series) < cap(r.series) {
		r.series = append(r.series, readPoint(r.n, r.bytes))
	}
	if r.nextRMS != 0 && r.bytes >= r.nextRMS {
		r.nextRMS += uint64(*memstatsMB) << 20
		runtime.ReadMemStats(&r.rms)
		r.out.ReadMemN++
		if r.rms.HeapInuse > r.out.PeakRMS {
			r.out.PeakRMS = r.rms.HeapInuse
		}
	}
}

func (r *runState) sample() {
	p := readPoint(r.n, r.bytes)
	if p.HeapInuse > r.out.Peak.HeapInuse {
		r.out.Peak.HeapInuse = p.HeapInuse
	}
	r.out.Peak.Samples++
	if p.NumGC != r.lastNumGC && len(r.cycles) < cap(r.cycles) {
		r.lastNumGC = p.NumGC
		r.cycles = append(r.cycles, p)
	}
}

// finish reads the final statistics, runs runtime.GC() and prints the JSON.
//
// result is called after the last reads, so that what it allocates (the
// workload's result map) is not counted; the caller keeps its live objects
// referenced until finish returns.
func (r *runState) finish(result func() interface{}) {
	r.out.WallNs = int64(time.Since(r.started))
	r.sample()
	runtime.ReadMemStats(&r.end)
	runtime.GC()
	var gc runtime.MemStats
	runtime.ReadMemStats(&gc)
	o := &r.out
	o.Workload = r.workload
	o.Params = r.params
	o.GoVersion = runtime.Version()
	o.GOMAXPROCS = runtime.GOMAXPROCS(0)
	o.MemStats = delta(&r.base, &r.end)
	o.Baseline = toStats(&r.base)
	o.AfterGC = afterGC{gc.HeapAlloc, gc.HeapInuse, gc.HeapObjects}
	o.Cycles = r.cycles
	o.Series = r.series
	o.Result = result()
	b, err := json.Marshal(o)
	if err != nil {
		fail("encoding the report: %v", err)
	}
	os.Stdout.Write(append(b, '\n'))
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s: error: %s\n", os.Args[0], fmt.Sprintf(format, args...))
	os.Exit(2)
}

func toStats(m *runtime.MemStats) stats {
	s := stats{
		Mallocs: m.Mallocs, Frees: m.Frees, TotalAlloc: m.TotalAlloc,
		HeapAlloc: m.HeapAlloc, HeapInuse: m.HeapInuse, HeapObjects: m.HeapObjects,
		HeapSys: m.HeapSys, HeapIdle: m.HeapIdle, HeapReleased: m.HeapReleased,
		NextGC: m.NextGC, NumGC: m.NumGC, NumForcedGC: m.NumForcedGC,
		PauseTotalNs: m.PauseTotalNs, Sys: m.Sys,
		BySize: make([]sizeStats, len(m.BySize)),
	}
	for i, b := range m.BySize {
		s.BySize[i] = sizeStats{b.Size, b.Mallocs, b.Frees}
	}
	return s
}

func delta(base, end *runtime.MemStats) stats {
	s := toStats(end)
	s.Mallocs -= base.Mallocs
	s.Frees -= base.Frees
	s.TotalAlloc -= base.TotalAlloc
	for i := range s.BySize {
		s.BySize[i].Mallocs -= base.BySize[i].Mallocs
		s.BySize[i].Frees -= base.BySize[i].Frees
	}
	return s
}

// heapStats is what a workload reports about the heap at some point of its own.
type heapStats struct{ HeapAlloc, HeapInuse, HeapObjects uint64 }

// readHeap reads HeapAlloc, HeapInuse and HeapObjects (runtime.ReadMemStats,
// which stops the world: for reads after the workload's own runtime.GC()).
func readHeap() heapStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heapStats{m.HeapAlloc, m.HeapInuse, m.HeapObjects}
}
