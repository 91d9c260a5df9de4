"""Sweeping (mgcsweep.go).

``sweepone`` pops a span from the unswept stack
(``sweepSpans[1 - sweepgen/2 % 2]``), claims it (``sweepgen - 2 -> - 1``)
and sweeps it. ``sweep_span`` is ``mspan.sweep``: it frees the objects whose
mark bit is clear (so ``allocBits`` becomes the mark bits), handles
finalizer and profile specials, counts the frees in the sweeping P's
mcache, and gives the span back to its mcentral, or to the heap when it is
empty (large spans always go back when their object died). A span that
stays in use is pushed on the swept stack.

``deductSweepCredit`` is called before every span allocation: while the
proportional-sweep ratio ``sweepPagesPerByte`` is non-zero, the allocating
goroutine sweeps enough pages to keep sweeping ahead of allocation.
``reimburseSweepCredit`` gives back the credit for the already-used part
of a partially full span that mcentral hands out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goheap.errors import RuntimeThrow
from goheap.runtime.common.mgcsweep import sweepSpecials
from goheap.runtime.go18.mspan import MSpanInUse

if TYPE_CHECKING:
    from goheap.runtime.go18.mheap import MHeap
    from goheap.runtime.go18.mspan import MSpan


def deductSweepCredit(h: MHeap, spanBytes: int, callerSweepPages: int) -> None:
    if h.sweepPagesPerByte == 0:
        # Proportional sweep is done or disabled.
        return
    h.spanBytesAlloc += spanBytes
    pagesOwed = int(h.sweepPagesPerByte * h.spanBytesAlloc)
    while pagesOwed - h.pagesSwept > callerSweepPages:
        if h.sweepone() == -1:
            h.sweepPagesPerByte = 0.0
            break


def reimburseSweepCredit(h: MHeap, unusableBytes: int) -> None:
    if h.sweepPagesPerByte == 0:
        return
    if h.spanBytesAlloc < unusableBytes:
        raise RuntimeThrow("spanBytesAlloc underflow")
    h.spanBytesAlloc -= unusableBytes


def sweepone(h: MHeap) -> int:
    """Sweep one unswept span: pages returned to the heap, or -1 when none are left."""
    sg = h.sweepgen
    unswept = h.sweepSpans[1 - (sg // 2) % 2]
    while True:
        s = unswept.pop()
        if s is None:
            h.sweepdone = 1
            return -1
        if s.state != MSpanInUse:
            if s.sweepgen != sg:
                raise RuntimeThrow("non in-use span in unswept list")
            continue
        if s.sweepgen != sg - 2:
            continue
        s.sweepgen = sg - 1
        npages = s.npages
        if not sweep_span(h, s, False):
            npages = 0
        return npages


def sweep_span(h: MHeap, s: MSpan, preserve: bool) -> bool:
    """mspan.sweep: free the unmarked objects of s; True if s went back to the heap.

    ``preserve`` (from mcentral.cacheSpan) keeps the span on its lists. The
    span must be claimed (``sweepgen == h.sweepgen - 1``).
    """
    sweepgen = h.sweepgen
    if s.state != MSpanInUse or s.sweepgen != sweepgen - 1:
        raise RuntimeThrow(
            f"MSpan_Sweep: bad span state {s.state} sweepgen {s.sweepgen}/{sweepgen}"
        )
    h.pagesSwept += s.npages
    cl = s.sizeclass
    size = s.elemsize
    c = h._mcache()
    assert c is not None
    freeToHeap = False

    # Specials of unmarked objects: a finalizer resurrects the object for
    # one more cycle and is queued; profile records are freed (kept if the
    # object had a finalizer).
    if s.specials is not None:
        sweepSpecials(h, s, size)

    nfree = s.countFree()
    if cl == 0 and nfree != 0:
        s.needzero = 1
        freeToHeap = True
    nalloc = s.nelems - nfree
    nfreed = s.allocCount - nalloc
    if nalloc > s.allocCount:
        raise RuntimeThrow(
            f"sweep increased allocation count: span {s.startAddr:#x} nalloc {nalloc} "
            f"allocCount {s.allocCount}"
        )
    s.allocCount = nalloc
    wasempty = s.nextFreeIndex() == s.nelems
    s.freeindex = 0
    s.allocBits = s.gcmarkBits
    s.gcmarkBits = 0
    h.gcbits.newMarkBits(s.nelems)
    s.deadBits &= s.allocBits  # lifetime mode: freed slots start alive
    s.refillAllocCache(0)

    if freeToHeap or nfreed == 0:
        s.sweepgen = sweepgen

    res = False
    if nfreed > 0 and cl != 0:
        c.local_nsmallfree[cl] += nfreed
        h.stats.heap_alloc_now -= nfreed * size
        res = h.central[cl].freeSpan(s, preserve, wasempty)
    elif freeToHeap:
        h.freeSpan(s, 1)
        c.local_nlargefree += 1
        c.local_largefree += size
        h.stats.heap_alloc_now -= size
        res = True
    if not res:
        h.sweepSpans[(sweepgen // 2) % 2].push(s, h._persistent())
    h.hooks.sweepCost(s)
    return res
