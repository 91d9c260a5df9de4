//go:build !go1.9
// +build !go1.9

// Command service is the Go 1.8 twin of goheap's service workload
// (src/goheap/workloads/service.py, tests/oracle/service): a
// request/response loop in front of an LRU cache of -capacity entries,
// over -keys keys of skewed popularity (xorshift64 from -seed).
//
// Per request: a request buffer and a response buffer, both garbage after
// the request. Per miss: a 16-byte key, a value and a 56-byte entry,
// garbage once the entry is evicted. The cache is a global, so the
// collector reaches it from the data segment. Mallocs is exactly
// 1 + 2*requests + 3*misses.
//
// In the language of Go 1.8 (no math/bits, no min), with report.go
// (../report) beside it; built with the toolchain of ../../../shared/go1.8
// (../README.md):
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o service18 .
//	GOMAXPROCS=1 ./service18 -requests 20000 -capacity 1000 -keys 100000
//
// Output: see ../report/report.go.
package main

import (
	"encoding/binary"
	"flag"
	"unsafe"
)

type entry struct {
	prev, next *entry         // LRU list, most recently used at cache.head
	hnext      *entry         // next entry in the same hash bucket
	key        *[16]byte      // the key, as bytes
	value      unsafe.Pointer // valueSize(id) pointer-free bytes
	id, size   uint64
}

var cache struct {
	head, tail *entry
	buckets    []*entry // nb = the smallest power of two >= capacity
	n          int
}

var (
	requests = flag.Int("requests", 20000, "requests served")
	capacity = flag.Int("capacity", 1000, "cache entries kept (LRU)")
	keys     = flag.Uint64("keys", 100000, "distinct keys (log-uniform popularity)")
	seed     = flag.Uint64("seed", defaultSeed, "xorshift64 seed (non-zero)")

	rng xorshift
	run *runState
)

// consume stands for whatever the service does with a request and its
// response. Called through a function variable, so req and resp escape:
// they are heap objects, as in the model. It keeps no reference.
var consume = func(req, resp []byte) {}

// bitLen is math/bits.Len64 (Go 1.9): the number of bits needed for x.
func bitLen(x uint64) uint64 {
	n := uint64(0)
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// nextKey is log-uniform: P(key) ~ 1/key, like Zipf with s=1.
func nextKey() uint64 {
	l := rng.next() % bitLen(*keys) // a level, uniformly
	lo := uint64(1)<<l - 1
	hi := uint64(1)<<(l+1) - 1
	if hi > *keys {
		hi = *keys
	}
	return lo + rng.next()%(hi-lo) // a key of that level, uniformly
}

// valueSize is fixed per key: 64..2048 bytes.
func valueSize(key uint64) uint64 {
	h := (key + 1) * 0x9E3779B97F4A7C15
	h ^= h >> 29
	return 64 + h%1985
}

func lookup(key uint64) *entry {
	e := cache.buckets[key&uint64(len(cache.buckets)-1)]
	for e != nil && e.id != key {
		e = e.hnext
	}
	return e
}

func moveToFront(e *entry) {
	if e == cache.head {
		return
	}
	e.prev.next = e.next // e is not the head, so e.prev != nil
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		cache.tail = e.prev
	}
	e.prev = nil
	e.next = cache.head
	cache.head.prev = e
	cache.head = e
}

func insert(e *entry) {
	e.next = cache.head
	if cache.head != nil {
		cache.head.prev = e
	} else {
		cache.tail = e
	}
	cache.head = e
	b := &cache.buckets[e.id&uint64(len(cache.buckets)-1)]
	e.hnext = *b
	*b = e
	cache.n++
}

// evict unlinks the least recently used entry; it, its key and its value
// become garbage.
func evict() {
	t := cache.tail
	t.prev.next = nil // n > capacity >= 1, so t.prev != nil
	cache.tail = t.prev
	p := &cache.buckets[t.id&uint64(len(cache.buckets)-1)]
	for *p != t {
		p = &(*p).hnext
	}
	*p = t.hnext
	cache.n--
}

// fill allocates a missing key's entry: key, then value, then the entry.
func fill(key uint64) *entry {
	k := new([16]byte)
	run.tick(16)
	binary.LittleEndian.PutUint64(k[:], key)
	v := make([]byte, valueSize(key))
	run.tick(len(v))
	e := &entry{key: k, value: unsafe.Pointer(&v[0]), id: key, size: uint64(len(v))}
	run.tick(56)
	return e
}

func main() {
	run = start("service")
	if *requests < 0 || *capacity < 1 || *keys < 1 || *seed == 0 {
		fail("need -requests >= 0, -capacity >= 1, -keys >= 1, -seed != 0")
	}
	rng = xorshift{x: *seed} // a value in a global: no allocation
	nb := 1
	for nb < *capacity {
		nb <<= 1
	}
	cache.buckets = make([]*entry, nb)
	run.tick(nb * 8)
	hits, misses, evictions := 0, 0, 0
	for r := 0; r < *requests; r++ {
		key := nextKey()
		req := make([]byte, 128+rng.next()%385) // the request as read
		run.tick(len(req))
		req[0] = byte(key)
		e := lookup(key)
		if e != nil {
			hits++
			moveToFront(e)
		} else {
			misses++
			e = fill(key)
			insert(e)
			if cache.n > *capacity {
				evict()
				evictions++
			}
		}
		resp := make([]byte, 64+e.size) // header + a copy of the value
		run.tick(len(resp))
		resp[0] = req[0]
		consume(req, resp)
	}
	run.finish(func() interface{} {
		return map[string]int{
			"hits": hits, "misses": misses, "evictions": evictions, "entries": cache.n,
		}
	})
}
