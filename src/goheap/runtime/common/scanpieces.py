"""Where a cycle's large objects lie in its heap scan work: drains end between objects.

``gcDrainN`` (a mark assist) and ``gcDrain`` (a mark worker) test their
goal -- the assist's scan work, the worker's share poll every 100,000
units, a preemption request -- only between objects: an object a drain
has started it scans to its end, and an object larger than 128 KiB is
scanned as 128 KiB oblets, each whole (``scanobject``, Go 1.8 and Go
1.27 alike). The clock pays mark work in units of scan work, so without
this an assist of 64 KiB could stop in the middle of an 80 KB array of
pointers, leaving the mark a remainder Go never leaves.

The mark snapshot records the objects (and oblets) of at least
``PIECE_MIN`` bytes of scan work at their place in the cycle's heap
scan work, in the order the snapshot scanned them; ``round_up`` moves a
drain's end out of such an object to the object's end. Smaller objects
are not recorded: their remainder (under 4 KiB) is below the precision
of the assists' and workers' goals (``gcCreditSlack`` is 2,000 units).
Simplification: the order is the snapshot's, not the runtime's work
queues'. The heap scan work of objects the model does not allocate (the
runtime's own, ``runtime_heap_scan``, and a harness's,
``Heap.set_unmodelled_heap_scan``) counts as small objects: the part Go
drains before the program's objects comes first (``shift``: the recorded
objects move back by it), the rest after them.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

#: Objects (oblets) with at least this much scan work are recorded.
PIECE_MIN: Final = 4096
#: scanobject's oblet: a larger object is scanned 128 KiB at a time (Go 1.8, 1.27).
maxObletBytes: Final = 128 << 10
#: gcWork.balance (mgcwork.go) moves work to the global queue, where other Ps'
#: workers find it, only from a cache holding more than this many objects.
balanceMin: Final = 4


def oblets_handed_off(elemsize: int) -> bool:
    """Whether a large object's queued oblets reach the global queue: more than
    balanceMin wait behind the first, so gcWork.balance hands them off."""
    return elemsize > (balanceMin + 1) * maxObletBytes


class ScanPieces:
    """The large objects' [start, end) in a cycle's heap scan work, in scan order."""

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, end: int, size: int) -> None:
        """An object of size (at least PIECE_MIN) units of scan work ended at end
        (units scanned so far); the markers test the size, on their hot path."""
        self.starts.append(end - size)
        self.ends.append(end)

    def shift(self, units: int) -> None:
        """units of other scan work come before every recorded object."""
        if not units:
            return
        self.starts = [s + units for s in self.starts]
        self.ends = [e + units for e in self.ends]

    def shift_from(self, pos: int, units: int) -> None:
        """units of other scan work come at pos: the objects from there on move back."""
        i = bisect_left(self.starts, pos)
        self.starts[i:] = [s + units for s in self.starts[i:]]
        self.ends[i:] = [e + units for e in self.ends[i:]]

    def round_up(self, pos: float) -> float:
        """pos, or the end of the recorded object that pos falls inside."""
        i = bisect_left(self.starts, pos) - 1  # the last object starting before pos
        if i >= 0 and pos < self.ends[i]:
            return float(self.ends[i])
        return pos
