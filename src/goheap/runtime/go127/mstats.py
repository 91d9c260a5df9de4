"""Memory statistics of Go 1.27 (``mstats.go``): memstats, heapStats, ReadMemStats.

What the Go code does
---------------------
* ``memstats`` keeps the ``sysMemStat`` counters of non-heap memory
  (``stacks_sys``, ``mspan_sys``, ``mcache_sys``, ``buckhash_sys``,
  ``gcMiscSys``, ``other_sys``), GC history, and ``heapStats``, a
  ``consistentHeapStats``: per-P deltas (``heapStatsDelta``) of
  ``committed``, ``released``, ``inHeap``, ``inStacks``, ``inWorkBufs`` and
  the allocation counters ``tinyAllocCount``, ``largeAlloc``,
  ``largeAllocCount``, ``smallAllocCount[68]``, ``largeFree``,
  ``largeFreeCount``, ``smallFreeCount[68]``, made consistent by a
  generation counter so ``runtime/metrics`` can read them without stopping
  the world.
* The page-heap byte counts live in the pacer (``gcController.heapInUse``,
  ``heapFree``, ``heapReleased``, ``totalAlloc``, ``totalFree``,
  ``mappedReady``).
* Allocation counters only move when an mcache flushes a span
  (``refill``, ``releaseAll``) or a large object is allocated; the sweeper
  adds frees.
* ``ReadMemStats`` stops the world, flushes every mcache (``flushallmcaches``
  -> ``releaseAll``, which also drops each P's tiny block) and computes
  ``MemStats`` from the merged deltas (``readmemstats_m``): TotalAlloc,
  Mallocs and Frees include ``tinyAllocCount`` on both sides, HeapObjects =
  Mallocs - Frees, Sys = everything mapped (HeapReleased included), GCSys =
  gcMiscSys + workbufs, NextGC = ``heapGoal()``, and BySize copies the
  first 61 of the 68 classes.

What the model simplifies
-------------------------
One thread, so ``consistentHeapStats`` is a single ``HeapStatsDelta`` (the
merge of Go's three generations, which is what every reader computes).
The running peaks (``peak_*``) and ``heap_alloc_now`` are the model's own,
for run reports; Go has no such fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goheap.runtime.common.mstats import BySizeEntry, MemStats, SysStat

if TYPE_CHECKING:
    from goheap.runtime.go127.mgcpacer import GCControllerState
    from goheap.runtime.go127.mheap import MHeap


class HeapStatsDelta:
    """``heapStatsDelta``: the consistent heap statistics (bytes and counts)."""

    __slots__ = (
        "committed",
        "inHeap",
        "inStacks",
        "inWorkBufs",
        "largeAlloc",
        "largeAllocCount",
        "largeFree",
        "largeFreeCount",
        "released",
        "smallAllocCount",
        "smallFreeCount",
        "tinyAllocCount",
    )

    def __init__(self, num_size_classes: int) -> None:
        self.committed = 0  # bytes of memory committed (Ready) to the heap
        self.released = 0  # bytes of heap memory released to the OS
        self.inHeap = 0  # bytes in in-use heap spans
        self.inStacks = 0  # bytes in stack spans
        self.inWorkBufs = 0  # bytes in GC work buffer spans
        self.tinyAllocCount = 0
        self.largeAlloc = 0
        self.largeAllocCount = 0
        self.smallAllocCount = [0] * num_size_classes
        self.largeFree = 0
        self.largeFreeCount = 0
        self.smallFreeCount = [0] * num_size_classes

    def totals(self, class_to_size: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(totalAllocated bytes, totalFreed bytes, allocs, frees) without tiny counts."""
        allocated = self.largeAlloc
        freed = self.largeFree
        nalloc = self.largeAllocCount
        nfree = self.largeFreeCount
        for i, size in enumerate(class_to_size):
            a = self.smallAllocCount[i]
            f = self.smallFreeCount[i]
            allocated += a * size
            freed += f * size
            nalloc += a
            nfree += f
        return allocated, freed, nalloc, nfree


class MStats:
    """Go 1.27's ``memstats`` (non-heap Sys counters, heapStats, GC history)."""

    def __init__(self, num_size_classes: int) -> None:
        self.stacks_sys = SysStat("stacks_sys")
        self.mspan_sys = SysStat("mspan_sys")
        self.mcache_sys = SysStat("mcache_sys")
        self.buckhash_sys = SysStat("buckhash_sys")
        self.gcMiscSys = SysStat("gcMiscSys")
        self.other_sys = SysStat("other_sys")
        self.heapStats = HeapStatsDelta(num_size_classes)
        # GC history (the collector fills these).
        self.last_gc_unix = 0
        self.pause_total_ns = 0
        self.pause_ns = [0] * 256
        self.pause_end = [0] * 256
        self.numgc = 0
        self.numforcedgc = 0
        self.gc_cpu_fraction = 0.0
        self.lastHeapInUse = 0
        self.enablegc = True
        # Not Go's: HeapAlloc as ReadMemStats would report it now (a tiny
        # block counts 16 bytes), and running maxima for run reports.
        self.heap_alloc_now = 0
        self.peak_heap_alloc = 0
        self.peak_heap_inuse = 0
        self.peak_heap_sys = 0

    @property
    def gc_sys(self) -> SysStat:
        """Go 1.8's name for ``gcMiscSys`` (code shared with Go 1.8 charges it)."""
        return self.gcMiscSys

    def sys_stats(self) -> list[SysStat]:
        return [
            self.stacks_sys,
            self.mspan_sys,
            self.mcache_sys,
            self.buckhash_sys,
            self.gcMiscSys,
            self.other_sys,
        ]


def totalMapped(st: MStats, ctl: GCControllerState) -> int:
    """Everything the runtime has mapped: MemStats.Sys (HeapReleased included)."""
    hs = st.heapStats
    return (
        ctl.heapInUse
        + ctl.heapFree
        + ctl.heapReleased
        + sum(s.value for s in st.sys_stats())
        + hs.inStacks
        + hs.inWorkBufs
    )


def readmemstats_m(h: MHeap, by_size_len: int, flushed: bool = True) -> MemStats:
    """``readmemstats_m``: MemStats from the consistent stats.

    ``ReadMemStats`` flushes every mcache first (the caller does that).
    With ``flushed=False`` the counts a flush would add are included
    without flushing (not in Go: ``Heap.memstats()``, which must not
    change the heap); every figure is then what ReadMemStats would return.
    """
    st = h.stats
    ctl = h.controller
    hs = st.heapStats
    sizes = h.sizeclasses.class_to_size
    small = list(hs.smallAllocCount)
    tiny = hs.tinyAllocCount
    pendingBytes = 0
    if not flushed:
        for p in h.allp:
            c = p.mcache
            if c is None:
                continue
            counts, ntiny, nbytes = c.unflushed()
            for cl, n in counts.items():
                small[cl] += n
            tiny += ntiny
            pendingBytes += nbytes
    totalAlloc = hs.largeAlloc
    nMalloc = hs.largeAllocCount
    totalFree = hs.largeFree
    nFree = hs.largeFreeCount
    for i, size in enumerate(sizes):
        a = small[i]
        totalAlloc += a * size
        nMalloc += a
        f = hs.smallFreeCount[i]
        totalFree += f * size
        nFree += f
    nFree += tiny
    nMalloc += tiny

    m = MemStats()
    m.Alloc = totalAlloc - totalFree
    m.TotalAlloc = totalAlloc
    m.Sys = totalMapped(st, ctl)
    m.Lookups = 0
    m.Mallocs = nMalloc
    m.Frees = nFree
    m.HeapAlloc = totalAlloc - totalFree
    m.HeapSys = ctl.heapInUse + ctl.heapFree + ctl.heapReleased
    m.HeapIdle = ctl.heapFree + ctl.heapReleased
    m.HeapInuse = ctl.heapInUse
    m.HeapReleased = ctl.heapReleased
    m.HeapObjects = nMalloc - nFree
    m.StackInuse = hs.inStacks
    m.StackSys = hs.inStacks + st.stacks_sys.value
    m.MSpanInuse = h.spanalloc.inuse
    m.MSpanSys = st.mspan_sys.value
    m.MCacheInuse = h.cachealloc.inuse
    m.MCacheSys = st.mcache_sys.value
    m.BuckHashSys = st.buckhash_sys.value
    m.GCSys = st.gcMiscSys.value + hs.inWorkBufs
    m.OtherSys = st.other_sys.value
    ctl.totalAlloc += pendingBytes  # what the flush would have added
    try:
        m.NextGC = ctl.heapGoal()
    finally:
        ctl.totalAlloc -= pendingBytes
    m.LastGC = st.last_gc_unix
    m.PauseTotalNs = st.pause_total_ns
    m.PauseNs = list(st.pause_ns)
    m.PauseEnd = list(st.pause_end)
    m.NumGC = st.numgc
    m.NumForcedGC = st.numforcedgc
    m.GCCPUFraction = st.gc_cpu_fraction
    m.EnableGC = True
    m.BySize = [
        BySizeEntry(Size=sizes[i], Mallocs=small[i], Frees=hs.smallFreeCount[i])
        for i in range(min(by_size_len, len(sizes)))
    ]
    return m
