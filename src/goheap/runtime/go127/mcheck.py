"""Heap.check() for go1.27: every invariant of the page heap, spans, caches and counters.

Each failed check raises ``HeapCheckError`` (shared with the Go 1.8 checker)
naming the structure and the values that disagree. It changes nothing
(no flush). The checks, in order:

1. page allocator: summaries equal their recomputation from the bitmaps;
   every grown chunk lies in reserved arenas;
2. spans: every in-use span's pages are allocated in the page bitmaps and
   map to it in the spans table; in-use spans do not overlap; pages
   allocated in the bitmaps are exactly the in-use spans' pages plus the
   P page caches' pages;
3. span sets: every in-use span is either cached by exactly one mcache
   (``sweepgen == h.sweepgen + 3``) or in exactly one span set -- its own
   class's ``partialSwept`` if it has a free slot, else ``fullSwept``
   (large spans: class 0/1 ``fullSwept``); nothing sits in an unswept set
   while there is no sweep; every span in a set is in use;
4. objects: span class, elemsize, nelems (Green Tea's formula), limit,
   divMul; allocCount against freeindex and allocBits; the allocCache of
   cached spans; ``freeIndexForScan``; the inline mark bits' class byte;
   the heap bitmap of 8-byte scan spans;
5. mcaches: each slot holds ``emptymspan`` or a span of that span class;
   the tiny block is a live 16-byte object of span class 5;
6. counters: heapInUse = inHeap = bytes of in-use spans; pagesInUse;
   heapFree / heapReleased = free unscavenged / scavenged pages (page
   bitmaps plus page caches); committed, released; HeapSys = mapped heap
   (the page allocator's ``inUse``); totalAlloc and the flushed counts;
   mappedReady = Sys - released; MSpanInuse = mspans in use or in P
   caches; MCacheInuse; Sys = the sum of the *Sys fields; HeapAlloc =
   bytes of allocated slots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from goheap.errors import RuntimeThrow
from goheap.runtime.go127.mpagealloc import chunkIndex
from goheap.runtime.go127.mpallocbits import PALLOC_CHUNK_PAGES
from goheap.runtime.go127.mspan import MSpan, mSpanInUse, spanClassName
from goheap.runtime.go127.mstats import totalMapped
from goheap.runtime.mcheck import HeapCheckError
from goheap.runtime.mspan import MASK64

if TYPE_CHECKING:
    from goheap.heap import Heap

_PageShift = 13


def _fail(msg: str) -> NoReturn:
    raise HeapCheckError(msg)


def check_heap(heap: Heap) -> None:
    h = heap.mheap
    ctl = h.controller
    st = h.stats
    hs = st.heapStats
    sc = h.sizeclasses
    hb = h.heapBits
    pages = h.pages

    # 1. page allocator
    try:
        pages.checkSummaries()
    except RuntimeThrow as e:
        _fail(f"page allocator: {e}")
    for r in pages.inUse.ranges:
        if r.base < h.arena_start or r.limit > h.arena_used:
            _fail(f"page allocator range [{r.base:#x}, {r.limit:#x}) outside the arenas")

    # 2. spans and pages
    inuse = [s for s in h.allspans if s.state == mSpanInUse]
    owned: dict[int, MSpan] = {}  # page index -> span
    for s in inuse:
        p0 = (s.startAddr - h.arena_start) >> _PageShift
        for p in range(p0, p0 + s.npages):
            if p in owned:
                _fail(f"{s!r} overlaps {owned[p]!r} at page {p}")
            owned[p] = s
            if h.spans[p] is not s:
                _fail(f"{s!r}: spans[{p}] does not map to it")
    cached_pages: set[int] = set()
    cache_free = cache_scav = 0
    for pp in heap.allp:
        c = pp.pcache
        for i in range(64):
            if c.cache >> i & 1:
                page = ((c.base - h.arena_start) >> _PageShift) + i
                cached_pages.add(page)
                if page in owned:
                    _fail(f"P {pp.id}: cached page {page} belongs to {owned[page]!r}")
        cache_free += c.cache.bit_count()
        cache_scav += (c.cache & c.scav).bit_count()
        if c.scav & ~c.cache:
            _fail(f"P {pp.id}: page cache scav bits {c.scav:#x} outside its free pages")
    expected: dict[int, int] = {}  # chunk index -> pages a span or page cache holds
    for page in (*owned, *cached_pages):
        ci = chunkIndex(h.arena_start + (page << _PageShift))
        expected[ci] = expected.get(ci, 0) | 1 << (page % PALLOC_CHUNK_PAGES)
    free_unscav = scav_pages = 0
    for ci, chunk in pages.chunks.items():
        allocated = chunk.v
        scav = chunk.scavenged.v
        scav_pages += scav.bit_count()
        free_unscav += PALLOC_CHUNK_PAGES - (allocated | scav).bit_count()
        want = expected.pop(ci, 0)
        if allocated != want:
            diff = allocated ^ want
            i = (diff & -diff).bit_length() - 1
            what = "allocated" if allocated >> i & 1 else "free"
            _fail(
                f"page {i} of chunk {ci:#x} is {what} in the page bitmap, but "
                f"{'nothing' if allocated >> i & 1 else 'a span or page cache'} holds it"
            )
    if expected:
        _fail(f"spans or page caches hold pages of ungrown chunks {sorted(expected)}")

    # 3. span sets and mcaches
    sg = h.sweepgen
    where: dict[int, str] = {}
    for cen in h.central:
        for ss in cen.spanSets():
            for s in ss:
                if id(s) in where:
                    _fail(f"{s!r} is in both {where[id(s)]} and {ss.name}")
                where[id(s)] = ss.name
                if s.state != mSpanInUse:
                    _fail(f"{ss.name} holds {s!r}, which is not in use")
                if s.spanclass != cen.spanclass:
                    _fail(f"{ss.name} holds {s!r} of another span class")
        if h.isSweepDone() and (len(cen.partialUnswept(sg)) or len(cen.fullUnswept(sg))):
            _fail(f"central[{spanClassName(cen.spanclass)}] has unswept spans with no sweep")
    cached: dict[int, int] = {}
    for pi, pp in enumerate(heap.allp):
        c = pp.mcache
        for spc, s in enumerate(c.alloc):
            if s is h.emptymspan:
                continue
            if id(s) in cached:
                _fail(f"{s!r} is cached by P {cached[id(s)]} and P {pi}")
            cached[id(s)] = pi
            if s.state != mSpanInUse or s.spanclass != spc:
                _fail(f"P {pi} alloc[{spanClassName(spc)}] holds {s!r}")
            if s.sweepgen != sg + 3:
                _fail(f"cached {s!r}: sweepgen {s.sweepgen}, want {sg + 3}")
            if id(s) in where:
                _fail(f"cached {s!r} is also in {where[id(s)]}")
        if c.tiny != 0:
            s = h.spanOfHeap(c.tiny)
            if s is None or s.spanclass != h.tinySpanClass or (c.tiny - s.startAddr) % 16:
                _fail(f"P {pi}: tiny block {c.tiny:#x} is not a 16-byte tiny block")
            elif s.isFree(s.objIndex(c.tiny)):
                _fail(f"P {pi}: tiny block {c.tiny:#x} is a free slot")
            if not 0 < c.tinyoffset <= 16:
                _fail(f"P {pi}: tinyoffset {c.tinyoffset} out of range")
    for s in inuse:
        if id(s) in cached:
            continue
        name = where.get(id(s))
        cen = h.central[s.spanclass]
        want = cen.partialSwept(sg) if s.allocCount < s.nelems else cen.fullSwept(sg)
        if name != want.name:
            _fail(f"{s!r} is in {name}, want {want.name}")
        if s.sweepgen != sg:
            _fail(f"{s!r}: sweepgen {s.sweepgen}, want {sg}")

    # 4. objects
    allocated_bytes = 0
    for s in inuse:
        nbytes = s.npages << _PageShift
        cl = s.spanclass >> 1
        if s.sizeclass != cl:
            _fail(f"{s!r}: sizeclass {s.sizeclass} != spanclass>>1")
        if cl == 0:
            if s.nelems != 1 or s.elemsize != nbytes or s.allocCount != 1 or s.divMul != 0:
                _fail(f"large {s!r}: nelems {s.nelems} elemsize {s.elemsize}")
            if not s.startAddr < s.limit <= s.startAddr + nbytes:
                _fail(f"large {s!r}: limit {s.limit:#x} outside the span")
            if (s.spanclass & 1) == (s.largeType is not None):
                _fail(f"large {s!r}: largeType {s.largeType} does not match its noscan bit")
            allocated_bytes += s.elemsize
            continue
        size = sc.class_to_size[cl]
        if s.elemsize != size or s.npages != sc.class_to_allocnpages[cl]:
            _fail(f"{s!r}: elemsize/npages do not match class {cl}")
        n = h.nelemsFor(s.spanclass)
        if s.nelems != n or s.limit != s.startAddr + n * size:
            _fail(f"{s!r}: nelems {s.nelems} / limit {s.limit:#x}, want {n}")
        if s.divMul != sc.class_to_divmagic[cl]:
            _fail(f"{s!r}: divMul {s.divMul}")
        if not 0 <= s.freeindex <= s.nelems or s.freeIndexForScan != s.freeindex:
            _fail(f"{s!r}: freeindex {s.freeindex} freeIndexForScan {s.freeIndexForScan}")
        count = len(s.allocated_indices())
        if count != s.allocCount:
            _fail(f"{s!r}: allocCount {s.allocCount} but {count} slots allocated")
        if id(s) in cached and s.freeindex < s.nelems:
            base = s.freeindex & ~63
            want_cache = (~(s.allocBits >> base) & MASK64) >> (s.freeindex - base)
            if s.allocCache != want_cache:
                _fail(f"{s!r}: allocCache {s.allocCache:#x} != {want_cache:#x}")
        if hb.gcUsesSpanInlineMarkBits(size) and hb.inlineMarkBitsClass(s) != s.spanclass:
            _fail(f"{s!r}: inline mark bits name class {hb.inlineMarkBitsClass(s)}")
        if cl == 1 and not s.spanclass & 1:
            base, nb = hb.spanHeapBitsRange(s.startAddr, nbytes, size)
            off = base - h.arena_start
            if h.mem.bytes[off : off + nb] != b"\xff" * nb:
                _fail(f"{s!r}: the 8-byte scan class's heap bits are not all set")
        allocated_bytes += s.allocCount * s.elemsize

    # 5. counters
    inuse_bytes = sum(s.npages for s in inuse) << _PageShift
    if ctl.heapInUse != inuse_bytes or hs.inHeap != inuse_bytes:
        _fail(f"heapInUse {ctl.heapInUse} / inHeap {hs.inHeap} != in-use span bytes {inuse_bytes}")
    if h.pagesInUse != inuse_bytes >> _PageShift:
        _fail(f"pagesInUse {h.pagesInUse} != pages of in-use spans")
    free_bytes = (free_unscav + cache_free - cache_scav) << _PageShift
    released_bytes = (scav_pages + cache_scav) << _PageShift
    if ctl.heapFree != free_bytes:
        _fail(f"heapFree {ctl.heapFree} != free unscavenged pages ({free_bytes} bytes)")
    if ctl.heapReleased != released_bytes or hs.released != released_bytes:
        _fail(
            f"heapReleased {ctl.heapReleased} / released {hs.released} != "
            f"scavenged pages ({released_bytes} bytes)"
        )
    heap_sys = ctl.heapInUse + ctl.heapFree + ctl.heapReleased
    if heap_sys != pages.inUse.totalBytes:
        _fail(f"HeapSys {heap_sys} != memory the page allocator owns {pages.inUse.totalBytes}")
    if hs.committed != ctl.heapInUse + ctl.heapFree + hs.inStacks + hs.inWorkBufs:
        _fail(f"committed {hs.committed} != heap in use + free + stacks + workbufs")
    if ctl.mappedReady != totalMapped(st, ctl) - hs.released:
        _fail(f"mappedReady {ctl.mappedReady} != Sys - released")
    allocd, _, _, _ = hs.totals(sc.class_to_size)
    if ctl.totalAlloc != allocd:
        _fail(f"totalAlloc {ctl.totalAlloc} != flushed allocation bytes {allocd}")
    mspans = len(inuse) + sum(len(pp.mspancache) for pp in heap.allp)
    if h.spanalloc.inuse != mspans * h.profile.sizeof_mspan:
        _fail(f"spanalloc.inuse {h.spanalloc.inuse} != {mspans} mspans in use or cached")
    if h.cachealloc.inuse != len(heap.allp) * h.profile.sizeof_mcache:
        _fail(f"cachealloc.inuse {h.cachealloc.inuse} != {len(heap.allp)} mcaches")
    ms = heap.memstats()
    parts = (
        ms.HeapSys
        + ms.StackSys
        + ms.MSpanSys
        + ms.MCacheSys
        + ms.BuckHashSys
        + ms.GCSys
        + ms.OtherSys
    )
    if ms.Sys != parts:
        _fail(f"Sys {ms.Sys} != sum of the *Sys fields {parts}")
    if ms.HeapObjects != ms.Mallocs - ms.Frees:
        _fail("HeapObjects != Mallocs - Frees")
    if ms.HeapAlloc != allocated_bytes or st.heap_alloc_now != allocated_bytes:
        _fail(
            f"HeapAlloc {ms.HeapAlloc} / heap_alloc_now {st.heap_alloc_now} != "
            f"bytes of allocated slots {allocated_bytes}"
        )
    if not (st.heap_alloc_now <= st.peak_heap_alloc and ctl.heapInUse <= st.peak_heap_inuse):
        _fail("a running peak is below the current value")
