"""A function over a list of independent items, in a pool of processes or on a cluster.

Shared by ``goheap compare`` (one run per setting) and the pprof what-if
(one simulation per setting); below both, so neither imports the other.
An executor is a function ``(fn, items, jobs) -> results in item order``:
a local process pool, this process, or a Dask or Ray cluster when those
libraries are installed (optional; never required).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from goheap.errors import GoheapError

_T = TypeVar("_T")
_R = TypeVar("_R")


def workers(jobs: int, n: int) -> int:
    """The processes for n items under -j jobs: 0 is one per CPU; never more than n."""
    return max(1, min(jobs or (os.cpu_count() or 1), n))


def check_jobs(jobs: int) -> None:
    """-j: 0 means one process per CPU; a negative count is a user error."""
    if jobs < 0:
        raise GoheapError(f"-j {jobs}: must be 0 (one per CPU) or more")


def _worker_start() -> None:
    """In each worker: SIGINT is the parent's to act on (it ends the workers); SIGTERM ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler a fork copied from the parent


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool now: what has not started is cancelled, what runs is terminated, unawaited."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(OSError, ValueError):
            p.terminate()
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            p.join(1.0)
            if p.is_alive():
                p.kill()
                p.join(1.0)


def map_processes(fn: Callable[[_T], _R], items: list[_T], jobs: int) -> list[_R]:
    """fn over items, in order, in up to ``jobs`` processes (0: one per CPU); one: in this one.

    An interrupt (SIGINT, SIGTERM) or a failure in the parent or in any item
    ends every worker at once, without waiting for the items that run.
    """
    n = workers(jobs, len(items))
    if n == 1:
        return [fn(x) for x in items]
    pool = ProcessPoolExecutor(max_workers=n, initializer=_worker_start)
    try:
        results = list(pool.map(fn, items))
    except BaseException:
        _end_workers(pool)
        raise
    pool.shutdown()
    return results


def map_serial(fn: Callable[[_T], _R], items: list[_T], jobs: int) -> list[_R]:
    """fn over items in this process."""
    return [fn(x) for x in items]


def map_dask(fn: Callable[[_T], _R], items: list[_T], jobs: int) -> list[_R]:
    """fn over items on a Dask cluster: ``DASK_SCHEDULER_ADDRESS``'s, else a local one."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise GoheapError("--executor dask needs dask: pip install 'dask[distributed]'") from None
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    client = Client(address) if address else Client(n_workers=workers(jobs, len(items)))
    try:
        futures = client.map(fn, items, pure=False)
        return list(client.gather(futures))
    finally:
        client.close()


def map_ray(fn: Callable[[_T], _R], items: list[_T], jobs: int) -> list[_R]:
    """fn over items on Ray: the running instance, ``RAY_ADDRESS``'s, or a local one."""
    try:
        import ray
    except ImportError:
        raise GoheapError("--executor ray needs ray: pip install ray") from None
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"))
    remote = ray.remote(fn)
    return list(ray.get([remote.remote(x) for x in items]))


#: Where a sweep's items run: ``--executor`` of ``compare`` and the what-if.
EXECUTORS: dict[str, Callable[[Callable[[Any], Any], list[Any], int], list[Any]]] = {
    "process": map_processes,
    "serial": map_serial,
    "dask": map_dask,
    "ray": map_ray,
}


def check_executor(executor: str) -> None:
    if executor not in EXECUTORS:
        raise GoheapError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")


def map_items(fn: Callable[[_T], _R], items: list[_T], jobs: int, executor: str) -> list[_R]:
    """fn over items, in order, on ``executor`` (with up to ``jobs`` processes where it counts)."""
    check_executor(executor)
    check_jobs(jobs)
    return EXECUTORS[executor](fn, items, jobs)
