"""Sweeping (mgcsweep.go): the parts the allocator calls.

``deductSweepCredit`` is called before every span allocation: while the
proportional-sweep ratio ``sweepPagesPerByte`` is non-zero, the allocating
goroutine sweeps enough pages to keep sweeping ahead of allocation.
``reimburseSweepCredit`` gives back the credit for the already-used part
of a partially full span that mcentral hands out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goheap.errors import RuntimeThrow

if TYPE_CHECKING:
    from goheap.runtime.mheap import MHeap


def deductSweepCredit(h: MHeap, spanBytes: int, callerSweepPages: int) -> None:
    if h.sweepPagesPerByte == 0:
        # Proportional sweep is done or disabled.
        return
    h.spanBytesAlloc += spanBytes
    pagesOwed = int(h.sweepPagesPerByte * h.spanBytesAlloc)
    while pagesOwed - h.pagesSwept > callerSweepPages:
        if h.sweepone() == -1:
            h.sweepPagesPerByte = 0
            break


def reimburseSweepCredit(h: MHeap, unusableBytes: int) -> None:
    if h.sweepPagesPerByte == 0:
        return
    if h.spanBytesAlloc < unusableBytes:
        raise RuntimeThrow("spanBytesAlloc underflow")
    h.spanBytesAlloc -= unusableBytes
