"""What marking costs the clock: Go 1.27's span scans and allocating black.

Go 1.27 scans its small objects (16-512 B) a span at a time (Green Tea),
at a small fraction of scanobject's price per byte; the clock prices those
units at ``span_scan_ns_per_byte``. And while a mark runs, mallocgc marks
each object it returns (``gcmarknewobject``), which costs the allocation
``alloc_black_ns_*`` (docs/model.md, "Allocating black").
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from goheap import Heap
from goheap.runtime.common.clock import CostModel
from goheap.runtime.common.gotype import Type
from goheap.runtime.go127.mgc import FUNCVAL_TYPE, G_TYPE, gcTriggerKind

#: binarytrees' node: two pointers, 16 bytes (size class 2, a span scan in Go 1.27).
NODE = Type("main.Node", 16, pointers=[0, 8])
NODES = 20_000


def linked_nodes(h: Heap) -> None:
    """NODES nodes in a list held by a global: live 16-byte pointer objects."""
    nodes = [h.malloc(16, NODE) for _ in range(NODES)]
    for a, b in pairwise(nodes):
        h.write_pointer(a, 0, b)
    h.set_global("head", nodes[0])


def allocation_ns(h: Heap) -> int:
    """The clock's advance over one more node's allocation."""
    before = h.gc_.clock.now
    h.malloc(16, NODE)
    return h.gc_.clock.now - before


def test_allocating_black_costs_only_inside_a_mark(make_heap: Callable[..., Heap]) -> None:
    h = make_heap(profile="go1.27")
    gc = h.gc_
    linked_nodes(h)
    allocation_ns(h)  # a fresh span's refill, paid once
    outside = [allocation_ns(h) for _ in range(3)]
    assert outside == [int(gc.cost.small_base_ns_go127)] * 3
    gc.gcStart(gcTriggerKind.Cycle, n=gc.stats.numgc + 1)  # a mark, left running
    assert gc.gcphase == 1 and gc.work_remaining > 0
    gc.gcAssistBytes = 1 << 40  # credit enough: no assist in these allocations
    allocation_ns(h)
    inside = [allocation_ns(h) for _ in range(3)]
    black = gc.cost.small_base_ns_go127 + gc.cost.alloc_black_ns_go127
    assert inside == [int(black)] * 3


def test_span_scans_are_priced_apart(make_heap: Callable[..., Heap]) -> None:
    """The nodes' scans are span scans, 16 bytes each (a node's pointers end its 16
    bytes), and so are the mark worker's goroutine and closure (480 and 16 bytes, their
    last pointer at the end); priced at span_scan_ns_per_byte, the rest of the heap's
    work (the runtime's unmodelled objects) at scan_ns_per_byte."""
    h = make_heap(profile="go1.27")
    gc = h.gc_
    linked_nodes(h)
    span_work = 16 * NODES + G_TYPE.size + FUNCVAL_TYPE.size
    h.gc()
    assert gc.cycles[-1].spanScanWork == span_work
    gc.gcStart(gcTriggerKind.Cycle, n=gc.stats.numgc + 1)
    cyc = gc.cur
    assert cyc is not None and cyc.spanScanWork == span_work
    _, _, heap = gc.work_split
    scan, obj = gc.cost.mark_costs(gc.controller.heapInUse, go18=False)
    span = gc.cost.span_scan_ns(gc.controller.heapInUse)
    want = (scan * (heap - span_work) + span * span_work + cyc.objects_marked * obj) / heap
    assert gc.ns_per_work == want
    # at scanobject's price a unit of this heap would cost half as much again
    assert (scan + cyc.objects_marked * obj / heap) > 1.5 * gc.ns_per_work


def test_the_mark_and_the_allocation_stream_turn_cold_at_their_own_cache() -> None:
    """Session 26 on the Xeon VM: clearing turns cold past about 40 MiB of heap, a
    scattered mark past about 190 (docs/model.md, "The clock"). At a 96 MiB heap
    with those caches, clearing is two thirds of the way to its cold figure and
    marking and span scans are still at their in-cache ones."""
    mib = 1 << 20
    c = CostModel(llc_bytes=32 * mib, mark_llc_bytes=192 * mib)
    heap = 96 * mib
    hot, cold = c.small_ns_per_byte_hot, c.small_ns_per_byte_cold
    assert c.clear_ns(1000, False, heap) == 1000 * (hot + (cold - hot) * (1 - 32 / 96))
    assert c.mark_costs(heap, go18=False) == (c.scan_ns_per_byte, c.mark_ns_per_object)
    assert c.span_scan_ns(heap) == c.span_scan_ns_per_byte
    # past the mark's cache too, each by its own share
    big = 384 * mib
    obj_hot, obj_cold = c.mark_ns_per_object, c.mark_ns_per_object_cold_go127
    assert c.mark_costs(big, go18=False)[1] == obj_hot + (obj_cold - obj_hot) * 0.5
