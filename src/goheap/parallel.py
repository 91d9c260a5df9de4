"""A function over a list of independent items, in a pool of processes.

Shared by ``goheap compare`` (one run per setting) and the pprof what-if
(one simulation per setting); below both, so neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
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


def map_processes(fn: Callable[[_T], _R], items: list[_T], jobs: int) -> list[_R]:
    """fn over items, in order, in up to ``jobs`` processes (0: one per CPU); one: in this one."""
    n = workers(jobs, len(items))
    if n == 1:
        return [fn(x) for x in items]
    with ProcessPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, items))
