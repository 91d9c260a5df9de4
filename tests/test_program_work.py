"""The program's own CPU (``Heap.compute``): the clock charges it, observers see it,
and the built-in workloads charge what their Go twins were measured to spend."""

from __future__ import annotations

import pytest

from goheap.errors import GoheapError
from goheap.events import HeapObserver
from goheap.heap import Heap
from goheap.workloads import get_workload
from goheap.workloads.binarytrees import BUILD_NS, WALK_NS
from goheap.workloads.churn import PROGRAM_NS

PROFILES = ("go1.8", "go1.27")


class Computes(HeapObserver):
    """Records every ``compute`` event."""

    def __init__(self) -> None:
        self.ns: list[int] = []

    def compute(self, ns: int) -> None:
        self.ns.append(ns)


@pytest.mark.parametrize("profile", PROFILES)
def test_compute_is_the_mutators_time(profile: str) -> None:
    with Heap(profile=profile) as h:
        h.malloc(64)
        before = h.clock.now
        h.compute(12_345)  # no cycle runs: nothing else takes the P meanwhile
        assert h.clock.now - before == 12_345
        h.compute(0)
        assert h.clock.now - before == 12_345


def test_compute_takes_go_nanoseconds_only() -> None:
    with Heap(profile="go1.8") as h:
        for bad, message in (
            (-1, "compute: negative time -1"),
            ("10", "compute: the time must be an integer"),
            (2**63, "past Go's int64 nanotime"),
        ):
            with pytest.raises(GoheapError, match=message):
                h.compute(bad)
    with pytest.raises(GoheapError, match="compute"):
        h.compute(10)  # closed


def _run(name: str, params: dict[str, int], profile: str) -> list[int]:
    seen = Computes()
    with Heap(profile=profile) as h:
        h.observer = seen
        get_workload(name).run(h, params)
    return seen.ns


@pytest.mark.parametrize("profile", PROFILES)
def test_churn_computes_its_twins_step_before_each_allocation(profile: str) -> None:
    ns = _run("churn", {"k": 10, "steps": 100, "seed": 88172645463325252}, profile)
    assert ns == [round(PROGRAM_NS[profile])] * 100


@pytest.mark.parametrize("profile", PROFILES)
def test_binarytrees_computes_per_node_built_and_walked(profile: str) -> None:
    # depth 6: the stretch tree (7), the long-lived one (6), 64 trees of depth 4 and
    # 16 of depth 6; each tree built is charged before, each walk after.
    ns = _run("binarytrees", {"depth": 6}, profile)
    build, walk = BUILD_NS[profile], WALK_NS[profile]

    def nodes(d: int) -> int:
        return (1 << (d + 1)) - 1

    want = [round(build * nodes(7)), round(walk * nodes(7)), round(build * nodes(6))]
    for d, trees in ((4, 64), (6, 16)):
        want += [round(build * nodes(d)), round(walk * nodes(d))] * trees
    want.append(round(walk * nodes(6)))  # the long-lived tree, walked last
    assert ns == want


@pytest.mark.parametrize("profile", PROFILES)
def test_a_runs_document_says_how_much_was_the_programs(profile: str) -> None:
    from goheap.runner import run_workload

    r = run_workload("churn", ["k=10", "steps=100"], profile=profile)
    assert r["sim"]["program_ns"] == 100 * round(PROGRAM_NS[profile])
    assert r["sim"]["virtual_ns"] > r["sim"]["program_ns"]
