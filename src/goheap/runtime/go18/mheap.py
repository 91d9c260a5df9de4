"""mheap (mheap.go): the page heap -- the seed of this project.

The heap hands out runs of 8 KiB pages ("spans") to the size-class
allocators (mcentral) and to large objects, and takes them back when the
sweeper frees them. Go 1.8's design, as modelled here:

- ``free[n]`` (1 <= n < 128) holds free spans of exactly n pages, newest
  first; ``freelarge`` holds free spans of 128 pages or more, unsorted, and
  is searched best-fit (fewest pages, then lowest address).
- ``busy[n]`` / ``busylarge`` hold in-use spans of *large objects* only (for
  ``reclaim``); small-object spans live on mcentral lists.
- ``spans`` maps every page of the arena (``(addr - arena_start) >> 13``) to
  its span: every page of an in-use span, only the first and last page of a
  free span, nothing (None) for pages never handed out. Its length grows
  with ``arena_used`` (``mapSpans``), in steps of one physical page of table.
- ``allspans`` records every mspan struct ever created.
- The arena is one contiguous region: ``arena_used`` only grows (``grow`` ->
  ``sysAlloc`` -> ``sysMap``), at least 1 MiB at a time, and the bitmap and
  spans table are mapped to match.
- Freed spans coalesce with free neighbours on both sides at once.
- ``sweepgen``/``sweepdone``/``sweepSpans`` and the proportional-sweep
  fields are kept here for the collector (mgcsweep.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from goheap.errors import GoheapError, RuntimeThrow
from goheap.runtime.common.arena import OS, ArenaMemory, round_up
from goheap.runtime.common.clock import Clock
from goheap.runtime.common.facade import ArenaHeap
from goheap.runtime.common.gcbits import GCBitsArenas
from goheap.runtime.common.malloc import ZEROBASE
from goheap.runtime.common.mfixalloc import FixAlloc, PersistentAlloc, PersistentAllocator
from goheap.runtime.common.mheap import growAllspans
from goheap.runtime.common.proc import P
from goheap.runtime.common.specials import (
    KindSpecialFinalizer,
    KindSpecialProfile,
    newSpecialRecord,
)
from goheap.runtime.go18.mbitmap import HeapBitmap
from goheap.runtime.go18.mcache import MCache
from goheap.runtime.go18.mcentral import MCentral
from goheap.runtime.go18.mgcpacer import GCControllerState
from goheap.runtime.go18.mgcsweep import sweep_span, sweepone
from goheap.runtime.go18.mgcsweepbuf import GCSweepBuf
from goheap.runtime.go18.mspan import MSpan, MSpanFree, MSpanInUse, MSpanList, MSpanStack
from goheap.runtime.go18.mstats import MStats

if TYPE_CHECKING:
    from goheap.runtime.common.specials import SpecialRecord
    from goheap.runtime.go18.profile import Go18Profile

_PageShift: Final = 13
_PageSize: Final = 1 << _PageShift


class Hooks(Protocol):
    """What the page heap calls in the rest of the runtime (Go: other files' functions).

    The runtime that builds the heap passes itself; these are only called once
    the whole runtime exists.
    """

    def sweepCost(self, s: MSpan) -> None:
        """Charge the virtual clock for sweeping s (the collector's cost model)."""
        ...

    def queuefinalizer(self, rec: SpecialRecord, p: int) -> None:
        """mfinal.go: queue the finalizer of the dead object p."""
        ...

    def mprof_free(self, bucket: object, size: int) -> None:
        """mprof.go mProf_Free: count the free of a sampled object."""
        ...


class MHeap(ArenaHeap[MSpan, P[MCache]]):
    """The page heap, with Go 1.8's fields (see the module docstring)."""

    def __init__(
        self,
        profile: Go18Profile,
        stats: MStats,
        os_: OS,
        clock: Clock,
        controller: GCControllerState,
        hooks: Hooks,
    ) -> None:
        """mallocinit's part: reserve the arena, then ``mheap.init``."""
        self.profile = profile
        self.sizeclasses = profile.sizeclasses
        self.stats = stats
        self.os = os_
        self.clock = clock
        self.controller = controller  # gcController: revise() when marking sees heap_live move
        self.hooks = hooks
        self.palloc = PersistentAllocator(
            os_,
            stats.other_sys,
            profile.persistent_chunk,
            profile.persistent_max_block,
            profile.page_size,
        )
        # The P whose mcache and palloc the current operation uses.
        self.curp = None
        self.allp: list[P[MCache]] = []
        # gcBlackenEnabled, as the collector sets it: while marking, a change
        # of heap_live or heap_scan calls the pacer's revise().
        self.gcBlackenEnabled = 0
        self.premainPages = 0  # pages of allocPremain's spans
        self._reserveArena(profile)
        self._init(profile, stats)

    def _reserveArena(self, profile: Go18Profile) -> None:
        """mallocinit: reserve spans | bitmap | arena at the first hint."""
        arena_size = round_up(profile.max_mem, _PageSize)
        bitmap_size = arena_size // profile.heap_bitmap_scale
        spans_size = round_up(arena_size // _PageSize * 8, _PageSize)
        p = profile.arena_hint
        p_size = bitmap_size + spans_size + arena_size + _PageSize
        self.spans_start = p
        self.bitmap = p + spans_size + bitmap_size
        self.bitmap_mapped = 0
        self.arena_start = p + spans_size + bitmap_size
        self.arena_used = self.arena_start
        self.arena_end = p + p_size
        self.arena_reserved = False  # linux/amd64: sysReserve only probes
        self.mem = ArenaMemory(self.arena_start, arena_size + _PageSize, bitmap_size)
        self.heapbits = HeapBitmap(
            self.mem.bitmap, self.arena_start, bitmap_size, self.mem.zero_bitmap
        )
        # &zerobase: the address every 0-byte allocation returns. In Go it is a
        # runtime global in the data segment, outside the arena.
        self.zerobase = ZEROBASE

    def _init(self, profile: Go18Profile, stats: MStats) -> None:
        """mheap.init: the fixallocs, the free and busy lists, the central lists."""
        nclasses = self.sizeclasses.num_classes
        nlists = profile.max_mheap_list
        self.spanalloc: FixAlloc[MSpan] = FixAlloc(
            "spanalloc",
            profile.sizeof_mspan,
            MSpan,
            self._recordspan,
            stats.mspan_sys,
            self.palloc,
            profile.fixalloc_chunk,
        )
        self.cachealloc: FixAlloc[MCache] = FixAlloc(
            "cachealloc",
            profile.sizeof_mcache,
            self._new_mcache,
            None,
            stats.mcache_sys,
            self.palloc,
            profile.fixalloc_chunk,
        )
        self.specialfinalizeralloc: FixAlloc[SpecialRecord] = FixAlloc(
            "specialfinalizeralloc",
            profile.sizeof_specialfinalizer,
            newSpecialRecord,
            None,
            stats.other_sys,
            self.palloc,
            profile.fixalloc_chunk,
        )
        self.specialprofilealloc: FixAlloc[SpecialRecord] = FixAlloc(
            "specialprofilealloc",
            profile.sizeof_specialprofile,
            newSpecialRecord,
            None,
            stats.other_sys,
            self.palloc,
            profile.fixalloc_chunk,
        )
        self.free = [MSpanList(f"free[{i}]") for i in range(nlists)]
        self.freelarge = MSpanList("freelarge")
        self.busy = [MSpanList(f"busy[{i}]") for i in range(nlists)]
        self.busylarge = MSpanList("busylarge")
        self.central = [MCentral(i, self) for i in range(nclasses)]
        self.emptymspan = MSpan()  # what every mcache.alloc[] slot starts as
        self.allspans: list[MSpan] = []
        self.allspans_cap = 0
        self.spans = []
        self.gcbits = GCBitsArenas(
            self.os, stats.gc_sys, profile.gc_bits_chunk_bytes, profile.gc_bits_header_bytes
        )
        self._initSweep(profile, stats, nclasses)

    def _initSweep(self, profile: Go18Profile, stats: MStats, nclasses: int) -> None:
        """The sweeper's state (mgcsweep.go): buffers, proportional sweep, free counts."""
        self.sweepgen = 0
        self.sweepdone = 0
        self.sweepSpans = [
            GCSweepBuf(
                self.palloc,
                stats.gc_sys,
                profile.sweep_block_entries,
                profile.sweep_spine_init_cap,
                profile.cache_line_size,
            )
            for _ in range(2)
        ]
        # Proportional sweep.
        self.pagesInUse = 0
        self.spanBytesAlloc = 0
        self.pagesSwept = 0
        self.sweepPagesPerByte = 0.0
        # Malloc stats, flushed from the mcaches.
        self.largefree = 0
        self.nlargefree = 0
        self.nsmallfree = [0] * nclasses

    # --- helpers for the current P ---

    def _persistent(self) -> PersistentAlloc:
        return self.curp.palloc if self.curp is not None else self.palloc.global_alloc

    def _mcache(self) -> MCache | None:
        return self.curp.mcache if self.curp is not None else None

    def _new_mcache(self) -> MCache:
        return MCache(self)

    def allocmcache(self, next_sample: int) -> MCache:
        """allocmcache: a new mcache (no P yet: the global persistentalloc chunk)."""
        c = self.cachealloc.alloc(self.palloc.global_alloc)
        c.next_sample = next_sample
        return c

    def procresize(self, allp: list[P[MCache]]) -> None:
        """procresize: the Ps are allp, and the running M takes the first (acquirep)."""
        self.allp = allp
        self.curp = allp[0]

    def _recordspan(self, s: MSpan) -> None:
        """recordspan: first handout of an mspan struct appends it to allspans."""
        if len(self.allspans) >= self.allspans_cap:
            self.allspans_cap = growAllspans(self.allspans_cap, self.os, self.stats.other_sys)
        self.allspans.append(s)

    def flush_mcache_stats(self, c: MCache | None) -> None:
        """The stats alloc_m and freeSpan move from the current mcache."""
        if c is None:
            return
        self.stats.heap_scan += c.local_scan
        c.local_scan = 0
        self.stats.tinyallocs += c.local_tinyallocs
        c.local_tinyallocs = 0

    # --- mapping (mallocinit / mheap.sysAlloc / mapBits / mapSpans) ---

    def mapSpans(self, arena_used: int) -> None:
        n = (arena_used - self.arena_start) // _PageSize * 8
        n = round_up(n, self.profile.phys_page_size)
        need = n // 8
        have = len(self.spans)
        if have >= need:
            return
        self.spans.extend([None] * (need - have))
        self.os.sysMap(self.spans_start + have * 8, (need - have) * 8, self.stats.other_sys)

    def mapBits(self, arena_used: int) -> None:
        n = (arena_used - self.arena_start) // self.profile.heap_bitmap_scale
        n = round_up(n, self.profile.bitmap_chunk)
        n = round_up(n, self.profile.phys_page_size)
        if self.bitmap_mapped >= n:
            return
        self.os.sysMap(self.bitmap - n, n - self.bitmap_mapped, self.stats.gc_sys)
        self.bitmap_mapped = n

    def sysAlloc(self, n: int) -> int:
        """mheap.sysAlloc (64-bit): take n more bytes of the arena, or 0."""
        if n <= self.arena_end - self.arena_used:
            p = self.arena_used
            self.os.sysMap(p, n, self.stats.heap_sys)
            self.mapBits(p + n)
            self.mapSpans(p + n)
            self.arena_used = p + n
            return p
        return 0

    # --- span allocation ---

    def alloc(self, npage: int, sizeclass: int, large: bool, needzero: bool) -> MSpan | None:
        """mheap.alloc: a span for the GC'd heap, zeroed if asked and dirty."""
        s = self.alloc_m(npage, sizeclass, large)
        if s is not None:
            if s.needzero == 0:
                self.mem.fresh_span(s.npages, not large)
            elif needzero:
                self.mem.zero(s.startAddr, s.npages << _PageShift)
            s.needzero = 0
        return s

    def alloc_m(self, npage: int, sizeclass: int, large: bool) -> MSpan | None:
        if self.sweepdone == 0:
            self.reclaim(npage)
        self.flush_mcache_stats(self._mcache())
        s = self.allocSpanLocked(npage)
        if s is not None:
            s.sweepgen = self.sweepgen
            self.sweepSpans[(self.sweepgen // 2) % 2].push(s, self._persistent())
            s.state = MSpanInUse
            s.allocCount = 0
            s.sizeclass = sizeclass
            if sizeclass == 0:
                s.elemsize = s.npages << _PageShift
                s.divShift = 0
                s.divMul = 0
                s.divShift2 = 0
                s.baseMask = 0
            else:
                s.elemsize = self.sizeclasses.class_to_size[sizeclass]
                m = self.sizeclasses.divmagic(sizeclass)
                s.divShift = m.shift
                s.divMul = m.mul
                s.divShift2 = m.shift2
                s.baseMask = m.base_mask
            self.pagesInUse += npage
            if large:
                self.stats.heap_objects += 1
                self.stats.heap_live += npage << _PageShift
                self.busyList(s.npages).insertBack(s)
        if self.gcBlackenEnabled:
            self.controller.revise()
        return s

    def allocSpanLocked(self, npage: int) -> MSpan | None:
        """Take npage pages from the free lists (growing the heap if needed)."""
        s: MSpan | None = None
        lst: MSpanList | None = None
        for i in range(npage, len(self.free)):
            if self.free[i].first is not None:
                lst = self.free[i]
                s = lst.first
                break
        if s is None:
            lst = self.freelarge
            s = self.allocLarge(npage)
            if s is None:
                if not self.grow(npage):
                    return None
                s = self.allocLarge(npage)
                if s is None:
                    return None
        assert lst is not None
        if s.state != MSpanFree:
            raise RuntimeThrow("MHeap_AllocLocked - MSpan not free")
        if s.npages < npage:
            raise RuntimeThrow("MHeap_AllocLocked - bad npages")
        lst.remove(s)
        if s.npreleased > 0:
            # sysUsed over the whole span, before trimming (as Go 1.8 does).
            self.stats.heap_released -= s.npreleased << _PageShift
            s.npreleased = 0

        if s.npages > npage:
            # Trim the extra and put it back in the heap.
            t = self.spanalloc.alloc(self._persistent())
            t.init(s.startAddr + (npage << _PageShift), s.npages - npage)
            s.npages = npage
            p = (t.startAddr - self.arena_start) >> _PageShift
            if p > 0:
                self.spans[p - 1] = s
            self.spans[p] = t
            self.spans[p + t.npages - 1] = t
            t.needzero = s.needzero
            s.state = MSpanStack  # prevent coalescing with s
            t.state = MSpanStack
            self.freeSpanLocked(t, False, False, s.unusedsince)
            s.state = MSpanFree
        s.unusedsince = 0

        p = (s.startAddr - self.arena_start) >> _PageShift
        one: list[MSpan | None] = [s]
        self.spans[p : p + npage] = one * npage

        st = self.stats
        st.heap_inuse += npage << _PageShift
        st.heap_idle -= npage << _PageShift
        # The peaks in MemStats' terms (stack pages are StackInuse, not the heap's).
        inuse = st.heap_inuse - st.stacks_inuse
        if inuse > st.peak_heap_inuse:
            st.peak_heap_inuse = inuse
        heap_sys = st.heap_sys.value - st.stacks_inuse
        if heap_sys > st.peak_heap_sys:  # only grows inside allocSpanLocked
            st.peak_heap_sys = heap_sys
        return s

    def allocStack(self, npage: int) -> MSpan | None:
        """mheap.allocStack: npage pages for goroutine stacks, in StackInuse."""
        s = self.allocSpanLocked(npage)
        if s is not None:
            s.state = MSpanStack
            s.allocCount = 0
            self.stats.stacks_inuse += s.npages << _PageShift
        return s

    def allocPremain(self, npage: int) -> MSpan | None:
        """npage pages of heap spans holding objects the model does not allocate.

        The runtime (and a program's init) has heap spans in use at ``main``
        whose objects the model does not make (goheap.profiles.go18: the
        pre-main pages). Simplified: such a span is taken whole and kept out
        of the GC'd heap (the state of a manually managed span, as a stack's,
        but counted in HeapInuse), so the program's objects never fill its
        free slots, as in Go they may; it is in ``pagesInUse``, as Go's are.
        """
        s = self.allocSpanLocked(npage)
        if s is not None:
            s.state = MSpanStack
            s.allocCount = 0
            self.pagesInUse += npage
            self.premainPages += npage
        return s

    def allocLarge(self, npage: int) -> MSpan | None:
        return self.bestFit(self.freelarge, npage)

    @staticmethod
    def bestFit(lst: MSpanList, npage: int) -> MSpan | None:
        """The smallest span with >= npage pages; the lowest address on ties."""
        best: MSpan | None = None
        s = lst.first
        while s is not None:
            if s.npages >= npage and (
                best is None
                or s.npages < best.npages
                or (s.npages == best.npages and s.startAddr < best.startAddr)
            ):
                best = s
            s = s.next
        return best

    def grow(self, npage: int) -> bool:
        """Add at least npage pages (>= 1 MiB, a multiple of 64 KiB) to the heap."""
        npage = round_up(npage, self.profile.grow_round_bytes // _PageSize)
        ask = npage << _PageShift
        if ask < self.profile.heap_alloc_chunk:
            ask = self.profile.heap_alloc_chunk
        v = self.sysAlloc(ask)
        if v == 0:
            if ask > npage << _PageShift:
                ask = npage << _PageShift
                v = self.sysAlloc(ask)
            if v == 0:
                raise GoheapError(
                    f"runtime: out of memory: cannot allocate {ask}-byte block "
                    f"({self.stats.heap_sys.value} in use)"
                )
        # A fake in-use span, freed so that the right coalescing happens.
        s = self.spanalloc.alloc(self._persistent())
        s.init(v, ask >> _PageShift)
        p = (s.startAddr - self.arena_start) >> _PageShift
        for i in range(p, p + s.npages):
            self.spans[i] = s
        s.sweepgen = self.sweepgen
        s.state = MSpanInUse
        self.pagesInUse += s.npages
        self.freeSpanLocked(s, False, True, 0)
        return True

    # --- lookups ---

    def lookup(self, v: int) -> MSpan | None:
        """The span at v, which must be the start or end of a span in the map."""
        return self.spans[(v - self.arena_start) >> _PageShift]

    def lookupMaybe(self, v: int) -> MSpan | None:
        """The in-use span holding v, or None (any address is fine)."""
        if v < self.arena_start or v >= self.arena_used:
            return None
        idx = (v - self.arena_start) >> _PageShift
        if idx >= len(self.spans):
            return None
        s = self.spans[idx]
        if s is None or v < s.startAddr or v >= s.limit or s.state != MSpanInUse:
            return None
        return s

    def spanOf(self, p: int) -> MSpan | None:
        """spanOf: the span whose pages hold p (any state), or None."""
        if p < self.arena_start or p >= self.arena_used:
            return None
        idx = (p - self.arena_start) >> _PageShift
        return self.spans[idx] if idx < len(self.spans) else None

    # --- freeing ---

    def freeSpan(self, s: MSpan, acct: int) -> None:
        """Return an in-use span (its objects all free) to the heap."""
        self.flush_mcache_stats(self._mcache())
        if acct != 0:
            self.stats.heap_objects -= 1
        if self.gcBlackenEnabled:
            self.controller.revise()
        self.freeSpanLocked(s, True, True, 0)

    def freeSpanLocked(self, s: MSpan, acctinuse: bool, acctidle: bool, unusedsince: int) -> None:
        if s.state == MSpanStack:
            if s.allocCount != 0:
                raise RuntimeThrow("MHeap_FreeSpanLocked - invalid stack free")
        elif s.state == MSpanInUse:
            if s.allocCount != 0 or s.sweepgen != self.sweepgen:
                raise RuntimeThrow(
                    f"MHeap_FreeSpanLocked - invalid free: span {s.startAddr:#x} "
                    f"allocCount {s.allocCount} sweepgen {s.sweepgen}/{self.sweepgen}"
                )
            self.pagesInUse -= s.npages
        else:
            raise RuntimeThrow("MHeap_FreeSpanLocked - invalid span state")

        nbytes = s.npages << _PageShift
        if acctinuse:
            self.stats.heap_inuse -= nbytes
        if acctidle:
            self.stats.heap_idle += nbytes
        s.state = MSpanFree
        if s.list is not None:
            self.busyList(s.npages).remove(s)

        # Stamp newly unused spans for the scavenger.
        s.unusedsince = unusedsince if unusedsince != 0 else self.clock.nanotime()
        s.npreleased = 0

        spans = self.spans
        p = (s.startAddr - self.arena_start) >> _PageShift
        if p > 0:
            t = spans[p - 1]
            if t is not None and t.state == MSpanFree:
                s.startAddr = t.startAddr
                s.npages += t.npages
                s.npreleased = t.npreleased  # absorb released pages
                s.needzero |= t.needzero
                p -= t.npages
                spans[p] = s
                self.freeList(t.npages).remove(t)
                t.state = 0  # MSpanDead
                self.spanalloc.free(t)
        if p + s.npages < len(spans):
            t = spans[p + s.npages]
            if t is not None and t.state == MSpanFree:
                s.npages += t.npages
                s.npreleased += t.npreleased
                s.needzero |= t.needzero
                spans[p + s.npages - 1] = s
                self.freeList(t.npages).remove(t)
                t.state = 0  # MSpanDead
                self.spanalloc.free(t)

        self.freeList(s.npages).insert(s)

    def freeList(self, npages: int) -> MSpanList:
        return self.free[npages] if npages < len(self.free) else self.freelarge

    def busyList(self, npages: int) -> MSpanList:
        return self.busy[npages] if npages < len(self.free) else self.busylarge

    # --- reclaim (sweeping before allocating, while sweepdone == 0) ---

    def reclaimList(self, lst: MSpanList, npages: int) -> int:
        """Sweep unswept large spans on lst until npages pages are freed."""
        n = 0
        sg = self.sweepgen
        while True:
            s = lst.first
            restarted = False
            while s is not None:
                if s.sweepgen == sg - 2:
                    s.sweepgen = sg - 1
                    lst.remove(s)
                    # Swept spans are at the end of the list.
                    lst.insertBack(s)
                    snpages = s.npages
                    if self.sweep_span(s, False):
                        n += snpages
                    if n >= npages:
                        return n
                    restarted = True
                    break
                if s.sweepgen == sg - 1:
                    s = s.next
                    continue
                # Already swept: all subsequent ones must also be.
                break
            if not restarted:
                return n

    def reclaim(self, npage: int) -> None:
        """Sweep and reclaim at least npage pages before a span allocation."""
        for i in range(npage, len(self.busy)):
            if self.reclaimList(self.busy[i], npage) != 0:
                return
        if self.reclaimList(self.busylarge, npage) != 0:
            return
        reclaimed = 0
        for i in range(min(npage, len(self.busy))):
            reclaimed += self.reclaimList(self.busy[i], npage - reclaimed)
            if reclaimed >= npage:
                return
        while reclaimed < npage:
            n = self.sweepone()
            if n == -1:
                break
            reclaimed += n

    def sweepone(self) -> int:
        """Sweep one span: pages freed to the heap, or -1 when all are swept."""
        return sweepone(self)

    def sweep_span(self, s: MSpan, preserve: bool) -> bool:
        """mspan.sweep(preserve) on a claimed span; True if it went to the heap."""
        return sweep_span(self, s, preserve)

    def freespecial(self, s: SpecialRecord, p: int, size: int) -> None:
        """Dispose of a special of a dead object: queue its finalizer or free its sample."""
        if s.kind == KindSpecialFinalizer:
            self.hooks.queuefinalizer(s, p)
            self.specialfinalizeralloc.free(s)
        elif s.kind == KindSpecialProfile:
            self.hooks.mprof_free(s.payload, size)
            self.specialprofilealloc.free(s)
        else:
            raise RuntimeThrow("bad special kind")

    def ensureSwept(self, s: MSpan) -> None:
        """mspan.ensureSwept: sweep s now if this cycle has not swept it yet."""
        sg = self.sweepgen
        if s.sweepgen == sg:
            return
        if s.sweepgen == sg - 2:
            s.sweepgen = sg - 1
            self.sweep_span(s, False)
            return
        raise RuntimeThrow(f"ensureSwept: span {s.startAddr:#x} is being swept")

    # --- the scavenger ---

    def scavengelist(self, lst: MSpanList, now: int, limit: int) -> int:
        sumreleased = 0
        s = lst.first
        while s is not None:
            if now - s.unusedsince > limit and s.npreleased != s.npages:
                start = s.startAddr
                length = s.npages << _PageShift
                released = length - (s.npreleased << _PageShift)
                self.stats.heap_released += released
                sumreleased += released
                s.npreleased = length >> _PageShift
                self.mem.release(start, length)
            s = s.next
        return sumreleased

    def all_free_released(self) -> bool:
        """Every free span is released already: a scavenge would change nothing."""
        for lst in [*self.free, self.freelarge]:
            s = lst.first
            while s is not None:
                if s.npreleased != s.npages:
                    return False
                s = s.next
        return True

    def scavenge(self, now: int, limit: int) -> int:
        """Release free spans unused for longer than limit ns; bytes released."""
        total = 0
        for lst in self.free:
            total += self.scavengelist(lst, now, limit)
        total += self.scavengelist(self.freelarge, now, limit)
        return total

    # --- stats ---

    def purge_all_cachedstats(self) -> None:
        """cachestats: move every P's mcache counters into the globals."""
        for p in self.allp:
            if p.mcache is not None:
                p.mcache.purgecachedstats()

    def inuse_spans(self) -> list[MSpan]:
        return [s for s in self.allspans if s.state == MSpanInUse]
