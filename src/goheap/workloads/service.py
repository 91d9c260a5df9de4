"""service: a request/response loop in front of an LRU cache, with skewed keys.

The Go program it mirrors (tests/oracle/service/main.go), with churn's
xorshift64 ``next()``::

    type entry struct {
        prev, next *entry         // LRU list, most recently used at cache.head
        hnext      *entry         // next entry in the same hash bucket
        key        *[16]byte      // the key, as bytes
        value      unsafe.Pointer // valueSize(id) pointer-free bytes
        id, size   uint64
    }                             // 56 bytes (class 64), pointers at 0..32

    var cache struct {            // a global: its pointers are data roots
        head, tail *entry
        buckets    []*entry       // nb = smallest power of two >= capacity
        n          int
    }

    func nextKey() uint64 {       // log-uniform: P(key) ~ 1/key, like Zipf s=1
        l := next() % uint64(bits.Len64(keys))   // a level, uniformly
        lo := uint64(1)<<l - 1
        hi := min(uint64(1)<<(l+1)-1, keys)
        return lo + next()%(hi-lo)               // a key of that level, uniformly
    }
    func valueSize(key uint64) uint64 {          // fixed per key: 64..2048 bytes
        h := (key + 1) * 0x9E3779B97F4A7C15
        h ^= h >> 29
        return 64 + h%1985
    }

    cache.buckets = make([]*entry, nb)
    for r := 0; r < requests; r++ {
        key := nextKey()
        req := make([]byte, 128+next()%385)      // the request as read
        req[0] = byte(key)
        e := lookup(key)                         // walk buckets[key&(nb-1)] by hnext
        if e != nil {
            hits++
            moveToFront(e)
        } else {
            misses++
            k := new([16]byte)
            binary.LittleEndian.PutUint64(k[:], key)
            v := make([]byte, valueSize(key))
            e = &entry{key: k, value: unsafe.Pointer(&v[0]), id: key, size: uint64(len(v))}
            pushFront(e)                         // e.next = head; head.prev = e; ...
            e.hnext = cache.buckets[key&(nb-1)]
            cache.buckets[key&(nb-1)] = e
            cache.n++
            if cache.n > capacity {
                evict()                          // unlink cache.tail from list and bucket
            }
        }
        resp := make([]byte, 64+e.size)          // header + a copy of the value
        resp[0] = req[0]
        consume(req, resp)                       // both are garbage after the request
    }

``consume`` is an empty function called through a package-level function
variable, so ``req`` and ``resp`` escape to the heap without being kept.

Per request: a request buffer and a response buffer (garbage at the end of
the request); per miss a 16-byte key, a value and a 56-byte entry, all three
garbage once the entry is evicted. The LRU list, the hash chains and the
bucket array are real heap objects joined by pointer stores, so in graph mode
the collector finds the cache by tracing from the three globals. So Mallocs
is exactly ``1 + 2*requests + 3*misses``.
"""

from __future__ import annotations

from typing import Final

from goheap.heap import Heap
from goheap.runtime.common.gotype import POINTER, Type
from goheap.workloads.base import Param, Workload
from goheap.workloads.churn import seed_param
from goheap.xorshift import XorShift64

ENTRY: Final = Type("main.entry", size=56, pointers=[0, 8, 16, 24, 32])
PREV, NEXT, HNEXT, KEY, VALUE, ID, SIZE = 0, 8, 16, 24, 32, 40, 48
KEY_SIZE: Final = 16
HEAD, TAIL, BUCKETS = "main.cache.head", "main.cache.tail", "main.cache.buckets"

STACK_MAIN: Final = ("main.main", "runtime.main", "runtime.goexit")
STACK_REQ: Final = ("main.serve", "main.main", "runtime.main", "runtime.goexit")
STACK_MISS: Final = ("main.fill", "main.serve", "main.main", "runtime.main", "runtime.goexit")

_MASK64: Final = (1 << 64) - 1


def next_key(rng: XorShift64, keys: int) -> int:
    """A key in [0, keys), log-uniformly: each power-of-two band equally likely."""
    level = rng.next() % keys.bit_length()
    lo = (1 << level) - 1
    hi = min((1 << (level + 1)) - 1, keys)
    return lo + rng.next() % (hi - lo)


def value_size(key: int) -> int:
    """The size of key's value, 64..2048 bytes, fixed per key."""
    h = ((key + 1) * 0x9E3779B97F4A7C15) & _MASK64
    h ^= h >> 29
    return 64 + h % 1985


def bucket_count(capacity: int) -> int:
    nb = 1
    while nb < capacity:
        nb <<= 1
    return nb


class LRU:
    """The cache's operations, as the Go program performs them on the heap."""

    def __init__(self, heap: Heap, capacity: int) -> None:
        self.heap = heap
        self.capacity = capacity
        self.nb = bucket_count(capacity)
        self.n = 0
        heap.set_global(HEAD, 0)
        heap.set_global(TAIL, 0)
        self.buckets = heap.make(POINTER, self.nb, stack=STACK_MAIN)
        heap.set_global(BUCKETS, self.buckets)

    def lookup(self, key: int) -> int:
        h = self.heap
        e = h.read_pointer(self.buckets, (key & (self.nb - 1)) * 8)
        while e and h.read_word(e, ID) != key:
            e = h.read_pointer(e, HNEXT)
        return e

    def move_to_front(self, e: int) -> None:
        h = self.heap
        head = h.get_global(HEAD)
        if e == head:
            return
        prev, nxt = h.read_pointer(e, PREV), h.read_pointer(e, NEXT)
        h.write_pointer(prev, NEXT, nxt)  # e is not the head, so prev != nil
        if nxt:
            h.write_pointer(nxt, PREV, prev)
        else:
            h.set_global(TAIL, prev)
        h.write_pointer(e, PREV, 0)
        h.write_pointer(e, NEXT, head)
        h.write_pointer(head, PREV, e)
        h.set_global(HEAD, e)

    def insert(self, e: int, key: int) -> None:
        h = self.heap
        head = h.get_global(HEAD)
        h.write_pointer(e, NEXT, head)
        if head:
            h.write_pointer(head, PREV, e)
        else:
            h.set_global(TAIL, e)
        h.set_global(HEAD, e)
        off = (key & (self.nb - 1)) * 8
        h.write_pointer(e, HNEXT, h.read_pointer(self.buckets, off))
        h.write_pointer(self.buckets, off, e)
        self.n += 1

    def evict(self) -> None:
        """Unlink the least recently used entry; it, its key and its value die."""
        h = self.heap
        t = h.get_global(TAIL)
        prev = h.read_pointer(t, PREV)  # n > capacity >= 1, so prev != nil
        h.write_pointer(prev, NEXT, 0)
        h.set_global(TAIL, prev)
        obj, off = self.buckets, (h.read_word(t, ID) & (self.nb - 1)) * 8
        cur = h.read_pointer(obj, off)
        while cur != t:
            obj, off = cur, HNEXT
            cur = h.read_pointer(cur, HNEXT)
        h.write_pointer(obj, off, h.read_pointer(t, HNEXT))
        self.n -= 1
        key, value = h.read_pointer(t, KEY), h.read_pointer(t, VALUE)
        h.dead(t)
        h.dead(key)
        h.dead(value)


def run_service(heap: Heap, params: dict[str, int]) -> dict[str, int]:
    rng = XorShift64(params["seed"])
    keys, capacity = params["keys"], params["capacity"]
    g = heap.g
    cache = LRU(heap, capacity)
    hits = misses = evictions = 0
    for _ in range(params["requests"]):
        key = next_key(rng, keys)
        req = heap.malloc(128 + rng.next() % 385, None, stack=STACK_REQ)
        g.push(req)
        e = cache.lookup(key)
        if e:
            hits += 1
            cache.move_to_front(e)
        else:
            misses += 1
            k = heap.malloc(KEY_SIZE, None, stack=STACK_MISS)
            heap.write_word(k, 0, key)
            g.push(k)
            vsize = value_size(key)
            v = heap.malloc(vsize, None, stack=STACK_MISS)
            g.push(v)
            e = heap.new(ENTRY, stack=STACK_MISS)
            heap.write_pointer(e, KEY, k)
            heap.write_pointer(e, VALUE, v)
            heap.write_word(e, ID, key)
            heap.write_word(e, SIZE, vsize)
            cache.insert(e, key)
            g.pop(2)  # k and v are reachable through the cache now
            if cache.n > capacity:
                cache.evict()
                evictions += 1
        resp = heap.malloc(64 + heap.read_word(e, SIZE), None, stack=STACK_REQ)
        g.pop()
        heap.dead(req)
        heap.dead(resp)
    return {"hits": hits, "misses": misses, "evictions": evictions, "entries": cache.n}


SERVICE = Workload(
    name="service",
    summary="requests against an LRU cache of CAPACITY entries over KEYS skewed keys",
    module=__name__,
    params=(
        Param("requests", 20000, "requests served", minimum=0, maximum=1 << 40, length=True),
        Param("capacity", 1000, "cache entries kept (LRU)", minimum=1, maximum=1 << 26),
        Param("keys", 100000, "distinct keys (log-uniform popularity)", minimum=1, maximum=1 << 62),
        seed_param(),
    ),
    run=run_service,
    declares_deaths=True,
)
