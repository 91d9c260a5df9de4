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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from goheap.runtime.common.arena import ArenaMemory
    from goheap.runtime.common.gotype import Type
    from goheap.runtime.common.mspan import MSpan

S = TypeVar("S", bound="MSpan")


class ArenaHeap(Generic[S]):
    """The fields of every version's mheap that map an address to its span.

    ``spans[(addr - arena_start) >> 13]`` is the span holding the page of addr,
    for ``arena_start <= addr < arena_used``.
    """

    arena_start: int
    arena_used: int
    spans: list[S | None]
    mem: ArenaMemory
    zerobase: int  # &runtime.zerobase: what every 0-byte allocation returns


class Mallocgc:
    """``mallocgc`` as the mutator calls it: on the running P."""

    def mallocgcOnP(
        self, size: int, typ: Type | None, needzero: bool, stack: tuple[str, ...]
    ) -> int:
        """Allocate size bytes of typ (None: no pointers) from the running P's mcache."""
        raise NotImplementedError


class Collector:
    """What the mutator's every step tells the collector."""

    gcAssistBytes: int  # the running goroutine's assist credit (its g.gcAssistBytes)

    def mutator_ran(self, ns: float) -> None:
        """The running goroutine used ns of CPU: advance the clock, run background work."""
        raise NotImplementedError
