"""Ps (runtime2.go ``p``): the per-processor state the allocator touches.

Each P owns an mcache and a persistentalloc chunk (``palloc``). The model
runs one OS thread; whichever P the mutator is running on is the heap's
``curp``, exactly as ``getg().m.p`` is in Go.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from goheap.runtime.common.mfixalloc import PersistentAlloc

C = TypeVar("C")  # the version's mcache


class P(Generic[C]):
    __slots__ = ("id", "mcache", "palloc")

    def __init__(self, pid: int, mcache: C | None = None) -> None:
        self.id = pid
        self.palloc = PersistentAlloc()
        self.mcache: C | None = mcache

    def __repr__(self) -> str:
        return f"<p {self.id}>"
