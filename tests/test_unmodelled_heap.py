"""Live objects the model does not allocate, and drains that end between objects.

Expected figures come from the live runtimes:

- a minimal program (``runtime`` and ``runtime/metrics`` only, 64 KiB of
  garbage at a time, then ``runtime.GC()``): ``/gc/scan/heap:bytes`` on
  Go 1.27.3 is 38,008 with GOMAXPROCS=1 and 60,728 with 2; Go 1.8's
  ``GODEBUG=gcpacertrace=1`` shows W_a = 10,264 per background cycle with
  one P and 20,056 with two;
- the churn twin (tests/oracle/churn, -k 10000) reads 136,032 bytes of
  heap scan work per cycle on Go 1.27.3; Go 1.8's churn twin 124,592 and
  its large twin (-window 8) 45,072 (W_a);
- where the drain reaches a program's 80,000-byte array of pointers (10,000
  slots, an 81,920-byte object): Go 1.27.3 built with ``-overlay`` over a
  ``mgcmark.go`` that prints each object's scan work in ``gcDrain``, a
  forced GC. The minimal program above with such an array: the array's
  scan ends at 108,472 bytes of heap scan work (three runs); the churn
  twin at -k 10000: at 123,160. Go 1.8 (a copy whose ``gcDrain`` and
  ``gcDrainN`` print the same), every background cycle: the first assist
  stops at the array's end, 88,400 in the minimal program, 88,528 in the
  churn twin.
"""

from __future__ import annotations

import pytest

from goheap import GoheapError, Heap
from goheap.runtime.common.gotype import POINTER
from goheap.runtime.common.scanpieces import PIECE_MIN, ScanPieces
from goheap.validate.sim import HARNESS_HEAP_SCAN_STACKS, hold_harness
from goheap.workloads import get_workload

MINIMAL_PROGRAM_HEAP_SCAN = {("go1.27", 1): 38_008, ("go1.27", 2): 60_728}
MINIMAL_PROGRAM_W_A = {("go1.8", 1): 10_264, ("go1.8", 2): 20_056}


def _background_cycles(h: Heap, n: int) -> None:
    """Allocate 64 KiB of garbage at a time until n background cycles have run."""
    start = len(h.cycles)
    while len(h.cycles) < start + n:
        h.malloc(64 << 10)


@pytest.mark.parametrize("procs", [1, 2])
def test_a_minimal_go127_program_scans_the_runtimes_own_heap(procs: int) -> None:
    with Heap(profile="go1.27", procs=procs) as h:
        _background_cycles(h, 3)
        assert h.gc_.work_split[2] == MINIMAL_PROGRAM_HEAP_SCAN[("go1.27", procs)]


@pytest.mark.parametrize("procs", [1, 2])
def test_a_minimal_go18_program_scans_the_runtimes_own_heap(procs: int) -> None:
    with Heap(profile="go1.8", procs=procs) as h:
        _background_cycles(h, 3)
        assert h.cycles[-1].scanWork == MINIMAL_PROGRAM_W_A[("go1.8", procs)]


def test_the_go127_churn_twin_scans_what_the_live_twin_does() -> None:
    with Heap(profile="go1.27") as h:
        hold_harness(h)
        w = get_workload("churn")
        w.run(h, {**w.defaults(), "k": 10_000, "steps": 100_000})
        assert h.gc_.work_split[2] == 136_032


@pytest.mark.parametrize(("workload", "params", "live"), [
    ("churn", {"k": 10_000, "steps": 100_000}, 124_592),
    ("large", {"window": 8, "steps": 300}, 45_072),
])  # fmt: skip
def test_the_go18_twins_scan_what_the_live_twins_do(
    workload: str, params: dict[str, int], live: int
) -> None:
    """One harness figure serves both twins (their mean): each within 0.5 %."""
    with Heap(profile="go1.8") as h:
        hold_harness(h)
        w = get_workload(workload)
        w.run(h, {**w.defaults(), **params})
        background = [c.scanWork for c in h.cycles if not c.forced]
        assert background and set(background) == {background[-1]}
        assert abs(background[-1] - live) <= live * 0.005


@pytest.mark.parametrize(("procs", "next_gc", "twin_next_gc"), [
    (1, 16_810_816, 17_468_176),
    (2, 16_825_120, 17_482_480),
])  # fmt: skip
def test_go18s_goal_counts_the_runtimes_live_heap(
    procs: int, next_gc: int, twin_next_gc: int
) -> None:
    """Go 1.8 holding one 8 MiB array after a forced GC: NextGC = 2 * heap_marked.

    tests/oracle/go18probe/livebase on Go 1.8 (the most common of 20 runs): the
    runtime's objects hold 16,800 bytes with one P and 23,952 with two, and
    NextGC after the array is 16,810,816 and 16,825,120. The twins' harness
    adds 328,680 (their baseline HeapAlloc, 345,480 for churn, less 16,800),
    so their goal is twice that more. MemStats keep counting the model's
    objects only.
    """
    with Heap(profile="go1.8", procs=procs) as h:
        h.gc()
        h.main.push(h.malloc(8 << 20))
        h.gc()
        m = h.read_memstats()
        assert (m.NextGC, m.HeapAlloc) == (next_gc, 8 << 20)
        assert h.cycles[-1].bytesMarked == 8 << 20
        hold_harness(h)
        h.gc()
        assert h.read_memstats().NextGC == twin_next_gc


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_the_runtimes_first_part_is_part_of_its_heap_scan(profile: str) -> None:
    """The collectors shift the scan pieces by it without clamping: it must fit."""
    from goheap.profiles import get_profile

    prof = get_profile(profile)
    assert 0 < prof.runtime_heap_scan_first <= prof.runtime_heap_scan


def test_unmodelled_heap_scan_is_a_non_negative_integer() -> None:
    with Heap() as h:
        for bad in (-1, 1.5, "x"):
            with pytest.raises(GoheapError, match="set_unmodelled_heap_scan"):
                h.set_unmodelled_heap_scan(bad)
        for bad_first in (-1, 1001, 2.5):
            with pytest.raises(GoheapError, match="set_unmodelled_heap_scan"):
                h.set_unmodelled_heap_scan(1000, bad_first)
        h.set_unmodelled_heap_scan(1000, 400)
        assert h.gc_.program_heap_scan == 1000 and h.gc_.program_heap_scan_first == 400


@pytest.mark.parametrize(("profile", "ring_end"), [("go1.27", 123_160), ("go1.8", 88_528)])
def test_the_churn_twins_ring_is_drained_where_go_drains_it(profile: str, ring_end: int) -> None:
    """The runtime's and the harness's objects Go reaches first come before the ring."""
    with Heap(profile=profile) as h:
        hold_harness(h)
        w = get_workload("churn")
        w.run(h, {**w.defaults(), "k": 10_000, "steps": 20_000})
        h.gc()
        assert h.gc_.pieces.ends[0] == ring_end


def test_scan_pieces_round_a_drain_up_to_the_end_of_its_object() -> None:
    p = ScanPieces()
    p.add(100 + 80_000, 80_000)
    p.add(100 + 80_000 + PIECE_MIN, PIECE_MIN)
    assert p.round_up(50) == 50
    assert p.round_up(100) == 100  # between objects
    assert p.round_up(65_536) == 80_100
    assert p.round_up(80_100) == 80_100
    assert p.round_up(80_101) == 80_100 + PIECE_MIN
    p.shift(1000)  # 1,000 units of other objects drained before all of them
    assert p.round_up(1100) == 1100
    assert p.round_up(65_536) == 81_100
    assert p.round_up(81_101) == 81_100 + PIECE_MIN


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_an_assist_scans_the_large_object_it_starts_whole(profile: str) -> None:
    """gcDrainN checks its goal between objects: an assist asked for 64 KiB of scan
    work (gcOverAssistWork) that reaches an 80,000-byte array of pointers scans all
    of it (Go 1.8 and Go 1.27 scan objects up to 128 KiB whole). Some of the
    runtime's own objects come first: the assist ends where the array does, as in
    the instrumented live runtimes (108,472 and 88,400 units of heap scan work)."""
    with Heap(profile=profile, gogc=100) as h:
        gc = h.gc_
        ring = h.make(POINTER, 10_000)
        h.g.push(ring)
        i = 0
        while gc.gcphase == 0:
            h.write_pointer(ring, 8 * (i % 10_000), h.malloc(4096))
            i += 1
        roots = sum(gc.work_split[:2]) if profile == "go1.27" else 0
        gc._pay_work(roots)  # the roots (go1.27), as if a worker did them: a forced GC's order
        left = gc.work_remaining
        gc.gcAssistBytes = -1  # a debt under 64 KiB of work: gcOverAssistWork
        gc.gcAssistAlloc()
        assert left - gc.work_remaining == (108_472 if profile == "go1.27" else 88_400)


@pytest.mark.parametrize(("procs", "inuse", "heap_sys", "stacks"), [
    (1, 131_072, 851_968, 196_608),
    (2, 131_072, 819_200, 229_376),
])  # fmt: skip
def test_go18s_premain_pages_are_gos(procs: int, inuse: int, heap_sys: int, stacks: int) -> None:
    """A Go 1.8 program's pages at main (tests/oracle/go18probe/livebase, 20 runs' mode).

    With the runtime's pages, HeapInuse, HeapSys and StackInuse are the live
    program's; with the twins' harness too, HeapInuse is the twins' 565,248
    (their baseline with one P and two, the first 1 MiB chunk still enough).
    The pages stay through collections and are not the program's objects.
    """
    with Heap(profile="go1.8", procs=procs) as h:
        assert h.read_memstats().HeapInuse == 0
        h.runtime.with_premain_pages()
        m = h.read_memstats()
        assert (m.HeapInuse, m.HeapSys, m.StackInuse, m.StackSys) == (
            inuse,
            heap_sys,
            stacks,
            stacks,
        )
        assert (m.HeapAlloc, m.HeapObjects, m.Mallocs) == (0, 0, 0)
    with Heap(profile="go1.8", procs=procs) as h:
        hold_harness(h)  # the runtime's pages and the harness's
        h.gc()
        h.check()
        m = h.read_memstats()
        assert (m.HeapInuse, m.HeapSys, m.StackInuse) == (565_248, heap_sys, stacks)
        with pytest.raises(GoheapError, match="taken already"):
            h.runtime.with_premain_pages()


def test_premain_pages_are_go18s_only() -> None:
    with Heap(profile="go1.27") as h, pytest.raises(GoheapError, match="not modelled"):
        h.runtime.with_premain_pages()


def _marking_with_ring(h: Heap, slots: int = 10_000, size: int = 4096) -> None:
    """A pointer array of slots on the stack, then objects of size in it until a
    background cycle starts: the churn twin's heap at its mark."""
    ring = h.make(POINTER, slots)
    h.g.push(ring)
    i = 0
    while h.gc_.gcphase == 0:
        h.write_pointer(ring, 8 * (i % slots), h.malloc(size))
        i += 1


def _assist(h: Heap) -> float:
    """One assist with a debt under gcOverAssistWork: the work it did."""
    gc = h.gc_
    left = gc.work_remaining
    gc.gcAssistBytes = -1
    gc.gcAssistAlloc()
    return left - gc.work_remaining


@pytest.mark.parametrize(
    ("harness", "ring_end"), [(False, 114_224), (True, 117_440)]
)  # fmt: skip
def test_go127_assists_drain_what_each_root_job_greys_before_the_next(
    harness: bool, ring_end: int
) -> None:
    """gcDrainN takes a root job only when it finds no grey object. When assists do
    a cycle's work (one P), what the data segment reaches is drained before the BSS
    job, and the array comes later in the heap's order than in a forced GC's, where
    workers take every root job first: the instrumented Go 1.27.3 runtime, the
    background cycles of a minimal program with runtime/metrics and a ring
    (tests/oracle/probe/minring) and of the churn twin (-k 10000): the first
    assist scans the globals and the data segment's objects, the second ends with
    the array, at 114,224 and 117,440 bytes of heap scan work (forced GCs: 108,472
    and 123,160)."""
    with Heap(profile="go1.27", gogc=100) as h:
        if harness:
            hold_harness(h)
        _marking_with_ring(h)
        gc = h.gc_
        roots = sum(gc.work_split[:2])
        first = _assist(h)
        assert first == gc.work_split[0]  # the globals: the data, then the BSS job
        _assist(h)
        assert gc.work_total - gc.work_remaining == roots + ring_end


def test_go127_a_worker_after_an_assist_drains_the_stacks_reach_first() -> None:
    """A worker takes every root job left before any grey object, and its queue is
    last in, first out: what the goroutines' stacks reach comes before the BSS
    segment's objects when the fractional worker follows the first assist. The
    instrumented Go 1.27.3, the churn twin on one P, the cycles in which the
    fractional worker ran after the first assist: its drain ends with the array at
    129,480 bytes of heap scan work (its share poll comes every 100,000), 5,560
    short of the heap's end: the last assist's work, which the pacer then asks of
    64 KiB of stolen credit, gctrace's 49->96->68 MB."""
    with Heap(profile="go1.27", gogc=100) as h:
        hold_harness(h)
        _marking_with_ring(h)
        gc = h.gc_
        roots = sum(gc.work_split[:2])
        _assist(h)
        gc._runFractional()
        assert gc.work_total - gc.work_remaining == roots + 129_480


def test_go127_a_worker_after_assists_took_the_heap_drains_the_stacks_reach_next() -> None:
    """Where assists went on from the data and BSS jobs into the heap, the stacks'
    job is still waiting when the fractional worker comes, and the worker takes it
    before any grey object: what the stacks reach comes next in the heap's order,
    not after the program's objects. The instrumented Go 1.27.3
    (benchmarks/mark_timeline127.py), the churn twin at -k 100000 under a 300 MiB
    limit, one P: in the cycles where four assists (174,178, 157,952, 147,456 and
    131,072 units) drained the globals and half the 800,000-byte ring and the
    worker then ran, the last assist found 5,880 units after the ring's end, and
    its 64 KiB of stolen credit had paid for 60-100 MB (gctrace's 264->370 MB).
    The model leaves the harness's 848 units whose place Go's order does not
    show at the end too; before the worker, the stacks' reach is there (18,592)."""
    with Heap(profile="go1.27", gogc=100) as h:
        hold_harness(h)
        _marking_with_ring(h, slots=100_000, size=64)
        gc = h.gc_
        assert sum(_assist(h) for _ in range(4)) == pytest.approx(
            174_178 + 157_952 + 147_456 + 131_072, abs=2_000
        )
        hw = gc.work_split[2]
        before = hw - gc.pieces.ends[-1]  # heap work after the ring's end
        gc._runFractional()
        after = hw - gc.pieces.ends[-1]
        assert before - after == HARNESS_HEAP_SCAN_STACKS["go1.27"]  # moved before the ring's rest
        assert 5_880 - 848 <= after <= 5_880 + 848
