"""How programs drive the heap: roots, goroutines and their scheduling.

Roots are what the collector starts from in graph mode:

- **globals**: named pointer slots, Go's data and BSS;
- **goroutine stacks**: each goroutine has a list of pointer slots (its
  frames' live pointer variables). A program keeps an object alive across
  an allocation by holding it in a slot, as a Go function holds it in a
  stack variable: ``i = g.push(x) ... g.pop()``.

Goroutines are Python generators run round-robin, deterministically, one
at a time; each is bound to a P (``id % procs``) whose mcache its
allocations use; every ``yield`` is a preemption point.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, SupportsIndex

from goheap.errors import GoheapError
from goheap.runtime.common.wordstack import WordStack

if TYPE_CHECKING:
    from goheap.heap import Heap


def int_arg(v: object, what: str) -> int:
    """v as an int: a Python or numpy integer; anything else is a GoheapError naming what.

    The public methods take their arguments as ``object`` and convert them here,
    so that a bad argument gets goheap's one-line error in the compiled build too
    (a typed parameter of a mypyc-compiled method raises TypeError before the
    method runs).
    """
    if isinstance(v, int):
        return v
    if isinstance(v, SupportsIndex):
        return operator.index(v)
    raise GoheapError(f"{what} must be an integer, got {v!r}")


class Goroutine:
    """A goroutine: an id, the P it runs on, its stack slots and assist credit.

    The slots are words in native memory (``WordStack``): a compiled push or
    pop of an address makes no Python int. ``stack`` is a list of their
    values, bottom first, for whoever reads the roots.
    """

    def __init__(self, heap: Heap, gid: int, p: int) -> None:
        self.heap = heap
        self.id = gid
        self.p = p
        self._slots = WordStack()
        self.gcAssistBytes = 0

    @property
    def stack(self) -> list[int]:
        """The values of the stack slots, bottom first (a copy)."""
        return self._slots.tolist()

    def push(self, addr: object) -> int:
        """Hold a pointer in a new stack slot; returns the slot index."""
        a = addr if type(addr) is int else int_arg(addr, f"goroutine {self.id} push: address")
        return self._push(a)

    def _push(self, a: int) -> int:
        """push of an int: compiled callers (the workloads) pass it unboxed."""
        if not self.heap._is_root(a):
            raise GoheapError(f"goroutine {self.id} push: {a:#x} is not an allocated heap object")
        self._hold(a)
        return self._slots.n - 1

    def _hold(self, a: int) -> None:
        """push of an object the caller has just allocated (its own ``new``'s result).

        Unchecked: what the program holds came from the heap a moment ago, as a
        Go frame's variable does (the compiler, not the runtime, knows it is a
        pointer). Compiled, no lookup of its span per slot.
        """
        self._slots.push(a)
        if self.heap.observer is not None:
            self.heap.observer.push(self.id, a)

    def pop(self, n: object = 1) -> int:
        """Drop the top n slots; returns the value of the last slot dropped."""
        slots = self._slots
        if not isinstance(n, int) or n < 1 or n > slots.n:
            raise GoheapError(f"goroutine {self.id}: cannot pop {n} of {slots.n} slots")
        v = slots.get(slots.n - n)
        self._drop(n)
        return v

    def _drop(self, n: int) -> None:
        """pop of 1 <= n <= len(stack) slots, without their value: for compiled callers."""
        self._slots.drop(n)
        if self.heap.observer is not None:
            self.heap.observer.pop(self.id, n)

    def set(self, slot: object, addr: object) -> None:
        if not isinstance(slot, int) or not 0 <= slot < self._slots.n:
            raise GoheapError(f"goroutine {self.id}: no stack slot {slot}")
        a = addr if type(addr) is int else int_arg(addr, f"goroutine {self.id} set: address")
        if not self.heap._is_root(a):
            raise GoheapError(
                f"goroutine {self.id} set slot {slot}: {a:#x} is not an allocated heap object"
            )
        self._slots.set(slot, a)
        if self.heap.observer is not None:
            self.heap.observer.set_slot(self.id, slot, a)

    def get(self, slot: object) -> int:
        if not isinstance(slot, int) or not 0 <= slot < self._slots.n:
            raise GoheapError(f"goroutine {self.id}: no stack slot {slot}")
        return self._slots.get(slot)


GoroutineBody = Callable[["Heap", Goroutine], Generator[Any, None, Any]]


class Scheduler:
    """Round-robin over runnable goroutines, one step (to the next yield) each."""

    def __init__(self, heap: Heap) -> None:
        self.heap = heap
        self.runq: list[tuple[Goroutine, Iterator[Any]]] = []

    def go(self, body: GoroutineBody, g: Goroutine) -> None:
        self.runq.append((g, body(self.heap, g)))

    def run(self) -> None:
        heap = self.heap
        while self.runq:
            nxt: list[tuple[Goroutine, Iterator[Any]]] = []
            for g, it in self.runq:
                heap._switch_to(g)
                try:
                    next(it)
                except StopIteration:
                    if g.stack:  # a finished goroutine's frames are gone (observers see it)
                        g.pop(len(g.stack))
                    continue
                nxt.append((g, it))
            self.runq = nxt
        heap._switch_to(heap.main)
