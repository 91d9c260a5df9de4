"""What a program does to a heap, as events an observer can follow.

``Heap.observer`` (None by default) is told of every operation that changes
what the collector will see: allocations, pointer stores, root changes,
deaths, explicit collections, settings, the program's own CPU time and the
passing of idle time. The trace recorder is one observer; anything that
wants to follow a run (a profiler, a debugger) can be another. Reads are
not events: they change nothing the collector sees.

Each method is called after the operation succeeded, with the addresses of
this run; an observer that needs run-independent names (a trace does) keeps
its own map from addresses to ids.
"""

from __future__ import annotations

from goheap.runtime.common.gotype import Type


class HeapObserver:
    """Base observer: every event is ignored. Override what you need."""

    def alloc(
        self, addr: int, size: int, typ: Type | None, p: int, stack: tuple[str, ...] | None
    ) -> None:
        """mallocgc(size, typ) on P p returned addr (typ None: no pointers)."""

    def write_pointer(self, obj: int, offset: int, target: int) -> None:
        """*(obj+offset) = target (0: nil)."""

    def push(self, g: int, addr: int) -> None:
        """Goroutine g holds addr in a new stack slot."""

    def pop(self, g: int, n: int) -> None:
        """Goroutine g dropped its top n stack slots."""

    def set_slot(self, g: int, slot: int, addr: int) -> None:
        """Goroutine g's stack slot `slot` now holds addr."""

    def set_global(self, name: str, addr: int) -> None:
        """The global pointer `name` now holds addr."""

    def drop_global(self, name: str) -> None:
        """The global `name` is gone."""

    def dead(self, addr: int) -> None:
        """The program will not use the object at addr again."""

    def set_finalizer(self, obj: int, has_finalizer: bool) -> None:
        """runtime.SetFinalizer(obj, f) with f non-nil (True) or nil (False)."""

    def add_cleanup(self, obj: int, arg: int, cid: int) -> None:
        """runtime.AddCleanup(obj, f, arg) registered the cleanup with id cid."""

    def stop_cleanup(self, cid: int) -> None:
        """Cleanup.Stop() of the cleanup with id cid."""

    def gc(self) -> None:
        """runtime.GC()."""

    def free_os_memory(self) -> None:
        """debug.FreeOSMemory()."""

    def set_gc_percent(self, gogc: int) -> None:
        """debug.SetGCPercent(gogc) (-1: off)."""

    def advance(self, ns: int) -> None:
        """ns of virtual time passed with the program idle."""

    def compute(self, ns: int) -> None:
        """The running goroutine computed for ns of its own CPU, allocating nothing."""

    def write_word(self, obj: int, offset: int, value: int) -> None:
        """*(obj+offset) = value, a 64-bit scalar store."""

    def read_memstats(self) -> None:
        """runtime.ReadMemStats(): it flushes every mcache, which later allocations see."""
