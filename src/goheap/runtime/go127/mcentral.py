"""mcentral of Go 1.27 (``mcentral.go``): the central span sets of one span class.

What the Go code does
---------------------
One ``mcentral`` per span class (136), each with ``partial[2]`` (spans
with a free slot) and ``full[2]`` (spans without) ``spanSet`` s. Which of
each pair holds swept spans flips every cycle with ``sweepgen``:
``partialSwept(sg) = partial[sg/2%2]``, ``partialUnswept(sg) =
partial[1-sg/2%2]``, the same for ``full``.

* ``cacheSpan``: ``deductSweepCredit``; pop ``partialSwept``; else, if the
  sweeper admits us (``sweep.active.begin``), up to 100 spans
  (``spanBudget``) from ``partialUnswept`` (sweep in place and use), then
  ``fullUnswept`` (sweep; use it if it gained a free slot, else push it to
  ``fullSwept``); else ``grow``: a fresh span from ``mheap.alloc`` with its
  heap bits initialised. The allocCache is then loaded at ``freeindex``.
* ``uncacheSpan``: a span cached before this cycle's sweep began
  (``sweepgen == sg+1``, stale) is swept now; otherwise it goes to
  ``partialSwept`` or ``fullSwept`` by whether it has a free slot.
* Large-object spans are pushed to ``fullSwept`` of span class 0 or 1 by
  ``mcache.allocLarge``.

What the model simplifies
-------------------------
Nothing. The sweeping branches call ``mspan.sweep`` of
:mod:`goheap.runtime.go127.mgcsweep`; a span taken from an unswept set
that a sweeper already reached another way (its sweepgen is not
``sg-2``) is skipped, as Go's ``tryAcquire`` skips it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.go127.mgcsweep import deductSweepCredit, sweepSpan
from goheap.runtime.go127.mspan import spanClassName
from goheap.runtime.go127.mspanset import SpanSet, SpanSetBlockAlloc

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mspan import MSpan

_PageShift: Final = 13
_SPAN_BUDGET: Final = 100


class MCentral:
    """``mcentral``: partial/full x swept/unswept span sets of one span class."""

    __slots__ = ("full", "h", "partial", "spanclass")

    def __init__(self, spanclass: int, h: MHeap, pool: SpanSetBlockAlloc) -> None:
        self.spanclass = spanclass
        self.h = h
        name = f"central[{spanClassName(spanclass)}]"
        self.partial = (SpanSet(f"{name}.partial[0]", pool), SpanSet(f"{name}.partial[1]", pool))
        self.full = (SpanSet(f"{name}.full[0]", pool), SpanSet(f"{name}.full[1]", pool))

    def partialUnswept(self, sweepgen: int) -> SpanSet:
        return self.partial[1 - sweepgen // 2 % 2]

    def partialSwept(self, sweepgen: int) -> SpanSet:
        return self.partial[sweepgen // 2 % 2]

    def fullUnswept(self, sweepgen: int) -> SpanSet:
        return self.full[1 - sweepgen // 2 % 2]

    def fullSwept(self, sweepgen: int) -> SpanSet:
        return self.full[sweepgen // 2 % 2]

    def cacheSpan(self) -> MSpan | None:
        """A span with a free slot for an mcache (see the module doc)."""
        h = self.h
        spanBytes = h.sizeclasses.class_to_allocnpages[self.spanclass >> 1] << _PageShift
        deductSweepCredit(h, spanBytes, 0)
        sg = h.sweepgen
        s = self.partialSwept(sg).pop()
        if s is None:
            s = self._sweepForSpan(sg)
        if s is None:
            s = self.grow()
            if s is None:
                return None
        # havespan:
        n = s.nelems - s.allocCount
        if n == 0 or s.freeindex == s.nelems or s.allocCount == s.nelems:
            raise RuntimeThrow("span has no free objects")
        freeByteBase = s.freeindex & ~63
        s.refillAllocCache(freeByteBase >> 3)
        s.allocCache >>= s.freeindex % 64
        return s

    def _sweepForSpan(self, sg: int) -> MSpan | None:
        """The sweeping half of cacheSpan: only while a sweep is in progress."""
        h = self.h
        if not h.sweep.active.begin():
            return None
        budget = _SPAN_BUDGET
        try:
            while budget >= 0:
                s = self.partialUnswept(sg).pop()
                if s is None:
                    break
                if s.sweepgen == sg - 2:
                    s.sweepgen = sg - 1
                    sweepSpan(h, s, True)
                    return s
                budget -= 1
            while budget >= 0:
                s = self.fullUnswept(sg).pop()
                if s is None:
                    break
                if s.sweepgen == sg - 2:
                    s.sweepgen = sg - 1
                    sweepSpan(h, s, True)
                    freeIndex = s.nextFreeIndex()
                    if freeIndex != s.nelems:
                        s.freeindex = freeIndex
                        return s
                    self.fullSwept(sg).push(s)
                budget -= 1
            return None
        finally:
            h.sweep.active.end()

    def uncacheSpan(self, s: MSpan) -> None:
        """Take back a span from an mcache (see the module doc)."""
        if s.allocCount == 0:
            raise RuntimeThrow("uncaching span but s.allocCount == 0")
        sg = self.h.sweepgen
        stale = s.sweepgen == sg + 1
        if stale:
            s.sweepgen = sg - 1
            sweepSpan(self.h, s, False)
            return
        s.sweepgen = sg
        if s.nelems - s.allocCount > 0:
            self.partialSwept(sg).push(s)
        else:
            self.fullSwept(sg).push(s)

    def grow(self) -> MSpan | None:
        """A fresh span of this class from the heap, heap bits initialised."""
        h = self.h
        npages = h.sizeclasses.class_to_allocnpages[self.spanclass >> 1]
        s = h.alloc(npages, self.spanclass)
        if s is None:
            return None
        h.heapBits.initHeapBits(s)
        return s

    def spanSets(self) -> tuple[SpanSet, ...]:
        """All four sets (for inspection and check())."""
        return (*self.partial, *self.full)
