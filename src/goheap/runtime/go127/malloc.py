"""mallocgc of Go 1.27 (``malloc.go``): every allocation goes through here.

What the Go code does
---------------------
``size == 0`` returns ``&zerobase``. Otherwise, with the threshold
``maxSmallSize - mallocHeaderSize = 32760`` for **every** object:

* **tiny** (``mallocgcTiny``): pointer-free and ``size < 16``. The object
  is carved from the P's current 16-byte block at ``tinyoffset`` aligned to
  8, 4 or 2 by the size; if it fits, ``tinyAllocs++`` and nothing else.
  Otherwise a fresh class-2 block (span class 5) is taken and zeroed, and
  becomes the current block only if ``size < tinyoffset`` or there is none
  (keep whichever block has more room).
* **small noscan** (``mallocgcSmallNoscan``): the class of ``size`` (via
  ``SizeToSizeClass8`` up to 1016 bytes, ``SizeToSizeClass128`` above),
  span class ``class<<1|1``; zeroed if asked and the span is dirty.
* **small scan without header** (``mallocgcSmallScanNoHeader``,
  ``size <= 512``): span class ``class<<1``; the request is zeroed if the
  span is dirty; the pointer bits go into the span's heap bitmap (8-byte
  class: already all pointers) and the scannable bytes into
  ``c.scanAlloc``.
* **small scan with header** (``mallocgcSmallScanHeader``, 512 < size <=
  32760): ``size += 8`` **before** choosing the class; the slot's first
  word gets the type pointer and the caller gets ``slot + 8``; the whole
  slot is scannable.
* **large** (``mallocgcLarge``): a span of its own from ``allocLarge``;
  pointerful objects record their type in ``span.largeType``.

The slot comes from ``nextFreeFast`` (the allocCache) or ``nextFree``
(which may refill); a refill and every large allocation are followed by
the heap-trigger test (``gcTrigger{kind: gcTriggerHeap}.test()``,
``heapLive >= trigger``), which starts a cycle (``gcStart``). The collector
also sees every allocation: while it is blackening, mallocgc first charges
the request to the goroutine's assist debt (``deductAssistCredit``, which
may assist) and afterwards the size-class rounding (``elemsize - size``);
while the write barrier is on (marking), the new object is allocated black
(``gcmarknewobject``), otherwise the span's ``freeIndexForScan`` follows
``freeindex``. Heap profiling counts ``nextSample`` down by the slot size
and samples through ``profilealloc`` (see :mod:`goheap.runtime.go127.mprof`).

What the model simplifies
-------------------------
* The size-specialised mallocs (``SizeSpecializedMalloc``: generated
  copies for sizes 1..80) compute the same results and are not separate
  here.
* The object being returned when an allocation starts a cycle lives in the
  caller's frame in Go (a stack root); here the collector is handed it
  (``inflight``) because the driver has not stored it yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from goheap.errors import GoheapError, RuntimeThrow
from goheap.runtime.common.facade import Mallocgc
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.malloc import nextFreeFast
from goheap.runtime.common.wordmem import store64
from goheap.runtime.go127.mgcmark import gcmarknewobject, isPointerSlot

if TYPE_CHECKING:
    from goheap.runtime.common.mspan import MSpan as CommonMSpan
    from goheap.runtime.go127.mcache import MCache
    from goheap.runtime.go127.mgc import GC
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mprof import MProf
    from goheap.runtime.go127.mspan import MSpan

_PageShift: Final = 13
_GCoff: Final = 0
_GCmark: Final = 1


class Malloc(Mallocgc):
    """mallocgc and its paths, bound to one go1.27 heap."""

    def __init__(self, h: MHeap, gc: GC, mprof: MProf) -> None:
        self.h = h
        self.gc = gc
        self.mprof = mprof
        sc = h.sizeclasses
        self.size_to_class8 = sc.size_to_class8
        self.size_to_class128 = sc.size_to_class128
        self.class_to_size = sc.class_to_size
        spec = sc.spec
        self.smallSizeMax = spec.small_size_max
        self.mallocHeaderSize = spec.malloc_header_size
        self.minSizeForMallocHeader = spec.min_size_for_malloc_header
        self.maxSmallSizeNoHeader = spec.max_small_size - spec.malloc_header_size
        self.maxTinySize = h.profile.tiny_size
        self.tinySpanClass = h.tinySpanClass
        self.mem = h.mem
        self.words = h.mem.words
        self.arena_start = h.mem.arena_start
        self.heapBits = h.heapBits
        self.stats = h.stats

    def mallocgcOnP(
        self, size: int, typ: Type | None, needzero: bool, stack: tuple[str, ...]
    ) -> int:
        p = self.h.curp
        assert p is not None and p.mcache is not None
        x = self.mallocgc(size, typ, needzero, p.mcache, stack)
        gc = self.gc
        now = gc.clock.now
        # A preemption that waited for mallocgc (mp.mallocing), if anything is due:
        # _preemption_point's own first test, here, saves two calls per allocation.
        if gc.gcphase == _GCmark or now >= gc.next_event_ns or now >= gc.next_sample_ns:
            gc.afterMalloc(x)
        return x

    def isPointerSlot(self, s: CommonMSpan, base: int, addr: int) -> bool:
        return isPointerSlot(self.h, cast("MSpan", s), base, addr)

    def mallocgc(
        self, size: int, typ: Type | None, needzero: bool, c: MCache, stack: tuple[str, ...]
    ) -> int:
        """Allocate ``size`` bytes holding values of ``typ`` (None: no pointers)."""
        if size == 0:
            return self.h.zerobase
        gc = self.gc
        if gc.gcBlackenEnabled:
            gc.deductAssistCredit(size)
        noscan = typ is None or typ.ptrdata == 0
        st = self.stats
        if size <= self.maxSmallSizeNoHeader:
            if noscan:
                if size < self.maxTinySize:
                    x, elemsize, span, checkGCTrigger = self.mallocgcTiny(size, c)
                    if elemsize == 0:
                        gc.chargeAlloc()
                        gc.inflight = x
                        return x
                else:
                    x, elemsize, span, checkGCTrigger = self.mallocgcSmallNoscan(size, c, needzero)
            else:
                assert typ is not None
                if not needzero:
                    raise RuntimeThrow("objects with pointers must be zeroed")
                if size <= self.minSizeForMallocHeader:
                    x, elemsize, span, checkGCTrigger = self.mallocgcSmallScanNoHeader(size, typ, c)
                else:
                    x, elemsize, span, checkGCTrigger = self.mallocgcSmallScanHeader(size, typ, c)
            st.heap_alloc_now += elemsize
            if st.heap_alloc_now > st.peak_heap_alloc:
                st.peak_heap_alloc = st.heap_alloc_now
            self._publish(c, span, x, elemsize, stack)
            # The allocation's time (clearing it included) precedes the trigger
            # test; while marking, the assist above came first. (Inside mallocgc
            # nothing preempts, so nothing reads gc.inflight before the end.)
            gc.chargeAlloc()
            if checkGCTrigger and gc.heapTriggerTest():
                gc.gcStart(inflight=x)
        else:
            x, elemsize = self.mallocgcLarge(size, typ, noscan, needzero, c, stack)
        if gc.gcBlackenEnabled:
            gc.gcAssistBytes -= elemsize - size
        gc.inflight = x
        return x

    def _publish(
        self, c: MCache, span: MSpan, x: int, elemsize: int, stack: tuple[str, ...]
    ) -> None:
        """Allocate black while marking (else freeIndexForScan), then the profile sample."""
        if self.gc.gcphase != _GCoff:
            gcmarknewobject(self.h, span, x)
            self.gc.bytesMarked += span.elemsize
            self.gc.alloc_black = True  # its time is charged with the allocation
        else:
            span.freeIndexForScan = span.freeindex
        c.nextSample -= elemsize
        mprof = self.mprof
        if c.nextSample < 0 or mprof.MemProfileRate != c.memProfRate:
            c.memProfRate = mprof.MemProfileRate
            c.nextSample = mprof.nextSample()
            mprof.mProf_Malloc(x, elemsize, stack)

    def _slot(self, c: MCache, spc: int) -> tuple[int, MSpan, int, bool]:
        """(address, span, span's needzero, checkGCTrigger) of a free slot of span class spc."""
        span = c.alloc[spc]
        v = nextFreeFast(span)
        check = False
        if v == 0:
            v, span, check = c.nextFree(spc)
        return v, span, span.needzero, check

    def mallocgcTiny(self, size: int, c: MCache) -> tuple[int, int, MSpan, bool]:
        """(address, elemsize, span, checkGCTrigger); elemsize 0 when the object fit the block."""
        off = c.tinyoffset
        if size & 7 == 0:
            off = (off + 7) & ~7
        elif size & 3 == 0:
            off = (off + 3) & ~3
        elif size & 1 == 0:
            off = (off + 1) & ~1
        if off + size <= self.maxTinySize and c.tiny != 0:
            c.tinyoffset = off + size
            c.tinyAllocs += 1
            return c.tiny + off, 0, self.h.emptymspan, False
        x, span, _, check = self._slot(c, self.tinySpanClass)
        w = (x - self.arena_start) >> 3
        words = self.words
        store64(words, w, 0)
        store64(words, w + 1, 0)
        self.mem.touch(x)
        if size < c.tinyoffset or c.tiny == 0:
            c.tiny = x
            c.tinyoffset = size
        return x, self.maxTinySize, span, check

    def sizeClass(self, size: int) -> int:
        """The size class of a small request (after any header was added)."""
        if size <= self.smallSizeMax - 8:
            return self.size_to_class8[(size + 7) >> 3]
        return self.size_to_class128[(size - self.smallSizeMax + 127) >> 7]

    def mallocgcSmallNoscan(
        self, size: int, c: MCache, needzero: bool
    ) -> tuple[int, int, MSpan, bool]:
        sizeclass = self.sizeClass(size)
        size = self.class_to_size[sizeclass]
        x, span, dirty, check = self._slot(c, (sizeclass << 1) | 1)
        if needzero and dirty:
            self.mem.zero(x, size)
        return x, size, span, check

    def mallocgcSmallScanNoHeader(
        self, size: int, typ: Type, c: MCache
    ) -> tuple[int, int, MSpan, bool]:
        sizeclass = self.size_to_class8[(size + 7) >> 3]
        spc = sizeclass << 1
        x, span, dirty, check = self._slot(c, spc)
        if dirty:
            self.mem.zero(x, size)
        if sizeclass == 1:
            c.scanAlloc += 8  # initHeapBits set the 8-byte class's bits already
        else:
            c.scanAlloc += self.heapBits.heapSetTypeNoHeader(x, size, typ, span)
        return x, self.class_to_size[sizeclass], span, check

    def mallocgcSmallScanHeader(
        self, size: int, typ: Type, c: MCache
    ) -> tuple[int, int, MSpan, bool]:
        size += self.mallocHeaderSize
        sizeclass = self.sizeClass(size)
        size = self.class_to_size[sizeclass]
        spc = sizeclass << 1
        header, span, dirty, check = self._slot(c, spc)
        if dirty:
            self.mem.zero(header, size)
        x = header + self.mallocHeaderSize
        c.scanAlloc += self.heapBits.heapSetTypeSmallHeader(
            x, size - self.mallocHeaderSize, typ, header, span
        )
        return x, size, span, check

    def mallocgcLarge(
        self,
        size: int,
        typ: Type | None,
        noscan: bool,
        needzero: bool,
        c: MCache,
        stack: tuple[str, ...],
    ) -> tuple[int, int]:
        if size + (1 << _PageShift) < size:
            raise GoheapError("out of memory")
        span = c.allocLarge(size, noscan)
        span.freeindex = 1
        span.allocCount = 1
        span.largeType = None
        size = span.elemsize
        x = span.startAddr
        st = self.stats
        st.heap_alloc_now += size
        if st.heap_alloc_now > st.peak_heap_alloc:
            st.peak_heap_alloc = st.heap_alloc_now
        self._publish(c, span, x, size, stack)
        # mallocing ends here (releasem): the trigger test comes before zeroing
        # and publishing the type, so a cycle started here sees the object with
        # no largeType yet. The allocation's time (mostly clearing and the first
        # touch of its pages) follows, preemptible (memclrNoHeapPointersChunked),
        # with x kept by a cycle that a preemption starts.
        if self.gc.heapTriggerTest():
            self.gc.gcStart(inflight=x)
        self.gc.inflight = x
        self.gc.chargeAlloc(True)
        if needzero and span.needzero:
            self.mem.zero(x, size)
            self.gc.chargeClear(True)
        if not noscan:
            assert typ is not None
            c.scanAlloc += self.heapBits.heapSetTypeLarge(x, size, typ, span)
        return x, size
