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

from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

from goheap.errors import GoheapError

if TYPE_CHECKING:
    from goheap.heap import Heap


class Goroutine:
    """A goroutine: an id, the P it runs on, its stack slots and assist credit."""

    def __init__(self, heap: Heap, gid: int, p: int) -> None:
        self.heap = heap
        self.id = gid
        self.p = p
        self.stack: list[int] = []
        self.gcAssistBytes = 0

    def push(self, addr: int) -> int:
        """Hold a pointer in a new stack slot; returns the slot index."""
        self.heap._check_root(addr, f"goroutine {self.id} push")
        self.stack.append(addr)
        if self.heap.observer is not None:
            self.heap.observer.push(self.id, addr)
        return len(self.stack) - 1

    def pop(self, n: int = 1) -> int:
        """Drop the top n slots; returns the value of the last slot dropped."""
        if n < 1 or n > len(self.stack):
            raise GoheapError(f"goroutine {self.id}: cannot pop {n} of {len(self.stack)} slots")
        v = self.stack[-n]
        del self.stack[-n:]
        if self.heap.observer is not None:
            self.heap.observer.pop(self.id, n)
        return v

    def set(self, slot: int, addr: int) -> None:
        if not 0 <= slot < len(self.stack):
            raise GoheapError(f"goroutine {self.id}: no stack slot {slot}")
        self.heap._check_root(addr, f"goroutine {self.id} set slot {slot}")
        self.stack[slot] = addr
        if self.heap.observer is not None:
            self.heap.observer.set_slot(self.id, slot, addr)

    def get(self, slot: int) -> int:
        if not 0 <= slot < len(self.stack):
            raise GoheapError(f"goroutine {self.id}: no stack slot {slot}")
        return self.stack[slot]


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
