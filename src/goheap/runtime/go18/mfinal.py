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

from typing import TYPE_CHECKING

from goheap.errors import GoheapError
from goheap.runtime.common import mfinal
from goheap.runtime.common.mfinal import FinalizerFunc
from goheap.runtime.common.specials import KindSpecialFinalizer, addspecial, removespecial

if TYPE_CHECKING:
    from goheap.runtime.go18.mheap import MHeap


class Finalizers(mfinal.Finalizers):
    """The finalizer queue of a Go 1.8 heap, with Go 1.8's SetFinalizer."""

    def __init__(self, h: MHeap) -> None:
        super().__init__(h)

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
            rec = removespecial(h, obj, KindSpecialFinalizer)
            if rec is not None:
                h.specialfinalizeralloc.free(rec)
            return
        rec = h.specialfinalizeralloc.alloc(h._persistent())
        rec.kind = KindSpecialFinalizer
        rec.payload = fn
        if not addspecial(h, obj, rec):
            h.specialfinalizeralloc.free(rec)
            raise GoheapError(f"SetFinalizer: finalizer already set for {obj:#x}")
