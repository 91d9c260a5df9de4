"""The Profile record and the runtime strategy it supplies.

A profile is two things:

- **data**: the constants and struct sizes of one Go version on
  linux/amd64 (``Profile`` holds those every modelled version has; a
  version's subclass adds its own), and the size-class table;
- **a strategy**: ``build_runtime(heap, opts)`` assembles that version's
  runtime (page heap, central lists, mcaches, mallocgc, statistics, the
  collector, the heap checker) and returns a ``Runtime`` through which the
  ``Heap`` facade reaches whatever differs between versions.

Code elsewhere asks the profile; it never tests a version string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from goheap.sizeclasses import SizeClasses, for_profile

if TYPE_CHECKING:
    from goheap.heap import Heap
    from goheap.runtime.common.mspan import MSpan
    from goheap.runtime.common.mstats import MemStats


@dataclass(frozen=True)
class RuntimeOptions:
    """What a ``Heap`` was asked for, as the runtime builder receives it."""

    procs: int
    memprofilerate: int | None
    gcpercent: int  # GOGC as setGCPercent stores it: -1 means off
    liveness: str
    memlimit: int | None = None  # GOMEMLIMIT in bytes; None: no limit (math.MaxInt64)


@dataclass(frozen=True)
class HeapSnapshot:
    """The heap's headline figures now, from running counters (no span walk).

    ``heap_alloc`` is what ReadMemStats would call HeapAlloc at this instant
    (allocated slots, a tiny block counting whole).
    """

    heap_alloc: int
    heap_inuse: int
    heap_sys: int
    heap_released: int
    next_gc: int
    numgc: int


class Runtime:
    """The operations of one built runtime that the ``Heap`` facade delegates.

    ``build_runtime`` also attaches the runtime's components to the heap
    (``heap.mheap``, ``heap.malloc_``, ``heap.gc_``, ``heap.stats``,
    ``heap.allp``, ...), which the hot paths use directly. Subclasses
    implement every method; the defaults say what is not modelled.
    """

    #: Largest request that still takes the small-object path (cost model only).
    max_small_request: int = 0

    def read_memstats(self) -> MemStats:
        """runtime.ReadMemStats (flushes every mcache, as Go does)."""
        raise NotImplementedError

    def snapshot(self) -> HeapSnapshot:
        """The headline figures now: cheap enough to call at every timeline tick."""
        raise NotImplementedError

    def peaks(self) -> dict[str, int]:
        """The running maxima of HeapAlloc, HeapInuse and HeapSys since the start."""
        st = self.heap.stats  # type: ignore[attr-defined]
        return {
            "HeapAlloc": st.peak_heap_alloc,
            "HeapInuse": st.peak_heap_inuse,
            "HeapSys": st.peak_heap_sys,
        }

    def free_page_runs(self) -> list[tuple[int, int, bool]]:
        """Free pages of the heap as (first page, pages, released), in address order."""
        raise NotImplementedError

    def objects_per_span(self, sizeclass: int, noscan: bool) -> int:
        """Objects in one span of a small size class (scan or noscan)."""
        return self.heap.profile.sizeclasses.nelems(sizeclass)  # type: ignore[attr-defined]

    def object_pointers(self, base: int, size: int) -> list[int]:
        """The non-nil pointer values the collector would find scanning the object at base."""
        raise NotImplementedError

    def memstats(self) -> MemStats:
        """The same figures without flushing the mcaches."""
        raise NotImplementedError

    def read_metrics(self) -> dict[str, Any]:
        """runtime/metrics.Read of every supported metric (no flush, no stop-the-world)."""
        raise NotImplementedError

    def check(self) -> None:
        """Every heap invariant; raises HeapCheckError naming the first broken one."""
        raise NotImplementedError

    def inuse_spans(self) -> list[MSpan]:
        """The spans holding heap objects now."""
        raise NotImplementedError

    def gc(self) -> None:
        """runtime.GC()."""
        raise NotImplementedError

    def free_os_memory(self) -> int:
        """debug.FreeOSMemory(): bytes released."""
        raise NotImplementedError

    def set_gc_percent(self, value: int) -> int:
        """debug.SetGCPercent(value): the old value."""
        raise NotImplementedError

    def set_memory_limit(self, limit: int) -> int:
        """debug.SetMemoryLimit(limit): the old limit (a negative limit only reads it)."""
        raise NotImplementedError

    def set_finalizer(self, obj: int, fn: Callable[[int], object] | None) -> None:
        """runtime.SetFinalizer(obj, fn)."""
        raise NotImplementedError

    def add_cleanup(self, obj: int, fn: Callable[[int], None], arg: int) -> int:
        """runtime.AddCleanup(obj, fn, arg) (Go 1.24+): the cleanup's id."""
        from goheap.errors import GoheapError

        name = getattr(getattr(self, "profile", None), "name", "?")
        raise GoheapError(f"runtime.AddCleanup is not modelled for profile {name} (Go 1.24+)")

    def stop_cleanup(self, cid: int) -> None:
        """Cleanup.Stop of the cleanup with id cid (Go 1.24+)."""
        from goheap.errors import GoheapError

        name = getattr(getattr(self, "profile", None), "name", "?")
        raise GoheapError(f"Cleanup.Stop is not modelled for profile {name} (Go 1.24+)")

    def advance(self, ns: int) -> None:
        """Let ns of virtual time pass with the mutator idle."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the address-space reservations."""
        raise NotImplementedError


@dataclass(frozen=True)
class Profile:
    """Constants and struct sizes every modelled Go version has (linux/amd64).

    Names follow the Go runtime (``_PageShift``, ``_FixAllocChunk``, ...),
    spelled in Python style where the Go name has a leading underscore.
    """

    # Whether this version has GOMEMLIMIT (Go 1.19+); without it a limit is recorded only.
    has_memory_limit: ClassVar[bool] = False

    name: str
    # malloc.go
    page_shift: int
    max_small_size: int
    tiny_size: int
    tiny_size_class: int
    arena_hint: int  # first address mallocinit asks to reserve
    phys_page_size: int
    # mfixalloc.go / malloc.go persistentalloc
    fixalloc_chunk: int
    persistent_chunk: int
    persistent_max_block: int
    cache_line_size: int
    # unsafe.Sizeof of runtime structs (linux/amd64)
    sizeof_mspan: int
    sizeof_mcache: int
    sizeof_specialfinalizer: int
    sizeof_specialprofile: int
    # mheap.go gcBits arenas
    gc_bits_chunk_bytes: int
    gc_bits_header_bytes: int
    # mgcsweepbuf.go (Go 1.8) / mspanset.go (modern): entries per block, first spine
    sweep_block_entries: int
    sweep_spine_init_cap: int
    # mprof.go
    mem_profile_rate: int
    buck_hash_size: int
    sizeof_bucket_header: int
    sizeof_memrecord: int
    max_stack: int
    # MemStats.BySize length (61 rows in every version so far)
    memstats_by_size_len: int

    @cached_property
    def sizeclasses(self) -> SizeClasses:
        return for_profile(self.name)

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    def build_runtime(self, heap: Heap, opts: RuntimeOptions) -> Runtime:
        """Assemble this version's runtime on ``heap`` (the strategy; see the module doc)."""
        raise NotImplementedError(f"profile {self.name} has no runtime")
