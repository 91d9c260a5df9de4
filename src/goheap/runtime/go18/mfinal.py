"""Finalizers (mfinal.go): SetFinalizer, the finalizer queue, runfinq.

``SetFinalizer(obj, fn)`` attaches a finalizer special to the object. While
the object is reachable nothing happens. When a cycle finds it unreachable:

1. mark: ``markrootSpans`` scans the object (without marking it), so
   everything it points to survives this cycle;
2. sweep: the unmarked object is *resurrected* (its mark bit set), the
   special is removed and the finalizer queued (``queuefinalizer``); the
   queue is a GC root, so the object stays alive until it has run;
3. the finalizer goroutine runs the queue (``runfinq``), newest block
   first, last entry first within a block;
4. the next cycle that finds the object unreachable frees it.

So a finalized object survives at least one extra cycle. finblocks are
4 KiB of persistentalloc (``gc_sys``) holding (4096-24)/40 = 101 entries,
reused once drained, never freed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from goheap.errors import GoheapError
from goheap.runtime.common.specials import _KindSpecialFinalizer, addspecial, removespecial

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
        h = self.h
        s = h.lookupMaybe(obj)
        if s is None:
            raise GoheapError(f"SetFinalizer: {obj:#x} is not a heap object")
        idx = s.objIndex(obj) if s.sizeclass else 0
        if s.isFree(idx):
            raise GoheapError(f"SetFinalizer: {obj:#x} is not an allocated object")
        base = s.startAddr + idx * s.elemsize
        if obj != base and s.sizeclass != h.profile.tiny_size_class:
            raise GoheapError(
                f"SetFinalizer: pointer {obj:#x} not at beginning of allocated block {base:#x}"
            )
        if fn is None:
            rec = removespecial(h, obj, _KindSpecialFinalizer)
            if rec is not None:
                h.specialfinalizeralloc.free(rec)
            return
        rec = h.specialfinalizeralloc.alloc(h._persistent())
        rec.kind = _KindSpecialFinalizer
        rec.payload = fn
        if not addspecial(h, obj, rec):
            h.specialfinalizeralloc.free(rec)
            raise GoheapError(f"SetFinalizer: finalizer already set for {obj:#x}")

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
