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
from concurrent.futures import ProcessPoolExecutor, as_completed
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
    # shutdown() forgets the manager thread (sets the attribute to None): take it first.
    manager = getattr(pool, "_executor_manager_thread", None)
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
    # The executor's manager thread sees its workers gone and closes its wakeup
    # pipe. Let it finish now: at exit concurrent.futures wakes every manager
    # thread through that pipe, and a close racing that write printed "Exception
    # ignored ... Bad file descriptor" with a traceback under the one-line message.
    if manager is not None:
        manager.join(3.0)


def map_processes(
    fn: Callable[[_T], _R],
    items: list[_T],
    jobs: int,
    done: Callable[[int], None] | None = None,
) -> list[_R]:
    """fn over items, in order, in up to ``jobs`` processes (0: one per CPU); one: in this one.

    ``done(n)`` is called (in this process) each time another item has
    finished, n of them in all. An interrupt (SIGINT, SIGTERM) or a failure
    in the parent or in any item ends every worker at once, without waiting
    for the items that run.
    """
    n = workers(jobs, len(items))
    if n == 1:
        out = []
        for x in items:
            out.append(fn(x))
            if done is not None:
                done(len(out))
        return out
    pool = ProcessPoolExecutor(max_workers=n, initializer=_worker_start)
    try:
        futures = [pool.submit(fn, x) for x in items]
        for finished, _ in enumerate(as_completed(futures), 1):
            if done is not None:
                done(finished)
        results = [f.result() for f in futures]
    except BaseException:
        _end_workers(pool)
        raise
    pool.shutdown()
    return results


Done = Callable[[int], None] | None  # told how many items have finished


def map_serial(fn: Callable[[_T], _R], items: list[_T], jobs: int, done: Done = None) -> list[_R]:
    """fn over items in this process."""
    return map_processes(fn, items, 1, done)


def map_dask(fn: Callable[[_T], _R], items: list[_T], jobs: int, done: Done = None) -> list[_R]:
    """fn over items on a Dask cluster: ``DASK_SCHEDULER_ADDRESS``'s, else a local one.

    ``done(n)`` is told as each item's future completes (Dask's as_completed).
    """
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise GoheapError("--executor dask needs dask: pip install 'dask[distributed]'") from None
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    client = Client(address) if address else Client(n_workers=workers(jobs, len(items)))
    try:
        futures = client.map(fn, items, pure=False)
        if done is not None:
            for finished, _ in enumerate(dask_completed(futures), 1):
                done(finished)
        return list(client.gather(futures))
    finally:
        client.close()


def map_ray(fn: Callable[[_T], _R], items: list[_T], jobs: int, done: Done = None) -> list[_R]:
    """fn over items on Ray: the running instance, ``RAY_ADDRESS``'s, or a local one.

    ``done(n)`` is told as items finish (``ray.wait`` for the next one).
    """
    try:
        import ray
    except ImportError:
        raise GoheapError("--executor ray needs ray: pip install ray") from None
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"))
    remote = ray.remote(fn)
    refs = [remote.remote(x) for x in items]
    if done is not None:
        pending = list(refs)
        while pending:
            _, pending = ray.wait(pending, num_returns=1)
            done(len(refs) - len(pending))
    return list(ray.get(refs))


#: Where a sweep's items run: ``--executor`` of ``compare`` and the what-if.
EXECUTORS: dict[str, Callable[[Callable[[Any], Any], list[Any], int, Done], list[Any]]] = {
    "process": map_processes,
    "serial": map_serial,
    "dask": map_dask,
    "ray": map_ray,
}


def check_executor(executor: str) -> None:
    if executor not in EXECUTORS:
        raise GoheapError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")


def map_items(
    fn: Callable[[_T], _R], items: list[_T], jobs: int, executor: str, done: Done = None
) -> list[_R]:
    """fn over items, in order, on ``executor`` (with up to ``jobs`` processes where it counts).

    ``done(n)`` is told each time another item has finished, on every executor.
    """
    check_executor(executor)
    check_jobs(jobs)
    return EXECUTORS[executor](fn, items, jobs, done)
