"""mspan and span classes as Go 1.27 has them (``mheap.go``, ``mbitmap.go``).

What the Go code does
---------------------
* A **span class** (``spanClass``) is a size class and a *noscan* bit:
  ``spc = sizeclass<<1 | noscan``, 136 of them (``numSpanClasses``); the
  tiny allocator's blocks are ``tinySpanClass = 2<<1|1 = 5``. Every mcache
  slot, every mcentral and every span belongs to one span class, so scan
  and noscan objects of one size never share a span. Large objects use span
  class 0 or 1.
* The **mspan** struct keeps Go 1.8's allocation machinery (``freeindex``,
  the inverted ``allocCache`` window over ``allocBits``, ``nextFreeIndex``,
  ``refillAllocCache``: unchanged, so this class inherits them from
  :mod:`goheap.runtime.common.mspan`) and adds
  ``spanclass``, ``allocCountBeforeCache`` (allocCount when the span was
  cached, so a flush counts only the slots used while cached),
  ``freeIndexForScan`` (what the conservative scanner may trust),
  ``largeType`` (the type of a pointerful large object: its "header"),
  ``pinnerBits`` and ``isUserArenaChunk``.
* **Object index**: ``divideByElemSize(n) = (n * divMul) >> 32`` with
  ``divMul = ^uint32(0)/size + 1`` (exact for every offset in a span).
* **States** (``mSpanState``): ``mSpanDead = 0``, ``mSpanInUse = 1`` (heap
  objects), ``mSpanManual = 2`` (stacks, workbufs). Free pages are not spans
  any more: they are bits in the page allocator's bitmaps.

What the model simplifies
-------------------------
``allocBits``/``gcmarkBits`` are Python ints on the span (Go: bytes in gcBits
arenas, whose memory is still accounted by ``GCBitsArenas``). ``sizeclass``
is kept as a field next to ``spanclass`` (Go computes ``spc >> 1``) because
the facade's object lookup reads it. ``speciallock`` and the user-arena
fields do not exist (no locks, no user arenas). Field names are Go's.
"""

from __future__ import annotations

from typing import Final

from goheap.runtime.common import mspan
from goheap.runtime.common.gotype import Type

mSpanDead: Final = 0
mSpanInUse: Final = 1
mSpanManual: Final = 2

MSPAN_STATE_NAMES: Final = ("mSpanDead", "mSpanInUse", "mSpanManual")

_PageShift: Final = 13


def makeSpanClass(sizeclass: int, noscan: bool) -> int:
    """``makeSpanClass``: ``sizeclass<<1 | noscan``."""
    return (sizeclass << 1) | int(noscan)


def spanClassName(spc: int) -> str:
    """How Go prints a span class in error messages: ``<class>-<scan|noscan>``."""
    return f"{spc >> 1}-{'noscan' if spc & 1 else 'scan'}"


class MSpan(mspan.MSpan):
    """``mspan`` of Go 1.27: the shared allocation fields plus the modern ones."""

    __slots__ = (
        "allocCountBeforeCache",
        "freeIndexForScan",
        "gcPending",
        "isUserArenaChunk",
        "largeType",
        "pinnerBits",
        "spanclass",
    )

    def __init__(self) -> None:
        super().__init__()
        self.spanclass = 0
        # The mark snapshot's objects of this span marked since it was queued for
        # scanning (Go keeps them as marks &^ scans in the inline mark bits); None
        # while the span is not in the span queue.
        self.gcPending: list[int] | None = None
        self.allocCountBeforeCache = 0
        self.freeIndexForScan = 0
        self.largeType: Type | None = None
        self.pinnerBits = 0
        self.isUserArenaChunk = False

    def init(self, base: int, npages: int) -> None:
        """``mspan.init``: a dead span over ``npages`` pages at ``base``.

        ``limit`` starts at the end of the pages (go.dev/issue/74288) and is
        narrowed by ``initSpan`` for heap spans.
        """
        super().init(base, npages)
        self.limit = base + (npages << _PageShift)
        self.spanclass = 0
        self.freeIndexForScan = 0
        self.pinnerBits = 0
        self.largeType = None
        self.divMul = 0
        self.state = mSpanDead

    def inUse(self) -> bool:
        return self.state == mSpanInUse

    def objIndex(self, p: int) -> int:
        """``objIndex``: ``divideByElemSize(p - base)``, the multiply-shift of Go 1.27."""
        return ((p - self.startAddr) * self.divMul) >> 32

    def __repr__(self) -> str:
        state = MSPAN_STATE_NAMES[self.state] if self.state < 3 else str(self.state)
        return (
            f"<mspan {self.startAddr:#x} npages={self.npages} spc={spanClassName(self.spanclass)} "
            f"state={state} allocCount={self.allocCount}/{self.nelems}>"
        )
