"""Virtual time.

Everything Go ties to wall-clock time (``nanotime()``: a span's
``unusedsince``, the scavenger's 5-minute limit, the 2-minute forced GC,
pause lengths) reads this clock instead, so a run is the same every time.
The collector's cost model (a later layer) advances it; a driver or a trace
may advance it explicitly.
"""

from __future__ import annotations

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
