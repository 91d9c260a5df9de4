"""The finalizer queue every version keeps (mfinal.go): finq and runfinq.

When a cycle finds an object with a finalizer unreachable, the sweeper
resurrects it and queues its finalizer (``queuefinalizer``); the queue is a
GC root, so the object stays alive until the finalizer has run; the
finalizer goroutine runs the queue (``runfinq``), newest block first, last
entry first within a block. finblocks are 4 KiB of persistentalloc
(``gc_sys``) holding (4096-24)/40 = 101 entries, reused once drained, never
freed: the same in Go 1.8 and Go 1.27. ``SetFinalizer`` is each version's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from goheap.runtime.common.heapview import HeapView
    from goheap.runtime.common.specials import SpecialRecord

_FinBlockSize: Final = 4 * 1024
FINALIZERS_PER_BLOCK: Final = (_FinBlockSize - 3 * 8) // 40

FinalizerFunc = Callable[[int], object]


class Finalizers:
    """The finalizer queue (finq) and the finalizer goroutine of one heap."""

    def __init__(self, h: HeapView[Any]) -> None:
        self.h = h
        self.finq: list[tuple[FinalizerFunc, int]] = []
        self.blocks_allocated = 0  # finblocks ever allocated (reused when drained)
        self.fingwake = False
        self.ran = 0

    def SetFinalizer(self, obj: int, fn: FinalizerFunc | None) -> None:
        """runtime.SetFinalizer(obj, fn): the version's checks, then the special."""
        raise NotImplementedError

    def queuefinalizer(self, rec: SpecialRecord, p: int) -> None:
        """Called by the sweeper for an unreachable object with a finalizer."""
        fn = rec.payload
        assert callable(fn)
        capacity = self.blocks_allocated * FINALIZERS_PER_BLOCK
        if len(self.finq) >= capacity:
            h = self.h
            h.palloc.alloc(_FinBlockSize, 0, h.stats.gc_sys, h._persistent())
            self.blocks_allocated += 1
        self.finq.append((fn, p))
        self.fingwake = True

    def roots(self) -> list[int]:
        """The objects the queue keeps alive."""
        return [p for _, p in self.finq]

    def runfinq(self) -> int:
        """Run every queued finalizer (newest first); how many ran."""
        batch = self.finq
        self.finq = []
        self.fingwake = False
        for fn, p in reversed(batch):
            fn(p)
        self.ran += len(batch)
        return len(batch)
