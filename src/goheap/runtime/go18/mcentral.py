"""mcentral (mcentral.go): the central free lists of one size class.

``nonempty`` holds spans that may have free objects; ``empty`` holds spans
with no free objects *or* spans currently cached by an mcache. In Go 1.8 a
span is known to be cached only by ``incache`` and by sitting on ``empty``.

``cacheSpan`` hands an mcache a span with free slots, sweeping unswept
spans it meets on the way (those at ``sweepgen - 2``), and charges
``heap_live`` in advance for every free slot of the span; ``uncacheSpan``
gives the unused slots back. ``freeSpan`` is called by the sweeper when it
frees objects of a span; it may return the whole span to the heap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.go18.mgcsweep import deductSweepCredit, reimburseSweepCredit
from goheap.runtime.go18.mspan import MSpan, MSpanList

if TYPE_CHECKING:
    from goheap.runtime.go18.mheap import MHeap

_PageShift: Final = 13


class MCentral:
    __slots__ = ("empty", "h", "nonempty", "sizeclass")

    def __init__(self, sizeclass: int, h: MHeap) -> None:
        self.sizeclass = sizeclass
        self.h = h
        self.nonempty = MSpanList(f"central[{sizeclass}].nonempty")
        self.empty = MSpanList(f"central[{sizeclass}].empty")

    def cacheSpan(self) -> MSpan | None:
        """Allocate a span for an mcache to allocate from."""
        h = self.h
        spanBytes = h.sizeclasses.class_to_allocnpages[self.sizeclass] << _PageShift
        deductSweepCredit(h, spanBytes, 0)

        sg = h.sweepgen
        s = self._find_span(sg)
        if s is None:
            s = self.grow()
            if s is None:
                return None
            self.empty.insertBack(s)

        # havespan:
        cap_ = (s.npages << _PageShift) // s.elemsize
        n = cap_ - s.allocCount
        if n == 0 or s.freeindex == s.nelems or s.allocCount == s.nelems:
            raise RuntimeThrow("span has no free objects")
        usedBytes = s.allocCount * s.elemsize
        if usedBytes > 0:
            reimburseSweepCredit(h, usedBytes)
        h.stats.heap_live += spanBytes - usedBytes
        if h.gcBlackenEnabled:
            h.controller.revise()
        s.incache = True
        freeByteBase = s.freeindex & ~63
        s.refillAllocCache(freeByteBase >> 3)
        s.allocCache >>= s.freeindex % 64
        return s

    def _find_span(self, sg: int) -> MSpan | None:
        """The nonempty/empty walks of cacheSpan (the `retry` loop)."""
        h = self.h
        while True:
            s = self.nonempty.first
            while s is not None:
                nxt = s.next
                if s.sweepgen == sg - 2:
                    s.sweepgen = sg - 1
                    self.nonempty.remove(s)
                    self.empty.insertBack(s)
                    h.sweep_span(s, True)
                    return s
                if s.sweepgen == sg - 1:
                    # The background sweeper has it: skip.
                    s = nxt
                    continue
                # Swept and has free space.
                self.nonempty.remove(s)
                self.empty.insertBack(s)
                return s

            retry = False
            s = self.empty.first
            while s is not None:
                nxt = s.next
                if s.sweepgen == sg - 2:
                    # An empty span that needs sweeping: sweep it and see.
                    s.sweepgen = sg - 1
                    self.empty.remove(s)
                    self.empty.insertBack(s)
                    h.sweep_span(s, True)
                    freeIndex = s.nextFreeIndex()
                    if freeIndex != s.nelems:
                        s.freeindex = freeIndex
                        return s
                    retry = True
                    break
                if s.sweepgen == sg - 1:
                    s = nxt
                    continue
                # Already swept empty span: all later ones are too.
                break
            if not retry:
                return None

    def uncacheSpan(self, s: MSpan) -> None:
        """Return a span from an mcache; give back heap_live for unused slots."""
        s.incache = False
        if s.allocCount == 0:
            raise RuntimeThrow("uncaching span but s.allocCount == 0")
        cap_ = (s.npages << _PageShift) // s.elemsize
        n = cap_ - s.allocCount
        if n > 0:
            self.empty.remove(s)
            self.nonempty.insert(s)
            self.h.stats.heap_live -= n * s.elemsize

    def freeSpan(self, s: MSpan, preserve: bool, wasempty: bool) -> bool:
        """Called by the sweeper after freeing objects; True if s went to the heap."""
        h = self.h
        if s.incache:
            raise RuntimeThrow("freeSpan given cached span")
        s.needzero = 1
        if preserve:
            if s.list is None:
                raise RuntimeThrow("can't preserve unlinked span")
            s.sweepgen = h.sweepgen
            return False
        if wasempty:
            self.empty.remove(s)
            self.nonempty.insert(s)
        s.sweepgen = h.sweepgen
        if s.allocCount != 0:
            return False
        self.nonempty.remove(s)
        h.freeSpan(s, 0)
        return True

    def grow(self) -> MSpan | None:
        """Allocate a new span from the heap and initialise it for this class."""
        h = self.h
        npages = h.sizeclasses.class_to_allocnpages[self.sizeclass]
        size = h.sizeclasses.class_to_size[self.sizeclass]
        n = (npages << _PageShift) // size
        s = h.alloc(npages, self.sizeclass, False, True)
        if s is None:
            return None
        s.limit = s.startAddr + size * n
        initSpan(h, s)
        return s


def initSpan(h: MHeap, s: MSpan) -> None:
    """heapBits.initSpan: fresh alloc/mark bits and a cleared heap bitmap."""
    size, n, total = s.layout()
    s.freeindex = 0
    s.allocCache = (1 << 64) - 1  # all free
    s.nelems = n
    s.allocBits = 0
    s.gcmarkBits = 0
    h.gcbits.newMarkBits(n)
    h.gcbits.newAllocBits(n)
    h.heapbits.initSpan(s.startAddr, total, size)
