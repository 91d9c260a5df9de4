"""What code shared by every version's runtime asks of its page heap.

Specials (``addspecial``/``removespecial``), sweeping an object's specials,
the finalizer queue and the heap profiler's buckets work the same in Go 1.8
and Go 1.27 and live in ``runtime/common``. The two heaps are different
classes (a page heap of free lists against a radix-tree page allocator), so
that code is typed against ``HeapView``: the members both heaps have, named
as in Go. ``S`` is the version's ``mspan`` class.

Compiled with mypyc, a ``HeapView`` is reached through ordinary attribute
lookups (a protocol is not a native class); these are the cold paths
(finalizers, profile samples, specials), never the per-allocation ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from goheap.runtime.common.arena import OS
    from goheap.runtime.common.mfixalloc import FixAlloc, PersistentAlloc, PersistentAllocator
    from goheap.runtime.common.mspan import MSpan
    from goheap.runtime.common.mstats import SysStat
    from goheap.runtime.common.profile import Profile
    from goheap.runtime.common.specials import SpecialRecord

S = TypeVar("S", bound="MSpan")


class StatsView(Protocol):
    """The ``*_sys`` counters shared code charges (Go 1.27: ``gc_sys`` is gcMiscSys)."""

    @property
    def gc_sys(self) -> SysStat: ...

    @property
    def buckhash_sys(self) -> SysStat: ...


class HeapView(Protocol[S]):
    """The page-heap members that the shared specials, finalizer and profiler code reads."""

    @property
    def profile(self) -> Profile: ...

    @property
    def stats(self) -> StatsView: ...

    @property
    def os(self) -> OS: ...

    @property
    def palloc(self) -> PersistentAllocator: ...

    @property
    def specialfinalizeralloc(self) -> FixAlloc[SpecialRecord]: ...

    @property
    def specialprofilealloc(self) -> FixAlloc[SpecialRecord]: ...

    def _persistent(self) -> PersistentAlloc:
        """The running P's persistentalloc chunk (the global one off a P)."""
        ...

    def lookupMaybe(self, v: int) -> S | None:
        """The in-use span holding v, or None."""
        ...

    def ensureSwept(self, s: S) -> None:
        """Sweep s now if this cycle has not swept it yet."""
        ...

    def freespecial(self, s: SpecialRecord, p: int, size: int) -> None:
        """Dispose of a special of a dead object (queue its finalizer, free its sample)."""
        ...
