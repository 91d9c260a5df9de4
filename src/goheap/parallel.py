"""A function over a list of independent items, in a pool of processes.

Shared by ``goheap compare`` (one run per setting) and the pprof what-if
(one simulation per setting); below both, so neither imports the other.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

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
