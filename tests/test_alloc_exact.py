"""Exact allocation numbers: what Go 1.8's arithmetic says a fresh heap must report.

Every expectation here is derived in the test from Go 1.8's rules, not read
back from goheap:

- the size-class table (runtime/sizeclasses.go, copied below) and the lookup
  "smallest class whose size is >= the request" (msize.go);
- a new span comes from the page heap, which, while nothing is ever freed,
  behaves as a bump allocator over a single free tail span: mheap.grow adds
  max(1 MiB, npages rounded up to 8 pages) at arena_used and the new region
  coalesces with the free tail (mheap.go grow / freeSpanLocked);
- within a span slots are handed out in order (freeindex), and a span is
  replaced only when it is full (mcache.refill / mcentral.cacheSpan);
- the tiny allocator (malloc.go): align 8/4/2 by size, fit if off+size <= 16,
  else a new 16-byte block that replaces the old one only if it has more
  room left (size < tinyoffset);
- MemStats (mstats.go updatememstats): Mallocs = live + Frees, Frees =
  nlargefree + nsmallfree + tinyallocs, HeapObjects = Mallocs - Frees,
  BySize has 61 entries (classes 0..60).

Nothing here keeps its objects reachable, so the heaps that grow past Go's
4 MiB first GC trigger run with GOGC=off (``heap_off``): then no collection
happens and the allocation arithmetic above is all there is, as in Go. The
small scenarios use the default heap (GOGC=100), which stays below the
trigger and must give the same numbers.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import goheap
from goheap import GoheapError, Heap, Type
from tests.go18data import (
    ARENA_START,
    BYSIZE_LEN,
    CLASS_TO_ALLOCNPAGES,
    CLASS_TO_SIZE,
    MAX_SMALL,
    PAGE,
    SIZEOF_MCACHE,
    SIZEOF_MSPAN,
    MiB,
)

# --- Go 1.8 constants (linux/amd64) ------------------------------------------

TINY = 16
TINY_CLASS = 2
BUCKHASH_SIZE = 179999
SIZEOF_BUCKET = 48  # next, allnext, typ, hash, size, nstk
SIZEOF_MEMRECORD = 96  # 12 uintptr counters
MAX_STACK = 32


@pytest.fixture
def heap_off(make_heap) -> Heap:
    """A fresh go1.8 heap with GOGC=off: nothing is ever collected."""
    return make_heap(gogc="off")


def roundup(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def size_class(size: int) -> int:
    """The smallest class whose size is >= size (what Go's lookup tables encode)."""
    assert 0 < size <= MAX_SMALL
    return next(c for c in range(1, len(CLASS_TO_SIZE)) if CLASS_TO_SIZE[c] >= size)


def class_geometry(size: int) -> tuple[int, int, int, int]:
    """(class, slot size, pages per span, objects per span) for a small request."""
    c = size_class(size)
    npages = CLASS_TO_ALLOCNPAGES[c]
    return c, CLASS_TO_SIZE[c], npages, npages * PAGE // CLASS_TO_SIZE[c]


def grow_pages(npages: int) -> int:
    """Pages mheap.grow maps for a request of npages: max(1 MiB, round up to 8 pages)."""
    return max(roundup(npages, 8), MiB // PAGE)


class BumpPageHeap:
    """The Go 1.8 page heap while nothing is freed: one free tail, grown on demand."""

    def __init__(self) -> None:
        self.next = ARENA_START  # first page not handed out
        self.used = ARENA_START  # arena_used

    def alloc(self, npages: int) -> int:
        if self.used - self.next < npages * PAGE:
            self.used += grow_pages(npages) * PAGE
        addr = self.next
        self.next += npages * PAGE
        return addr

    @property
    def heap_sys(self) -> int:
        return self.used - ARENA_START

    @property
    def heap_inuse(self) -> int:
        return self.next - ARENA_START

    @property
    def free_spans(self) -> int:
        return 1 if self.used > self.next else 0


def tiny_align(off: int, size: int) -> int:
    if size % 8 == 0:
        return roundup(off, 8)
    if size % 4 == 0:
        return roundup(off, 4)
    if size % 2 == 0:
        return roundup(off, 2)
    return off


def simulate_tiny(sizes: list[int]) -> tuple[int, int, list[int]]:
    """(16-byte blocks, tiny fits, addresses) of noscan allocations < 16 B on one P.

    Blocks are consecutive class-2 slots: 512 per 1-page span, spans adjacent.
    """
    tiny = 0
    off = 0
    blocks = 0
    fits = 0
    addrs = []
    for size in sizes:
        o = tiny_align(off, size)
        if tiny != 0 and o + size <= TINY:
            addrs.append(tiny + o)
            off = o + size
            fits += 1
            continue
        x = ARENA_START + TINY * blocks
        blocks += 1
        addrs.append(x)
        if size < off or tiny == 0:
            tiny = x
            off = size
    return blocks, fits, addrs


def assert_by_size(ms: goheap.MemStats, mallocs: dict[int, int]) -> None:
    """BySize has Go 1.8's 61 entries; class c reports mallocs.get(c, 0), no frees."""
    assert len(ms.BySize) == BYSIZE_LEN
    for c, e in enumerate(ms.BySize):
        assert e.Size == CLASS_TO_SIZE[c], c
        assert e.Mallocs == mallocs.get(c, 0), c
        assert e.Frees == 0, c


def assert_heap_shape(ms: goheap.MemStats, pages: BumpPageHeap, nspans: int) -> None:
    assert ms.HeapSys == pages.heap_sys
    assert ms.HeapInuse == pages.heap_inuse
    assert ms.HeapIdle == pages.heap_sys - pages.heap_inuse
    assert ms.HeapSys == ms.HeapInuse + ms.HeapIdle
    assert ms.HeapReleased == 0
    assert ms.MSpanInuse == SIZEOF_MSPAN * (nspans + pages.free_spans)
    assert ms.MCacheInuse == SIZEOF_MCACHE
    assert ms.StackInuse == 0
    sys_parts = (
        ms.HeapSys + ms.StackSys + ms.MSpanSys + ms.MCacheSys + ms.BuckHashSys + ms.GCSys
    ) + ms.OtherSys
    assert ms.Sys == sys_parts


# --- small objects -------------------------------------------------------------

NOSCAN_SIZES = [16, 17, 48, 100, 1024, 1025, 20480, 32768]
POINTER_SIZES = [8, 16, 24, 48, 104, 1024, 1032, 32768]


def counts_for(size: int) -> list[int]:
    objs = class_geometry(size)[3]
    return sorted({1, objs, objs + 1, 3000})


def run_small(h: Heap, size: int, n: int, typ: Type | None) -> None:
    c, slot, npages, objs = class_geometry(size)
    pages = BumpPageHeap()
    span_bases = [pages.alloc(npages) for _ in range(ceil_div(n, objs))]
    want_addrs = [span_bases[i // objs] + (i % objs) * slot for i in range(n)]
    got = [h.malloc(size, typ) for _ in range(n)]
    assert got == want_addrs

    ms = h.read_memstats()
    assert ms.HeapAlloc == ms.Alloc == n * slot
    assert ms.TotalAlloc == n * slot
    assert ms.Mallocs == n
    assert ms.Frees == 0
    assert ms.HeapObjects == n
    assert ms.HeapInuse == ceil_div(n, objs) * npages * PAGE
    assert_heap_shape(ms, pages, len(span_bases))
    # Go 1.8 reports classes 0..60 only: 20480 (61) and 32768 (66) are invisible.
    assert_by_size(ms, {c: n} if c < BYSIZE_LEN else {})
    h.check()


@pytest.mark.parametrize(
    ("size", "n"), [(s, n) for s in NOSCAN_SIZES for n in counts_for(s)], ids=str
)
def test_small_noscan_exact(make_heap, size: int, n: int) -> None:
    run_small(make_heap(gogc="off"), size, n, None)


@pytest.mark.parametrize(
    ("size", "n"), [(s, n) for s in POINTER_SIZES for n in counts_for(s)], ids=str
)
def test_small_with_pointers_exact(make_heap, size: int, n: int) -> None:
    # An 8-byte pointer object is not tiny: it goes to class 1 (1024 per span).
    typ = Type(f"T{size}", size, pointers=[0])
    run_small(make_heap(gogc="off"), size, n, typ)


def test_size_class_boundaries_pick_go18_classes(heap_off: Heap) -> None:
    heap = heap_off
    """One object at each class size and one byte above it lands in the right class."""
    want: dict[int, int] = {}
    for c in range(2, len(CLASS_TO_SIZE)):
        for size in (CLASS_TO_SIZE[c], CLASS_TO_SIZE[c] + 1):
            if size > MAX_SMALL:
                continue
            x = heap.malloc(size)
            ref = heap.find_object(x)
            assert ref is not None and ref.base == x
            assert ref.span.sizeclass == size_class(size)
            assert ref.size == CLASS_TO_SIZE[size_class(size)]
            want[size_class(size)] = want.get(size_class(size), 0) + 1
    ms = heap.read_memstats()
    assert_by_size(ms, {c: k for c, k in want.items() if c < BYSIZE_LEN})
    assert ms.Mallocs == sum(want.values())
    heap.check()


def test_no_24_byte_class_in_go18(heap: Heap) -> None:
    """Go 1.8 has no 24-byte class: a 24-byte pointerful object takes a 32-byte slot."""
    T = Type("T24", 24, pointers=[0, 16])
    a = heap.new(T)
    b = heap.new(T)
    assert b - a == 32
    assert heap.read_memstats().HeapAlloc == 64


def test_exactly_one_mib_of_one_page_spans_then_growth(heap_off: Heap) -> None:
    heap = heap_off
    """128 one-page spans fill the first 1 MiB with no idle tail; one more grows 1 MiB."""
    objs = PAGE // 48  # 170 per span, 32 bytes tail waste
    for _ in range(128 * objs):
        heap.malloc(48)
    ms = heap.memstats()
    assert ms.HeapSys == MiB
    assert ms.HeapInuse == MiB
    assert ms.HeapIdle == 0
    assert ms.MSpanInuse == 128 * SIZEOF_MSPAN  # no free span left
    assert len(heap.mheap.freelarge) == 0
    assert all(len(lst) == 0 for lst in heap.mheap.free)

    x = heap.malloc(48)
    assert x == ARENA_START + MiB
    ms = heap.memstats()
    assert ms.HeapSys == 2 * MiB
    assert ms.HeapInuse == MiB + PAGE
    assert ms.HeapIdle == MiB - PAGE
    assert ms.MSpanInuse == 130 * SIZEOF_MSPAN
    (rest,) = heap.mheap.free[127].spans()
    assert rest.startAddr == ARENA_START + MiB + PAGE
    heap.check()


def test_sys_accounting_one_small_object(make_heap) -> None:
    """Every *Sys field after one 16-byte allocation, from Go 1.8's mapping rules."""
    h = make_heap(memprofilerate=0, gogc="off")
    h.malloc(16)
    ms = h.read_memstats()
    heap_sys = MiB  # one grow
    # bitmap: 1 MiB / 32, in 8 KiB steps; one 64 KiB gcBits arena; gcSweepBuf
    # spine (256 pointers) + one 512-entry block, both persistentalloc'd.
    gc_sys = MiB // 32 + 64 * 1024 + 256 * 8 + 512 * 8
    mspan_sys = 16 * 1024  # one fixalloc chunk of mspans (P 0's persistentalloc)
    mcache_sys = 16 * 1024  # one fixalloc chunk of mcaches (global persistentalloc)
    other_sys = (
        (256 * 1024 - mcache_sys)  # the global persistentalloc chunk, minus the mcaches
        + (256 * 1024 - mspan_sys - 256 * 8 - 512 * 8)  # P 0's chunk, minus spans/sweepbuf
        + 4096  # spans table for 128 pages: 1 KiB rounded up to a physical page
        + 64 * 1024  # allspans backing array: 8192 pointers (recordspan)
    )
    assert ms.HeapSys == heap_sys
    assert ms.GCSys == gc_sys
    assert ms.MSpanSys == mspan_sys
    assert ms.MCacheSys == mcache_sys
    assert ms.OtherSys == other_sys
    assert ms.BuckHashSys == 0
    assert ms.StackSys == 0
    assert ms.Sys == heap_sys + gc_sys + mspan_sys + mcache_sys + other_sys == 1740800
    assert ms.MSpanInuse == 2 * SIZEOF_MSPAN  # the object's span and the free tail
    assert ms.MCacheInuse == SIZEOF_MCACHE
    h.check()


def test_sys_accounting_after_second_grow(make_heap) -> None:
    """129 one-page spans of the 48-byte class: two grows, 130 mspan structs."""
    h = make_heap(memprofilerate=0, gogc="off")
    for _ in range(129 * 170):
        h.malloc(48)
    ms = h.read_memstats()
    heap_sys = 2 * MiB
    # gcBits: 2 * ceil(170/64) * 8 = 48 bytes per span, 129 spans fit one arena.
    gc_sys = 2 * MiB // 32 + 64 * 1024 + 256 * 8 + 512 * 8
    mspan_sys = 2 * 16 * 1024  # 130 structs, 107 per 16 KiB chunk
    mcache_sys = 16 * 1024
    other_sys = (
        (256 * 1024 - mcache_sys)
        + (256 * 1024 - mspan_sys - 256 * 8 - 512 * 8)
        + 4096  # 256 pages * 8 bytes still fit one physical page of spans table
        + 64 * 1024
    )
    assert (ms.HeapSys, ms.GCSys, ms.MSpanSys, ms.MCacheSys, ms.OtherSys) == (
        heap_sys,
        gc_sys,
        mspan_sys,
        mcache_sys,
        other_sys,
    )
    assert ms.Sys == heap_sys + gc_sys + mspan_sys + mcache_sys + other_sys
    assert ms.MSpanInuse == 130 * SIZEOF_MSPAN
    h.check()


# --- tiny objects --------------------------------------------------------------


def run_tiny(h: Heap, sizes: list[int]) -> None:
    blocks, fits, want_addrs = simulate_tiny(sizes)
    got = [h.malloc(s) for s in sizes]
    assert got == want_addrs
    ms = h.read_memstats()
    assert ms.Mallocs == len(sizes)
    assert ms.Frees == fits  # tinyallocs count as frees in Go 1.8
    assert ms.HeapObjects == blocks
    assert ms.HeapAlloc == ms.TotalAlloc == blocks * TINY
    assert ms.HeapInuse == ceil_div(blocks, PAGE // TINY) * PAGE
    assert_by_size(ms, {TINY_CLASS: blocks})
    h.check()


def test_tiny_1000_eight_byte_objects(heap: Heap) -> None:
    got = [heap.malloc(8) for _ in range(1000)]
    assert got == [ARENA_START + 8 * i for i in range(1000)]  # two per 16-byte block
    ms = heap.read_memstats()
    assert ms.Mallocs == 1000
    assert ms.HeapObjects == 500
    assert ms.Frees == 500
    assert ms.HeapAlloc == 500 * 16
    assert ms.TotalAlloc == 500 * 16
    assert ms.HeapInuse == PAGE
    assert_by_size(ms, {TINY_CLASS: 500})
    heap.check()


@pytest.mark.parametrize(
    "sizes",
    [
        [1] * 1000,  # 16 per block
        [3] * 999,  # 5 per block (15 bytes used)
        [5] * 1000,  # 3 per block
        [12] * 1000,  # one per block: 12 -> align 4 -> 12+12 > 16
        [1, 3, 5, 12] * 250,
        [12, 1, 5, 3] * 250,
        [15, 1, 1, 2, 4, 8, 2] * 100,
        [8, 4, 2, 1, 1] * 200,
    ],
    ids=["1x1000", "3x999", "5x1000", "12x1000", "1-3-5-12", "12-1-5-3", "mixed1", "mixed2"],
)
def test_tiny_sequences(heap: Heap, sizes: list[int]) -> None:
    run_tiny(heap, sizes)


def test_tiny_block_replacement_rule(heap: Heap) -> None:
    """A new block becomes the tiny block only if it leaves more room than the old one."""
    a = heap.malloc(12)  # block 0, tinyoffset 12 (4 left)
    b = heap.malloc(8)  # align 16: no fit; block 1; 8 < 12 -> block 1 is the tiny block
    c = heap.malloc(4)  # fits block 1 at 8
    d = heap.malloc(15)  # no fit; block 2, but 15 < 12 is false: block 1 stays (off 12)
    e = heap.malloc(4)  # block 1 at 12: 12+4 = 16 fits
    f = heap.malloc(1)  # block 1 full (16): new block 3, 1 < 16 -> replaces
    g = heap.malloc(2)  # block 3 at offset 2 (aligned to 2)
    B = ARENA_START
    assert [a, b, c, d, e, f, g] == [B, B + 16, B + 24, B + 32, B + 28, B + 48, B + 50]
    c0 = heap.mcaches[0]
    assert (c0.tiny, c0.tinyoffset) == (B + 48, 4)
    ms = heap.read_memstats()
    assert (ms.Mallocs, ms.Frees, ms.HeapObjects, ms.HeapAlloc) == (7, 3, 4, 64)
    # ReadMemStats flushes the mcache: the tiny block is dropped.
    assert (c0.tiny, c0.tinyoffset) == (0, 0)
    assert heap.malloc(1) == B + 64


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 15), min_size=1, max_size=300))
def test_tiny_rule_property(sizes: list[int]) -> None:
    with Heap(profile="go1.8") as h:
        run_tiny(h, sizes)


def test_tiny_objects_with_pointers_are_not_tiny(heap: Heap) -> None:
    P = Type("P", 8, pointers=[0])
    xs = [heap.new(P) for _ in range(3)]
    assert xs == [ARENA_START, ARENA_START + 8, ARENA_START + 16]
    ms = heap.read_memstats()
    assert (ms.Mallocs, ms.Frees, ms.HeapObjects, ms.HeapAlloc) == (3, 0, 3, 24)
    assert_by_size(ms, {1: 3})


def test_zero_size_allocation_is_zerobase_and_not_counted(heap: Heap) -> None:
    z1 = heap.malloc(0)
    z2 = heap.make(Type("T", 16, pointers=[0]), 0)
    assert z1 == z2 == heap.mheap.zerobase
    assert not (ARENA_START <= z1 < ARENA_START + (1 << 39))
    ms = heap.read_memstats()
    assert (ms.Mallocs, ms.HeapAlloc, ms.HeapSys) == (0, 0, 0)


# --- large objects -------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "n"),
    [
        (32769, 1),
        (32769, 30),
        (33 * 1024, 40),
        (40000, 7),
        (MiB, 3),
        (MiB - 1, 2),
        (5 * MiB + 3, 2),
    ],
    ids=str,
)
def test_large_objects_exact(heap_off: Heap, size: int, n: int) -> None:
    h = heap_off
    h.malloc(8, Type("P", 8, pointers=[0]))  # a small span first: mixed layouts
    npages = ceil_div(size, PAGE)
    pages = BumpPageHeap()
    pages.alloc(1)  # the class-1 span
    want = [pages.alloc(npages) for _ in range(n)]
    got = [h.malloc(size) for _ in range(n)]
    assert got == want
    ms = h.read_memstats()
    assert ms.HeapAlloc == ms.TotalAlloc == 8 + n * npages * PAGE
    assert ms.Mallocs == ms.HeapObjects == n + 1
    assert ms.Frees == 0
    assert_heap_shape(ms, pages, n + 1)
    assert_by_size(ms, {1: 1})  # large objects are not in BySize
    for x in got:
        ref = h.find_object(x + size - 1)
        assert ref is not None and (ref.base, ref.size) == (x, npages * PAGE)
        assert ref.span.sizeclass == 0 and ref.span.limit == x + size
    h.check()


def test_first_allocation_over_128_pages(heap: Heap) -> None:
    # Regression: sweepdone is 0 in a fresh heap, so alloc_m calls reclaim(npage)
    # first, which must not index busy[] past its 128 lists.
    x = heap.malloc(129 * PAGE)
    assert x == ARENA_START
    ms = heap.read_memstats()
    assert ms.HeapSys == 136 * PAGE  # 129 pages rounded to 8, > 1 MiB
    assert ms.HeapInuse == 129 * PAGE
    heap.check()


def test_large_grow_and_free_list_reuse(heap_off: Heap) -> None:
    heap = heap_off
    """Large objects only: grow's remainder is reused (free[] first, then freelarge)."""
    mh = heap.mheap
    S = ARENA_START
    a = heap.malloc(33 * 1024)  # 5 pages: grow 1 MiB, remainder 123 pages -> free[123]
    assert a == S
    assert [s.startAddr for s in mh.free[123].spans()] == [S + 5 * PAGE]
    b = heap.malloc(100 * PAGE)  # first non-empty free[i], i >= 100: free[123]
    assert b == S + 5 * PAGE
    assert [s.npages for s in mh.free[23].spans()] == [23]
    # 30 pages: free[30..127] and freelarge are empty -> grow 1 MiB, which
    # coalesces with the 23-page tail: the object starts in the *old* memory.
    c = heap.malloc(30 * PAGE)
    assert c == S + 105 * PAGE
    assert heap.memstats().HeapSys == 2 * MiB
    assert [s.startAddr for s in mh.free[121].spans()] == [S + 135 * PAGE]
    # 2 MiB + 1 byte = 257 pages: rounded to 264 pages (more than 1 MiB) by
    # grow; with the 121-page tail that leaves exactly 128 pages -> freelarge.
    d = heap.malloc(2 * MiB + 1)
    assert d == S + 135 * PAGE
    assert heap.memstats().HeapSys == 2 * MiB + 264 * PAGE
    assert [(s.startAddr, s.npages) for s in mh.freelarge.spans()] == [(S + 392 * PAGE, 128)]
    e = heap.malloc(MiB)  # exactly the 128-page free span: best fit, no trim
    assert e == S + 392 * PAGE
    assert len(mh.freelarge) == 0 and all(len(lst) == 0 for lst in mh.free)
    ms = heap.memstats()
    assert ms.HeapIdle == 0 and ms.HeapInuse == ms.HeapSys == 520 * PAGE
    f = heap.malloc(40000)
    assert f == S + 520 * PAGE
    ms = heap.read_memstats()
    assert ms.HeapSys == 520 * PAGE + MiB
    assert ms.HeapAlloc == (5 + 100 + 30 + 257 + 128 + 5) * PAGE
    assert ms.Mallocs == ms.HeapObjects == 6
    assert [(s.startAddr, s.npages) for s in mh.busy[5].spans()] == [(S, 5), (f, 5)]
    assert [s.startAddr for s in mh.busylarge.spans()] == [d, e]
    heap.check()


class TestPageHeapPolicyWhiteBox:
    """free[] LIFO, freelarge best fit (lowest address on ties), coalescing.

    Nothing can be freed through the public API yet, so these tests free a
    large span the way mspan.sweep does for a dead large object (mgcsweep.go:
    needzero = 1, mheap_.freeSpan(s, 1), local_nlargefree++ and
    local_largefree += size) and then watch the next allocations. The heaps
    do not sample (MemProfileRate=0), so no object has a profile special the
    real sweeper would have to free first.
    """

    @pytest.fixture
    def heap_off(self, make_heap) -> Heap:
        return make_heap(gogc="off", memprofilerate=0)

    @staticmethod
    def free_large(h: Heap, x: int) -> None:
        s = h.mheap.spans[(x - ARENA_START) // PAGE]
        assert s.startAddr == x and s.sizeclass == 0
        size = s.elemsize
        s.allocCount = 0
        s.needzero = 1
        h.mheap.freeSpan(s, 1)
        c = h.mcaches[0]
        c.local_nlargefree += 1
        c.local_largefree += size
        h.stats.heap_alloc_now -= size

    def test_free_list_is_lifo(self, heap_off: Heap) -> None:
        heap = heap_off
        xs = [heap.malloc(5 * PAGE) for _ in range(5)]
        assert xs == [ARENA_START + i * 5 * PAGE for i in range(5)]
        self.free_large(heap, xs[1])
        self.free_large(heap, xs[3])
        assert [s.startAddr for s in heap.mheap.free[5].spans()] == [xs[3], xs[1]]
        ms = heap.read_memstats()
        assert (ms.Mallocs, ms.Frees, ms.HeapObjects) == (5, 2, 3)
        assert ms.HeapAlloc == 3 * 5 * PAGE
        assert ms.TotalAlloc == 5 * 5 * PAGE
        heap.check()
        assert heap.malloc(5 * PAGE) == xs[3]  # the most recently freed first
        assert heap.malloc(5 * PAGE) == xs[1]
        heap.check()

    def test_freed_neighbours_coalesce(self, heap_off: Heap) -> None:
        heap = heap_off
        xs = [heap.malloc(5 * PAGE) for _ in range(5)]
        self.free_large(heap, xs[1])
        self.free_large(heap, xs[2])
        assert len(heap.mheap.free[5]) == 0
        assert [s.startAddr for s in heap.mheap.free[10].spans()] == [xs[1]]
        self.free_large(heap, xs[4])  # merges with the free tail of the arena
        tail = heap.mheap.free[128 - 20].spans() or heap.mheap.freelarge.spans()
        assert [(s.startAddr, s.npages) for s in tail] == [(xs[4], 128 - 20)]
        heap.check()
        assert heap.malloc(10 * PAGE) == xs[1]
        assert heap.memstats().MSpanInuse == SIZEOF_MSPAN * 4  # xs 0, 1, 3 and the tail
        heap.check()

    def test_freelarge_best_fit_lowest_address_on_ties(self, heap_off: Heap) -> None:
        heap = heap_off
        x3 = heap.malloc(128 * PAGE)
        sep3 = heap.malloc(5 * PAGE)
        x1 = heap.malloc(129 * PAGE)
        sep1 = heap.malloc(5 * PAGE)
        x2 = heap.malloc(129 * PAGE)
        sep2 = heap.malloc(5 * PAGE)
        assert x3 < sep3 < x1 < sep1 < x2 < sep2
        for x in (x3, x1, x2):
            self.free_large(heap, x)
        fl = [(s.startAddr, s.npages) for s in heap.mheap.freelarge.spans()]
        assert fl == [(x2, 129), (x1, 129), (x3, 128)]  # front insertion
        heap.check()
        assert heap.malloc(128 * PAGE) == x3  # smallest that fits, from the back
        assert heap.malloc(129 * PAGE) == x1  # tie: the lower address, not the first
        assert heap.malloc(129 * PAGE) == x2
        heap.check()


# --- heap growth ---------------------------------------------------------------


def test_heap_sys_grows_in_one_mib_steps_for_small_spans(heap_off: Heap) -> None:
    heap = heap_off
    seen = []
    for _ in range(5 * 128):
        heap.malloc(8192)  # class 50: one object per 1-page span
        seen.append(heap.memstats().HeapSys)
    assert sorted(set(seen)) == [MiB, 2 * MiB, 3 * MiB, 4 * MiB, 5 * MiB]
    assert seen.index(2 * MiB) == 128
    ms = heap.read_memstats()
    assert ms.HeapSys == ms.HeapInuse + ms.HeapIdle
    assert ms.HeapIdle == 0


def test_grow_maps_bitmap_and_spans_table(heap_off: Heap) -> None:
    heap = heap_off
    heap.malloc(16)
    heap.malloc(10 * MiB)  # 1280 pages: grow exactly 10 MiB
    mh = heap.mheap
    used = mh.arena_used - mh.arena_start
    assert used == 11 * MiB
    assert mh.bitmap_mapped == roundup(used // 32, PAGE)
    assert len(mh.spans) == roundup(used // PAGE * 8, 4096) // 8
    heap.check()


# --- two Ps --------------------------------------------------------------------


def test_two_procs_use_separate_spans(make_heap) -> None:
    h = make_heap(procs=2)
    S = ARENA_START
    a0 = h.malloc(48, p=0)
    b0 = h.malloc(48, p=1)
    a1 = h.malloc(48, p=0)
    b1 = h.malloc(48, p=1)
    assert (a0, a1, b0, b1) == (S, S + 48, S + PAGE, S + PAGE + 48)
    sa = h.mcaches[0].alloc[4]
    sb = h.mcaches[1].alloc[4]
    assert sa is not sb and (sa.startAddr, sb.startAddr) == (S, S + PAGE)
    assert sa.incache and sb.incache
    # tiny blocks are per P too
    t0 = h.malloc(4, p=0)
    t1 = h.malloc(4, p=1)
    t0b = h.malloc(4, p=0)
    assert t0 == S + 2 * PAGE and t1 == S + 3 * PAGE and t0b == t0 + 4
    ms = h.read_memstats()
    assert ms.HeapInuse == 4 * PAGE
    assert ms.HeapAlloc == 4 * 48 + 2 * 16
    assert (ms.Mallocs, ms.Frees, ms.HeapObjects) == (7, 1, 6)
    assert ms.MCacheInuse == 2 * SIZEOF_MCACHE
    assert ms.MCacheSys == 16 * 1024
    assert ms.MSpanInuse == 5 * SIZEOF_MSPAN
    h.check()
    # ReadMemStats flushed P0 then P1: each span went to the *front* of
    # central[4].nonempty, so P1's span is first and P0 now refills from it.
    assert [s.startAddr for s in h.mheap.central[4].nonempty.spans()] == [S + PAGE, S]
    assert h.malloc(48, p=0) == S + PAGE + 96
    assert h.malloc(48, p=1) == S + 96
    h.check()


def test_mcache_inuse_is_1200_per_p(make_heap) -> None:
    for procs in (1, 3, 14):
        ms = make_heap(procs=procs).read_memstats()
        assert ms.MCacheInuse == SIZEOF_MCACHE * procs
        assert ms.MCacheSys == 16 * 1024 * ceil_div(procs, 16 * 1024 // SIZEOF_MCACHE)


# --- memory words ----------------------------------------------------------------


def test_pointer_to_zerobase_can_be_stored(heap: Heap) -> None:
    a = heap.new(Type("T", 16, pointers=[0]))
    z = heap.malloc(0)  # new(struct{})
    heap.write_pointer(a, 0, z)
    assert heap.read_pointer(a, 0) == z
    heap.set_global("z", z)  # a root may hold it too; the collector ignores it
    heap.main.push(z)
    heap.gc()
    heap.check()


def test_pointerful_type_size_must_be_a_word_multiple(heap: Heap) -> None:
    # Go lays out struct{ p *T; x int32 } as 16 bytes; a 12-byte pointerful type
    # cannot exist, and make([]X, 3) would put pointers at bytes 12 and 24.
    with pytest.raises(GoheapError):
        Type("X", 12, pointers=[0])


def test_words_round_trip_and_fresh_objects_read_zero(heap: Heap) -> None:
    T = Type("T", 48, pointers=[0, 16])
    a = heap.new(T)
    b = heap.new(T)
    assert all(heap.read_word(a, off) == 0 for off in range(0, 48, 8))
    heap.write_word(a, 8, 0xDEADBEEF)
    heap.write_word(a, 40, (1 << 64) - 1)
    heap.write_pointer(a, 0, b)
    heap.write_pointer(a, 16, b + 8)  # interior pointers are fine
    heap.write_pointer(b, 0, 0)  # nil
    assert heap.read_word(a, 8) == 0xDEADBEEF
    assert heap.read_word(a, 40) == (1 << 64) - 1
    assert heap.read_pointer(a, 0) == b
    assert heap.read_pointer(a, 16) == b + 8
    assert all(heap.read_word(b, off) == 0 for off in range(0, 48, 8))
    # The words are at the objects' Go addresses in the arena.
    words = heap.mheap.mem.words
    assert words[(a - ARENA_START) // 8 + 1] == 0xDEADBEEF
    heap.check()


def test_large_object_words(heap: Heap) -> None:
    x = heap.malloc(100_000)
    heap.write_word(x, 99_992, 7)
    assert heap.read_word(x, 99_992) == 7
    assert heap.read_word(x, 50_000) == 0


def test_bad_word_accesses_raise_goheap_error(heap: Heap) -> None:
    a = heap.malloc(48)
    heap.malloc(48)
    with pytest.raises(GoheapError):
        heap.write_pointer(a, 0, a + 2 * 48)  # a free slot, not an object
    with pytest.raises(GoheapError):
        heap.write_pointer(a, 0, ARENA_START + MiB - PAGE)  # idle page
    with pytest.raises(GoheapError):
        heap.write_pointer(a, 0, 0x1000)  # outside the arena
    with pytest.raises(GoheapError):
        heap.read_word(a, 48)  # past the object
    with pytest.raises(GoheapError):
        heap.read_word(a, -8)
    with pytest.raises(GoheapError):
        heap.read_word(a, 4)  # not word aligned
    with pytest.raises(GoheapError):
        heap.read_word(ARENA_START + 2 * 48, 0)  # a free slot
    with pytest.raises(GoheapError):
        heap.write_word(a, 0, 1 << 64)
    with pytest.raises(GoheapError):
        heap.write_word(a, 0, -1)


# --- the heap bitmap ---------------------------------------------------------------


def entries(h: Heap, x: int, nwords: int) -> list[int]:
    return [h.mheap.heapbits.entry(x + 8 * i) for i in range(nwords)]


def test_heap_bits_single_object(heap: Heap) -> None:
    T = Type("T", 48, pointers=[0, 16])
    xs = [heap.new(T) for _ in range(5)]  # slots at word shifts 0, 2, 0, 2, 0
    for x in xs:
        # word0 ptr|scan, word1 no ptr and checkmark 0, word2 ptr|scan, then dead
        assert entries(heap, x, 6) == [3, 0, 3, 0, 0, 0]
        assert heap.mheap.heapbits.pointer_words(x, 48) == [0, 16]
        assert heap.mheap.heapbits.hasPointers(x)


def test_heap_bits_noscan_and_tiny(heap: Heap) -> None:
    x = heap.malloc(48)
    assert entries(heap, x, 6) == [0] * 6
    assert heap.mheap.heapbits.pointer_words(x, 48) == []
    assert not heap.mheap.heapbits.hasPointers(x)
    t = heap.malloc(8)
    assert entries(heap, t, 2) == [0, 0]


def test_heap_bits_one_and_two_word_objects(heap: Heap) -> None:
    hb = heap.mheap.heapbits
    P = Type("P", 8, pointers=[0])
    p = heap.new(P)  # class 1: initSpan set every word pointer+scan
    assert hb.entry(p) == 3 and hb.pointer_words(p, 8) == [0]
    two = heap.make(P, 2)  # 16 bytes, both words pointers, word 1's checkmark 0
    assert entries(heap, two, 2) == [3, 1]
    assert hb.pointer_words(two, 16) == [0, 8]
    Q = Type("Q", 16, pointers=[8])
    q = heap.new(Q)
    assert entries(heap, q, 2) == [2, 1]
    assert hb.pointer_words(q, 16) == [8]
    R = Type("R", 24, pointers=[0])  # 32-byte slot; nw = max(1, 2) words written
    r = heap.new(R)
    assert entries(heap, r, 4) == [3, 0, 0, 0]
    assert hb.pointer_words(r, 32) == [0]


def want_entries(ptr_offsets: list[int], typ_size: int, count: int, slot: int) -> list[int]:
    """heapBitsSetType's doubleCheck "want": scan for i < totalptr (but word 1), else dead."""
    ndata = typ_size // 8
    ptrdata = max(ptr_offsets) + 8
    totalptr = ((count - 1) * typ_size + ptrdata) // 8
    mask = {o // 8 for o in ptr_offsets}
    out = []
    for i in range(slot // 8):
        if i >= totalptr:
            out.append(0)
            continue
        e = 1 if i % ndata in mask else 0
        if i != 1:
            e |= 2
        out.append(e)
    return out


@pytest.mark.parametrize(
    ("ptrs", "tsize", "count"),
    [
        ([0, 16], 48, 3),  # 144 bytes: class 10, no slack
        ([0, 16], 48, 2),  # 96 bytes
        ([8], 24, 5),  # 120 -> 128-byte slot, dead tail
        ([0, 8, 16, 24], 32, 7),
        ([40], 48, 10),  # 480 bytes
        ([0, 56], 64, 1000),  # 64000 bytes: a large object (8 pages)
        ([16], 40, 3),  # 120 -> 128
    ],
    ids=str,
)
def test_heap_bits_arrays(heap: Heap, ptrs: list[int], tsize: int, count: int) -> None:
    T = Type("T", tsize, pointers=ptrs)
    before = heap.new(T) if tsize * 2 <= MAX_SMALL else None
    x = heap.make(T, count)
    after = heap.make(T, count)
    slot = heap.find_object(x).size
    want = want_entries(ptrs, tsize, count, slot)
    assert entries(heap, x, slot // 8) == want
    assert entries(heap, after, slot // 8) == want
    want_ptrs = [8 * i for i, e in enumerate(want) if e & 1]
    assert heap.mheap.heapbits.pointer_words(x, slot) == want_ptrs
    assert len(want_ptrs) == count * len(ptrs)
    if before is not None:  # an earlier object's bits survive its neighbours' writes
        single = want_entries(ptrs, tsize, 1, heap.find_object(before).size)
        assert entries(heap, before, len(single)) == single
    heap.check()


def test_heap_bits_neighbours_in_shared_bitmap_bytes(heap: Heap) -> None:
    """48-byte slots start at word shifts 0 and 2: half of a bitmap byte is shared."""
    T = Type("T", 48, pointers=[8, 40])
    xs = []
    for i in range(20):
        xs.append(heap.new(T) if i % 2 == 0 else heap.malloc(48))
    for i, x in enumerate(xs):
        if i % 2 == 0:
            # word 1 is a pointer: entry 1 (checkmark 0); 2..4 scalars to scan; 5 ptr
            assert entries(heap, x, 6) == [2, 1, 2, 2, 2, 3]
            assert heap.mheap.heapbits.pointer_words(x, 48) == [8, 40]
        else:
            assert entries(heap, x, 6)[0] == 0
            assert heap.mheap.heapbits.pointer_words(x, 48) == []


# --- heap profile sampling --------------------------------------------------------


def bucket_bytes(stack_len: int) -> int:
    return SIZEOF_BUCKET + 8 * stack_len + SIZEOF_MEMRECORD


def test_memprofilerate_1_samples_every_allocation(make_heap) -> None:
    h = make_heap(memprofilerate=1)
    main = ("main.main", "runtime.main", "runtime.goexit")
    for _ in range(10):
        h.malloc(48, stack=main)
    for _ in range(5):
        h.malloc(8, stack=main)  # tiny: blocks at allocations 1, 3, 5 -> 3 samples
    for _ in range(2):
        h.malloc(40000, stack=main)
    stk = ("main.f", "main.main")
    h.malloc(100, stack=stk)  # class 112
    h.malloc(112, stack=stk)  # same bucket: same stack, same rounded size
    long_stack = tuple(f"f{i}" for i in range(40))
    h.malloc(48, stack=long_stack)  # truncated to 32 frames
    sampled = 10 + 3 + 2 + 2 + 1
    buckets = h.mprof.mbuckets
    assert sum(b.recent_allocs for b in buckets) == sampled
    by_key = {(b.stack, b.size): b for b in buckets}
    default = main
    assert by_key[(default, 48)].recent_allocs == 10
    assert by_key[(default, 48)].recent_alloc_bytes == 480
    assert by_key[(default, 16)].recent_allocs == 3
    assert by_key[(default, 40960)].recent_alloc_bytes == 2 * 40960
    assert by_key[(stk, 112)].recent_allocs == 2
    assert by_key[(long_stack[:MAX_STACK], 48)].recent_allocs == 1
    assert len(buckets) == 5
    ms = h.read_memstats()
    want = BUCKHASH_SIZE * 8 + 3 * bucket_bytes(len(default))
    want += bucket_bytes(2) + bucket_bytes(MAX_STACK)
    assert ms.BuckHashSys == want
    h.check()


def test_memprofilerate_0_samples_nothing(make_heap) -> None:
    h = make_heap(memprofilerate=0)
    for size in (1, 8, 48, 1000, 40000, MiB):
        for _ in range(20):
            h.malloc(size)
    assert h.mprof.mbuckets == []
    ms = h.read_memstats()
    assert ms.BuckHashSys == 0
    h.check()


# runtime/fastlog2table.go (go1.8): the constants nextSample's fastlog2 interpolates.
GO18_FASTLOG2_TABLE = [
    0.0, 0.0443941193584535, 0.08746284125033943, 0.12928301694496647,
    0.16992500144231248, 0.2094533656289499, 0.24792751344358555, 0.28540221886224837,
    0.3219280948873623, 0.3575520046180837, 0.39231742277876036, 0.4262647547020979,
    0.4594316186372973, 0.4918530963296748, 0.5235619560570128, 0.5545888516776374,
    0.5849625007211563, 0.6147098441152082, 0.6438561897747247, 0.6724253419714956,
    0.7004397181410922, 0.7279204545631992, 0.7548875021634686, 0.7813597135246596,
    0.8073549220576042, 0.8328900141647417, 0.8579809951275721, 0.8826430493618412,
    0.9068905956085185, 0.9307373375628862, 0.9541963103868752, 0.9772799234999164, 1.0,
]  # fmt: skip


def test_fastlog2_uses_go18_table() -> None:
    from goheap.runtime.common.mprof import fastlog2

    # At x = 1 + i/32 the interpolation weight is 0: fastlog2 is the table entry.
    got = [fastlog2(1 + i / 32) for i in range(32)]
    assert got == GO18_FASTLOG2_TABLE[:32]
    # The last entry (1.0) is only ever the upper end of an interpolation.
    assert fastlog2(1 + 31.5 / 32) == (GO18_FASTLOG2_TABLE[31] + GO18_FASTLOG2_TABLE[32]) / 2


def test_default_memprofilerate_is_512k(heap: Heap) -> None:
    assert heap.mprof.MemProfileRate == 512 * 1024
    # A 1 MiB object is >= the rate: always sampled.
    heap.malloc(MiB)
    assert sum(b.recent_allocs for b in heap.mprof.mbuckets if b.size == MiB) == 1


def test_numpy_integers_are_sizes_and_lengths() -> None:
    """Every public argument takes a numpy integer as an int; malloc and make too."""
    import numpy as np

    from goheap.runtime.common.gotype import POINTER

    with Heap(profile="go1.8") as h:
        a = h.malloc(np.int64(32))
        b = h.make(POINTER, np.int32(4))
        assert h.find_object(a).size == 32 and h.find_object(b).size == 32
        with pytest.raises(GoheapError, match="size must be an integer"):
            h.malloc(1.5)
        with pytest.raises(GoheapError, match="non-negative"):
            h.make(POINTER, np.int64(-1))
