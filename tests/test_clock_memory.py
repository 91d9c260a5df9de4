"""The clock charges memory where Go spends it: clearing (needzero), first touch, fresh
spans; and the write barrier of the program's pointer stores while it is on.

Go clears only memory that may be dirty (Go 1.8 ``span.needzero``, Go 1.27
``allocNeedsZero``): a span fresh from the OS costs its page-heap work, not
a clear; a span reused after a GC is cleared. Expected times are the
CostModel's figures combined by those rules (docs/model.md "The clock").
"""

from __future__ import annotations

import pytest

from goheap.heap import Heap
from goheap.runtime.common.gotype import POINTER


def _steps(h: Heap, n: int, size: int) -> list[int]:
    """The clock's advance over each of n allocations of size bytes."""
    clk = h._collector.clock
    out = []
    for _ in range(n):
        t = clk.now
        h.malloc(size, None)
        out.append(clk.now - t)
    return out


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_fresh_span_costs_the_page_heap_not_a_clear(profile: str) -> None:
    with Heap(profile=profile, gogc=-1) as h:
        cost = h._collector.cost
        go18 = profile == "go1.8"
        span = cost.fresh_span_ns_go18 if go18 else cost.fresh_span_ns_go127
        page = cost.fresh_page_ns_go18 if go18 else cost.fresh_page_ns_go127
        base = int(cost.small_base_ns_go18 if go18 else cost.small_base_ns_go127)
        # 2048-B class: 4 objects to a 1-page (8 KiB) span; fresh memory is not cleared.
        fresh = int(base + span + page)
        assert _steps(h, 6, 2048) == [fresh, base, base, base, fresh, base]


def test_go18_reused_span_is_cleared_and_faults_nothing() -> None:
    with Heap(profile="go1.8", gogc=-1) as h:
        cost = h._collector.cost
        _steps(h, 4, 2048)  # one span, full; nothing keeps its objects
        h.gc()  # swept: the span goes back to the heap, needzero set
        # mcentral.grow -> mheap.alloc(needzero) clears the whole 8 KiB span; its
        # pages were first written by nothing before (never touched), so they
        # fault now: two 4 KiB pages.
        clear = 8192 * cost.small_ns_per_byte_hot  # a 1-page heap is in cache
        base = cost.small_base_ns_go18
        first = int(base + clear + 2 * cost.page_fault_ns + cost.refill_ns_hot)
        assert _steps(h, 2, 2048) == [first, int(base)]


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_pointer_stores_pay_the_write_barrier_only_while_it_is_on(profile: str) -> None:
    """With the barrier on, a store shades the slot's old value and the new one, each
    that is not nil (Go 1.8 gcmarkwb_m, Go 1.27 wbBufFlush1 skip nil), each at its
    price; the time is charged with the next allocation."""
    with Heap(profile=profile, gogc=-1) as h:
        c = h._collector
        cost = c.cost
        go18 = profile == "go1.8"
        old = cost.write_barrier_old_ns_go18 if go18 else cost.write_barrier_old_ns_go127
        new = cost.write_barrier_new_ns_go18 if go18 else cost.write_barrier_new_ns_go127
        base_ns = cost.small_base_ns_go18 if go18 else cost.small_base_ns_go127
        base = int(base_ns)
        slots = h.make(POINTER, 4)
        h.write_pointer(slots, 0, slots)  # its page's first touch (a fault)
        _steps(h, 2, 2048)  # a fresh 4-slot span in the mcache: its next two cost the base
        h.write_pointer(slots, 8, slots)
        assert _steps(h, 1, 2048) == [base]  # barrier off: the store is free
        c.writeBarrier = True  # as setGCPhase(_GCmark) leaves it
        h.write_pointer(slots, 0, slots)  # an old value and a new one
        h.write_pointer(slots, 16, slots)  # the old value is nil: a new one
        h.write_pointer(slots, 8, 0)  # nil over a pointer: an old one
        h.write_pointer(slots, 24, 0)  # nil over nil: none
        assert _steps(h, 1, 2048) == [int(base_ns + 2 * old + 2 * new)]
        assert c.writeBarrierPointers == 4


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_the_write_barrier_is_on_exactly_while_marking(profile: str) -> None:
    """setGCPhase: writeBarrier.enabled = gcphase is _GCmark or _GCmarktermination."""
    seen: set[tuple[int, bool]] = set()
    with Heap(profile=profile) as h:
        c = h._collector
        keep = h.make(POINTER, 64)
        h.g.push(keep)  # a root
        for i in range(40_000):
            h.write_pointer(keep, 8 * (i % 64), h.malloc(1024, None))
            seen.add((c.gcphase, c.writeBarrier))
        assert c.writeBarrierPointers > 0
    assert seen == {(0, False), (1, True)}
