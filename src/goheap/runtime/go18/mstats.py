"""Memory statistics of Go 1.8 (mstats.go): its counters and ReadMemStats.

``MStats`` is Go's internal ``memstats`` global: the ``*_sys`` counters that
every OS mapping is charged to (each a ``SysStat`` cell, since Go passes them
by pointer: :mod:`goheap.runtime.common.mstats`), the heap counters the page
heap keeps (``heap_inuse``, ``heap_idle``, ...), and the pacer's counters
(``heap_live``, ``heap_scan``, ``heap_marked``, ``gc_trigger``, ``next_gc``).

``updatememstats`` computes ``MemStats`` (the shared record) as Go 1.8 does,
walking allspans (so unswept dead objects still count, as in Go).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.runtime.common.mstats import BySizeEntry, MemStats, SysStat

if TYPE_CHECKING:
    from goheap.runtime.go18.mheap import MHeap

MAX_UINT64: Final = (1 << 64) - 1


class MStats:
    """Go's internal memstats (the fields the allocator and collector keep)."""

    def __init__(self, num_size_classes: int) -> None:
        # OS memory, by what it is for.
        self.heap_sys = SysStat("heap_sys")
        self.stacks_sys = SysStat("stacks_sys")
        self.mspan_sys = SysStat("mspan_sys")
        self.mcache_sys = SysStat("mcache_sys")
        self.buckhash_sys = SysStat("buckhash_sys")
        self.gc_sys = SysStat("gc_sys")
        self.other_sys = SysStat("other_sys")
        # Page heap.
        self.heap_idle = 0
        self.heap_inuse = 0
        self.heap_released = 0
        self.heap_objects = 0  # large objects only, kept by alloc_m/freeSpan
        self.stacks_inuse = 0
        # Not Go's: what ReadMemStats would call HeapAlloc right now (bytes of
        # allocated objects, a tiny block counting 16), and the running maxima
        # of it, heap_inuse and heap_sys, for the true peaks a run reports.
        self.heap_alloc_now = 0
        self.peak_heap_alloc = 0
        self.peak_heap_inuse = 0
        self.peak_heap_sys = 0
        # Pacer inputs.
        self.heap_live = 0
        self.heap_scan = 0
        self.heap_marked = 0
        self.gc_trigger = 0
        self.next_gc = 0
        # Flushed from mcaches.
        self.tinyallocs = 0
        self.nlookup = 0
        # GC history (filled by the collector).
        self.last_gc = 0
        self.pause_total_ns = 0
        self.pause_ns = [0] * 256
        self.pause_end = [0] * 256
        self.numgc = 0
        self.numforcedgc = 0
        self.gc_cpu_fraction = 0.0
        self.enablegc = True
        self.num_size_classes = num_size_classes

    def sys_stats(self) -> list[SysStat]:
        return [
            self.heap_sys,
            self.stacks_sys,
            self.mspan_sys,
            self.mcache_sys,
            self.buckhash_sys,
            self.gc_sys,
            self.other_sys,
        ]

    def sys(self) -> int:
        return sum(s.value for s in self.sys_stats())


def updatememstats(h: MHeap, by_size_len: int) -> MemStats:
    """Compute MemStats from the heap exactly as Go 1.8's updatememstats.

    The caller decides whether the mcaches are flushed first (ReadMemStats
    does: ``flushallmcaches``); the numbers are the same either way, since
    they come from allocCount on in-use spans and the flushed free counts.
    """
    st = h.stats
    sc = h.sizeclasses
    nclasses = sc.num_classes
    h.purge_all_cachedstats()

    nmalloc = 0
    alloc = 0
    by_nmalloc = [0] * nclasses
    for s in h.allspans:
        if s.state != 1:  # MSpanInUse
            continue
        if s.sizeclass == 0:
            nmalloc += 1
            alloc += s.elemsize
        else:
            nmalloc += s.allocCount
            by_nmalloc[s.sizeclass] += s.allocCount
            alloc += s.allocCount * s.elemsize

    smallfree = 0
    nfree = h.nlargefree
    for i in range(nclasses):
        nfree += h.nsmallfree[i]
        by_nmalloc[i] += h.nsmallfree[i]
        smallfree += h.nsmallfree[i] * sc.class_to_size[i]
    nfree += st.tinyallocs
    nmalloc += nfree

    m = MemStats()
    m.Alloc = alloc
    m.TotalAlloc = alloc + h.largefree + smallfree
    m.Sys = st.sys()
    m.Lookups = st.nlookup
    m.Mallocs = nmalloc
    m.Frees = nfree
    m.HeapAlloc = alloc
    # readmemstats_m moves stack spans out of the heap figures.
    m.HeapSys = st.heap_sys.value - st.stacks_inuse
    m.HeapIdle = st.heap_idle
    m.HeapInuse = st.heap_inuse - st.stacks_inuse
    m.HeapReleased = st.heap_released
    m.HeapObjects = nmalloc - nfree
    m.StackInuse = st.stacks_inuse
    m.StackSys = st.stacks_sys.value + st.stacks_inuse
    m.MSpanInuse = h.spanalloc.inuse
    m.MSpanSys = st.mspan_sys.value
    m.MCacheInuse = h.cachealloc.inuse
    m.MCacheSys = st.mcache_sys.value
    m.BuckHashSys = st.buckhash_sys.value
    m.GCSys = st.gc_sys.value
    m.OtherSys = st.other_sys.value
    m.NextGC = st.next_gc
    m.LastGC = st.last_gc
    m.PauseTotalNs = st.pause_total_ns
    m.PauseNs = list(st.pause_ns)
    m.PauseEnd = list(st.pause_end)
    m.NumGC = st.numgc
    m.NumForcedGC = st.numforcedgc
    m.GCCPUFraction = st.gc_cpu_fraction
    m.EnableGC = st.enablegc
    m.BySize = [
        BySizeEntry(Size=sc.class_to_size[i], Mallocs=by_nmalloc[i], Frees=h.nsmallfree[i])
        for i in range(min(by_size_len, nclasses))
    ]
    return m
