"""The runtime's side of the ``Heap`` facade: what it calls on every allocation and store.

``Heap`` (goheap.heap) drives either Go version's runtime, whose parts are
different classes (Go 1.8's page heap of free lists, Go 1.27's radix-tree
page allocator, two collectors). On its hot paths it reaches them through
these base classes, which both versions' parts derive from, so that when
compiled with mypyc those are direct calls and field reads instead of
dynamic attribute lookups:

- ``ArenaHeap``: the part of ``mheap`` that finds the span of an address --
  the arena's bounds, its memory and the page -> span map (``spans``);
- ``Mallocgc``: ``mallocgc`` on the running P (Go's ``mallocgc(size, typ,
  needzero)`` takes the mcache of the running M's P itself);
- ``Collector``: the collector's per-allocation hook (``mutator_ran``: the
  virtual clock and everything that runs beside the mutator) and the running
  goroutine's assist credit.

The other way round, ``Program`` is what a runtime asks of the program it
runs (its roots and goroutines, and the heap operations the runtime's own
objects need); the facade implements it and hands itself to the runtime
when the runtime is built. ``G`` is what the collector reads of a goroutine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from goheap.runtime.common.arena import ArenaMemory
    from goheap.runtime.common.clock import CostModel
    from goheap.runtime.common.gotype import Type
    from goheap.runtime.common.mspan import MSpan

# Covariant: a version's heap (ArenaHeap[go18 MSpan, ...]) is an ArenaHeap[MSpan, ...].
S = TypeVar("S", bound="MSpan", covariant=True)
PT = TypeVar("PT", covariant=True)  # the version's P


class ArenaHeap(Generic[S, PT]):
    """The fields of every version's mheap that map an address to its span.

    ``spans[(addr - arena_start) >> 13]`` is the span holding the page of addr,
    for ``arena_start <= addr < arena_used``. ``curp`` is the P the running
    goroutine is on (Go's ``getg().m.p``): the facade's scheduler sets it.
    """

    arena_start: int
    arena_used: int
    spans: list[S | None]
    mem: ArenaMemory
    zerobase: int  # &runtime.zerobase: what every 0-byte allocation returns
    curp: PT | None


class Mallocgc:
    """``mallocgc`` as the mutator calls it: on the running P."""

    def mallocgcOnP(
        self, size: int, typ: Type | None, needzero: bool, stack: tuple[str, ...]
    ) -> int:
        """Allocate size bytes of typ (None: no pointers) from the running P's mcache."""
        raise NotImplementedError

    def isPointerSlot(self, s: MSpan, base: int, addr: int) -> bool:
        """Whether the collector, scanning the allocated object at base, reads addr as a pointer.

        The type check of every pointer store: here, where the version's heap
        bits are, so that the facade reaches it by a direct call when compiled.
        ``s`` is base's span, which the facade has just looked up.
        """
        raise NotImplementedError


class Collector:
    """What the mutator's every step tells the collector, and what reports read of it."""

    gcAssistBytes: int  # the running goroutine's assist credit (its g.gcAssistBytes)
    start_ns: int  # runtimeInitTime: gctrace's @ times count from here
    gctrace: Callable[[str], None] | None  # GODEBUG=gctrace=1: told each cycle's line
    on_sample: Callable[[str], None] | None  # a timeline sampler ("tick", "gc_start", ...)
    next_sample_ns: int  # when on_sample is next told "tick"
    # on_sample takes a fast-forward through idle cycles: told "gc_end" once
    # at its end, in place of each skipped cycle (else idle time is stepped).
    sample_jumps: bool

    cost: CostModel
    mem: ArenaMemory  # the arena: what the runtime cleared, which pages faulted in
    # The mallocgc in progress that the facade has not charged yet: its requested
    # size (-1: none), and whether it is tiny or large. ``chargeAlloc`` charges it
    # where Go spends the time. Three fields, not a tuple: no object per allocation.
    alloc_size: int
    alloc_tiny: bool
    alloc_large: bool
    # The allocation was marked black (gcmarknewobject: allocated while marking).
    alloc_black: bool
    inflight: int  # the object mallocgc is returning, live in its caller's frame
    # Go's writeBarrier.enabled: on while marking (setGCPhase: _GCmark and
    # _GCmarktermination). The facade counts the pointers the barrier shades
    # in the program's stores while it is on (ArenaMemory.barrier_old and
    # barrier_new); their time is charged with the next allocation
    # (``_memory_ns``). ``writeBarrierPointers``: all it shaded so far.
    writeBarrier: bool
    writeBarrierPointers: int
    gcphase: int  # Go's gcphase: _GCoff (0), _GCmark (1), _GCmarktermination (2)
    go18: bool  # whose figures the clock charges: CostModel's *_go18 or *_go127
    # Heap scan work each cycle adds for live objects the model does not
    # allocate: the runtime's own (Ms, Ps, Gs: the profile's figure for this
    # many Ps) and the program's (Heap.set_unmodelled_heap_scan).
    runtime_heap_scan: int
    program_heap_scan: int
    # Of each, the part Go's drain reaches before the program's own heap objects
    # (measured on each runtime: docs/model.md).
    runtime_heap_scan_first: int
    program_heap_scan_first: int
    # The program's part where a mark assist took the data root job, and what
    # its goroutines' stacks reach, which a worker that takes their root job
    # drains first (Go 1.27; Go 1.8's model does not order its roots' work).
    program_heap_scan_first_assisted: int
    program_heap_scan_stacks: int
    # The program's such objects' live bytes (Heap.set_unmodelled_heap_scan):
    # the pacer counts them in its marked and live heap, as it counts the
    # runtime's (the profile's runtime_heap_live).
    program_heap_live: int

    def set_program_heap_live(self, n: int) -> None:
        """The program holds n live bytes of objects the model does not allocate."""
        raise NotImplementedError

    def mutator_ran(self, ns: float) -> None:
        """The running goroutine used ns of CPU: advance the clock, run background work."""
        raise NotImplementedError

    def malloc_ran(self, ns: float) -> None:
        """mallocgc's own ns of CPU, charged inside it (``chargeAlloc``).

        A version that models Go's ``mp.mallocing`` (no preemption inside
        mallocgc) defers the scheduling point to ``afterMalloc``; by default
        the time is the mutator's like any other.
        """
        self.mutator_ran(ns)

    def afterMalloc(self, x: int) -> None:
        """mallocgc has returned x: what waited for it (a deferred preemption) runs now."""

    def heapInuse(self) -> int:
        """HeapInuse: how far the heap is out of cache decides the per-byte costs."""
        raise NotImplementedError

    def setGCPhase(self, x: int) -> None:
        """Go's ``setGCPhase``: the phase, and the write barrier on in every phase but
        _GCoff (``writeBarrier.enabled``: _GCmark or _GCmarktermination)."""
        self.gcphase = x
        self.writeBarrier = x != 0

    def chargeAlloc(self, preemptible: bool = False) -> None:
        """Charge the allocation in progress (``alloc_size``) to the mutator, once.

        mallocgc calls this after its assist and before its trigger test: Go
        clears a small object before testing the trigger, so the time of the
        allocation that starts a cycle precedes it, and while marking the
        assist comes first. The cost is the path's base (tiny, small, large),
        the bytes the runtime cleared for it (only memory being reused: Go
        does not clear memory fresh from the OS, ``needzero``), by how far
        the heap is out of cache, the page faults of every page written
        for the first time since the last charge (``ArenaMemory.touch``),
        the page heap's work on spans fresh from the OS, the mcache's
        refill when the allocation took a new span from its mcentral (its
        sweeping is charged apart, ``sweepCost``), the write barrier of
        the program's pointer stores since the last allocation, and, when the
        allocation was made in a mark, its marking of itself (``alloc_black``).
        It is mallocgc's own time (``malloc_ran``), unless ``preemptible``:
        Go 1.27 clears a large object after its trigger test, in chunks that
        are preemption points; that path charges its clearing after the test
        (``chargeClear``).
        """
        size = self.alloc_size
        if size < 0:
            # The runtime's own objects are not charged: nor is their marking.
            self.alloc_black = False
            return
        self.alloc_size = -1
        large = self.alloc_large
        ns = self.cost.alloc_ns(self.alloc_tiny, large, self.go18)
        if self.alloc_black:
            self.alloc_black = False
            ns += self.cost.alloc_black_ns(self.go18)
        mem = self.mem
        # _memory_ns tests these again (chargeClear calls it alone); testing them
        # here saves a call on most allocations of a fresh heap: binarytrees at
        # depth 14 ran 3 % slower on go1.27 without it (session 22).
        if (
            mem.cleared
            or mem.new_faults
            or mem.fresh_pages
            or mem.refills
            or mem.barrier_old
            or mem.barrier_new
        ):
            ns += self._memory_ns(large)
        if preemptible:
            self.mutator_ran(ns)
        else:
            self.malloc_ran(ns)

    def chargeClear(self, large: bool) -> None:
        """Charge clearing done after the allocation was charged (Go 1.27's large objects)."""
        ns = self._memory_ns(large)
        if ns:
            self.mutator_ran(ns)

    def _memory_ns(self, large: bool) -> float:
        """The clearing, faults, fresh spans, refills and write barriers counted since the
        last charge.

        Reads and resets the arena's counters in place: this runs once per
        allocation, where a tuple of them cost as much as the rest of the charge.
        """
        mem = self.mem
        cleared = mem.cleared
        faults = mem.new_faults
        pages = mem.fresh_pages
        refills = mem.refills
        shaded = mem.barrier_old + mem.barrier_new
        if not cleared and not faults and not pages and not refills and not shaded:
            return 0.0
        spans = mem.fresh_spans
        mem.cleared = 0
        mem.new_faults = 0
        mem.fresh_spans = 0
        mem.fresh_pages = 0
        mem.refills = 0
        cost = self.cost
        ns = 0.0
        if cleared:
            ns += cost.clear_ns(cleared, large, self.heapInuse())
        if faults:
            ns += cost.first_touch_ns(faults)
        if pages:
            ns += cost.fresh_span_ns(spans, pages, self.go18)
        # A refill that took a span fresh from the OS is priced whole by the
        # fresh span's figure (measured over mcentral.grow's refill path).
        if refills > spans:
            ns += cost.refill_ns(refills - spans, self.heapInuse())
        if shaded:
            self.writeBarrierPointers += shaded
            ns += cost.write_barrier_ns(mem.barrier_old, mem.barrier_new, self.go18)
            mem.barrier_old = 0
            mem.barrier_new = 0
        return ns


class G(Protocol):
    """What the collector reads and resets of a goroutine (runtime2.go ``g``)."""

    gcAssistBytes: int

    @property
    def stack(self) -> list[int]:
        """The values of the pointer slots of its stack (roots), bottom first."""
        ...


class Program(Protocol):
    """What a runtime asks of the program it runs: the ``Heap`` facade is one."""

    @property
    def goroutines(self) -> Sequence[G]:
        """Every goroutine, main first."""
        ...

    def roots(self) -> list[int]:
        """The pointers the program holds outside the heap: globals and stack slots."""
        ...

    def malloc(self, size: object, typ: object = None, *, stack: object = None) -> int:
        """Allocate as the program does (the runtime's own boxes go through here)."""
        ...

    def write_pointer(self, obj: object, offset: object, target: object) -> None:
        """Store a pointer as the program does."""
        ...

    def release_runtime_object(self, obj: int) -> None:
        """The runtime is done with one of its own objects (lifetime mode frees it)."""
        ...
