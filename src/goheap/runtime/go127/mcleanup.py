"""Cleanups of Go 1.27 (``mcleanup.go``): runtime.AddCleanup and Cleanup.Stop.

What the Go code does
---------------------
``AddCleanup(ptr, cleanup, arg)`` finds the object holding ptr
(``findObject``; any pointer into the block, not only its base) and
attaches a ``specialCleanup`` to it (``addCleanup``): a record from
``mheap_.specialCleanupAlloc`` -- a fixalloc charged to ``other_sys`` --
of ``special`` (next, offset, kind: 24 bytes) + ``cleanupFn`` (call, fn,
arg: Final[24) + ``id`` (8)] = 56 bytes, of kind ``KindSpecialCleanup`` (7), added
with ``addspecial(p, s, force=true)``: an object may carry any number of
cleanups. The id comes from ``mheap_.cleanupID``, incremented first (0 is
reserved). ptr equal to arg, or arg inside ptr's block (outside the tiny
allocator), panics: the cleanup could never run.

While registered, the special is a root (``markrootSpans`` ->
``gcScanCleanup`` marks the function and the argument, never the object):
the argument lives as long as the cleanup is registered.

The sweeper frees an unmarked object with cleanups in the same cycle
(``freeSpecial`` -> ``gcCleanups.enqueue(sc.cleanup)``; the record goes back
to the fixalloc): unlike a finalizer, nothing is resurrected, only the
``cleanupFn`` is queued. An object with a finalizer *and* cleanups is
resurrected by the finalizer; its cleanups stay until the cycle that frees
it (the go1.27 sweeper already does this). The queue is made of 512-byte
``cleanupBlock`` s (a 32-byte header and ``(512-32)/24 = 20`` cleanups),
persistentalloc'd to gcMiscSys (GCSys) and reused once drained; queued
blocks are roots, so the argument lives until its cleanup has run. The
cleanup goroutines (``runCleanups``) call ``fn(*arg)``; here they run when
the finalizer goroutine runs (``GC.runFinalizers``: after ``runtime.GC``,
at idle and at scheduling points), after the finalizers.

``Cleanup.Stop`` sweeps the span if needed (``ensureSwept``), then unlinks
the special with that id and frees it; a cleanup already queued or run is
not stopped (a no-op, as in Go).

``AddCleanup`` boxes its argument on the heap, as Go does (``new(S)``: an
8-byte pointerful object for a pointer argument, a 16-byte noscan one for a
small scalar; ``Go127Runtime.add_cleanup`` allocates it): the box is the
root, the argument lives through its pointer, and the box is garbage once
the cleanup has run or is stopped. Left out: the cleanup goroutines
(``createGs``), like the finalizer goroutine. The model's mark is a snapshot at mark start, so
``gcScanCleanup`` for a cleanup added during the mark phase has no
counterpart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from goheap.errors import GoheapError
from goheap.runtime.common.specials import SpecialRecord, addspecial

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mspan import MSpan

CleanupFunc = Callable[[int], None]

KindSpecialCleanup: Final = 7
SIZEOF_SPECIAL_CLEANUP: Final = 56  # special (24) + cleanupFn (24) + id (8)
CLEANUP_BLOCK_SIZE: Final = 512
CLEANUP_BLOCK_HEADER: Final = 32  # lfnode (16) + alllink (8) + n (4, padded)
CLEANUPS_PER_BLOCK: Final = (CLEANUP_BLOCK_SIZE - CLEANUP_BLOCK_HEADER) // 24


class CleanupFn:
    """``cleanupFn`` plus the id of its special: what the queue holds."""

    __slots__ = ("arg", "box", "fn", "id", "obj")

    def __init__(self, id: int, fn: CleanupFunc, arg: int, obj: int, box: int = 0) -> None:
        self.id = id
        self.fn = fn
        self.arg = arg
        self.obj = obj  # the pointer AddCleanup was given (Cleanup.ptr)
        self.box = box  # the heap box AddCleanup copied arg into (the GC's root)


class Cleanups:
    """The cleanup specials, the cleanup queue and its goroutines of one go1.27 heap."""

    def __init__(self, h: MHeap, on_release: Callable[[int], None] | None) -> None:
        self.h = h
        self.cleanupID = 0  # mheap_.cleanupID
        self.registered: dict[int, SpecialRecord] = {}  # id -> special on a span
        self.queue: list[CleanupFn] = []
        self.blocks_allocated = 0  # cleanupBlocks ever allocated (reused when drained)
        self.ran = 0
        self.running = False
        # Told of a box once its cleanup ran or was stopped (it is garbage then).
        self.on_release = on_release

    # --- AddCleanup / Stop ---

    def _block(self, p: int, what: str) -> tuple[MSpan, int]:
        """``findObject``: the span and base of the allocated block holding p."""
        h = self.h
        s = h.spanOfHeap(p) if p else None
        if s is None:
            raise GoheapError(f"runtime.AddCleanup: {what} {p:#x} not in allocated block")
        idx = s.objIndex(p) if s.sizeclass else 0
        if s.isFree(idx):
            raise GoheapError(f"runtime.AddCleanup: {what} {p:#x} not in allocated block")
        return s, s.startAddr + idx * s.elemsize

    def check_args(self, ptr: int, fn: CleanupFunc, arg: int) -> None:
        """AddCleanup's panics, before anything is allocated."""
        if not callable(fn):
            raise GoheapError(f"runtime.AddCleanup: cleanup {fn!r} is not callable")
        h = self.h
        s, base = self._block(ptr, "ptr")
        if arg:
            self._block(arg, "arg")
            if arg == ptr:
                raise GoheapError("runtime.AddCleanup: ptr is equal to arg, cleanup will never run")
            if base <= arg < base + s.elemsize and s.spanclass != h.tinySpanClass:
                raise GoheapError("runtime.AddCleanup: ptr is within arg, cleanup will never run")

    def AddCleanup(self, ptr: int, fn: CleanupFunc, arg: int, box: int = 0) -> int:
        """Register the cleanup; ``box`` is the argument's heap box (see Go127Runtime)."""
        self.check_args(ptr, fn, arg)
        h = self.h
        rec = h.specialCleanupAlloc.alloc(h._persistent())
        self.cleanupID += 1  # increment first: id 0 is reserved
        cid = self.cleanupID
        rec.kind = KindSpecialCleanup
        rec.payload = CleanupFn(cid, fn, arg, ptr, box)
        addspecial(h, ptr, rec, force=True)
        self.registered[cid] = rec
        return cid

    def Stop(self, cid: int) -> None:
        if type(cid) is not int or not 0 < cid <= self.cleanupID:
            raise GoheapError(f"Cleanup.Stop: unknown cleanup id {cid!r}")
        rec = self.registered.get(cid)
        if rec is None:
            return  # already stopped, queued or run
        h = self.h
        c = rec.payload
        assert isinstance(c, CleanupFn)
        span = h.spanOfHeap(c.obj)
        assert span is not None
        h.ensureSwept(span)  # may queue it: the object was dead
        if self.registered.get(cid) is not rec:
            return
        prev: SpecialRecord | None = None
        t = span.specials
        while t is not None and t is not rec:
            prev = t
            t = t.next
        if t is None:
            raise GoheapError(f"Cleanup.Stop: special of cleanup {cid} is not on its span")
        if prev is None:
            span.specials = rec.next
        else:
            prev.next = rec.next
        rec.next = None
        del self.registered[cid]
        h.specialCleanupAlloc.free(rec)
        self._release(c)

    def _release(self, c: CleanupFn) -> None:
        if c.box and self.on_release is not None:
            self.on_release(c.box)

    # --- the sweeper and the queue ---

    def enqueue(self, rec: SpecialRecord) -> None:
        """``freeSpecial``: the object is dead -- queue its cleanup (the record is freed)."""
        c = rec.payload
        assert isinstance(c, CleanupFn)
        self.registered.pop(c.id, None)
        if len(self.queue) >= self.blocks_allocated * CLEANUPS_PER_BLOCK:
            h = self.h
            h.palloc.alloc(CLEANUP_BLOCK_SIZE, h.profile.tag_align, h.stats.gc_sys, h._persistent())
            self.blocks_allocated += 1
        self.queue.append(c)

    def roots(self) -> list[int]:
        """The argument boxes (and arguments) of registered and queued cleanups.

        In Go the box is the root and the argument lives through its pointer;
        the argument is listed too so that lifetime mode, which follows no
        pointers, keeps it as well.
        """
        pending = [*self.queue]
        for rec in self.registered.values():
            c = rec.payload
            assert isinstance(c, CleanupFn)
            pending.append(c)
        return [a for c in pending for a in (c.box, c.arg) if a]

    def run(self) -> int:
        """``runCleanups``: call every queued cleanup in queue order; how many ran."""
        if not self.queue or self.running:
            return 0
        self.running = True
        try:
            batch = self.queue
            self.queue = []
            for c in batch:
                c.fn(c.arg)
                self._release(c)
        finally:
            self.running = False
        self.ran += len(batch)
        return len(batch)
