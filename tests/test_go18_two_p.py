"""Go 1.8's mark on two Ps: which work the other P's worker can reach, and when it sleeps.

What was measured (benchmarks/RESULTS.md, "Go 1.8's marks at one and two
Ps"): in churn 10k at GOMAXPROCS=2 the other P's idle worker runs once, for
tens of microseconds, finds nothing queued -- the mutator's first assist holds
the ring, an array of pointers to pointer-free objects -- and its P sleeps:
Go 1.8 wakes no idle P for mark work (mgc.go enlistWorker's wakep is
commented out, golang.org/issue/19112). What the assist leaves waits for the
mutator's next assist, and the heap grows black meanwhile (gctrace
``52->61->29 MB``). Which work another P can take at all follows
``gcWork.balance`` (mgcwork.go): a drainer's cache goes to the global queue
only when it holds more than four objects; the model reads that off each
object's size (go18/mgcmark.py scanobject).
"""

from __future__ import annotations

from goheap import Heap, Type
from goheap.runtime.common.gotype import POINTER
from goheap.runtime.go18.mgcmark import Marker

Node = Type("main.Node", size=16, pointers=[0, 8])  # {left, right *Node}


def _mark(h: Heap, root: int) -> tuple[int, int]:
    """The snapshot trace from root alone: (scan work, of it shared)."""
    m = Marker(h.mheap)
    m.mark_roots([root])
    m.drain()
    return m.result.scanWork, m.result.shared


def test_an_array_of_pointer_free_objects_is_one_drainers_work() -> None:
    """greyobject sends pointer-free objects straight to black: nothing is queued."""
    with Heap(profile="go1.8") as h:
        ring = h.make(POINTER, 10_000)
        for i in range(10_000):
            h.write_pointer(ring, 8 * i, h.malloc(64, None))
        assert _mark(h, ring) == (80_000, 0)


def test_small_objects_are_shared() -> None:
    """A tree's nodes come many at a time, which balance hands half of to the global
    queue: all of a binary tree's work is shared."""
    with Heap(profile="go1.8") as h:

        def tree(depth: int) -> int:
            n = h.malloc(16, Node)
            if depth > 0:
                h.write_pointer(n, 0, tree(depth - 1))
                h.write_pointer(n, 8, tree(depth - 1))
            return n

        root = tree(10)  # 2,047 nodes of 16 bytes, both words pointer slots
        assert _mark(h, root) == (2_047 * 16, 2_047 * 16)


def test_a_large_arrays_queued_oblets_are_shared_beyond_four() -> None:
    """scanobject queues a large object's other 128 KiB oblets: behind the first of a
    1 MiB array seven wait, which balance hands off; behind a 512 KiB one's, three."""
    with Heap(profile="go1.8") as h:
        big = h.make(POINTER, 1 << 17)  # 1 MiB of pointer slots
        assert _mark(h, big) == (1 << 20, 1 << 20)
    with Heap(profile="go1.8") as h:
        half = h.make(POINTER, 1 << 16)
        assert _mark(h, half) == (1 << 19, 0)


def test_lifetime_mode_splits_the_heap_as_graph_mode_does() -> None:
    """The split reads objects' sizes, so a trace replayed in lifetime mode keeps a
    graph-mode run's two-P timing: a ring holding pointer-free objects and, in one
    slot in ten, small pointerful ones (shared; the ring is its finder's)."""
    splits = []
    for liveness in ("graph", "lifetime"):
        with Heap(profile="go1.8", procs=2, liveness=liveness) as h:
            ring = h.make(POINTER, 10_000)
            h.set_global("ring", ring)
            for i in range(10_000):
                typ = Node if i % 10 == 0 else None
                h.write_pointer(ring, 8 * i, h.malloc(64 if typ is None else 16, typ))
            m = Marker(h.mheap)
            if liveness == "graph":
                m.mark_roots([ring])
                m.drain()
            else:
                m.mark_lifetime()
            splits.append((m.result.scanWork, m.result.shared))
    assert splits[0] == splits[1]
    assert splits[0] == (80_000 + 1_000 * 16, 1_000 * 16)


def test_two_ps_mark_waits_for_the_mutators_next_assist() -> None:
    """churn's shape at GOMAXPROCS=2: the ring is the assist's; the other P's
    worker sleeps once it finds nothing, so the ring's assist, not the worker,
    pays the cycle, and the mark runs on while the mutator allocates black."""
    with Heap(profile="go1.8", procs=2) as h:
        gc = h.gc_
        k = 10_000  # 80,000 bytes of ring: more than an assist's least work (64 KiB)
        ring = h.make(POINTER, k)
        h.g.push(ring)
        for i in range(k):
            h.write_pointer(ring, 8 * i, h.malloc(256, None))
        slept_with_work_left = False
        step = 0
        while sum(1 for c in h.cycles if not c.forced) < 6:
            h.write_pointer(ring, 8 * (step % k), h.malloc(256, None))
            step += 1
            if gc.gcphase == 1 and gc.others_parked and gc.work_remaining > 0:
                slept_with_work_left = True
        assert slept_with_work_left
        for c in h.cycles[1:]:
            assert c.heap1 > c.heap0  # the heap grew while marking
            assert c.assistTime > c.bgMarkTime + c.idleMarkTime


def test_a_rounding_leftover_is_no_work_left() -> None:
    """Work is paid in float slices of the virtual clock; what a payment leaves below
    WORK_RESIDUE is rounding, which no drain could take: on two Ps, with the other
    Ps asleep, such a leftover once kept a mark open until sysmon's next preemption."""
    with Heap(profile="go1.8", procs=2) as h:
        gc = h.gc_
        gc.work_remaining = 243_810.0
        gc._pay_work(243_810.0 - 1e-9)  # leaves 1e-9 of a unit
        assert gc.work_remaining == 0.0
