"""Sweeper state of Go 1.27 (``mgcsweep.go``), as far as allocation touches it.

What the Go code does
---------------------
* ``sweep.active`` (``activeSweep``) counts sweepers in progress in the low
  bits of ``state`` and sets ``sweepDrainedMask = 1<<31`` once the unswept
  span sets are empty. ``begin`` fails once drained; ``isDone`` is
  ``state == sweepDrainedMask`` (drained, nobody sweeping). ``gcinit``
  starts it drained: there is nothing to sweep before the first cycle.
  ``gcSweep`` (mark termination) ``reset``s it to 0.
* ``mheap.alloc`` reclaims pages before every heap span allocation while
  sweeping is not done; ``mcentral.cacheSpan`` sweeps unswept spans of its
  class when ``begin`` succeeds; ``deductSweepCredit`` (proportional
  sweep) returns at once while ``sweepPagesPerByte == 0``, which it is
  until the pacer first paces the sweeper at the end of a cycle.

What the model simplifies
-------------------------
This module holds the state allocation reads. The sweeping itself
(``sweepone``, ``mspan.sweep``, ``reclaim``) belongs to the collector,
which is not modelled for go1.27 yet: with the world never collected,
``begin`` always fails, sweeping is always done, and the sweep entry points
raise if they are ever reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mspan import MSpan

sweepDrainedMask: Final = 1 << 31


class ActiveSweep:
    """``activeSweep``: sweepers in progress plus the drained bit."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = sweepDrainedMask  # gcinit: no sweep in the first cycle

    def begin(self) -> bool:
        """Register a sweeper; False (no sweeping allowed) once drained."""
        if self.state & sweepDrainedMask:
            return False
        self.state += 1
        return True

    def end(self) -> None:
        """A sweeper that ``begin`` admitted is done."""
        if (self.state & ~sweepDrainedMask) == 0:
            raise RuntimeThrow("mismatched begin/end of activeSweep")
        self.state -= 1

    def markDrained(self) -> bool:
        """Set the drained bit; False if it was already set."""
        if self.state & sweepDrainedMask:
            return False
        self.state |= sweepDrainedMask
        return True

    def sweepers(self) -> int:
        return self.state & ~sweepDrainedMask

    def isDone(self) -> bool:
        return self.state == sweepDrainedMask

    def reset(self) -> None:
        self.state = 0


class SweepData:
    """``sweep`` (``sweepdata``): the sweeper's global state."""

    def __init__(self) -> None:
        self.active = ActiveSweep()
        self.centralIndex = 0  # sweepClass cursor for sweepone


def deductSweepCredit(h: MHeap, spanBytes: int, callerSweepPages: int) -> None:
    """Proportional sweep before allocating ``spanBytes``: nothing to do until paced."""
    if h.sweepPagesPerByte == 0:
        return
    raise RuntimeThrow("go1.27: proportional sweeping needs the collector (not modelled yet)")


def sweepSpan(h: MHeap, s: MSpan, preserve: bool) -> bool:
    """``sweepLocked.sweep``: only reachable once a cycle has run."""
    raise RuntimeThrow(f"go1.27: sweeping {s!r} needs the collector (not modelled yet)")
