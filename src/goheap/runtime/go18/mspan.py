"""mspan and mSpanList of Go 1.8 (mheap.go, mbitmap.go).

An mspan is a run of ``npages`` 8 KiB pages starting at ``startAddr``. It is
always on exactly one list: a heap free list while ``state == MSpanFree``,
an mcentral list (or, for large objects, a heap busy list) while in use,
or none (stack spans, spans being handed around).

The fields and bit methods both versions have are in
:mod:`goheap.runtime.common.mspan`; here are Go 1.8's own: the list links,
the span states, ``incache``, ``unusedsince``/``npreleased`` (the
scavenger's) and the shift-and-multiply division magic. Field names are
Go's, so a reader of mheap.go finds each one here.
"""

from __future__ import annotations

from typing import Final

from goheap.errors import RuntimeThrow
from goheap.runtime.common import mspan

# mSpanState
MSpanDead: Final = 0
MSpanInUse: Final = 1  # allocated for garbage collected heap
MSpanStack: Final = 2  # allocated for use by the stack allocator
MSpanFree: Final = 3

MSPAN_STATE_NAMES: Final = ("_MSpanDead", "_MSpanInUse", "_MSpanStack", "_MSpanFree")


class MSpanList:
    """mSpanList: a doubly linked list of spans (first/last), named for check()."""

    __slots__ = ("first", "last", "name")

    def __init__(self, name: str) -> None:
        self.first: MSpan | None = None
        self.last: MSpan | None = None
        self.name = name

    def insert(self, span: MSpan) -> None:
        """Insert at the front (free lists are LIFO)."""
        if span.next is not None or span.prev is not None or span.list is not None:
            raise RuntimeThrow(f"MSpanList_Insert: span {span.startAddr:#x} already on {span.list}")
        span.next = self.first
        if self.first is not None:
            self.first.prev = span
        else:
            self.last = span
        self.first = span
        span.list = self

    def insertBack(self, span: MSpan) -> None:
        if span.next is not None or span.prev is not None or span.list is not None:
            raise RuntimeThrow(
                f"MSpanList_InsertBack: span {span.startAddr:#x} already on {span.list}"
            )
        span.prev = self.last
        if self.last is not None:
            self.last.next = span
        else:
            self.first = span
        self.last = span
        span.list = self

    def remove(self, span: MSpan) -> None:
        if span.list is not self:
            raise RuntimeThrow(
                f"MSpanList_Remove: span {span.startAddr:#x} is on {span.list}, not {self.name}"
            )
        if self.first is span:
            self.first = span.next
        else:
            assert span.prev is not None
            span.prev.next = span.next
        if self.last is span:
            self.last = span.prev
        else:
            assert span.next is not None
            span.next.prev = span.prev
        span.next = None
        span.prev = None
        span.list = None

    def spans(self) -> list[MSpan]:
        """The spans on the list, front to back (for inspection and check())."""
        out: list[MSpan] = []
        s = self.first
        while s is not None:
            out.append(s)
            s = s.next
        return out

    def __len__(self) -> int:
        n = 0
        s = self.first
        while s is not None:
            n += 1
            s = s.next
        return n

    def __repr__(self) -> str:
        return self.name


class MSpan(mspan.MSpan):
    """mspan of Go 1.8: the shared fields plus its list links, states and division magic."""

    __slots__ = (
        "baseMask",
        "divShift",
        "divShift2",
        "incache",
        "list",
        "next",
        "npreleased",
        "prev",
        "unusedsince",
    )

    def __init__(self) -> None:
        super().__init__()
        self.next: MSpan | None = None
        self.prev: MSpan | None = None
        self.list: MSpanList | None = None
        self.baseMask = 0
        self.incache = False
        self.state = MSpanDead
        self.divShift = 0
        self.divShift2 = 0
        self.unusedsince = 0
        self.npreleased = 0

    def init(self, base: int, npages: int) -> None:
        """mspan.init: reset the span for a new run of pages (not zeroed)."""
        super().init(base, npages)
        self.next = None
        self.prev = None
        self.list = None
        self.incache = False
        self.state = MSpanDead
        self.unusedsince = 0
        self.npreleased = 0

    def inUse(self) -> bool:
        return self.state == MSpanInUse

    def objIndex(self, p: int) -> int:
        """The object index of address p, with the span's division magic."""
        byteOffset = p - self.startAddr
        if byteOffset == 0:
            return 0
        if self.baseMask != 0:
            return byteOffset >> self.divShift
        return ((byteOffset >> self.divShift) * self.divMul) >> self.divShift2

    def __repr__(self) -> str:
        return (
            f"<mspan {self.startAddr:#x} npages={self.npages} class={self.sizeclass} "
            f"state={MSPAN_STATE_NAMES[self.state]} allocCount={self.allocCount}/{self.nelems}>"
        )
