"""Virtual time and the cost model that advances it.

Everything Go ties to wall-clock time (``nanotime()``: a span's
``unusedsince``, the scavenger's 5-minute limit, the 2-minute forced GC,
pause lengths) reads this clock instead, so a run is the same every time.
The cost model (``CostModel``: virtual nanoseconds per unit of work, the
same for every version) advances it; a driver or a trace may advance it
explicitly. Its figures are documented estimates for a modern x86 core, not
measurements of Go; they shape times (pauses, gctrace clock/cpu,
GCCPUFraction) but no byte count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Go's nanotime() is monotonic and starts near process start; we start at a
# fixed, recognisable non-zero value so that "unusedsince == 0" keeps Go's
# meaning of "never stamped".
START_NS: Final = 1_000_000_000


class Clock:
    """A monotonic virtual nanosecond clock."""

    def __init__(self, start: int = START_NS) -> None:
        self.now: int = start
        self.start: int = start

    def nanotime(self) -> int:
        return self.now

    def advance(self, ns: int) -> None:
        if ns < 0:
            raise ValueError(f"clock cannot go backwards (advance by {ns} ns)")
        self.now += ns


@dataclass
class CostModel:
    """Virtual nanoseconds per unit of work (estimates; see the module docstring)."""

    alloc_ns: float = 20.0  # one mallocgc call (small)
    tiny_ns: float = 8.0  # a tiny allocation that fits the current block
    large_alloc_ns: float = 400.0  # a large allocation's page-heap work
    zero_ns_per_byte: float = 0.05  # memclr (~20 GB/s)
    write_ns: float = 1.0  # a pointer store by the mutator
    scan_ns_per_byte: float = 0.5  # one unit of GC scan work (a byte scanned)
    mark_ns_per_object: float = 10.0  # greyobject + queue
    sweep_ns_per_span: float = 150.0
    sweep_ns_per_object: float = 1.0
    stw_ns: float = 20_000.0  # stopping and starting the world, each STW phase
