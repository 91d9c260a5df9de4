"""mheap of Go 1.27 (``mheap.go``): spans on top of the page allocator.

What the Go code does
---------------------
* **Pages** come from ``h.pages`` (a ``pageAlloc``: bitmaps per 4 MiB
  chunk and a radix tree of summaries, address-ordered first fit) and
  **address space** from heap arenas of 64 MiB (``h.arenas``,
  ``curArena``), both in :mod:`goheap.runtime.go127.mpagealloc` and
  :mod:`goheap.runtime.go127.marena`.
* ``allocSpan(npages, typ, spanclass)``: for fewer than 16 pages
  (``pageCachePages/4``) on a P, take them from the P's page cache (filling
  an empty cache with ``allocToCache``) and the mspan from the P's mspan
  cache; otherwise, or if that fails, ``pages.alloc``; if that fails,
  ``grow`` and ``pages.alloc`` again. Then eager scavenging (memory limit:
  forced; heap growth past the retention goal: not forced), ``initSpan``
  and the accounting: ``heapReleased -= scav`` (those pages become Ready:
  ``sysUsed``), ``heapFree -= nbytes - scav``, ``heapInUse += nbytes`` for
  heap spans; ``committed += scav``, ``released -= scav``, ``inHeap`` /
  ``inStacks`` / ``inWorkBufs += nbytes``.
* ``initSpan``: ``needzero`` unless the pages were never used
  (``allocNeedsZero``) or all were scavenged; for heap spans
  ``elemsize``, ``nelems`` -- with Green Tea, ``(nbytes - reserve) /
  elemsize`` where ``reserve`` is 128 B of inline mark bits for 16..512 B
  objects plus ``nbytes/64`` of heap bits for scan spans of <= 512 B
  objects --, ``divMul``, fresh alloc/mark bits (gcBits arenas),
  ``limit = base + nelems*elemsize``, ``sweepgen = h.sweepgen``, state
  in-use; the spans table entries; ``pagesInUse``.
* ``grow(npage)``: ``ask = alignUp(npage, 512)`` pages; HeapSys and
  HeapReleased (``heapReleased``, ``released``) grow by what ``grow``
  maps; the new memory is all scavenged until spans take it.
* ``freeSpanLocked`` reverses ``allocSpan``'s accounting into ``heapFree``
  (never into released) and frees the pages; the mspan goes back to the
  P's mspan cache or ``spanalloc``.
* ``mheap.alloc`` reclaims pages first while sweeping is not done
  (``reclaim``): it uses ``reclaimCredit`` (pages freed by other sweeps)
  and otherwise walks the heap in 512-page chunks (``reclaimIndex``) for
  in-use spans whose first page has no mark (``pageInUse &^ pageMarks``),
  sweeping them until ``npages`` have been freed; any surplus becomes
  credit.
* Specials (finalizers, heap-profile records, cleanups) hang off the span,
  sorted by offset and kind (``addspecial``/``removespecial`` as in Go 1.8,
  the records from fixallocs charged to OtherSys); ``freeSpecial`` queues a
  dead object's finalizer or cleanup (:mod:`goheap.runtime.go127.mcleanup`)
  or counts a sampled object's free.

Deterministic layout (what the model fixes)
-------------------------------------------
The live runtime randomises the heap base (``GOEXPERIMENT=
randomizedheapbase64``, on by default): random arena hints, a random
4 MiB chunk and 0..511 padding pages at the start of the first arena, so
HeapSys at ``main`` varies by a chunk between runs. The model uses the
layout of ``GOEXPERIMENT=norandomizedheapbase64``: the first arena at
``0xc000000000`` and the heap growing contiguously upward from it, no
padding. Every address, and every HeapSys step, is then the same on every
run.

What the model simplifies
-------------------------
* The spans table is one list over all (contiguous) arenas, i.e. the
  concatenation of the arenas' ``heapArena.spans``; as in Go, entries of
  freed spans go stale (``spanOfHeap`` checks state and bounds).
* The arenas' ``pageInUse``/``pageSpecials``/``pageUseSpanInlineMarkBits``
  bitmaps are not kept (their bytes are counted with the ``heapArena``
  struct): the reclaimer reads in-use spans from the spans table. The
  ``pageMarks`` bits are a set of page indices (``pageMarks``), set where
  Go sets them (``greyobject``, ``spanSetScans``, ``gcmarknewobject``) and
  cleared by ``gcResetMarkState``.
* One thread: no locks. What the heap calls in the rest of the runtime
  (``sweepCost``, ``onSweepDrained``, ``onSweepTermination``,
  ``limiting``, ``queuefinalizer``, ``queuecleanup``, ``mprof_free``,
  ``onEagerScavenge``) it calls on ``hooks``, the runtime that built it;
  without a collector they do nothing.
* Memory that is not heap (page-allocator metadata, arena metadata,
  gcBits arenas, spine and block arrays, mspans, mcaches) is accounted,
  with Go's sizes and stats, not backed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from goheap.errors import GoheapError, RuntimeThrow
from goheap.runtime.common.arena import ArenaMemory
from goheap.runtime.common.facade import ArenaHeap
from goheap.runtime.common.gcbits import GCBitsArenas
from goheap.runtime.common.malloc import ZEROBASE
from goheap.runtime.common.mfixalloc import FixAlloc, PersistentAlloc, PersistentAllocator
from goheap.runtime.common.mheap import growAllspans
from goheap.runtime.common.specials import (
    KindSpecialFinalizer,
    KindSpecialProfile,
    SpecialRecord,
    newSpecialRecord,
)
from goheap.runtime.go127.marena import HEAP_ARENA_BYTES, HeapArenas
from goheap.runtime.go127.mbitmap import HeapBits
from goheap.runtime.go127.mcache import MCache
from goheap.runtime.go127.mcentral import MCentral
from goheap.runtime.go127.mcleanup import SIZEOF_SPECIAL_CLEANUP, KindSpecialCleanup
from goheap.runtime.go127.mem import OS, Releases
from goheap.runtime.go127.mgcpacer import GCControllerState
from goheap.runtime.go127.mgcscavenge import ScavengeGoals
from goheap.runtime.go127.mgcsweep import SweepData, deductSweepCredit, ensureSwept, sweepSpan
from goheap.runtime.go127.mpagealloc import PageAlloc
from goheap.runtime.go127.mspan import MSpan, makeSpanClass, mSpanDead, mSpanInUse, mSpanManual
from goheap.runtime.go127.mspanset import SpanSetBlockAlloc
from goheap.runtime.go127.mstats import MStats
from goheap.runtime.go127.proc import P

if TYPE_CHECKING:
    from goheap.runtime.go127.profile import Go127Profile

_PageShift: Final = 13
_PageSize: Final = 1 << _PageShift
MAX_UINT64: Final = (1 << 64) - 1
pagesPerReclaimerChunk: Final = 512

# spanAllocType
spanAllocHeap: Final = 0
spanAllocStack: Final = 1
spanAllocWorkBuf: Final = 2

#: Address space the model reserves for the heap (Go reserves arenas on
#: demand up to 256 TiB; this bounds the model's one mapping).
HEAP_RESERVATION: Final = 1 << 39


class Hooks(Protocol):
    """What the page heap calls in the rest of the runtime (Go: other files' functions).

    The runtime that builds the heap passes itself; these are only called once
    the whole runtime exists.
    """

    def sweepCost(self, s: MSpan) -> None:
        """Charge the virtual clock for sweeping s (the collector's cost model)."""
        ...

    def onSweepDrained(self) -> None:
        """The last span of the cycle is swept (``scavenger.ready``)."""
        ...

    def onSweepTermination(self) -> None:
        """Sweep termination (``finishsweep_m``: ``scavenger.wake``)."""
        ...

    def limiting(self) -> bool:
        """``gcCPULimiter.limiting()``."""
        ...

    def onEagerScavenge(self, released: int, calls: Releases) -> None:
        """Bytes the allocating goroutine released to stay under the memory limit or
        the retention goal, in ``calls``."""
        ...

    def queuefinalizer(self, rec: SpecialRecord, p: int) -> None:
        """mfinal.go: queue the finalizer of the dead object p."""
        ...

    def queuecleanup(self, rec: SpecialRecord) -> None:
        """mcleanup.go: queue the cleanup of a dead object."""
        ...

    def mprof_free(self, bucket: object, size: int) -> None:
        """mprof.go mProf_Free: count the free of a sampled object."""
        ...


class MHeap(ArenaHeap[MSpan, P]):
    """The Go 1.27 page heap of one runtime (see the module doc)."""

    def __init__(
        self, profile: Go127Profile, stats: MStats, controller: GCControllerState, hooks: Hooks
    ) -> None:
        """``mheap.init`` and ``mallocinit``'s part: the heap, before any P exists."""
        self.profile = profile
        self.hooks = hooks
        self.sizeclasses = profile.sizeclasses
        self.stats = stats
        self.controller = controller
        self.os = OS(profile.phys_page_size, controller)
        nclasses = self.sizeclasses.num_classes
        self.numSpanClasses = nclasses << 1
        self.tinySpanClass = makeSpanClass(profile.tiny_size_class, True)
        self.pageCachePages = profile.page_cache_pages
        self.mspancacheCap = profile.mspancache_cap
        spec = self.sizeclasses.spec
        self.mallocHeaderSize = spec.malloc_header_size
        self.minSizeForMallocHeader = spec.min_size_for_malloc_header
        self.greenTea = profile.green_tea_gc
        self.inlineMarkBitsBytes = profile.sizeof_span_inline_mark_bits

        self._initSweep()
        self.gcBlackenEnabled = False
        self.scavenge = ScavengeGoals()  # the background scavenger's goals
        self.allspans: list[MSpan] = []
        self.allspans_cap = 0
        self.curp = None
        self.allp: list[P] = []

        self.palloc = PersistentAllocator(
            self.os,
            stats.other_sys,
            profile.persistent_chunk,
            profile.persistent_max_block,
            profile.page_size,
            chunk_link=profile.persistent_chunk_link,
        )

        self._initFixallocs(profile, stats)
        self._initPages()
        self._initArenas(profile, stats)

    def _initSweep(self) -> None:
        """The sweeper's and the reclaimer's state (mgcsweep.go, mheap.go)."""
        self.sweepgen = 0
        self.sweep = SweepData()
        self.pagesInUse = 0
        self.pagesSwept = 0
        self.pagesSweptBasis = 0
        self.sweepHeapLiveBasis = 0
        self.sweepPagesPerByte = 0.0
        self.reclaimIndex = 0
        self.reclaimCredit = 0
        self.sweepArenasPages = 0  # pages of the arenas the reclaimer walks (sweepArenas)
        self.pageMarks: set[int] = set()  # heapArena.pageMarks: first pages of marked spans
        # The page gcmarknewobject marked last (-1: none since pageMarks was cleared):
        # Go tests the bit before setting it; this skips the set for the same span.
        self.lastPageMark = -1

    def _initFixallocs(self, profile: Go127Profile, stats: MStats) -> None:
        """mheap.init: the fixallocs (each chunk rounded down to a multiple of the
        struct size), the span-set block pool and the central lists."""

        def chunk(size: int) -> int:
            return profile.fixalloc_chunk // size * size

        self.spanalloc: FixAlloc[MSpan] = FixAlloc(
            "spanalloc",
            profile.sizeof_mspan,
            MSpan,
            self._recordspan,
            stats.mspan_sys,
            self.palloc,
            chunk(profile.sizeof_mspan),
        )
        self.cachealloc: FixAlloc[MCache] = FixAlloc(
            "cachealloc",
            profile.sizeof_mcache,
            self._new_mcache,
            None,
            stats.mcache_sys,
            self.palloc,
            chunk(profile.sizeof_mcache),
        )
        self.specialfinalizeralloc: FixAlloc[SpecialRecord] = FixAlloc(
            "specialfinalizeralloc",
            profile.sizeof_specialfinalizer,
            newSpecialRecord,
            None,
            stats.other_sys,
            self.palloc,
            chunk(profile.sizeof_specialfinalizer),
        )
        self.specialprofilealloc: FixAlloc[SpecialRecord] = FixAlloc(
            "specialprofilealloc",
            profile.sizeof_specialprofile,
            newSpecialRecord,
            None,
            stats.other_sys,
            self.palloc,
            chunk(profile.sizeof_specialprofile),
        )
        self.specialCleanupAlloc: FixAlloc[SpecialRecord] = FixAlloc(
            "specialCleanupAlloc",
            SIZEOF_SPECIAL_CLEANUP,
            newSpecialRecord,
            None,
            stats.other_sys,
            self.palloc,
            chunk(SIZEOF_SPECIAL_CLEANUP),
        )
        self.arenaHintAlloc: FixAlloc[object] = FixAlloc(
            "arenaHintAlloc",
            profile.sizeof_arena_hint,
            object,
            None,
            stats.other_sys,
            self.palloc,
            chunk(profile.sizeof_arena_hint),
        )
        self.spanSetBlockPool = SpanSetBlockAlloc(
            profile.sweep_block_entries,
            profile.span_set_block_bytes,
            max(profile.cache_line_size, profile.tag_align),
            profile.sweep_spine_init_cap,
            profile.cache_line_size,
            self._persistentalloc_gcmisc,
        )
        self.central = [
            MCentral(i, self, self.spanSetBlockPool) for i in range(self.numSpanClasses)
        ]
        self.emptymspan = MSpan()  # what every mcache.alloc[] slot starts as
        self.zerobase = ZEROBASE

    def _initPages(self) -> None:
        """pageAlloc.init: the page allocator and its persistentalloc'd metadata."""
        # The inUse ranges' backing array is persistentalloc'd.
        self.pages = PageAlloc(
            phys_page_size=self.profile.phys_page_size, onScavenged=self._scavenged
        )
        self._pages_sys = 0
        self._pages_persistent = 0
        self._charge_pages_metadata(self.palloc.global_alloc)

    def _initArenas(self, profile: Go127Profile, stats: MStats) -> None:
        """mallocinit: the arena hints (see allocArenaHints) and the memory the heap lives in."""
        # One MAP_NORESERVE mapping at the first hint (ArenaMemory's second,
        # bitmap mapping is one unused page here).
        self.arenas = HeapArenas(phys_page_size=profile.phys_page_size)
        self._arena_sys = 0
        self._arena_persistent = 0
        self.arena_start = profile.arena_hint
        self.arena_used = self.arena_start  # end of the arenas reserved so far
        self.spans = []
        self.mem = ArenaMemory(self.arena_start, HEAP_RESERVATION, profile.phys_page_size)
        self.heapBits = HeapBits(
            self.mem,
            self.minSizeForMallocHeader,
            self.mallocHeaderSize,
            self.inlineMarkBitsBytes,
            self.greenTea,
        )
        self.gcbits = GCBitsArenas(
            self.os, stats.gcMiscSys, profile.gc_bits_chunk_bytes, profile.gc_bits_header_bytes
        )

    def allocmcache(self, nextSample: int) -> MCache:
        """allocmcache: a new mcache (no P yet: the global persistentalloc chunk).

        Its ``memProfRate`` stays 0, so the first sampled allocation is the first one.
        """
        c = self.cachealloc.alloc(self.palloc.global_alloc)
        c.nextSample = nextSample
        return c

    def procresize(self, allp: list[P]) -> None:
        """procresize: the Ps are allp, and the running M takes the first (acquirep)."""
        self.allp = allp
        self.curp = allp[0]

    def allocArenaHints(self) -> None:
        """``mallocinit``: one fixalloc'd ``arenaHint`` per hint address (after mcache0)."""
        for _ in range(len(self.arenas.arenaHints) + len(self.arenas.userArenaHints)):
            self.arenaHintAlloc.alloc(self.palloc.global_alloc)

    def premainNonHeap(self, stack_inuse: int, buckhash_table: int, buckhash_extra: int) -> None:
        """The pre-``main`` non-heap memory preset (``Go127Profile.premain_nonheap``).

        What the live runtime has before ``main`` that the model does not
        otherwise build (docs/go1.27-notes.md §11): the goroutine stacks of
        init (``stack_inuse``: StackInuse = StackSys, ``inStacks``), the
        heap-profile hash table (``buckhash_table``, ``sysAlloc``'d to
        ``buckhash_sys`` as ``stkbucket`` does) and the buckets of init's
        two samples (``buckhash_extra``, charged to ``buckhash_sys``).

        Simplification: Go takes stack spans from the heap (``allocManual``);
        here they are accounted only -- ``inStacks`` and ``committed`` grow
        and the bytes are Ready (``mappedReady``), but no heap pages are
        allocated, so heap addresses, HeapSys and HeapReleased are those of
        the model without the preset (Sys is higher than live by
        ``stack_inuse``, as the live HeapSys excludes the stack pages the
        model does not take). The bucket bytes are accounted, not
        persistentalloc'd (no persistent chunk space is used).
        """
        hs = self.stats.heapStats
        hs.inStacks += stack_inuse
        hs.committed += stack_inuse
        self.controller.mappedReady += stack_inuse
        if buckhash_table:
            self.os.sysAlloc(buckhash_table, self.stats.buckhash_sys)
        if buckhash_extra:
            self.stats.buckhash_sys.inc(buckhash_extra)
            self.controller.mappedReady += buckhash_extra

    # --- helpers ---

    def _persistent(self) -> PersistentAlloc:
        """The persistentalloc chunk of the running P (the global one without a P)."""
        return self.curp.palloc if self.curp is not None else self.palloc.global_alloc

    def _persistentalloc_gcmisc(self, size: int, align: int) -> None:
        self.palloc.alloc(size, align, self.stats.gcMiscSys, self._persistent())

    def _new_mcache(self) -> MCache:
        return MCache(self)

    def _recordspan(self, s: MSpan) -> None:
        """recordspan: first handout of an mspan struct appends it to allspans.

        Unchanged since Go 1.8: the array is sysAlloc'd to other_sys and grows by half.
        """
        if len(self.allspans) >= self.allspans_cap:
            self.allspans_cap = growAllspans(self.allspans_cap, self.os, self.stats.other_sys)
        self.allspans.append(s)

    def gcUpdate(self, dHeapLive: int, dHeapScan: int) -> None:
        """``gcController.update``: heapLive/heapScan changed."""
        self.controller.update(dHeapLive, dHeapScan, self.gcBlackenEnabled)

    def deductSweepCredit(self, spanBytes: int, callerSweepPages: int) -> None:
        deductSweepCredit(self, spanBytes, callerSweepPages)

    def isSweepDone(self) -> bool:
        return self.sweep.active.isDone()

    def _charge_pages_metadata(self, persistent: PersistentAlloc) -> None:
        """Charge what the page allocator mapped or persistentalloc'd since last time."""
        pages = self.pages
        d = pages.sysStat - self._pages_sys
        if d:
            self.os.controller.mappedReady += d
            self.stats.gcMiscSys.inc(d)
            self._pages_sys = pages.sysStat
        d = pages.inUse.persistent_bytes - self._pages_persistent
        if d:
            self.palloc.alloc(d, 8, self.stats.gcMiscSys, persistent)
            self._pages_persistent = pages.inUse.persistent_bytes

    def _charge_arena_metadata(self, persistent: PersistentAlloc) -> None:
        """Charge the heapArena structs (sysAlloc) and the heapArenas list (persistentalloc)."""
        arenas = self.arenas
        d = arenas.metadataSys - self._arena_sys
        if d:
            self.os.sysAlloc(d, self.stats.gcMiscSys)
            self._arena_sys = arenas.metadataSys
        d = arenas.metadataPersistent - self._arena_persistent
        if d:
            self.palloc.alloc(d, 8, self.stats.gcMiscSys, persistent)
            self._arena_persistent = arenas.metadataPersistent

    # --- lookups ---

    def spanOf(self, p: int) -> MSpan | None:
        """``spanOf``: the span whose pages hold p (any state, possibly stale), or None."""
        if p < self.arena_start or p >= self.arena_used:
            return None
        return self.spans[(p - self.arena_start) >> _PageShift]

    def spanOfHeap(self, p: int) -> MSpan | None:
        """``spanOfHeap``: the in-use heap span holding p in [base, limit), or None."""
        s = self.spanOf(p)
        if s is None or s.state != mSpanInUse or p < s.startAddr or p >= s.limit:
            return None
        return s

    def lookupMaybe(self, v: int) -> MSpan | None:
        """The in-use heap span holding v in [base, limit), or None (what specials use)."""
        return self.spanOfHeap(v)

    def ensureSwept(self, s: MSpan) -> None:
        """``mspan.ensureSwept``."""
        ensureSwept(self, s)

    def sweep_span(self, s: MSpan, preserve: bool) -> bool:
        return sweepSpan(self, s, preserve)

    def freespecial(self, s: SpecialRecord, p: int, size: int) -> None:
        """``freeSpecial`` of a dead object's record: queue its finalizer, count its free."""
        if s.kind == KindSpecialFinalizer:
            self.hooks.queuefinalizer(s, p)
            self.specialfinalizeralloc.free(s)
        elif s.kind == KindSpecialProfile:
            self.hooks.mprof_free(s.payload, size)
            self.specialprofilealloc.free(s)
        elif s.kind == KindSpecialCleanup:
            self.hooks.queuecleanup(s)  # not resurrected: only the cleanupFn is queued
            self.specialCleanupAlloc.free(s)
        else:
            raise RuntimeThrow("bad special kind")

    def setSpans(self, base: int, npage: int, s: MSpan) -> None:
        p = (base - self.arena_start) >> _PageShift
        self.spans[p : p + npage] = [s] * npage

    # --- span allocation ---

    def alloc(self, npages: int, spanclass: int) -> MSpan | None:
        """``mheap.alloc``: a heap span (reclaiming first while sweeping is unfinished)."""
        if not self.isSweepDone():
            self.reclaim(npages)
        return self.allocSpan(npages, spanAllocHeap, spanclass)

    def reclaim(self, npage: int) -> None:
        """``mheap.reclaim``: sweep (and so free) at least npage pages before allocating."""
        if self.reclaimIndex >= 1 << 63:
            return
        while npage > 0:
            credit = self.reclaimCredit
            if credit > 0:
                take = min(credit, npage)
                self.reclaimCredit = credit - take
                npage -= take
                continue
            idx = self.reclaimIndex
            self.reclaimIndex = idx + pagesPerReclaimerChunk
            if idx >= self.sweepArenasPages:
                self.reclaimIndex = 1 << 63  # page reclaiming is done
                break
            nfound = self.reclaimChunk(idx, pagesPerReclaimerChunk)
            if nfound <= npage:
                npage -= nfound
            else:
                self.reclaimCredit += nfound - npage
                npage = 0

    def reclaimChunk(self, pageIdx: int, n: int) -> int:
        """Sweep the unmarked in-use spans starting in pages [pageIdx, pageIdx+n); pages freed."""
        active = self.sweep.active
        if not active.begin():
            return 0
        nFreed = 0
        spans = self.spans
        marks = self.pageMarks
        start = self.arena_start
        sg = self.sweepgen
        for p in range(pageIdx, min(pageIdx + n, len(spans))):
            s = spans[p]
            if s is None or s.state != mSpanInUse or p in marks:
                continue
            if (s.startAddr - start) >> _PageShift != p:
                continue  # pageInUse has only a span's first page
            if s.sweepgen == sg - 2:
                s.sweepgen = sg - 1
                npages = s.npages
                if sweepSpan(self, s, False):
                    nFreed += npages
        active.end()
        return nFreed

    def tryAllocMSpan(self) -> MSpan | None:
        pp = self.curp
        if pp is None or not pp.mspancache:
            return None
        return pp.mspancache.pop()

    def allocMSpanLocked(self) -> MSpan:
        """An mspan struct: from the P's cache, refilled half-full from spanalloc."""
        pp = self.curp
        if pp is None:
            return self.spanalloc.alloc(self.palloc.global_alloc)
        if not pp.mspancache:
            for _ in range(self.mspancacheCap // 2):
                pp.mspancache.append(self.spanalloc.alloc(pp.palloc))
        return pp.mspancache.pop()

    def freeMSpanLocked(self, s: MSpan) -> None:
        pp = self.curp
        if pp is not None and len(pp.mspancache) < self.mspancacheCap:
            pp.mspancache.append(s)
            return
        self.spanalloc.free(s)

    def allocSpan(self, npages: int, typ: int, spanclass: int) -> MSpan | None:
        """``mheap.allocSpan`` (see the module doc)."""
        pp = self.curp
        base = scav = growth = 0
        s: MSpan | None = None
        if pp is not None and npages < self.pageCachePages // 4:
            c = pp.pcache
            if c.empty():
                c = pp.pcache = self.pages.allocToCache()
            base, scav = c.alloc(npages)
            if base != 0:
                s = self.tryAllocMSpan()
        if base == 0:
            base, scav = self.pages.alloc(npages)
            if base == 0:
                growth, ok = self.grow(npages)
                if not ok:
                    return None
                base, scav = self.pages.alloc(npages)
                if base == 0:
                    raise RuntimeThrow("grew heap, but no adequate free space found")
        if s is None:
            s = self.allocMSpanLocked()

        # Eager scavenging: memory limit (forced), heap growth (not forced).
        ctl = self.controller
        bytesToScavenge = 0
        forceScavenge = False
        if not self.hooks.limiting() and scav + ctl.mappedReady > ctl.memoryLimit:
            bytesToScavenge = scav + ctl.mappedReady - ctl.memoryLimit
            forceScavenge = True
        goal = self.scavenge.gcPercentGoal
        if goal != MAX_UINT64 and growth > 0:
            retained = ctl.heapRetained()
            if retained + growth > goal:
                todo = min(growth, retained + growth - goal)
                bytesToScavenge = max(bytesToScavenge, todo)
        if pp is not None and bytesToScavenge > 0:
            before = self.os.releases()
            released = self.pages.scavenge(bytesToScavenge, self.hooks.limiting, forceScavenge)
            self.pages.releasedEager += released
            self.hooks.onEagerScavenge(released, self.os.releases().since(before))

        self.initSpan(s, typ, spanclass, base, npages, scav)

        nbytes = npages << _PageShift
        hs = self.stats.heapStats
        if scav != 0:
            self.os.sysUsed(nbytes, scav)
            ctl.heapReleased -= scav
        ctl.heapFree -= nbytes - scav
        if typ == spanAllocHeap:
            ctl.heapInUse += nbytes
            if ctl.heapInUse > self.stats.peak_heap_inuse:
                self.stats.peak_heap_inuse = ctl.heapInUse
        hs.committed += scav
        hs.released -= scav
        if typ == spanAllocHeap:
            hs.inHeap += nbytes
        elif typ == spanAllocStack:
            hs.inStacks += nbytes
        else:
            hs.inWorkBufs += nbytes
        return s

    def initSpan(
        self, s: MSpan, typ: int, spanclass: int, base: int, npages: int, scav: int
    ) -> None:
        """``mheap.initSpan`` (see the module doc)."""
        s.init(base, npages)
        needZero = self.arenas.allocNeedsZero(base, npages)
        nbytes = npages << _PageShift
        if scav != nbytes and needZero:
            s.needzero = 1
        if typ != spanAllocHeap:
            s.nelems = 0
            s.state = mSpanManual
        else:
            s.spanclass = spanclass
            sizeclass = spanclass >> 1
            s.sizeclass = sizeclass
            if not s.needzero:
                self.mem.fresh_span(npages, sizeclass != 0)  # its time: the clock's
            if sizeclass == 0:
                s.elemsize = nbytes
                s.nelems = 1
                s.divMul = 0
            else:
                s.elemsize = self.sizeclasses.class_to_size[sizeclass]
                s.nelems = self.nelemsFor(spanclass)
                s.divMul = self.sizeclasses.divmul(sizeclass)
            s.freeindex = 0
            s.freeIndexForScan = 0
            s.allocCache = (1 << 64) - 1
            s.gcmarkBits = 0
            s.allocBits = 0
            self.gcbits.newMarkBits(s.nelems)
            self.gcbits.newAllocBits(s.nelems)
            s.limit = base + s.elemsize * s.nelems
            s.sweepgen = self.sweepgen
            s.state = mSpanInUse
        self.setSpans(base, npages, s)
        if typ == spanAllocHeap:
            self.pagesInUse += npages

    def nelemsFor(self, spanclass: int) -> int:
        """Objects per span of a small span class (``initSpan``'s computation).

        With Green Tea, the span gives up 128 bytes to inline mark bits for
        16..512-byte objects and, if it is a scan span of objects of at most
        512 bytes, ``nbytes/64`` to heap bits; without it only the heap bits.
        """
        sizeclass = spanclass >> 1
        size = self.sizeclasses.class_to_size[sizeclass]
        nbytes = self.sizeclasses.class_to_allocnpages[sizeclass] << _PageShift
        hb = self.heapBits
        reserve = 0
        if hb.gcUsesSpanInlineMarkBits(size):  # false without Green Tea
            reserve += self.inlineMarkBitsBytes
        if hb.heapBitsInSpan(size) and not spanclass & 1:
            reserve += nbytes // 8 // 8
        return (nbytes - reserve) // size

    def grow(self, npage: int) -> tuple[int, bool]:
        """``mheap.grow``: map at least ``npage`` more pages; (bytes of growth, ok)."""
        persistent = self._persistent()
        total, ok = self.arenas.grow(npage, self.pages)
        if not ok:
            return 0, False
        cur = self.arenas.curArena
        if cur.end > self.arena_start + HEAP_RESERVATION or cur.end < self.arena_start:
            raise GoheapError(
                f"runtime: out of memory: the heap would pass {HEAP_RESERVATION >> 30} GiB"
            )
        self._charge_arena_metadata(persistent)
        self._charge_pages_metadata(persistent)
        reserved_pages = (cur.end - self.arena_start) >> _PageShift
        if reserved_pages > len(self.spans):
            self.spans.extend([None] * (reserved_pages - len(self.spans)))
            self.arena_used = self.arena_start + len(self.spans) * _PageSize
        # sysMap to heapReleased: HeapSys and HeapReleased grow together.
        self.controller.heapReleased += total
        self.stats.heapStats.released += total
        heapSys = self.controller.heapInUse + self.controller.heapFree
        heapSys += self.controller.heapReleased
        if heapSys > self.stats.peak_heap_sys:
            self.stats.peak_heap_sys = heapSys
        return total, True

    # --- freeing ---

    def freeSpan(self, s: MSpan) -> None:
        """``mheap.freeSpan``: give a heap span's pages back (its objects are all free)."""
        self.freeSpanLocked(s, spanAllocHeap)

    def freeSpanLocked(self, s: MSpan, typ: int) -> None:
        if s.state == mSpanManual:
            if s.allocCount != 0:
                raise RuntimeThrow("mheap.freeSpanLocked - invalid stack free")
        elif s.state == mSpanInUse:
            if s.allocCount != 0 or s.sweepgen != self.sweepgen:
                raise RuntimeThrow(
                    f"mheap.freeSpanLocked - invalid free of {s!r} sweepgen "
                    f"{s.sweepgen}/{self.sweepgen}"
                )
            self.pagesInUse -= s.npages
        else:
            raise RuntimeThrow("mheap.freeSpanLocked - invalid span state")
        nbytes = s.npages << _PageShift
        ctl = self.controller
        hs = self.stats.heapStats
        ctl.heapFree += nbytes
        if typ == spanAllocHeap:
            ctl.heapInUse -= nbytes
            hs.inHeap -= nbytes
        elif typ == spanAllocStack:
            hs.inStacks -= nbytes
        else:
            hs.inWorkBufs -= nbytes
        self.pages.free(s.startAddr, s.npages)
        s.state = mSpanDead
        self.freeMSpanLocked(s)

    # --- scavenging (the OS side of pageAlloc.scavengeOne) ---

    def _scavenged(self, addr: int, nbytes: int) -> None:
        """``sysUnused`` of a released run, and its accounting."""
        self.os.sysUnused(nbytes, self.mem.release(addr, nbytes))
        ctl = self.controller
        ctl.heapReleased += nbytes
        ctl.heapFree -= nbytes
        hs = self.stats.heapStats
        hs.committed -= nbytes
        hs.released += nbytes

    # --- inspection ---

    def inuse_spans(self) -> list[MSpan]:
        return [s for s in self.allspans if s.state == mSpanInUse]

    def arena_count(self) -> int:
        """Heap arenas reserved so far (64 MiB each)."""
        return (self.arena_used - self.arena_start) // HEAP_ARENA_BYTES
