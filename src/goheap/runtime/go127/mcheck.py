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
3. sweep states and span sets: every in-use span is cached by exactly one
   mcache (``sweepgen == h.sweepgen + 3``), or swept (``sweepgen ==
   h.sweepgen``) and in exactly one swept set -- its own class's
   ``partialSwept`` if it has a free slot, else ``fullSwept`` (large spans:
   class 0/1 ``fullSwept``) -- or, while sweeping is in progress, unswept
   (``h.sweepgen - 2``) and in exactly one unswept set, ``partialUnswept``
   or ``fullUnswept`` by the same rule. Unswept sets may also hold stale
   entries (spans a sweeper reached another way, freed or reused since:
   Go's sweepers skip them by their sweepgen); swept sets hold only in-use
   swept spans. With sweeping done the unswept sets are empty and every
   span is swept or cached;
4. objects: span class, elemsize, nelems (Green Tea's formula), limit,
   divMul; allocCount against freeindex and allocBits; the allocCache of
   cached spans; ``freeIndexForScan`` (= freeindex while the write barrier
   is off, never above it); the inline mark bits' class byte; the heap
   bitmap of 8-byte scan spans;
5. mark bits (``gcmarkBits`` and Green Tea's inline ``marks``/``scans``):
   no marked slot is free (a zombie); outside a mark phase, swept and
   cached spans have no marks and unswept spans' marks are the last
   cycle's; the ``owned`` byte is clear; scanned bits only on marked
   objects;
6. mcaches: each slot holds ``emptymspan`` or a span of that span class;
   the tiny block is a live 16-byte object of span class 5; every mcache
   was flushed for this sweep generation (``flushGen``);
7. counters: heapInUse = inHeap = bytes of in-use spans; pagesInUse;
   heapFree / heapReleased = free unscavenged / scavenged pages (page
   bitmaps plus page caches); committed, released; HeapSys = mapped heap
   (the page allocator's ``inUse``); totalAlloc and totalFree against the
   flushed allocation and free counts; mappedReady = Sys - released;
   MSpanInuse = mspans in use or in P caches; MCacheInuse; Sys = the sum of
   the *Sys fields; HeapAlloc = bytes of allocated slots; NumGC = the
   cycles recorded; the finalizer queue holds allocated objects; every
   registered cleanup's special is on its object's span (an allocated slot)
   and ``specialCleanupAlloc.inuse`` is 56 bytes a special; registered and
   queued cleanups' arguments are allocated objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NoReturn

from goheap.errors import HeapCheckError, RuntimeThrow
from goheap.runtime.common.mcheck import check_memstats
from goheap.runtime.common.mspan import MASK64
from goheap.runtime.go127.mcleanup import SIZEOF_SPECIAL_CLEANUP, CleanupFn, KindSpecialCleanup
from goheap.runtime.go127.mgcmark import inlineMarks, inlineScans
from goheap.runtime.go127.mpagealloc import chunkIndex
from goheap.runtime.go127.mpallocbits import PALLOC_CHUNK_PAGES
from goheap.runtime.go127.mspan import MSpan, mSpanInUse, spanClassName
from goheap.runtime.go127.mstats import readmemstats_m, totalMapped

if TYPE_CHECKING:
    from goheap.runtime.go127.mfinal import Finalizers
    from goheap.runtime.go127.mgc import GC
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.proc import P

_PageShift: Final = 13


def _fail(msg: str) -> NoReturn:
    raise HeapCheckError(msg)


def check_heap(h: MHeap, allp: list[P], gc: GC, fin: Finalizers) -> None:
    """Every invariant of a go1.27 heap, its Ps, collector and finalizers.

    The families of the module docstring, in the order the checks run; each
    returns what a later one checks against.
    """
    inuse = [s for s in h.allspans if s.state == mSpanInUse]
    _check_page_allocator(h)
    pc = _check_spans_and_pages(h, allp, inuse)
    swept_in, unswept_in = _check_span_sets(h)
    cached = _check_mcaches(h, allp, swept_in, unswept_in)
    _check_sweep_states(h, inuse, cached, swept_in, unswept_in)
    _check_mark_bits(h, gc, inuse)
    allocated_bytes = _check_objects(h, gc, inuse, cached)
    _check_counters(h, allp, gc, fin, inuse, pc, allocated_bytes)


def _check_page_allocator(h: MHeap) -> None:
    """1. page allocator: the summaries, and its ranges inside the arenas."""
    pages = h.pages
    try:
        pages.checkSummaries()
    except RuntimeThrow as e:
        _fail(f"page allocator: {e}")
    for r in pages.inUse.ranges:
        if r.base < h.arena_start or r.limit > h.arena_used:
            _fail(f"page allocator range [{r.base:#x}, {r.limit:#x}) outside the arenas")


class _PageCounts:
    """Free and scavenged pages, from the page bitmaps and the Ps' page caches."""

    def __init__(self, free_unscav: int, scav_pages: int, cache_free: int, cache_scav: int) -> None:
        self.free_unscav = free_unscav
        self.scav_pages = scav_pages
        self.cache_free = cache_free
        self.cache_scav = cache_scav


def _check_spans_and_pages(h: MHeap, allp: list[P], inuse: list[MSpan]) -> _PageCounts:
    """2. spans and pages: the spans table, the page caches and the page bitmaps agree."""
    pages = h.pages
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
    for pp in allp:
        pc = pp.pcache
        for i in range(64):
            if pc.cache >> i & 1:
                page = ((pc.base - h.arena_start) >> _PageShift) + i
                cached_pages.add(page)
                if page in owned:
                    _fail(f"P {pp.id}: cached page {page} belongs to {owned[page]!r}")
        cache_free += pc.cache.bit_count()
        cache_scav += (pc.cache & pc.scav).bit_count()
        if pc.scav & ~pc.cache:
            _fail(f"P {pp.id}: page cache scav bits {pc.scav:#x} outside its free pages")
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

    return _PageCounts(free_unscav, scav_pages, cache_free, cache_scav)


def _check_span_sets(h: MHeap) -> tuple[dict[int, str], dict[int, str]]:
    """3. span sets: each live entry in one set of its class, swept as the set says."""
    sg = h.sweepgen
    sweepDone = h.isSweepDone()
    swept_in: dict[int, str] = {}
    unswept_in: dict[int, str] = {}
    for cen in h.central:
        for ss, swept in (
            (cen.partialSwept(sg), True),
            (cen.fullSwept(sg), True),
            (cen.partialUnswept(sg), False),
            (cen.fullUnswept(sg), False),
        ):
            for s in ss:
                if not swept and not (s.state == mSpanInUse and s.sweepgen == sg - 2):
                    continue  # a stale entry: sweepers skip it
                where = swept_in if swept else unswept_in
                if id(s) in swept_in or id(s) in unswept_in:
                    other = swept_in.get(id(s)) or unswept_in.get(id(s))
                    _fail(f"{s!r} is in both {other} and {ss.name}")
                where[id(s)] = ss.name
                if s.state != mSpanInUse:
                    _fail(f"{ss.name} holds {s!r}, which is not in use")
                if s.spanclass != cen.spanclass:
                    _fail(f"{ss.name} holds {s!r} of another span class")
                if swept and s.sweepgen != sg:
                    _fail(f"{ss.name} holds {s!r} with sweepgen {s.sweepgen}, want {sg}")
        if sweepDone and (len(cen.partialUnswept(sg)) or len(cen.fullUnswept(sg))):
            _fail(f"central[{spanClassName(cen.spanclass)}] has unswept spans with no sweep")
    return swept_in, unswept_in


def _check_mcaches(
    h: MHeap, allp: list[P], swept_in: dict[int, str], unswept_in: dict[int, str]
) -> dict[int, int]:
    """6. mcaches: flushed this cycle, each cached span held once, the tiny block."""
    sg = h.sweepgen
    cached: dict[int, int] = {}
    for pi, pp in enumerate(allp):
        c = pp.mcache
        if c is None:
            _fail(f"P {pi} has no mcache")
        if c.flushGen != sg:
            _fail(f"P {pi}: mcache flushGen {c.flushGen} != sweepgen {sg}")
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
            if id(s) in swept_in or id(s) in unswept_in:
                _fail(f"cached {s!r} is also in {swept_in.get(id(s)) or unswept_in[id(s)]}")
        if c.tiny != 0:
            ts = h.spanOfHeap(c.tiny)
            if ts is None or ts.spanclass != h.tinySpanClass or (c.tiny - ts.startAddr) % 16:
                _fail(f"P {pi}: tiny block {c.tiny:#x} is not a 16-byte tiny block")
            elif ts.isFree(ts.objIndex(c.tiny)):
                _fail(f"P {pi}: tiny block {c.tiny:#x} is a free slot")
            if not 0 < c.tinyoffset <= 16:
                _fail(f"P {pi}: tinyoffset {c.tinyoffset} out of range")
    return cached


def _check_sweep_states(
    h: MHeap,
    inuse: list[MSpan],
    cached: dict[int, int],
    swept_in: dict[int, str],
    unswept_in: dict[int, str],
) -> None:
    """3. sweep states: each in-use span not cached is in the set its state calls for."""
    sg = h.sweepgen
    sweepDone = h.isSweepDone()
    for s in inuse:
        if id(s) in cached:
            continue
        cen = h.central[s.spanclass]
        if s.sweepgen == sg:
            name = swept_in.get(id(s))
            want_set = cen.partialSwept(sg) if s.allocCount < s.nelems else cen.fullSwept(sg)
        elif s.sweepgen == sg - 2 and not sweepDone:
            name = unswept_in.get(id(s))
            want_set = cen.partialUnswept(sg) if s.allocCount < s.nelems else cen.fullUnswept(sg)
        else:
            _fail(f"{s!r}: sweepgen {s.sweepgen} with h.sweepgen {sg} (sweep done: {sweepDone})")
        if name != want_set.name:
            _fail(f"{s!r} is in {name}, want {want_set.name}")


def _check_mark_bits(h: MHeap, gc: GC, inuse: list[MSpan]) -> None:
    """5. mark bits: on allocated objects only, inline bits unowned, none once swept."""
    sg = h.sweepgen
    hb = h.heapBits
    marking = gc.gcphase != 0
    for s in inuse:
        inline = hb.gcUsesSpanInlineMarkBits(s.elemsize)
        marks = s.gcmarkBits
        if inline:
            marks |= inlineMarks(h, s)
            scans = inlineScans(h, s)
            owner = h.mem.bytes[hb.spanInlineMarkBitsFromBase(s.startAddr) - h.arena_start + 63]
            if owner:
                _fail(f"{s!r}: inline mark bits owned byte {owner}")
            if scans & ~marks:
                _fail(f"{s!r}: scanned objects that are not marked")
        mask = (1 << s.nelems) - 1
        if marks & ~mask:
            _fail(f"{s!r}: mark bits beyond nelems")
        allocd = (s.allocBits | ((1 << s.freeindex) - 1)) & mask
        if marks & ~allocd:
            _fail(f"{s!r}: marked free objects (zombies) {marks & ~allocd:#x}")
        if not marking and marks and (s.sweepgen == sg or s.sweepgen == sg + 3):
            _fail(f"{s!r}: swept span with mark bits {marks:#x}")


def _check_objects(h: MHeap, gc: GC, inuse: list[MSpan], cached: dict[int, int]) -> int:
    """4. objects of each in-use span; the bytes of the allocated slots, summed."""
    sc = h.sizeclasses
    hb = h.heapBits
    marking = gc.gcphase != 0
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
        if not 0 <= s.freeindex <= s.nelems or s.freeIndexForScan > s.freeindex:
            _fail(f"{s!r}: freeindex {s.freeindex} freeIndexForScan {s.freeIndexForScan}")
        if not marking and id(s) in cached and s.freeIndexForScan != s.freeindex:
            _fail(f"{s!r}: freeIndexForScan {s.freeIndexForScan} != freeindex {s.freeindex}")
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

    return allocated_bytes


def _check_counters(
    h: MHeap,
    allp: list[P],
    gc: GC,
    fin: Finalizers,
    inuse: list[MSpan],
    pc: _PageCounts,
    allocated_bytes: int,
) -> None:
    """7. counters: the pacer's and heapStats' against the walks, the fixallocs, MemStats."""
    ctl = h.controller
    st = h.stats
    hs = st.heapStats
    sc = h.sizeclasses
    pages = h.pages
    inuse_bytes = sum(s.npages for s in inuse) << _PageShift
    if ctl.heapInUse != inuse_bytes or hs.inHeap != inuse_bytes:
        _fail(f"heapInUse {ctl.heapInUse} / inHeap {hs.inHeap} != in-use span bytes {inuse_bytes}")
    if h.pagesInUse != inuse_bytes >> _PageShift:
        _fail(f"pagesInUse {h.pagesInUse} != pages of in-use spans")
    free_bytes = (pc.free_unscav + pc.cache_free - pc.cache_scav) << _PageShift
    released_bytes = (pc.scav_pages + pc.cache_scav) << _PageShift
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
    allocd, freed, _, _ = hs.totals(sc.class_to_size)
    if ctl.totalAlloc != allocd:
        _fail(f"totalAlloc {ctl.totalAlloc} != flushed allocation bytes {allocd}")
    if ctl.totalFree != freed:
        _fail(f"totalFree {ctl.totalFree} != freed bytes {freed}")
    if st.numgc != len(gc.cycles):
        _fail(f"NumGC {st.numgc} != {len(gc.cycles)} cycles recorded")
    for _, p in fin.finq:
        if h.spanOfHeap(p) is None:
            _fail(f"finalizer queue holds {p:#x}, not an allocated object")
    _check_cleanups(h, fin)
    mspans = len(inuse) + sum(len(pp.mspancache) for pp in allp)
    if h.spanalloc.inuse != mspans * h.profile.sizeof_mspan:
        _fail(f"spanalloc.inuse {h.spanalloc.inuse} != {mspans} mspans in use or cached")
    if h.cachealloc.inuse != len(allp) * h.profile.sizeof_mcache:
        _fail(f"cachealloc.inuse {h.cachealloc.inuse} != {len(allp)} mcaches")
    ms = readmemstats_m(h, h.profile.memstats_by_size_len, flushed=False)
    check_memstats(ms)
    if ms.HeapAlloc != allocated_bytes or st.heap_alloc_now != allocated_bytes:
        _fail(
            f"HeapAlloc {ms.HeapAlloc} / heap_alloc_now {st.heap_alloc_now} != "
            f"bytes of allocated slots {allocated_bytes}"
        )
    if not (st.heap_alloc_now <= st.peak_heap_alloc and ctl.heapInUse <= st.peak_heap_inuse):
        _fail("a running peak is below the current value")


def _check_cleanups(h: MHeap, fin: Finalizers) -> None:
    """Cleanup specials on live objects' spans, their fixalloc, their arguments."""
    cl = fin.cleanups
    for cid, rec in cl.registered.items():
        c = rec.payload
        assert isinstance(c, CleanupFn)
        s = h.spanOfHeap(c.obj)
        if s is None or s.isFree(s.objIndex(c.obj) if s.sizeclass else 0):
            _fail(f"cleanup {cid} is registered on {c.obj:#x}, not an allocated object")
        t = s.specials
        while t is not None and t is not rec:
            t = t.next
        if t is None or rec.offset != c.obj - s.startAddr or rec.kind != KindSpecialCleanup:
            _fail(f"cleanup {cid}'s special is not on the span of {c.obj:#x}")
    if h.specialCleanupAlloc.inuse != len(cl.registered) * SIZEOF_SPECIAL_CLEANUP:
        _fail(
            f"specialCleanupAlloc.inuse {h.specialCleanupAlloc.inuse} != "
            f"{len(cl.registered)} cleanup specials"
        )
    args = [q.arg for q in cl.queue]
    for r in cl.registered.values():
        assert isinstance(r.payload, CleanupFn)
        args.append(r.payload.arg)
    for a in args:
        if a and h.spanOfHeap(a) is None:
            _fail(f"a cleanup keeps {a:#x} alive, not an allocated object")
