// Command whatif is a steady-state service, the real-runtime check of
// `goheap analyze PROFILE --gogc ...` (src/goheap/pprof/whatif.py): run it
// under some GOGC, take the heap profile it writes, ask goheap what the heap
// would do under each GOGC, and compare with what this program measured
// under that GOGC.
//
//	GOMAXPROCS=1 GOGC=100 go run ./whatif [-capacity 16384] [-requests 400000] OUT.pb.gz
//
// Unlike the other programs here it is no twin of a goheap workload: its
// shape is a service's, not the what-if's synthetic one.
//
//   - The live set is an LRU cache of -capacity entries in a map
//     (map[uint64]*entry, presized): per entry a 64-byte pointerful struct and
//     a pointer-free value whose size is fixed per key, log-uniform over
//     32 B..8 KiB (one octave chosen uniformly, then a size in it), one key in
//     512 a large value of 32..160 KiB. Keys are drawn log-uniformly from
//     -keys (P(key) ~ 1/key), so the hit rate is high but misses keep
//     evicting the least recently used entry: the live set turns over.
//   - Every request allocates garbage: the request (128..1024 B), its parsed
//     fields (a [][]byte of 2..8 slices: 48..192 B, pointerful) and the
//     response (the value plus a 32-byte header), which is checksummed -work
//     times (the mutator's own CPU per byte), and a log record (a 48-byte
//     pointerful struct and a 40..167 B message) that stays in a ring of -logs
//     records: short-lived, request-lived and ring-lived objects.
//
// Phases: runtime set-up (MemProfileRate, a 1 µs sleep, one runtime.GC());
// warm-up: requests until the cache is full, then -warmup more, so that the
// pacer has settled; the steady phase: -requests requests, measured. The heap
// profile is written at the end, without a GC first (as /debug/pprof/heap
// does): its in-use figures are those of the last completed cycle.
//
// -memprofilerate sets runtime.MemProfileRate right after the flags are
// parsed, before the workload allocates anything (1: every allocation; the
// default is Go's, 512 KiB). The runtime's pre-main allocations and the flag
// parsing are sampled at the default rate either way.
//
// Output, one JSON object on stdout (errors: one line on stderr, exit 2):
//
//	go_version, gomaxprocs, gogc (GOGC as set, -1: off), memlimit
//	(GOMEMLIMIT, -1: none), memprofilerate, params (the flags)
//	steady: over the steady phase: requests, allocs (the program's own
//	  allocation calls), Mallocs, TotalAlloc, NumGC, gcs_per_gib
//	  (NumGC per GiB of TotalAlloc), wall_s, cpu_s (the process's CPU, summed
//	  over its threads from /proc/self/task/*/schedstat; -1 where there is
//	  none), gc_cpu_s (/cpu/classes/gc/total), alloc_rate (TotalAlloc per
//	  second of mutator CPU: cpu_s - gc_cpu_s; falls back to
//	  /cpu/classes/user without /proc), alloc_rate_cpu (per second of cpu_s)
//	peak: HeapInuse (/memory/classes/heap/objects + unused), HeapSys (those
//	  plus heap/free and heap/released), goal (/gc/heap/goal), marked
//	  (/gc/heap/live: what the last cycle marked), the largest of each read
//	  every -sample allocations of the steady phase (runtime/metrics: no
//	  stop-the-world); goal_min and marked_min, the smallest; goal_mean, the
//	  mean goal over the samples; samples, every
//	end: MemStats at the end of the steady phase: HeapAlloc, HeapInuse,
//	  HeapSys, HeapIdle, HeapReleased, NextGC, NumGC, the non-heap *Sys
//	  fields and Sys; heap_marked, what the last cycle marked
//	  (/gc/heap/live; a heap profile's in-use figures are a recent cycle's
//	  marked heap); scan_heap, scan_globals, scan_stack, what it scanned
//	  (/gc/scan/*)
//	live: entries in the cache, their entry and value bytes as requested
//	after_gc: HeapAlloc, HeapInuse, HeapObjects after a runtime.GC() (once the
//	  profile is written): the live set alone and the spans it occupies
//	result: hits, misses, evictions over the steady phase
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"goheap/oracle/internal/xorshift"
)

// entry is one cached key: 64 bytes with pointers (class 64, scan).
type entry struct {
	prev, next *entry // LRU list, most recently used at lru.head
	val        []byte
	id         uint64
	hits       uint64
	_          uint64
}

// logRec is one request's log record: 48 bytes with pointers.
type logRec struct {
	msg   []byte
	key   uint64
	bytes uint64
	prev  *logRec
}

var (
	capacity = flag.Int("capacity", 16384, "cache entries kept (LRU): the live set")
	keys     = flag.Uint64("keys", 0, "distinct keys, log-uniform popularity (0: 16 x capacity)")
	requests = flag.Int("requests", 400000, "requests in the measured steady phase")
	warmup   = flag.Int("warmup", -1, "requests after the cache is full, before measuring (-1: requests/10)")
	logs     = flag.Int("logs", 512, "log records kept (a ring)")
	work     = flag.Int("work", 1, "checksum passes over each response (mutator CPU per byte)")
	rate     = flag.Int("memprofilerate", 512*1024, "runtime.MemProfileRate (1: every allocation)")
	every    = flag.Int("sample", 1000, "read the heap metrics every N allocations of the steady phase")
	seed     = flag.Uint64("seed", xorshift.DefaultSeed, "xorshift64 seed (non-zero)")

	lru struct {
		head, tail *entry
		index      map[uint64]*entry
	}
	ring   []*logRec
	rng    xorshift.State
	nkeys  uint64
	allocs uint64
	meter  *sampler

	// consume stands for sending the response. Called through a variable,
	// so what it is given escapes: every allocation here is a heap object.
	consume = func(req []byte, fields [][]byte, resp []byte) uint64 {
		var s uint64
		for pass := 0; pass < *work; pass++ {
			for _, b := range resp {
				s = s*31 + uint64(b)
			}
		}
		return s + uint64(len(req)+len(fields))
	}
	sink uint64
)

// nextKey is log-uniform over 0..nkeys-1: a level uniformly, then a key in it.
func nextKey() uint64 {
	l := rng.Next() % uint64(bits.Len64(nkeys))
	lo := uint64(1)<<l - 1
	hi := min(uint64(1)<<(l+1)-1, nkeys)
	return lo + rng.Next()%(hi-lo)
}

// valueSize is fixed per key: log-uniform 32 B..8 KiB, one key in 512 32..160 KiB.
func valueSize(key uint64) int {
	h := (key + 1) * 0x9E3779B97F4A7C15
	h ^= h >> 31
	if h%512 == 0 {
		return 32<<10 + int((h>>9)%(128<<10))
	}
	lo := uint64(32) << ((h >> 9) % 8)
	return int(lo + (h>>12)%lo)
}

func tick() {
	allocs++
	if meter != nil && allocs%uint64(*every) == 0 {
		meter.read()
	}
}

func moveToFront(e *entry) {
	if e == lru.head {
		return
	}
	e.prev.next = e.next
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		lru.tail = e.prev
	}
	e.prev, e.next = nil, lru.head
	lru.head.prev = e
	lru.head = e
}

// get returns the key's entry, filling (and evicting) on a miss.
func get(key uint64) (e *entry, hit, evicted bool) {
	if e = lru.index[key]; e != nil {
		moveToFront(e)
		e.hits++
		return e, true, false
	}
	v := make([]byte, valueSize(key))
	tick()
	v[0] = byte(key)
	e = &entry{val: v, id: key}
	tick()
	e.next = lru.head
	if lru.head != nil {
		lru.head.prev = e
	} else {
		lru.tail = e
	}
	lru.head = e
	lru.index[key] = e
	if len(lru.index) > *capacity {
		t := lru.tail
		lru.tail = t.prev
		lru.tail.next = nil
		t.prev = nil
		delete(lru.index, t.id)
		evicted = true
	}
	return e, false, evicted
}

// serve handles one request; its garbage dies when it returns, the log record later.
func serve(i int) (hit, evicted bool) {
	key := nextKey()
	req := make([]byte, 128+rng.Next()%897)
	tick()
	req[0] = byte(key)
	fields := make([][]byte, 2+rng.Next()%7)
	tick()
	for j := range fields {
		fields[j] = req[j : j+8]
	}
	e, hit, evicted := get(key)
	resp := make([]byte, 32+len(e.val))
	tick()
	copy(resp[32:], e.val)
	sink += consume(req, fields, resp)
	msg := make([]byte, 40+rng.Next()%128)
	tick()
	msg[0] = byte(key)
	rec := &logRec{msg: msg, key: key, bytes: uint64(len(resp))}
	tick()
	slot := i % len(ring)
	rec.prev = ring[(slot+len(ring)-1)%len(ring)]
	if old := ring[slot]; old != nil {
		old.prev = nil // the record dies with its slot, not with the next one
	}
	ring[slot] = rec
	return hit, evicted
}

// The metrics read every -sample allocations.
var sampleNames = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/gc/heap/goal:bytes",
	"/gc/heap/live:bytes",
}

type peak struct {
	HeapInuse uint64 `json:"HeapInuse"`
	HeapSys   uint64 `json:"HeapSys"`
	Goal      uint64 `json:"goal"`
	GoalMin   uint64 `json:"goal_min"`
	GoalMean  uint64 `json:"goal_mean"`
	goalSum   float64
	Marked    uint64 `json:"marked"`
	MarkedMin uint64 `json:"marked_min"`
	Samples   uint64 `json:"samples"`
	Every     int    `json:"every"`
}

type sampler struct {
	s    []metrics.Sample
	peak peak
}

func newSampler() *sampler {
	m := &sampler{s: make([]metrics.Sample, len(sampleNames)), peak: peak{Every: *every}}
	for i, n := range sampleNames {
		m.s[i].Name = n
	}
	return m
}

func (m *sampler) read() {
	metrics.Read(m.s)
	var v [6]uint64
	for i := range m.s {
		if m.s[i].Value.Kind() != metrics.KindUint64 {
			fail("runtime/metrics has no %s in %s", m.s[i].Name, runtime.Version())
		}
		v[i] = m.s[i].Value.Uint64()
	}
	p := &m.peak
	inuse := v[0] + v[1]
	p.HeapInuse = max(p.HeapInuse, inuse)
	p.HeapSys = max(p.HeapSys, inuse+v[2]+v[3])
	p.Goal = max(p.Goal, v[4])
	p.Marked = max(p.Marked, v[5])
	if p.Samples == 0 {
		p.GoalMin, p.MarkedMin = v[4], v[5]
	}
	p.GoalMin = min(p.GoalMin, v[4])
	p.MarkedMin = min(p.MarkedMin, v[5])
	p.Samples++
	p.goalSum += float64(v[4])
	p.GoalMean = uint64(p.goalSum / float64(p.Samples))
}

// cpuTimes: the process's CPU (ns, summed over its threads; -1 without
// /proc), and the runtime's GC and user CPU estimates (s).
type cpuTimes struct {
	proc      int64
	gc, user  float64
	wallStart time.Time
}

func readCPU() cpuTimes {
	t := cpuTimes{proc: -1, wallStart: time.Now()}
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/user:cpu-seconds"}}
	metrics.Read(s)
	t.gc, t.user = s[0].Value.Float64(), s[1].Value.Float64()
	tasks, err := filepath.Glob("/proc/self/task/*/schedstat")
	if err != nil || len(tasks) == 0 {
		return t
	}
	var sum int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return t
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return t
		}
		sum += ns
	}
	t.proc = sum
	return t
}

// readScan: the last cycle's marked heap and scanned heap, globals and stack bytes.
func readScan() [4]uint64 {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/heap:bytes"},
		{Name: "/gc/scan/globals:bytes"}, {Name: "/gc/scan/stack:bytes"},
	}
	metrics.Read(s)
	var v [4]uint64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = s[i].Value.Uint64()
		}
	}
	return v
}

type steady struct {
	Requests     int     `json:"requests"`
	Allocs       uint64  `json:"allocs"`
	Mallocs      uint64  `json:"Mallocs"`
	TotalAlloc   uint64  `json:"TotalAlloc"`
	NumGC        uint32  `json:"NumGC"`
	GCsPerGiB    float64 `json:"gcs_per_gib"`
	WallS        float64 `json:"wall_s"`
	CPUS         float64 `json:"cpu_s"`
	GCCPUS       float64 `json:"gc_cpu_s"`
	AllocRate    float64 `json:"alloc_rate"`
	AllocRateCPU float64 `json:"alloc_rate_cpu"`
}

type endStats struct {
	HeapAlloc, HeapInuse, HeapSys, HeapIdle, HeapReleased uint64
	NextGC                                                uint64
	NumGC                                                 uint32
	StackInuse, StackSys, MSpanSys, MCacheSys             uint64
	BuckHashSys, GCSys, OtherSys, Sys                     uint64
	// What the last cycle marked and scanned (runtime/metrics /gc/heap/live,
	// /gc/scan/*:bytes).
	HeapMarked  uint64 `json:"heap_marked"`
	ScanHeap    uint64 `json:"scan_heap"`
	ScanGlobals uint64 `json:"scan_globals"`
	ScanStack   uint64 `json:"scan_stack"`
}

// afterGC is the heap after a runtime.GC() once the profile is written: the
// live set alone, and the spans it occupies.
type afterGC struct {
	HeapAlloc, HeapInuse, HeapObjects uint64
}

type liveStats struct {
	Entries    int    `json:"entries"`
	EntryBytes uint64 `json:"entry_bytes"`
	ValueBytes uint64 `json:"value_bytes"`
}

type output struct {
	GoVersion      string         `json:"go_version"`
	GOMAXPROCS     int            `json:"gomaxprocs"`
	GOGC           int            `json:"gogc"`
	MemLimit       int64          `json:"memlimit"`
	MemProfileRate int            `json:"memprofilerate"`
	Params         map[string]any `json:"params"`
	Steady         steady         `json:"steady"`
	Peak           peak           `json:"peak"`
	End            endStats       `json:"end"`
	Live           liveStats      `json:"live"`
	AfterGC        afterGC        `json:"after_gc"`
	Result         map[string]int `json:"result"`
}

// fail prints one line on stderr and exits with status 2.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "whatif: error: %s\n", fmt.Sprintf(format, args...))
	os.Exit(2)
}

func gogcSetting() int {
	v := os.Getenv("GOGC")
	if v == "" {
		return 100
	}
	if v == "off" {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fail("GOGC=%q: not a number or off", v)
	}
	return n
}

func main() {
	flag.Parse()
	runtime.MemProfileRate = *rate
	if flag.NArg() != 1 {
		fail("usage: whatif [flags] OUT.pb.gz")
	}
	if *capacity < 1 || *requests < 1 || *logs < 1 || *work < 0 || *every < 1 || *seed == 0 || *rate < 0 {
		fail("need -capacity, -requests, -logs, -sample >= 1, -work, -memprofilerate >= 0, -seed != 0")
	}
	nkeys = *keys
	if nkeys == 0 {
		nkeys = 16 * uint64(*capacity)
	}
	if nkeys <= uint64(*capacity) {
		fail("-keys %d: must be more than -capacity %d", nkeys, *capacity)
	}
	nwarm := *warmup
	if nwarm < 0 {
		nwarm = *requests / 10
	}
	f, err := os.Create(flag.Arg(0))
	if err != nil {
		fail("%v", err)
	}
	params := map[string]any{}
	flag.VisitAll(func(fl *flag.Flag) { params[fl.Name] = fl.Value.(flag.Getter).Get() })
	meter = newSampler()
	meter.read() // builds runtime/metrics' table before anything is measured
	time.Sleep(time.Microsecond)
	runtime.GC()
	rng = xorshift.New(*seed)

	// Warm-up: fill the cache, then let the pacer settle.
	lru.index = make(map[uint64]*entry, *capacity+1)
	ring = make([]*logRec, *logs)
	i := 0
	for ; len(lru.index) < *capacity; i++ {
		serve(i)
	}
	for end := i + nwarm; i < end; i++ {
		serve(i)
	}

	// The steady phase.
	meter.peak = peak{Every: *every}
	var base, ms runtime.MemStats
	cpu0 := readCPU() // allocates: before the baseline
	runtime.ReadMemStats(&base)
	allocs0 := allocs
	meter.read()
	hits, misses, evictions := 0, 0, 0
	for end := i + *requests; i < end; i++ {
		hit, ev := serve(i)
		if hit {
			hits++
		} else {
			misses++
		}
		if ev {
			evictions++
		}
	}
	meter.read()
	runtime.ReadMemStats(&ms)
	cpu1 := readCPU()
	scan := readScan()

	out := output{
		GoVersion:      runtime.Version(),
		GOMAXPROCS:     runtime.GOMAXPROCS(0),
		GOGC:           gogcSetting(),
		MemLimit:       debug.SetMemoryLimit(-1),
		MemProfileRate: runtime.MemProfileRate,
		Params:         params,
		Peak:           meter.peak,
		End: endStats{
			ms.HeapAlloc, ms.HeapInuse, ms.HeapSys, ms.HeapIdle, ms.HeapReleased,
			ms.NextGC, ms.NumGC, ms.StackInuse, ms.StackSys, ms.MSpanSys, ms.MCacheSys,
			ms.BuckHashSys, ms.GCSys, ms.OtherSys, ms.Sys, scan[0], scan[1], scan[2], scan[3],
		},
		Result: map[string]int{"hits": hits, "misses": misses, "evictions": evictions},
	}
	if out.MemLimit == 1<<63-1 {
		out.MemLimit = -1
	}
	st := &out.Steady
	st.Requests = *requests
	st.Allocs = allocs - allocs0
	st.Mallocs = ms.Mallocs - base.Mallocs
	st.TotalAlloc = ms.TotalAlloc - base.TotalAlloc
	st.NumGC = ms.NumGC - base.NumGC
	st.GCsPerGiB = float64(st.NumGC) * (1 << 30) / float64(st.TotalAlloc)
	st.WallS = time.Since(cpu0.wallStart).Seconds()
	st.GCCPUS = cpu1.gc - cpu0.gc
	mutator := cpu1.user - cpu0.user
	st.CPUS = -1
	if cpu0.proc >= 0 && cpu1.proc >= 0 {
		st.CPUS = float64(cpu1.proc-cpu0.proc) / 1e9
		st.AllocRateCPU = float64(st.TotalAlloc) / st.CPUS
		mutator = st.CPUS - st.GCCPUS
	}
	if mutator > 0 {
		st.AllocRate = float64(st.TotalAlloc) / mutator
	}
	for e := lru.head; e != nil; e = e.next {
		out.Live.Entries++
		out.Live.EntryBytes += 64
		out.Live.ValueBytes += uint64(len(e.val))
	}

	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fail("writing the heap profile: %v", err)
	}
	if err := f.Close(); err != nil {
		fail("%v", err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	out.AfterGC = afterGC{ms.HeapAlloc, ms.HeapInuse, ms.HeapObjects}
	b, err := json.Marshal(out)
	if err != nil {
		fail("encoding the report: %v", err)
	}
	os.Stdout.Write(append(b, '\n'))
	runtime.KeepAlive(lru.index)
	runtime.KeepAlive(ring)
}
