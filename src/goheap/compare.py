"""Run one workload under several settings, in parallel, for `goheap compare`.

Each run is independent (a fresh heap), so runs go to an executor: a local
process pool by default, in-process ``serial``, or a Dask or Ray cluster
when those libraries are installed (optional; never required). An executor
is a function ``(specs, jobs, done) -> results in spec order``; ``EXECUTORS``
maps names to them, so another backend is one entry more.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from goheap.errors import GoheapError
from goheap.parallel import check_jobs, map_processes, workers


@dataclass(frozen=True)
class RunSpec:
    """One run: a workload, its parameters, and the heap settings."""

    workload: str
    params: list[str]
    profile: str
    gogc: int
    memlimit: int | None
    procs: int = 1
    liveness: str = "graph"


def run_spec(spec: RunSpec) -> dict[str, Any]:
    """Run one spec (in whatever process the executor chose)."""
    from goheap.runner import run_workload

    return run_workload(
        spec.workload,
        spec.params,
        profile=spec.profile,
        procs=spec.procs,
        gogc=spec.gogc,
        liveness=spec.liveness,
        memlimit=spec.memlimit,
    )


Done = Callable[[int], None] | None  # told how many runs have finished


def run_serial(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    return map_processes(run_spec, specs, 1, done)


def run_processes(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    return map_processes(run_spec, specs, jobs, done)


def run_dask(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    try:
        from dask.distributed import Client
    except ImportError:
        raise GoheapError("--executor dask needs dask: pip install 'dask[distributed]'") from None
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    client = Client(address) if address else Client(n_workers=workers(jobs, len(specs)))
    try:
        futures = client.map(run_spec, specs, pure=False)
        return list(client.gather(futures))
    finally:
        client.close()


def run_ray(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise GoheapError("--executor ray needs ray: pip install ray") from None
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"))
    remote = ray.remote(run_spec)
    return list(ray.get([remote.remote(s) for s in specs]))


EXECUTORS: dict[str, Callable[[list[RunSpec], int, Done], list[dict[str, Any]]]] = {
    "process": run_processes,
    "serial": run_serial,
    "dask": run_dask,
    "ray": run_ray,
}


def run_all(
    specs: list[RunSpec], *, executor: str = "process", jobs: int = 0, done: Done = None
) -> list[dict]:
    """Run every spec; results come back in the order of specs.

    ``done(n)`` is told each time another run has finished (the local
    executors; Dask and Ray report nothing until the end).
    """
    try:
        run = EXECUTORS[executor]
    except KeyError:
        raise GoheapError(
            f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})"
        ) from None
    check_jobs(jobs)
    return run(specs, jobs, done)
