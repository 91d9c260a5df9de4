"""mcache (mcache.go): the per-P cache of spans, one per size class.

Small allocations take a slot from ``alloc[sizeclass]`` without locks. When
that span is full, ``refill`` swaps it for a span with free slots from the
class's mcentral. The mcache also holds the tiny allocator's current
16-byte block (``tiny``, ``tinyoffset``), the heap-profile countdown
(``next_sample``) and per-P statistics (``local_*``) that are flushed into
the global counters at the moments Go flushes them (``purgecachedstats``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goheap.errors import GoheapError, RuntimeThrow
from goheap.runtime.go18.mspan import MSpan

if TYPE_CHECKING:
    from goheap.runtime.go18.mheap import MHeap


class MCache:
    __slots__ = (
        "alloc",
        "h",
        "local_largefree",
        "local_nlargefree",
        "local_nlookup",
        "local_nsmallfree",
        "local_scan",
        "local_tinyallocs",
        "next_sample",
        "tiny",
        "tinyoffset",
    )

    def __init__(self, h: MHeap) -> None:
        self.h = h
        nclasses = h.sizeclasses.num_classes
        self.next_sample = 0
        self.local_scan = 0
        self.tiny = 0
        self.tinyoffset = 0
        self.local_tinyallocs = 0
        self.alloc: list[MSpan] = [h.emptymspan] * nclasses
        self.local_nlookup = 0
        self.local_largefree = 0
        self.local_nlargefree = 0
        self.local_nsmallfree = [0] * nclasses

    def refill(self, sizeclass: int) -> MSpan:
        """Replace the full cached span of sizeclass with one that has room."""
        s = self.alloc[sizeclass]
        if s.allocCount != s.nelems:
            raise RuntimeThrow("refill of span with free space remaining")
        if s is not self.h.emptymspan:
            # The full span already sits on mcentral.empty; just mark it uncached.
            s.incache = False
        s2 = self.h.central[sizeclass].cacheSpan()
        if s2 is None:
            raise GoheapError("runtime: out of memory")
        self.h.mem.refills += 1  # its time: the clock's (CostModel.refill_ns)
        if s2.allocCount == s2.nelems:
            raise RuntimeThrow("span has no free space")
        self.alloc[sizeclass] = s2
        return s2

    def nextFree(self, sizeclass: int) -> tuple[int, MSpan, bool]:
        """(address, span, shouldhelpgc) of the next free slot, refilling if needed."""
        s = self.alloc[sizeclass]
        shouldhelpgc = False
        freeIndex = s.nextFreeIndex()
        if freeIndex == s.nelems:
            if s.allocCount != s.nelems:
                raise RuntimeThrow("s.allocCount != s.nelems && freeIndex == s.nelems")
            s = self.refill(sizeclass)
            shouldhelpgc = True
            freeIndex = s.nextFreeIndex()
        if freeIndex >= s.nelems:
            raise RuntimeThrow("freeIndex is not valid")
        v = freeIndex * s.elemsize + s.startAddr
        s.allocCount += 1
        if s.allocCount > s.nelems:
            raise RuntimeThrow("s.allocCount > s.nelems")
        return v, s, shouldhelpgc

    def releaseAll(self) -> None:
        """Give every cached span back to its mcentral; drop the tiny block."""
        h = self.h
        empty = h.emptymspan
        for i in range(len(self.alloc)):
            s = self.alloc[i]
            if s is not empty:
                h.central[i].uncacheSpan(s)
                self.alloc[i] = empty
        self.tiny = 0
        self.tinyoffset = 0

    def purgecachedstats(self) -> None:
        h = self.h
        st = h.stats
        st.heap_scan += self.local_scan
        self.local_scan = 0
        st.tinyallocs += self.local_tinyallocs
        self.local_tinyallocs = 0
        st.nlookup += self.local_nlookup
        self.local_nlookup = 0
        h.largefree += self.local_largefree
        self.local_largefree = 0
        h.nlargefree += self.local_nlargefree
        self.local_nlargefree = 0
        nsf = self.local_nsmallfree
        hsf = h.nsmallfree
        for i in range(len(nsf)):
            if nsf[i]:
                hsf[i] += nsf[i]
                nsf[i] = 0
