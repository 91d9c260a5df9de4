"""What returning memory to the OS costs the clock (Go 1.27's sysUnused: a madvise).

The kernel unmaps only the resident pages of a released range (written since
the OS gave them), and while a thread of the program runs on another CPU it
must flush that CPU's TLB too: an interrupt the releaser waits for and the
program's CPU pays. ``CostModel.release_ns`` prices a release by its calls,
their resident pages and those shootdowns; the background scavenger's
shootdowns beside the running program also cost the program's goroutine
(docs/model.md, "Releasing memory beside the program").
"""

from __future__ import annotations

from collections.abc import Callable

from goheap import Heap
from goheap.runtime.common.clock import CostModel

MIB = 1 << 20
OS_PAGE = 4096


def freed_large_objects(h: Heap, n: int, written_pages: int) -> None:
    """n pointer-free 1 MiB objects, the first written_pages OS pages of each written
    (fresh memory is not cleared: only these become resident), then collected."""
    mem = h.gc_.h.mem
    for _ in range(n):
        x = h.malloc(MIB)
        if written_pages:
            mem.touch_range(x, written_pages * OS_PAGE)
    h.gc()  # nothing holds them: swept and freed before gc returns


def test_release_ns_prices_calls_resident_pages_and_shootdowns() -> None:
    c = CostModel()
    alone = 3 * c.scavenge_ns_per_call + 20 * c.scavenge_ns_per_page
    assert c.release_ns(3, 2, 20, beside=False) == alone
    assert c.release_ns(3, 2, 20, beside=True) == alone + 2 * c.tlb_shootdown_ns
    # Nothing resident: nothing to unmap, no TLB to flush anywhere.
    assert c.release_ns(4, 0, 0, beside=True) == 4 * c.scavenge_ns_per_call


def test_free_os_memory_counts_the_resident_pages_it_unmaps(make_heap: Callable[..., Heap]) -> None:
    h = make_heap(profile="go1.27")
    freed_large_objects(h, 4, written_pages=3)
    os_ = h.gc_.h.os
    before, own = os_.releases(), h.gc_.ownReleaseTime
    assert h.free_os_memory() >= 4 * MIB
    r = os_.releases().since(before)
    # Only the pages written were resident; the rest of the heap was never touched.
    assert r.resident_pages == 4 * 3
    assert 1 <= r.resident_calls <= r.calls
    # The releases are the calling goroutine's time (one P: no other CPU to flush).
    alone = h.gc_.cost.release_ns(r.calls, r.resident_calls, r.resident_pages, False)
    assert h.gc_.ownReleaseTime - own == int(alone)
    # Released pages are fresh again: releasing them once more finds none resident.
    freed_large_objects(h, 0, 0)
    before = os_.releases()
    h.free_os_memory()
    assert os_.releases().since(before).resident_pages == 0


def test_a_turn_beside_the_program_pays_and_charges_the_shootdowns(
    make_heap: Callable[..., Heap],
) -> None:
    h = make_heap(profile="go1.27", procs=2)
    freed_large_objects(h, 8, written_pages=MIB // OS_PAGE)  # every page resident
    gc, sc, os_ = h.gc_, h.gc_.scavenger, h.gc_.h.os
    assert sc.beside
    before = os_.releases()
    released, worked = sc._scavenge(64 << 10)  # one quantum, as a turn asks for it
    r = os_.releases().since(before)
    assert released == 64 << 10 and r.resident_pages == released // OS_PAGE
    assert worked == int(gc.cost.release_ns(r.calls, r.resident_calls, r.resident_pages, True))
    assert sc.shootdowns == r.resident_calls >= 1
    gc._chargeShootdowns(worked)  # the turn runs for `worked` ns from now
    owed = int(r.resident_calls * gc.cost.tlb_shootdown_victim_ns)
    assert gc.shootdown_ns == owed and sc.shootdowns == 0
    # The program pays as the turn's time passes: half of it passed, half is due.
    t = h.clock.now
    gc.clock.now += worked // 2  # (what the program did meanwhile is not the point)
    h.compute(1)
    assert h.clock.now - t == worked // 2 + 1 + owed * (worked // 2) // worked
    # (the rest stays owed; sysmon may have begun the next turn at the end of it)
    assert gc.shootdown_ns >= owed - owed * (worked // 2) // worked


def test_no_shootdown_on_one_p_or_while_every_p_is_idle(make_heap: Callable[..., Heap]) -> None:
    one = make_heap(profile="go1.27")
    freed_large_objects(one, 8, written_pages=MIB // OS_PAGE)
    before = one.gc_.h.os.releases()
    _, worked = one.gc_.scavenger._scavenge(64 << 10)
    r = one.gc_.h.os.releases().since(before)
    alone = one.gc_.cost.release_ns(r.calls, r.resident_calls, r.resident_pages, False)
    assert worked == int(alone)
    assert one.gc_.scavenger.shootdowns == 0
    # Two Ps, the program idle: the background scavenger's turns flush no running CPU.
    two = make_heap(profile="go1.27", procs=2)
    freed_large_objects(two, 8, written_pages=MIB // OS_PAGE)
    two.advance(30 * 10**9)
    assert two.gc_.scavenger.state.releasedBg > 0
    assert two.gc_.scavenger.shootdowns == 0 and two.gc_.shootdown_ns == 0


def test_a_run_says_what_its_releases_cost() -> None:
    from goheap.runner import run_workload

    doc = run_workload("large", ["window=8", "steps=300"], profile="go1.27", procs=2)
    rel = doc["sim"]["releases"]
    assert rel["calls"] >= rel["resident_calls"] >= rel["shootdowns"] > 0
    assert rel["resident_pages"] >= rel["resident_calls"]
    # Each shootdown cost the program the victim's figure; every release was charged.
    cost = CostModel()
    assert rel["shootdown_ns"] == rel["shootdowns"] * cost.tlb_shootdown_victim_ns
    alone = cost.release_ns(rel["calls"], rel["resident_calls"], rel["resident_pages"], False)
    assert rel["release_ns"] >= alone - rel["calls"]  # (each turn's time in whole ns)
    # Go 1.8's releases are not priced: no such figures.
    assert "releases" not in run_workload("large", ["steps=50"], profile="go1.8")["sim"]
