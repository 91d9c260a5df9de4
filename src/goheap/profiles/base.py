"""The Runtime a profile builds, and what the ``Heap`` facade asks of it.

A profile is two things:

- **data**: the constants and struct sizes of one Go version on
  linux/amd64 (``Profile`` in :mod:`goheap.runtime.common.profile` holds
  those every modelled version has; a version's package extends it), and
  the size-class table;
- **a strategy**: ``build_runtime(profile, opts, clock, cost, program)``
  (:mod:`goheap.profiles`) assembles that version's runtime the way Go's
  ``mallocinit``/``gcinit``/``procresize`` do (page heap, central lists,
  mcaches, mallocgc, statistics, the collector) and returns a ``Runtime``:
  the typed parts the facade's hot paths use, and the operations through
  which it reaches whatever differs between versions.

Code elsewhere asks the profile; it never tests a version string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from goheap.runtime.common.profile import Profile

if TYPE_CHECKING:
    from goheap.runtime.common.arena import OS
    from goheap.runtime.common.facade import ArenaHeap, Collector, Mallocgc
    from goheap.runtime.common.mfinal import Finalizers
    from goheap.runtime.common.mgc import GCCycle
    from goheap.runtime.common.mprof import MProf
    from goheap.runtime.common.mspan import MSpan
    from goheap.runtime.common.mstats import MemStats, RunningStats
    from goheap.runtime.common.proc import P


@dataclass(frozen=True)
class RuntimeOptions:
    """What a ``Heap`` was asked for, as the runtime builder receives it."""

    procs: int
    memprofilerate: int | None
    gcpercent: int  # GOGC as setGCPercent stores it: -1 means off
    liveness: str
    memlimit: int | None = None  # GOMEMLIMIT in bytes; None: no limit (math.MaxInt64)
    gctrace: Callable[[str], None] | None = None  # GODEBUG=gctrace=1: told each cycle's line
    sysmon_phase: int = 0  # ns sysmon started before the clock (runtime.common.sysmon)


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
    """One Go runtime, built whole by its profile: its parts and its operations.

    The parts are typed by what every version's have in common (a version's
    runtime declares them with its own classes: ``go18``'s ``mheap`` is a
    ``goheap.runtime.go18.mheap.MHeap``, with ``free[]`` and ``busy[]``).
    The constructor builds them all and links them; nothing is attached
    afterwards. Subclasses implement every method; the defaults say what is
    not modelled.
    """

    profile: Profile
    stats: RunningStats  # memstats: the version's MStats
    os: OS  # the OS interface every mapping is charged through
    mheap: ArenaHeap[MSpan, P[Any]]  # mheap_
    malloc_: Mallocgc  # mallocgc
    gc_: Collector  # the collector (gcController, work, the cycle)
    mprof: MProf  # the heap profile (mbuckets) and its sampler
    finalizers: Finalizers  # finq and the finalizer goroutine
    allp: Sequence[P[Any]]  # the Ps, each with its mcache

    #: Largest request that still takes the small-object path (cost model only).
    max_small_request: int = 0

    def cycles(self) -> Sequence[GCCycle]:
        """Every completed or running collection, in order (the collector's own list)."""
        raise NotImplementedError

    def read_memstats(self) -> MemStats:
        """runtime.ReadMemStats (flushes every mcache, as Go does)."""
        raise NotImplementedError

    def snapshot(self) -> HeapSnapshot:
        """The headline figures now: cheap enough to call at every timeline tick."""
        raise NotImplementedError

    def peaks(self) -> dict[str, int]:
        """The running maxima of HeapAlloc, HeapInuse and HeapSys since the start."""
        st = self.stats
        return {
            "HeapAlloc": st.peak_heap_alloc,
            "HeapInuse": st.peak_heap_inuse,
            "HeapSys": st.peak_heap_sys,
        }

    def free_page_runs(self) -> list[tuple[int, int, bool]]:
        """Free pages of the heap as (first page, pages, released), in address order."""
        raise NotImplementedError

    def releases(self) -> dict[str, int] | None:
        """What returning memory to the OS cost so far: sysUnused calls, the resident
        pages they unmapped, the time charged for them and the program's time lost to
        their TLB shootdowns. None where the profile does not price releases."""
        return None

    def objects_per_span(self, sizeclass: int, noscan: bool) -> int:
        """Objects in one span of a small size class (scan or noscan)."""
        return self.profile.sizeclasses.nelems(sizeclass)

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

    def inuse_spans(self) -> Sequence[MSpan]:
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

        name = self.profile.name
        raise GoheapError(f"runtime.AddCleanup is not modelled for profile {name} (Go 1.24+)")

    def stop_cleanup(self, cid: int) -> None:
        """Cleanup.Stop of the cleanup with id cid (Go 1.24+)."""
        from goheap.errors import GoheapError

        name = self.profile.name
        raise GoheapError(f"Cleanup.Stop is not modelled for profile {name} (Go 1.24+)")

    def with_premain_pages(self) -> None:
        """Take the pages the runtime itself holds at ``main`` (the go1.8 profile)."""
        from goheap.errors import GoheapError

        name = self.profile.name
        raise GoheapError(f"pre-main pages are not modelled for profile {name}")

    def hold_premain_pages(self, heap_bytes: int, stack_bytes: int = 0) -> None:
        """Take pages a program holds that the model does not otherwise allocate.

        heap_bytes of heap spans whose objects the model does not make and
        stack_bytes of goroutine stacks, before the program's first allocation
        (the go1.8 profile: its runtime's own, and a test harness's).
        """
        from goheap.errors import GoheapError

        name = self.profile.name
        raise GoheapError(f"pre-main pages are not modelled for profile {name}")

    def advance(self, ns: int) -> None:
        """Let ns of virtual time pass with the mutator idle."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the address-space reservations."""
        raise NotImplementedError


__all__ = ["HeapSnapshot", "Profile", "Runtime", "RuntimeOptions"]
