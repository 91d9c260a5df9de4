"""OS memory transitions with Go 1.27's accounting (``mem.go``).

What the Go code does
---------------------
Memory is Reserved, Prepared or Ready. Every transition adjusts a
``sysMemStat`` and ``gcController.mappedReady`` (the memory-limit goal's
measure of everything the runtime has in the Ready state):

* ``sysAlloc(n, stat)``: fresh Ready memory: ``stat += n``, ``mappedReady += n``;
* ``sysFree(v, n, stat)``: ``stat -= n``, ``mappedReady -= n``;
* ``sysMap(v, n, stat)``: Reserved -> Prepared: ``stat += n`` only (the heap
  maps new memory as Prepared and charges it to ``heapReleased``);
* ``sysUsed(v, n, prepared)``: Prepared -> Ready: ``mappedReady += prepared``;
* ``sysUnused(v, n)``: Ready -> Prepared (madvise): ``mappedReady -= n``.

What the model simplifies
-------------------------
Non-heap runtime memory (persistentalloc chunks, gcBits arenas, the
allspans array, page-allocator metadata) is accounted, not backed, as in
the Go 1.8 model (``goheap.runtime.common.arena.OS``, which this extends).
Heap pages are real memory (``ArenaMemory``); ``sysUnused`` of heap pages is the
caller's ``mem.release``. The model counts the ``sysUnused`` calls (one
madvise each) and the resident pages they unmap (``Releases``), which the
clock prices (``CostModel.release_ns``).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from goheap.runtime.common import arena
from goheap.runtime.common.mstats import SysStat


class _MappedReady(Protocol):
    mappedReady: int


class Releases(NamedTuple):
    """``sysUnused`` calls so far: all of them, those that unmapped a resident page,
    and the resident pages they unmapped (what the kernel's madvise works on)."""

    calls: int
    resident_calls: int
    resident_pages: int

    def since(self, before: Releases) -> Releases:
        """The calls made after ``before`` was read."""
        return Releases(
            self.calls - before.calls,
            self.resident_calls - before.resident_calls,
            self.resident_pages - before.resident_pages,
        )


class OS(arena.OS):
    """``sysAlloc``/``sysFree``/``sysMap``/``sysUsed``/``sysUnused`` with ``mappedReady``."""

    def __init__(self, phys_page_size: int, controller: _MappedReady) -> None:
        super().__init__(phys_page_size)
        self.controller = controller
        self.unusedCalls = 0
        self.unusedResidentCalls = 0
        self.unusedResidentPages = 0

    def releases(self) -> Releases:
        """The ``sysUnused`` calls made so far (the model's counts, not Go's)."""
        return Releases(self.unusedCalls, self.unusedResidentCalls, self.unusedResidentPages)

    def sysAlloc(self, n: int, stat: SysStat) -> int:
        self.controller.mappedReady += n
        return super().sysAlloc(n, stat)

    def sysFree(self, addr: int, n: int, stat: SysStat) -> None:
        self.controller.mappedReady -= n
        super().sysFree(addr, n, stat)

    def sysUsed(self, n: int, prepared: int) -> None:
        """Prepared -> Ready for ``prepared`` of the ``n`` bytes."""
        self.controller.mappedReady += prepared

    def sysUnused(self, n: int, resident: int = 0) -> None:
        """Ready -> Prepared; ``resident``: the OS pages of it that were resident."""
        self.controller.mappedReady -= n
        self.unusedCalls += 1
        if resident:
            self.unusedResidentCalls += 1
            self.unusedResidentPages += resident
