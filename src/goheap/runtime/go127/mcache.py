"""mcache of Go 1.27 (``mcache.go``): one cached span per span class, per P.

What the Go code does
---------------------
* ``alloc[136]``: the span each span class allocates from (``emptymspan``
  when none); ``tiny``/``tinyoffset``/``tinyAllocs`` for the tiny
  allocator; ``scanAlloc`` (scannable bytes allocated, flushed into
  ``heapScan``); ``nextSample``/``memProfRate`` for heap profiling;
  ``flushGen`` (the sweepgen at the last flush); ``stackcache``;
  ``reusableNoscan`` (only for ``GOEXPERIMENT=runtimefreegc``, off).
* ``refill(spc)``: hand the full span back (``uncacheSpan``) and count the
  slots used while it was cached (``allocCount - allocCountBeforeCache``)
  into ``smallAllocCount[sizeclass]`` and ``totalAlloc``; for the tiny
  class also ``tinyAllocCount += tinyAllocs``. Then ``cacheSpan`` a new
  span, mark it cached (``sweepgen = h.sweepgen + 3``), remember its
  ``allocCount`` and charge ``heapLive`` for **the whole span** minus the
  bytes already allocated in it (``gcController.update``), flushing
  ``scanAlloc`` into ``heapScan``.
* ``allocLarge``: ``npages = ceil(size/8192)``, a span of class 0|noscan
  from ``mheap.alloc``; ``largeAlloc``, ``largeAllocCount``,
  ``totalAlloc``, ``heapLive`` grow by the span; the span goes to
  ``fullSwept``; ``limit = base + size``.
* ``releaseAll`` (every ``ReadMemStats``, and ``prepareForSweep`` after
  each GC): flush every cached span's counts, give ``heapLive`` back the
  free slots of non-stale spans, uncache them all, drop the tiny block,
  flush ``tinyAllocs`` and ``scanAlloc``.

What the model simplifies
-------------------------
``nextSample``/``memProfRate`` are what mallocgc's heap-profile sampling
reads (:mod:`goheap.runtime.go127.mprof`; with the profile's default
``MemProfileRate = 0`` nothing is sampled). The stack cache does not exist
(no goroutine stacks are modelled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import GoheapError, RuntimeThrow
from goheap.runtime.go127.mspan import makeSpanClass

if TYPE_CHECKING:
    from mypy_extensions import i64  # a native int64 when compiled; int in annotations only

    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mspan import MSpan

_PageShift: Final = 13
_PageSize: Final = 1 << _PageShift


class MCache:
    """``mcache``: a P's span cache and tiny block."""

    __slots__ = (
        "alloc",
        "flushGen",
        "h",
        "memProfRate",
        "nextSample",
        "scanAlloc",
        "tiny",
        "tinyAllocs",
        "tinyoffset",
    )

    def __init__(self, h: MHeap) -> None:
        """``allocmcache``: every slot starts as ``emptymspan``."""
        self.h = h
        # Go's int64: with MemProfileRate = 0 it holds maxInt64, which a plain
        # int field would keep as a Python object (one per allocation, compiled).
        self.nextSample: i64 = 0
        self.memProfRate = 0
        self.scanAlloc = 0
        self.tiny = 0
        self.tinyoffset = 0
        self.tinyAllocs = 0
        self.alloc: list[MSpan] = [h.emptymspan] * h.numSpanClasses
        self.flushGen = h.sweepgen

    def nextFree(self, spc: int) -> tuple[int, MSpan, bool]:
        """``nextFree`` (malloc.go): (slot, span, checkGCTrigger), refilling a full span first.

        The code of Go 1.8's ``mcache.nextFree``, indexed by span class.
        """
        s = self.alloc[spc]
        checkGCTrigger = False
        freeIndex = s.nextFreeIndex()
        if freeIndex == s.nelems:
            if s.allocCount != s.nelems:
                raise RuntimeThrow("s.allocCount != s.nelems && freeIndex == s.nelems")
            s = self.refill(spc)
            checkGCTrigger = True
            freeIndex = s.nextFreeIndex()
        if freeIndex >= s.nelems:
            raise RuntimeThrow("freeIndex is not valid")
        v = freeIndex * s.elemsize + s.startAddr
        s.allocCount += 1
        if s.allocCount > s.nelems:
            raise RuntimeThrow("s.allocCount > s.nelems")
        return v, s, checkGCTrigger

    def refill(self, spc: int) -> MSpan:
        """Replace the full cached span of ``spc`` with one that has a free slot."""
        h = self.h
        s = self.alloc[spc]
        if s.allocCount != s.nelems:
            raise RuntimeThrow("refill of span with free space remaining")
        if s is not h.emptymspan:
            if s.sweepgen != h.sweepgen + 3:
                raise RuntimeThrow("bad sweepgen in refill")
            h.central[spc].uncacheSpan(s)
            hs = h.stats.heapStats
            slotsUsed = s.allocCount - s.allocCountBeforeCache
            hs.smallAllocCount[spc >> 1] += slotsUsed
            if spc == h.tinySpanClass:
                hs.tinyAllocCount += self.tinyAllocs
                self.tinyAllocs = 0
            h.controller.totalAlloc += slotsUsed * s.elemsize
            s.allocCountBeforeCache = 0
        got = h.central[spc].cacheSpan()
        if got is None:
            raise GoheapError("runtime: out of memory")
        h.mem.refills += 1  # its time: the clock's (CostModel.refill_ns)
        s = got
        if s.allocCount == s.nelems:
            raise RuntimeThrow("span has no free space")
        s.sweepgen = h.sweepgen + 3
        s.allocCountBeforeCache = s.allocCount
        usedBytes = s.allocCount * s.elemsize
        h.gcUpdate((s.npages << _PageShift) - usedBytes, self.scanAlloc)
        self.scanAlloc = 0
        self.alloc[spc] = s
        return s

    def allocLarge(self, size: int, noscan: bool) -> MSpan:
        """``mcache.allocLarge``: a span of its own for a large object."""
        h = self.h
        npages = size >> _PageShift
        if size & (_PageSize - 1):
            npages += 1
        h.deductSweepCredit(npages * _PageSize, npages)
        spc = makeSpanClass(0, noscan)
        s = h.alloc(npages, spc)
        if s is None:
            raise GoheapError(f"runtime: out of memory: cannot allocate {size}-byte block")
        hs = h.stats.heapStats
        hs.largeAlloc += npages * _PageSize
        hs.largeAllocCount += 1
        h.controller.totalAlloc += npages * _PageSize
        h.gcUpdate(s.npages * _PageSize, 0)
        h.central[spc].fullSwept(h.sweepgen).push(s)
        s.limit = s.startAddr + size
        h.heapBits.initHeapBits(s)
        return s

    def releaseAll(self) -> None:
        """Flush and uncache every cached span; drop the tiny block."""
        h = self.h
        scanAlloc = self.scanAlloc
        self.scanAlloc = 0
        sg = h.sweepgen
        dHeapLive = 0
        empty = h.emptymspan
        hs = h.stats.heapStats
        ctl = h.controller
        alloc = self.alloc
        for i in range(len(alloc)):
            s = alloc[i]
            if s is not empty:
                slotsUsed = s.allocCount - s.allocCountBeforeCache
                s.allocCountBeforeCache = 0
                hs.smallAllocCount[i >> 1] += slotsUsed
                ctl.totalAlloc += slotsUsed * s.elemsize
                if s.sweepgen != sg + 1:
                    dHeapLive -= (s.nelems - s.allocCount) * s.elemsize
                h.central[i].uncacheSpan(s)
                alloc[i] = empty
        self.tiny = 0
        self.tinyoffset = 0
        hs.tinyAllocCount += self.tinyAllocs
        self.tinyAllocs = 0
        h.gcUpdate(dHeapLive, scanAlloc)

    def prepareForSweep(self) -> None:
        """Flush the cache once per cycle, before the P allocates again after a GC."""
        sg = self.h.sweepgen
        if self.flushGen == sg:
            return
        if self.flushGen != sg - 2:
            raise RuntimeThrow(f"bad flushGen {self.flushGen} in prepareForSweep; sweepgen {sg}")
        self.releaseAll()
        self.flushGen = sg

    def unflushed(self) -> tuple[dict[int, int], int, int]:
        """What a flush would add now: ({sizeclass: slots}, tinyAllocs, bytes). Not in Go."""
        counts: dict[int, int] = {}
        nbytes = 0
        empty = self.h.emptymspan
        for i, s in enumerate(self.alloc):
            if s is not empty:
                used = s.allocCount - s.allocCountBeforeCache
                if used:
                    counts[i >> 1] = counts.get(i >> 1, 0) + used
                    nbytes += used * s.elemsize
        return counts, self.tinyAllocs, nbytes
