"""Finalizers of Go 1.27 (``mfinal.go``): SetFinalizer with malloc headers, the frame.

What the Go code does
---------------------
The queue (``finq``: 4 KiB ``finBlock`` s of ``(4096-24)/40 = 101``
finalizers, persistentalloc'd to GCSys, reused once drained), the
resurrection at sweep and the two-cycle life are those of Go 1.8 (see
:mod:`goheap.runtime.common.mfinal`, whose queue this class inherits):

1. mark: ``markrootSpans`` scans an object with a finalizer without marking
   it, so what it points to survives;
2. sweep: an unmarked object with a finalizer is resurrected (its mark bit
   set), its special removed and the finalizer queued; the queue is a root;
3. the finalizer goroutine runs the queue;
4. the next cycle that finds the object unreachable frees it.

What changed: ``SetFinalizer`` finds the object with ``findObject`` and,
for an object with a malloc header (pointerful, above 512 bytes, not
large), moves the base past the 8-byte header -- the pointer a program
holds; a pointer inside an object is accepted only for tiny-allocator
blocks. ``runFinalizers`` calls each finalizer with a frame it allocates
with ``mallocgc(16+nret, nil, true)`` the first time (a 16-byte pointer-free
object, class 2, kept for the goroutine's life): that object is the
runtime's own and is modelled (switchable with the profile's runtime
allocations). The finalizer goroutine itself (``createfing``, a ``g``) is
usually reused from the dead-g list in the measured programs and is not
modelled.

When the goroutine runs is the collector's business (``GC.runFinalizers``):
at the end of ``runtime.GC``, when the mutator is idle, and at the
scheduling points of a busy one.

The cleanups of ``runtime.AddCleanup`` (:mod:`goheap.runtime.go127.mcleanup`)
hang off this queue (``cleanups``): their arguments are roots with the
queued objects, and their goroutines run after the finalizer goroutine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from goheap.errors import GoheapError
from goheap.runtime.common import mfinal
from goheap.runtime.common.mfinal import FinalizerFunc
from goheap.runtime.common.specials import KindSpecialFinalizer, addspecial, removespecial
from goheap.runtime.go127.mcleanup import Cleanups

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap


class Finalizers(mfinal.Finalizers):
    """The finalizer queue of a go1.27 heap, with today's SetFinalizer and frame."""

    def __init__(
        self,
        h: MHeap,
        frame_bytes: int,
        alloc_frame: Callable[[int], int] | None,
        release_box: Callable[[int], None] | None,
    ) -> None:
        """alloc_frame: ``mallocgc(size, nil, true)`` on the running P (None: no frame);
        release_box: told of a cleanup's argument box once it is garbage."""
        super().__init__(h)
        self.h127 = h
        self.frame_bytes = frame_bytes
        self.frame = 0  # the finalizer goroutine's frame buffer (a heap object), once made
        self.alloc_frame = alloc_frame
        self.cleanups = Cleanups(h, release_box)  # runtime.AddCleanup's specials and queue

    def withoutFrame(self) -> None:
        """Stop modelling the frame (before it is made: the runtime's own objects off)."""
        self.alloc_frame = None

    def SetFinalizer(self, obj: int, fn: FinalizerFunc | None) -> None:
        h = self.h127
        s = h.spanOfHeap(obj)
        if s is None:
            raise GoheapError(f"runtime.SetFinalizer: pointer {obj:#x} not in allocated block")
        idx = s.objIndex(obj) if s.sizeclass else 0
        if s.isFree(idx):
            raise GoheapError(f"runtime.SetFinalizer: pointer {obj:#x} not in allocated block")
        base = s.startAddr + idx * s.elemsize
        if not s.spanclass & 1 and not h.heapBits.heapBitsInSpan(s.elemsize) and s.sizeclass != 0:
            base += h.mallocHeaderSize  # the object starts after its malloc header
        if obj != base and s.spanclass != h.tinySpanClass:
            raise GoheapError(
                f"runtime.SetFinalizer: pointer {obj:#x} not at beginning of allocated "
                f"block {base:#x}"
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
            raise GoheapError(f"runtime.SetFinalizer: finalizer already set for {obj:#x}")

    def roots(self) -> list[int]:
        """The queued objects, the goroutine's frame, and the cleanups' arguments."""
        out = [p for _, p in self.finq]
        if self.frame:
            out.append(self.frame)
        out.extend(self.cleanups.roots())
        return out

    def runfinq(self) -> int:
        """``runFinalizers``: make the frame the first time, then run the queue."""
        if not self.finq:
            return 0
        if self.frame == 0 and self.alloc_frame is not None:
            self.frame = self.alloc_frame(self.frame_bytes)
        return super().runfinq()
