"""Run one workload under several settings, in parallel, for `goheap compare`.

Each run is independent (a fresh heap), so runs go to an executor: a local
process pool by default, in-process ``serial``, or a Dask or Ray cluster
when those libraries are installed (optional; never required): the
executors of ``goheap.parallel``, which the what-if shares. An executor is
a function ``(specs, jobs, done) -> results in spec order``; ``EXECUTORS``
maps names to them, so another backend is one entry more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from goheap.errors import GoheapError
from goheap.parallel import Done, check_jobs, map_dask, map_processes, map_ray, map_serial


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
    costs: Any = None  # a goheap.costs.Costs (None: the built-in costs)


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
        costs=spec.costs,
    )


def run_serial(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    return map_serial(run_spec, specs, jobs, done)


def run_processes(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    return map_processes(run_spec, specs, jobs, done)


def run_dask(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    return map_dask(run_spec, specs, jobs, done)


def run_ray(specs: list[RunSpec], jobs: int, done: Done = None) -> list[dict[str, Any]]:
    return map_ray(run_spec, specs, jobs, done)


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

    ``done(n)`` is told each time another run has finished, on every executor.
    """
    try:
        run = EXECUTORS[executor]
    except KeyError:
        raise GoheapError(
            f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})"
        ) from None
    check_jobs(jobs)
    return run(specs, jobs, done)
