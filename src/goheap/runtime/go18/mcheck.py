"""Heap.check(): every invariant of the page heap, spans, caches and counters.

Each failed check raises ``HeapCheckError`` naming the structure and the
values that disagree. The checks, in order:

1. lists: every list is well linked and every span on it says so;
2. spans: every live mspan (state != dead) is on exactly the list its state
   calls for (free[n]/freelarge, busy[n]/busylarge for large objects,
   central[c].nonempty/empty for small objects, none for stacks), and no
   dead mspan is on a list;
3. the spans table: in-use and stack spans own every page, free spans
   their first and last page; live spans tile [arena_start, arena_used)
   with no overlap and no gap; no two free spans are adjacent (coalescing
   is complete);
4. objects: nelems, limit, allocCount against the alloc bits and
   freeindex, allocCache against allocBits, sweepgen within one cycle;
5. mcaches: each cached span is in-use, of the right class, incache and
   cached by exactly one mcache; the tiny block lies in a 16-byte object;
6. specials: sorted by (offset, kind), each on an allocated object;
7. counters: heap_inuse, heap_idle, heap_released, heap_sys, pagesInUse,
   stacks_inuse and the pre-main pages (the spans in the stack state),
   heap_objects, MSpanInuse, MCacheInuse, Sys = the sum of the *Sys fields,
   and the mapped bitmap and spans table cover arena_used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import HeapCheckError
from goheap.runtime.common.mcheck import check_memstats
from goheap.runtime.common.mspan import MASK64
from goheap.runtime.go18.mspan import (
    MSPAN_STATE_NAMES,
    MSpan,
    MSpanDead,
    MSpanFree,
    MSpanInUse,
    MSpanList,
    MSpanStack,
)
from goheap.runtime.go18.mstats import updatememstats

if TYPE_CHECKING:
    from goheap.runtime.go18.mcache import MCache
    from goheap.runtime.go18.mheap import MHeap

_PageShift: Final = 13


def _fail(msg: str) -> None:
    raise HeapCheckError(msg)


def _check_list(lst: MSpanList, seen: dict[int, MSpanList]) -> list[MSpan]:
    out: list[MSpan] = []
    prev: MSpan | None = None
    s = lst.first
    while s is not None:
        if s.list is not lst:
            _fail(f"{lst.name}: span {s.startAddr:#x} says it is on {s.list}")
        if s.prev is not prev:
            _fail(f"{lst.name}: span {s.startAddr:#x} has a wrong prev link")
        if id(s) in seen:
            _fail(f"span {s.startAddr:#x} is on both {seen[id(s)].name} and {lst.name}")
        seen[id(s)] = lst
        out.append(s)
        prev = s
        s = s.next
    if lst.last is not prev:
        _fail(f"{lst.name}: last does not point at the final span")
    return out


def _find_object(h: MHeap, addr: int) -> tuple[int, MSpan] | None:
    """findObject: the base and span of the allocated object holding addr, or None."""
    if addr < h.arena_start or addr >= h.arena_used:
        return None
    s = h.spans[(addr - h.arena_start) >> _PageShift]
    if s is None or addr >= s.limit or addr < s.startAddr or s.state != MSpanInUse:
        return None
    idx = s.objIndex(addr) if s.sizeclass != 0 else 0
    if idx < s.freeindex or (s.allocBits >> idx) & 1:
        return s.startAddr + idx * s.elemsize, s
    return None


def check_heap(h: MHeap, mcaches: list[MCache]) -> None:
    """Every invariant of Go 1.8's heap (h) and its Ps' mcaches; HeapCheckError if broken.

    The families in the order of the module docstring (the mcaches' spans
    are gathered before the objects, which check against them).
    """
    seen = _check_lists(h)
    live = _check_span_states(h, seen)
    _check_spans_table(h, live)
    cached = _check_mcaches(h, mcaches)
    totals = _check_objects(h, live, cached)
    _check_counters(h, mcaches, live, totals)


def _check_lists(h: MHeap) -> dict[int, MSpanList]:
    """1. lists: every list well linked; which list each span is on."""
    seen: dict[int, MSpanList] = {}
    all_lists = [*h.free, h.freelarge, *h.busy, h.busylarge]
    for c in h.central:
        all_lists += [c.nonempty, c.empty]
    for lst in all_lists:
        _check_list(lst, seen)
    return seen


def _check_span_states(h: MHeap, seen: dict[int, MSpanList]) -> list[MSpan]:
    """2. spans: each live span on the list its state calls for; the live spans."""
    live = [s for s in h.allspans if s.state != MSpanDead]
    for s in h.allspans:
        where = seen.get(id(s))
        name = MSPAN_STATE_NAMES[s.state]
        if s.state == MSpanDead:
            if where is not None:
                _fail(f"dead span {s.startAddr:#x} is on {where.name}")
        elif s.state == MSpanFree:
            want = h.freeList(s.npages)
            if where is not want:
                _fail(f"free span {s.startAddr:#x} ({s.npages} pages) is on {where}, not {want}")
        elif s.state == MSpanInUse:
            if s.sizeclass == 0:
                want = h.busyList(s.npages)
                if where is not want:
                    _fail(f"large span {s.startAddr:#x} is on {where}, not {want.name}")
            else:
                c = h.central[s.sizeclass]
                if where is not c.nonempty and where is not c.empty:
                    _fail(f"{s!r} is on {where}, not on central[{s.sizeclass}]")
                if s.incache and where is not c.empty:
                    _fail(f"cached {s!r} must be on central[{s.sizeclass}].empty")
        elif s.state == MSpanStack:
            if where is not None:
                _fail(f"stack span {s.startAddr:#x} is on {where.name}")
        else:
            _fail(f"span {s.startAddr:#x} has unknown state {name}")
    return live


def _check_spans_table(h: MHeap, live: list[MSpan]) -> None:
    """3. the spans table: page ownership, tiling of the arena, complete coalescing."""
    page = 1 << _PageShift
    spans = h.spans
    ordered = sorted(live, key=lambda s: s.startAddr)
    addr = h.arena_start
    prev_free = False
    for s in ordered:
        if s.startAddr != addr:
            _fail(
                f"spans do not tile the arena: expected a span at {addr:#x}, found {s.startAddr:#x}"
            )
        p = (s.startAddr - h.arena_start) >> _PageShift
        if s.state == MSpanFree:
            if spans[p] is not s or spans[p + s.npages - 1] is not s:
                _fail(f"free span {s.startAddr:#x}: spans[] does not map its first and last page")
            if prev_free:
                _fail(f"free span {s.startAddr:#x} was not coalesced with its free predecessor")
            prev_free = True
        else:
            for i in range(p, p + s.npages):
                if spans[i] is not s:
                    _fail(f"{s!r}: spans[{i}] does not map to it")
            prev_free = False
        addr = s.startAddr + s.npages * page
    if addr != h.arena_used:
        _fail(f"spans end at {addr:#x} but arena_used is {h.arena_used:#x}")


def _check_mcaches(h: MHeap, mcaches: list[MCache]) -> dict[int, int]:
    """5. mcaches: the spans each holds (span id -> P), and its tiny block."""
    cached: dict[int, int] = {}
    for pi, mc in enumerate(mcaches):
        for cls, s in enumerate(mc.alloc):
            if s is h.emptymspan:
                continue
            if id(s) in cached:
                _fail(f"{s!r} is cached by P {cached[id(s)]} and P {pi}")
            cached[id(s)] = pi
            if s.state != MSpanInUse or s.sizeclass != cls or not s.incache:
                _fail(f"P {pi} alloc[{cls}] holds {s!r} (incache={s.incache})")
        if mc.tiny != 0:
            ref = _find_object(h, mc.tiny)
            if ref is None or ref[0] != mc.tiny or ref[1].sizeclass != h.profile.tiny_size_class:
                _fail(f"P {pi}: tiny block {mc.tiny:#x} is not a live 16-byte object")
            if not 0 < mc.tinyoffset <= h.profile.tiny_size:
                _fail(f"P {pi}: tinyoffset {mc.tinyoffset} out of range")
    return cached


class _Totals:
    """What the object walk adds up, for the counters to be checked against."""

    def __init__(self) -> None:
        self.inuse_bytes = 0
        self.idle_bytes = 0
        self.released = 0
        self.pages_inuse = 0
        self.large = 0


def _check_objects(h: MHeap, live: list[MSpan], cached: dict[int, int]) -> _Totals:
    """4. objects of each in-use span (and 6. its specials); the totals of the walk."""
    page = 1 << _PageShift
    sc = h.sizeclasses
    t = _Totals()
    for s in live:
        nbytes = s.npages * page
        if s.state == MSpanFree:
            t.idle_bytes += nbytes
            t.released += s.npreleased * page
            if not 0 <= s.npreleased <= s.npages:
                _fail(f"free span {s.startAddr:#x}: npreleased {s.npreleased} of {s.npages}")
            continue
        t.inuse_bytes += nbytes
        if s.state != MSpanInUse:
            continue
        t.pages_inuse += s.npages
        if s.incache and id(s) not in cached:
            _fail(f"{s!r} says incache but no mcache holds it")
        if s.sweepgen not in (h.sweepgen, h.sweepgen - 2, h.sweepgen - 1):
            _fail(f"{s!r}: sweepgen {s.sweepgen} vs heap {h.sweepgen}")
        if s.sizeclass == 0:
            t.large += 1
            if s.nelems != 1 or s.elemsize != nbytes or s.allocCount != 1:
                _fail(f"large {s!r}: nelems {s.nelems} elemsize {s.elemsize}")
            if not s.startAddr < s.limit <= s.startAddr + nbytes:
                _fail(f"large {s!r}: limit {s.limit:#x} outside the span")
            continue
        size = sc.class_to_size[s.sizeclass]
        if s.elemsize != size or s.npages != sc.class_to_allocnpages[s.sizeclass]:
            _fail(f"{s!r}: elemsize/npages do not match class {s.sizeclass}")
        n = nbytes // size
        if s.nelems != n or s.limit != s.startAddr + n * size:
            _fail(f"{s!r}: nelems {s.nelems} / limit {s.limit:#x}, want {n}")
        if not 0 <= s.freeindex <= s.nelems:
            _fail(f"{s!r}: freeindex {s.freeindex}")
        if s.sweepgen == h.sweepgen:
            allocated = len(s.allocated_indices())
            if allocated != s.allocCount:
                _fail(f"{s!r}: allocCount {s.allocCount} but {allocated} slots allocated")
        if s.freeindex < s.nelems and s.incache:
            base = s.freeindex & ~63
            want_cache = (~(s.allocBits >> base) & MASK64) >> (s.freeindex - base)
            if s.allocCache != want_cache:
                _fail(f"{s!r}: allocCache {s.allocCache:#x} != {want_cache:#x}")
        _check_specials(h, s)
    return t


def _check_specials(h: MHeap, s: MSpan) -> None:
    """6. specials: sorted by (offset, kind), each at an object's start."""
    prev_key = (-1, -1)
    t = s.specials
    while t is not None:
        key = (t.offset, t.kind)
        if key <= prev_key:
            _fail(f"{s!r}: specials not sorted at offset {t.offset}")
        prev_key = key
        if t.offset % s.elemsize and s.sizeclass != h.profile.tiny_size_class:
            _fail(f"{s!r}: special at offset {t.offset} is not at an object start")
        t = t.next


def _check_counters(h: MHeap, mcaches: list[MCache], live: list[MSpan], t: _Totals) -> None:
    """7. counters: the heap's against the walk's totals, the fixallocs, MemStats."""
    page = 1 << _PageShift
    st = h.stats
    if st.heap_inuse != t.inuse_bytes:
        _fail(f"heap_inuse {st.heap_inuse} != bytes of in-use spans {t.inuse_bytes}")
    if st.heap_idle != t.idle_bytes:
        _fail(f"heap_idle {st.heap_idle} != bytes of free spans {t.idle_bytes}")
    if st.heap_released != t.released:
        _fail(f"heap_released {st.heap_released} != released pages {t.released}")
    if st.heap_sys.value != st.heap_inuse + st.heap_idle:
        _fail(f"heap_sys {st.heap_sys.value} != heap_inuse + heap_idle")
    if st.heap_sys.value != h.arena_used - h.arena_start:
        _fail(f"heap_sys {st.heap_sys.value} != arena_used - arena_start")
    manual = sum(s.npages for s in live if s.state == MSpanStack) * page
    if manual != st.stacks_inuse + h.premainPages * page:
        _fail(
            f"stack-state spans hold {manual} bytes, not stacks_inuse {st.stacks_inuse}"
            f" + pre-main pages {h.premainPages}"
        )
    if h.pagesInUse != t.pages_inuse + h.premainPages:
        _fail(
            f"pagesInUse {h.pagesInUse} != pages of in-use spans {t.pages_inuse}"
            f" + pre-main pages {h.premainPages}"
        )
    if st.heap_objects != t.large:
        _fail(f"heap_objects (large) {st.heap_objects} != large spans {t.large}")
    if h.spanalloc.inuse != len(live) * h.profile.sizeof_mspan:
        _fail(f"spanalloc.inuse {h.spanalloc.inuse} != {len(live)} live mspans")
    if h.cachealloc.inuse != len(mcaches) * h.profile.sizeof_mcache:
        _fail(f"cachealloc.inuse {h.cachealloc.inuse} != {len(mcaches)} mcaches")
    if h.bitmap_mapped * h.profile.heap_bitmap_scale < h.arena_used - h.arena_start:
        _fail("the heap bitmap does not cover arena_used")
    if len(h.spans) * page < h.arena_used - h.arena_start:
        _fail("the spans table does not cover arena_used")
    ms = updatememstats(h, h.profile.memstats_by_size_len)
    check_memstats(ms)
    allocated_bytes = sum(s.allocCount * s.elemsize for s in live if s.state == MSpanInUse)
    if st.heap_alloc_now != allocated_bytes:
        _fail(f"heap_alloc_now {st.heap_alloc_now} != bytes of allocated slots {allocated_bytes}")
    inuse = st.heap_inuse - st.stacks_inuse  # the peaks are in MemStats' terms
    if not (st.heap_alloc_now <= st.peak_heap_alloc and inuse <= st.peak_heap_inuse):
        _fail("a running peak is below the current value")
