// Command pprofheap writes a heap profile of known contents, to check what
// goheap reads from Go heap profiles (src/goheap/pprof) against the runtime
// that wrote it.
//
//	go run ./pprofheap [-count 1000] [-large 4] OUT.pb.gz
//
// MemProfileRate is 1 from the main package's initialisation on (a
// package-level initializer, which runs before init and main; the imported
// packages' own initialisation is still sampled at the default 512 KiB), so
// every allocation after that is in the profile unscaled. Each site below is
// its own //go:noinline function that allocates exactly one object per call
// and nothing else, so the profile's leaf frame names it. main keeps every
// object alive in globals until after the profile is written:
//
//	main.noscan24    []byte of 24 B      small, pointer-free (class 24)
//	main.noscan100   []byte of 100 B     small, pointer-free (class 112)
//	main.noscan3000  []byte of 3000 B    small, pointer-free (class 3072)
//	main.newScan40   40 B struct, 2 ptrs small, pointerful (class 48, heap bits in span)
//	main.newScan600  600 B struct, 1 ptr small, pointerful above 512 B: an 8-byte
//	                                     malloc header in its slot (608 -> class 640)
//	main.tiny8       [8]byte             tiny (noscan, < 16 B): two to a 16-byte block
//	main.large40000  []byte of 40000 B   large, pointer-free (5 pages)
//	main.largeptr    []*int of 5000      large, pointerful (40000 B, 5 pages)
//
// How Go profiles tiny allocations: only an allocation that starts a new
// 16-byte block is sampled (mallocgcTiny returns early for one that fits in
// the current block), with size 16 and the stack of that allocation; the
// block is freed, and counted free, when none of its objects is reachable.
// So main.tiny8 shows count/2 objects of 16 B (count is even; an 8-byte
// object first fits in the block left by earlier code only if that block has
// 8 B free, and then count-1 objects still start count/2 blocks).
// GOGC is off while the sites allocate, so no collection resets the mcache's
// tiny block halfway; run with GOMAXPROCS=1 so that one mcache serves them all.
//
// Then two runtime.GC() (the profile's in-use figures are those of the last
// completed cycle; the first publishes every allocation made before it),
// runtime.ReadMemStats, the profile (pprof.Lookup("heap").WriteTo(f, 0), the
// gzipped profile.proto), and one JSON object on stdout:
//
//	{"go_version", "memprofilerate",
//	 "sites": {"main.noscan24": {"count", "size", "pointers"}, ...},
//	 "memstats": {"HeapInuse", "HeapAlloc", "HeapObjects", "HeapSys", "Mallocs", "Frees"}}
//
// where size is the requested size of one object in bytes. Errors: one line
// on stderr, exit status 2.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"

	"goheap/oracle/internal/report"
)

// Set before any other initializer of this package and before main.
var _ = setRate()

func setRate() int {
	runtime.MemProfileRate = 1
	return 1
}

var (
	count = flag.Int("count", 1000, "objects per small site (even, for the tiny site)")
	large = flag.Int("large", 4, "objects per large site")
)

type scan40 struct {
	next *scan40
	p    *int
	pad  [3]uint64
}

type scan600 struct {
	p   *int
	pad [74]uint64
}

// The kept objects, by site.
var (
	keepNoscan24   [][]byte
	keepNoscan100  [][]byte
	keepNoscan3000 [][]byte
	keepScan40     []*scan40
	keepScan600    []*scan600
	keepTiny8      []*[8]byte
	keepLarge40000 [][]byte
	keepLargePtr   [][]*int
)

//go:noinline
func noscan24() []byte { return make([]byte, 24) }

//go:noinline
func noscan100() []byte { return make([]byte, 100) }

//go:noinline
func noscan3000() []byte { return make([]byte, 3000) }

//go:noinline
func newScan40() *scan40 { return new(scan40) }

//go:noinline
func newScan600() *scan600 { return new(scan600) }

//go:noinline
func tiny8() *[8]byte { return new([8]byte) }

//go:noinline
func large40000() []byte { return make([]byte, 40000) }

//go:noinline
func largeptr() []*int { return make([]*int, 5000) }

type site struct {
	Count    int  `json:"count"`
	Size     int  `json:"size"`
	Pointers bool `json:"pointers"`
}

type heapStats struct {
	HeapInuse   uint64
	HeapAlloc   uint64
	HeapObjects uint64
	HeapSys     uint64
	Mallocs     uint64
	Frees       uint64
}

type output struct {
	GoVersion      string          `json:"go_version"`
	MemProfileRate int             `json:"memprofilerate"`
	Sites          map[string]site `json:"sites"`
	MemStats       heapStats       `json:"memstats"`
}

func main() {
	flag.Parse()
	if flag.NArg() != 1 {
		report.Fail("usage: pprofheap [-count N] [-large N] OUT.pb.gz")
	}
	n, nl := *count, *large
	if n < 0 || n%2 != 0 || nl < 0 {
		report.Fail("need an even -count >= 0 and -large >= 0")
	}
	f, err := os.Create(flag.Arg(0))
	if err != nil {
		report.Fail("%v", err)
	}

	// The containers first (their allocations are main.main's), then the sites.
	keepNoscan24 = make([][]byte, n)
	keepNoscan100 = make([][]byte, n)
	keepNoscan3000 = make([][]byte, n)
	keepScan40 = make([]*scan40, n)
	keepScan600 = make([]*scan600, n)
	keepTiny8 = make([]*[8]byte, n)
	keepLarge40000 = make([][]byte, nl)
	keepLargePtr = make([][]*int, nl)

	old := debug.SetGCPercent(-1)
	for i := 0; i < n; i++ {
		keepTiny8[i] = tiny8()
	}
	for i := 0; i < n; i++ {
		keepNoscan24[i] = noscan24()
		keepNoscan100[i] = noscan100()
		keepNoscan3000[i] = noscan3000()
		keepScan40[i] = newScan40()
		keepScan600[i] = newScan600()
	}
	for i := 0; i < nl; i++ {
		keepLarge40000[i] = large40000()
		keepLargePtr[i] = largeptr()
	}
	debug.SetGCPercent(old)

	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		report.Fail("writing the heap profile: %v", err)
	}
	if err := f.Close(); err != nil {
		report.Fail("%v", err)
	}

	out := output{
		GoVersion:      runtime.Version(),
		MemProfileRate: runtime.MemProfileRate,
		Sites: map[string]site{
			"main.noscan24":   {n, 24, false},
			"main.noscan100":  {n, 100, false},
			"main.noscan3000": {n, 3000, false},
			"main.newScan40":  {n, 40, true},
			"main.newScan600": {n, 600, true},
			"main.tiny8":      {n, 8, false},
			"main.large40000": {nl, 40000, false},
			"main.largeptr":   {nl, 40000, true},
		},
		MemStats: heapStats{
			ms.HeapInuse, ms.HeapAlloc, ms.HeapObjects, ms.HeapSys, ms.Mallocs, ms.Frees,
		},
	}
	b, err := json.Marshal(out)
	if err != nil {
		report.Fail("encoding the report: %v", err)
	}
	os.Stdout.Write(append(b, '\n'))

	runtime.KeepAlive(keepNoscan24)
	runtime.KeepAlive(keepNoscan100)
	runtime.KeepAlive(keepNoscan3000)
	runtime.KeepAlive(keepScan40)
	runtime.KeepAlive(keepScan600)
	runtime.KeepAlive(keepTiny8)
	runtime.KeepAlive(keepLarge40000)
	runtime.KeepAlive(keepLargePtr)
}
