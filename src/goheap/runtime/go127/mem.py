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
caller's ``mem.release``.
"""

from __future__ import annotations

from typing import Protocol

from goheap.runtime.common import arena
from goheap.runtime.common.mstats import SysStat


class _MappedReady(Protocol):
    mappedReady: int


class OS(arena.OS):
    """``sysAlloc``/``sysFree``/``sysMap``/``sysUsed``/``sysUnused`` with ``mappedReady``."""

    def __init__(self, phys_page_size: int, controller: _MappedReady) -> None:
        super().__init__(phys_page_size)
        self.controller = controller

    def sysAlloc(self, n: int, stat: SysStat) -> int:
        self.controller.mappedReady += n
        return super().sysAlloc(n, stat)

    def sysFree(self, addr: int, n: int, stat: SysStat) -> None:
        self.controller.mappedReady -= n
        super().sysFree(addr, n, stat)

    def sysUsed(self, n: int, prepared: int) -> None:
        """Prepared -> Ready for ``prepared`` of the ``n`` bytes."""
        self.controller.mappedReady += prepared

    def sysUnused(self, n: int) -> None:
        """Ready -> Prepared."""
        self.controller.mappedReady -= n
