"""mallocgc (malloc.go): every allocation goes through here.

Four paths, as in Go 1.8:

- **tiny** (noscan and < 16 bytes): packed into the mcache's current 16-byte
  block, aligned to 8/4/2 by size; an allocation that fits costs nothing but
  ``local_tinyallocs++`` (no sample, no mark, no heap bits). A new block is
  a class-2 (16-byte) object, zeroed, and becomes the current block only if
  it has more room left than the old one.
- **small** (<= 32 KiB): the size class from the lookup tables; a slot by
  ``nextFreeFast`` (the allocCache), else ``nextFree`` (which may refill
  from mcentral); zeroed only if the span is dirty (``needzero``).
- **large** (> 32 KiB): its own span of whole pages from the heap.
- then: heap bits (``heapBitsSetType`` / ``heapBitsSetTypeNoScan``), the
  scannable bytes into ``local_scan``, black allocation during marking,
  the heap-profile sample, the assist's rounding charge, and the GC
  trigger check after a refill or a large allocation.

The collector plugs in through ``GCHooks``; with the default hooks there is
no collection (GOGC=off behaviour) and allocation is always white.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import GoheapError, RuntimeThrow
from goheap.runtime.common.facade import Collector, Mallocgc
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.malloc import nextFreeFast
from goheap.runtime.common.wordmem import store64
from goheap.runtime.go18.mcentral import initSpan
from goheap.runtime.go18.mgcsweep import deductSweepCredit
from goheap.runtime.go18.mspan import MSpan

if TYPE_CHECKING:
    from goheap.runtime.common.mspan import MSpan as CommonMSpan
    from goheap.runtime.go18.mcache import MCache
    from goheap.runtime.go18.mheap import MHeap
    from goheap.runtime.go18.mprof import MProf

_PageShift: Final = 13
_PageSize: Final = 1 << _PageShift
_GCoff: Final = 0
_GCmarktermination: Final = 2


class GCHooks(Collector):
    """What mallocgc asks of the collector. The default: no collector at all."""

    gcphase: int = _GCoff
    gcBlackenEnabled: int = 0
    inflight: int = 0  # the object mallocgc is about to return

    def assistAlloc(self, size: int) -> None:
        """Charge size bytes to the running goroutine's assist debt."""

    def assistRounding(self, extra: int) -> None:
        """Charge the size-class rounding after the allocation."""

    def gcmarknewobject(self, x: int, size: int, scanSize: int) -> None:
        """Allocate black: mark the new object (gcphase != _GCoff)."""

    def gcShouldStart(self, forceTrigger: bool) -> bool:
        return False

    def gcStartBackground(self, x: int) -> None:
        """gcStart(gcBackgroundMode, false); x is the object being returned."""


class Malloc(Mallocgc):
    """mallocgc and its helpers, bound to one heap."""

    def __init__(self, h: MHeap, mprof: MProf, gc: GCHooks) -> None:
        self.h = h
        self.mprof = mprof
        self.gc = gc
        sc = h.sizeclasses
        self.size_to_class8 = sc.size_to_class8
        self.size_to_class128 = sc.size_to_class128
        self.class_to_size = sc.class_to_size
        self.maxSmallSize = h.profile.max_small_size
        self.maxTinySize = h.profile.tiny_size
        self.tinySizeClass = h.profile.tiny_size_class
        self.smallSizeMax = sc.spec.small_size_max
        self.mem = h.mem
        self.heapbits = h.heapbits
        self.stats = h.stats

    def mallocgcOnP(
        self, size: int, typ: Type | None, needzero: bool, stack: tuple[str, ...]
    ) -> int:
        p = self.h.curp
        assert p is not None and p.mcache is not None
        x = self.mallocgc(size, typ, needzero, p.mcache, stack)
        self.gc.afterMalloc(x)  # a preemption that waited for mallocgc (mp.mallocing)
        return x

    def isPointerSlot(self, s: CommonMSpan, base: int, addr: int) -> bool:
        return self.heapbits.isPointerWord(base, addr)  # the heap bitmap needs no span

    def mallocgc(
        self, size: int, typ: Type | None, needzero: bool, c: MCache, stack: tuple[str, ...]
    ) -> int:
        """Allocate size bytes of objects of type typ (None: no pointers)."""
        gc = self.gc
        if gc.gcphase == _GCmarktermination:
            raise RuntimeThrow("mallocgc called with gcphase == _GCmarktermination")
        if size == 0:
            return self.h.zerobase
        if gc.gcBlackenEnabled:
            gc.assistAlloc(size)

        shouldhelpgc = False
        dataSize = size
        noscan = typ is None or typ.ptrdata == 0
        if size <= self.maxSmallSize:
            if noscan and size < self.maxTinySize:
                off = c.tinyoffset
                if size & 7 == 0:
                    off = (off + 7) & ~7
                elif size & 3 == 0:
                    off = (off + 3) & ~3
                elif size & 1 == 0:
                    off = (off + 1) & ~1
                if off + size <= self.maxTinySize and c.tiny != 0:
                    # The object fits into the existing tiny block.
                    x = c.tiny + off
                    c.tinyoffset = off + size
                    c.local_tinyallocs += 1
                    gc.chargeAlloc()
                    return x
                span = c.alloc[self.tinySizeClass]
                x = nextFreeFast(span)
                if x == 0:
                    x, span, shouldhelpgc = c.nextFree(self.tinySizeClass)
                mem = self.mem
                words = mem.words
                w = (x - mem.arena_start) >> 3
                store64(words, w, 0)
                store64(words, w + 1, 0)
                mem.touch(x)
                if size < c.tinyoffset or c.tiny == 0:
                    c.tiny = x
                    c.tinyoffset = size
                size = self.maxTinySize
            else:
                if size <= self.smallSizeMax - 8:
                    sizeclass = self.size_to_class8[(size + 7) >> 3]
                else:
                    sizeclass = self.size_to_class128[(size - self.smallSizeMax + 127) >> 7]
                size = self.class_to_size[sizeclass]
                span = c.alloc[sizeclass]
                x = nextFreeFast(span)
                if x == 0:
                    x, span, shouldhelpgc = c.nextFree(sizeclass)
                if needzero and span.needzero != 0:
                    self.mem.zero(x, size)
        else:
            shouldhelpgc = True
            s = self.largeAlloc(size, needzero)
            s.freeindex = 1
            s.allocCount = 1
            x = s.startAddr
            size = s.elemsize

        scanSize = 0
        if noscan:
            self.heapbits.setTypeNoScan(x)
        else:
            assert typ is not None
            self.heapbits.setType(x, size, dataSize, typ)
            # An array: GC has to scan up to the last element's pointers.
            scanSize = dataSize - typ.size + typ.ptrdata if dataSize > typ.size else typ.ptrdata
            c.local_scan += scanSize

        if gc.gcphase != _GCoff:
            gc.gcmarknewobject(x, size, scanSize)

        rate = self.mprof.MemProfileRate
        if rate > 0:
            if size < rate and size < c.next_sample:
                c.next_sample -= size
            else:
                c.next_sample = self.mprof.nextSample()
                self.mprof.mProf_Malloc(x, size, stack)

        if gc.gcBlackenEnabled:
            gc.assistRounding(size - dataSize)

        st = self.stats
        st.heap_alloc_now += size
        if st.heap_alloc_now > st.peak_heap_alloc:
            st.peak_heap_alloc = st.heap_alloc_now

        # The allocation's time (clearing it included) precedes the trigger
        # test; while marking, the assist above came first. Nothing preempts
        # inside mallocgc: afterMalloc keeps x across the point that waited.
        gc.chargeAlloc()
        if shouldhelpgc and gc.gcShouldStart(False):
            gc.gcStartBackground(x)
        return x

    def largeAlloc(self, size: int, needzero: bool) -> MSpan:
        h = self.h
        if size + _PageSize < size:
            raise GoheapError("out of memory")
        npages = size >> _PageShift
        if size & (_PageSize - 1) != 0:
            npages += 1
        # mheap.alloc also sweeps npages, so this only pays debt down to npages.
        deductSweepCredit(h, npages * _PageSize, npages)
        s = h.alloc(npages, 0, True, needzero)
        if s is None:
            raise GoheapError(f"out of memory allocating {size} bytes")
        s.limit = s.startAddr + size
        initSpan(h, s)
        return s
