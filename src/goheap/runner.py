"""Run a workload on a fresh heap and gather the results as one JSON-able dict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from goheap.heap import Heap
from goheap.runtime.mgc import GCCycle
from goheap.workloads import DEFAULT_WORKLOAD, get_workload, parse_params


def run_workload(
    name: str | None,
    param_items: list[str],
    *,
    profile: str,
    procs: int = 1,
    gogc: int | str | None = 100,
    gctrace: Callable[[str], None] | None = None,
    liveness: str = "graph",
) -> dict[str, Any]:
    """Run workload `name` (the default if None) and return its results.

    ``peak`` holds the true maxima of HeapInuse, HeapSys and HeapAlloc over
    the run: HeapInuse and HeapSys only grow inside span allocation, so
    they are sampled at every GC and at the end, and HeapAlloc (which the
    sweeper lowers) is sampled at each GC start, its maximum.
    """
    workload = get_workload(name or DEFAULT_WORKLOAD)
    params = parse_params(workload, param_items)
    heap = Heap(profile=profile, procs=procs, gogc=gogc, liveness=liveness)
    if gctrace is not None:
        heap.gc_.gctrace = gctrace
    peak = {"HeapInuse": 0, "HeapSys": 0, "HeapAlloc": 0}
    st = heap.stats

    def sample(_: object = None) -> None:
        peak["HeapInuse"] = max(peak["HeapInuse"], st.heap_inuse)
        peak["HeapSys"] = max(peak["HeapSys"], st.heap_sys.value)

    heap.gc_.on_cycle = sample
    try:
        workload.run(heap, params)
        ms = heap.read_memstats()
        sample()
        peak["HeapInuse"] = max(peak["HeapInuse"], ms.HeapInuse)
        peak["HeapAlloc"] = max(
            [ms.HeapAlloc, *(c.heap0 for c in heap.cycles)], default=ms.HeapAlloc
        )
        return {
            "profile": heap.profile.name,
            "workload": workload.name,
            "params": params,
            "procs": procs,
            "gogc": heap.gc_.controller.gcpercent,
            "memstats": ms.to_dict(),
            "peak": peak,
            "gc": [cycle_dict(c) for c in heap.cycles],
        }
    finally:
        heap.close()


def cycle_dict(c: GCCycle) -> dict[str, Any]:
    return {
        "number": c.n,
        "start_ns": c.tSweepTerm,
        "heap_start": c.heap0,
        "heap_mark_end": c.heap1,
        "marked": c.heap2,
        "heap_goal": c.heapGoal,
        "trigger": c.trigger,
        "pause_ns": c.pause_ns,
        "forced": c.forced,
    }
