"""Run a workload on a fresh heap and gather the results as one JSON-able dict."""

from __future__ import annotations

from typing import Any

from goheap.heap import Heap
from goheap.workloads import DEFAULT_WORKLOAD, get_workload, parse_params


def run_workload(
    name: str | None, param_items: list[str], *, profile: str, procs: int = 1
) -> dict[str, Any]:
    """Run workload `name` (the default if None) and return its results."""
    workload = get_workload(name or DEFAULT_WORKLOAD)
    params = parse_params(workload, param_items)
    heap = Heap(profile=profile, procs=procs)
    try:
        workload.run(heap, params)
        ms = heap.read_memstats()
        return {
            "profile": heap.profile.name,
            "workload": workload.name,
            "params": params,
            "procs": procs,
            "memstats": ms.to_dict(),
        }
    finally:
        heap.close()
