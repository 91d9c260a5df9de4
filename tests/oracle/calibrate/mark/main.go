// mark: the live runtime's marking cost and its fixed per-cycle costs, for
// `goheap calibrate`.
//
// Objects mode (default): -k live objects (64-byte pointer-free ones referenced
// from one []unsafe.Pointer, or with -list a linked list of 16-byte nodes), then
// -reps forced GCs (run with GOGC huge): gctrace (stderr) gives each mark's
// clock; with -dead, k dead objects are allocated before each GC as well (the
// timing study's calibmark.go, which measured the built-in mark figures); with
// -shuffle the ring's slots are permuted (a fixed xorshift Fisher-Yates), so
// the mark visits the objects in no address order and pays the cache misses a
// program's scattered heap does (allocated in order, marked in order, the
// hardware prefetcher hides them). Window mode (-window N): N slots of -size byte objects replaced -steps
// times at the GOGC given: background cycles with almost no heap to scan, whose
// gctrace shows the per-cycle costs (roots, stopping the world).
//
// Prints one JSON line: HeapInuse at the end. Written in the language of Go 1.8
// so that one source serves Go 1.8 and today's Go; standard library only.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"unsafe"
)

type node struct{ next *node }

var (
	k      = flag.Int("k", 100000, "live objects")
	list   = flag.Bool("list", false, "16-byte list nodes, not 64-byte pointer-free objects")
	words  = flag.Int("words", 0, "objects of this many pointer words (all nil), not 64-byte pointer-free ones")
	reps   = flag.Int("reps", 3, "forced GCs")
	dead   = flag.Bool("dead", false, "allocate k dead objects before each forced GC")
	shuf   = flag.Bool("shuffle", false, "permute the ring: objects marked in no address order")
	window = flag.Int("window", 0, "window mode: this many live slots")
	size   = flag.Int("size", 1<<20, "window mode: object size")
	steps  = flag.Int("steps", 2000, "window mode: allocations")
	ring   []unsafe.Pointer
	head   *node
	sink   unsafe.Pointer
)

func main() {
	flag.Parse()
	if *window > 0 {
		ring = make([]unsafe.Pointer, *window)
		runtime.GC()
		for i := 0; i < *steps; i++ {
			b := make([]byte, *size)
			ring[i%*window] = unsafe.Pointer(&b[0])
		}
	} else {
		if *list {
			for i := 0; i < *k; i++ {
				head = &node{head}
			}
		} else {
			ring = make([]unsafe.Pointer, *k)
			for i := range ring {
				if *words > 0 {
					w := make([]unsafe.Pointer, *words)
					ring[i] = unsafe.Pointer(&w[0])
					continue
				}
				b := make([]byte, 64)
				ring[i] = unsafe.Pointer(&b[0])
			}
			if *shuf {
				shuffle(ring)
			}
		}
		runtime.GC()
		for r := 0; r < *reps; r++ {
			for i := 0; *dead && i < *k; i++ {
				b := make([]byte, 64)
				sink = unsafe.Pointer(&b[0])
			}
			runtime.GC()
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("{\"heap_inuse\":%d}\n", m.HeapInuse)
}

// shuffle permutes the ring in place: Fisher-Yates driven by xorshift64, the
// same permutation on every run and runtime.
func shuffle(r []unsafe.Pointer) {
	x := uint64(88172645463325252)
	for i := len(r) - 1; i > 0; i-- {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		j := int(x % uint64(i+1))
		r[i], r[j] = r[j], r[i]
	}
}
