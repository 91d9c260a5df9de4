"""Heap figures sampled over virtual time, in bounded memory.

A ``Timeline`` rides on the collector: a sample at every GC start and end,
and a ``tick`` each time the virtual clock passes the next sampling
instant (checked by sysmon, which runs after every stretch of mutator
time). When ``limit`` samples are held, the tick interval doubles and every
other tick is dropped, so a run of any length keeps at most about
``limit`` ticks plus its GC samples (which are thinned the same way once
they alone pass the limit). An idle fast-forward
(``goheap.profiles.fastforward``) is one ``gc_end`` sample at its end.

The figures are the runtime's own running counters (``Runtime.snapshot``,
no span walk), so a sample is cheap: HeapAlloc is what ReadMemStats would
report at that instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from goheap.interrupts import safe_point

if TYPE_CHECKING:
    from goheap.heap import Heap

DEFAULT_INTERVAL_NS = 100_000  # 100 µs of virtual time between ticks at first
DEFAULT_LIMIT = 2000


class Timeline:
    """Samples of HeapAlloc, HeapInuse, HeapSys, HeapReleased, NextGC, NumGC."""

    def __init__(
        self, heap: Heap, interval_ns: int = DEFAULT_INTERVAL_NS, limit: int = DEFAULT_LIMIT
    ) -> None:
        self.heap = heap
        self.interval_ns = interval_ns
        self.limit = limit
        self.samples: list[tuple[int, str, int, int, int, int, int, int]] = []
        self.ticks = 0
        gc = heap.gc_
        self.t0 = gc.start_ns  # times are relative to the program's start
        gc.next_sample_ns = heap.clock.now + interval_ns
        gc.on_sample = self.sample
        gc.sample_jumps = True  # an idle fast-forward is one gc_end sample
        self.sample("start")

    def sample(self, event: str = "tick") -> None:
        """Record the heap now; ``event`` is start, tick, gc_start, gc_end or end."""
        safe_point()  # an interrupt deferred while the simulation ran acts here
        h = self.heap
        s = h.runtime.snapshot()
        now = h.clock.now
        self.samples.append(
            (
                now - self.t0,
                event,
                s.heap_alloc,
                s.heap_inuse,
                s.heap_sys,
                s.heap_released,
                s.next_gc,
                s.numgc,
            )
        )
        if event == "tick":
            self.ticks += 1
            h.gc_.next_sample_ns = now + self.interval_ns
            if self.ticks > self.limit:
                self._thin()

    def _thin(self) -> None:
        """Double the interval; keep every other tick (and GC samples, unless too many)."""
        self.interval_ns *= 2
        kept: list[tuple[int, str, int, int, int, int, int, int]] = []
        gc_samples = sum(1 for s in self.samples if s[1] != "tick")
        thin_gc = gc_samples > self.limit
        for nth, s in enumerate(self.samples):
            if (s[1] != "tick" and not thin_gc) or nth % 2 == 0:
                kept.append(s)
        self.samples = kept
        self.ticks = sum(1 for s in kept if s[1] == "tick")

    def to_list(self) -> list[dict[str, Any]]:
        keys = ("t_ns", "event", "HeapAlloc", "HeapInuse", "HeapSys", "HeapReleased")
        return [
            {**dict(zip(keys, s[:6], strict=True)), "NextGC": s[6], "NumGC": s[7]}
            for s in self.samples
        ]

    def detach(self) -> None:
        self.heap.gc_.on_sample = None
        self.heap.gc_.sample_jumps = False
