"""The simulator's own heap profile, as a Go program would write it.

A Go program writes its heap profile in two steps, and so does this module:

1. ``runtime.MemProfile(p, inuseZero=true)`` (mprof.go) reads the profile
   buckets: one record per (stack, slot size) with the *published* counts.
   :func:`mem_profile` does that on a model heap through the runtime's own
   ``MemProfile`` (``goheap.runtime.go18.mprof``, ``goheap.runtime.go127.mprof``):

   * go1.8: the totals ``mProf_GC`` has published (up to two cycles old);
     if no bucket has any published count yet ("no GC has happened"),
     ``mProf_GC`` runs twice first, as Go 1.8 does;
   * go1.27: ``active`` after ``mProf_FlushLocked(cycle % 3)``; if every
     ``active`` is still zero, all three ``future`` cycles are added in.

   Both mutate the runtime's buckets exactly as Go's MemProfile does, so
   reading a profile is not free of effects on later reads -- nor is it in Go.

2. ``runtime/pprof.writeHeapProto`` (protomem.go) turns the records into a
   ``profile.proto``: leading ``runtime.*`` frames hidden, each count scaled
   by :func:`scale_heap_sample` for ``MemProfileRate``, the label ``bytes``
   set to the bucket's slot size, ``period`` = ``MemProfileRate``.
   :func:`heap_profile` builds the :class:`~goheap.pprof.model.HeapProfile`
   it would encode. Go 1.8's runtime/pprof wrote the legacy text form
   (``heap profile: ...``, no scaling in the file); here both profiles get
   the modern proto form, which is what ``go tool pprof`` prefers.

The stacks are the names the workload passed as ``stack=`` to
``Heap.malloc``/``new``/``make`` (leaf first), with no file or line. Which
allocations are recorded is the sampler's business (each version's ``mprof``):
with ``MemProfileRate = 1`` every one, but a tiny allocation is only
recorded when it starts a new 16-byte block (size 16), as in Go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from goheap.pprof.model import Frame, HeapProfile, HeapSample, scale_heap_sample
from goheap.runtime.common.mprof import Bucket

if TYPE_CHECKING:
    from goheap.heap import Heap

SOURCE = "<simulator>"
# writeHeapProto hides a stack's leading frames in these packages.
_RUNTIME_PREFIXES = ("runtime.", "internal/runtime/")


@dataclass(frozen=True)
class MemProfileRecord:
    """runtime.MemProfileRecord (with profilerecord's ObjectSize): one bucket's counts."""

    stack: tuple[str, ...]  # function names, leaf first
    ObjectSize: int
    AllocObjects: int
    FreeObjects: int

    @property
    def AllocBytes(self) -> int:
        return self.AllocObjects * self.ObjectSize

    @property
    def FreeBytes(self) -> int:
        return self.FreeObjects * self.ObjectSize

    def InUseObjects(self) -> int:
        return self.AllocObjects - self.FreeObjects

    def InUseBytes(self) -> int:
        return self.AllocBytes - self.FreeBytes


def _record(b: Bucket) -> MemProfileRecord:
    return MemProfileRecord(b.stack, b.size, b.allocs, b.frees)


def mem_profile(heap: Heap, inuse_zero: bool = True) -> list[MemProfileRecord]:
    """runtime.MemProfile(p, inuseZero) with room for every record, in Go's bucket order.

    The runtime's own ``MemProfile`` (per version, in ``goheap.runtime``)
    picks the buckets and publishes what Go would publish at this moment.
    """
    return [_record(b) for b in heap.mprof.MemProfile(inuse_zero)]


def profile_stack(stack: tuple[str, ...]) -> tuple[Frame, ...]:
    """The frames writeHeapProto keeps: leading runtime frames hidden (all, if all are)."""
    for i, name in enumerate(stack):
        if not name.startswith(_RUNTIME_PREFIXES):
            stack = stack[i:]
            break
    return tuple(Frame(name) for name in stack)


def heap_profile(
    records: list[MemProfileRecord], rate: int, comments: list[str] | None = None
) -> HeapProfile:
    """What writeHeapProto encodes for records sampled at MemProfileRate rate."""
    samples = []
    for r in records:
        alloc_objects, alloc_space = scale_heap_sample(r.AllocObjects, r.AllocBytes, rate)
        inuse_objects, inuse_space = scale_heap_sample(r.InUseObjects(), r.InUseBytes(), rate)
        samples.append(
            HeapSample(
                stack=profile_stack(r.stack),
                alloc_objects=alloc_objects,
                alloc_space=alloc_space,
                inuse_objects=inuse_objects,
                inuse_space=inuse_space,
                size=r.ObjectSize,
            )
        )
    return HeapProfile(
        samples=samples,
        period=rate,
        comments=list(comments or []),
        source=SOURCE,
        encoding="proto.gz",
    )


def heap_profile_from_runtime(heap: Heap) -> HeapProfile:
    """The heap profile the modelled program would write now (pprof.WriteHeapProfile).

    MemProfile(inuseZero=true), then writeHeapProto with the heap's
    ``MemProfileRate``. The in-use values are as of the last completed
    collection; time_nanos is 0 (the model has no wall clock).
    """
    rate = heap.mprof.MemProfileRate
    elapsed = heap.clock.now - heap.clock.start
    comments = [
        f"goheap simulator, profile {heap.profile.name}, MemProfileRate={rate}, "
        f"virtual time {elapsed} ns, GC cycles {len(heap.cycles)}",
    ]
    if heap.mprof.pprof_legacy_text:
        comments.append(
            "Go 1.8's runtime/pprof wrote the legacy text form; "
            "this is the modern profile.proto of the same records"
        )
    return heap_profile(mem_profile(heap, inuse_zero=True), rate, comments)
