"""mspan and mSpanList (mheap.go, mbitmap.go).

An mspan is a run of ``npages`` 8 KiB pages starting at ``startAddr``. It is
always on exactly one list: a heap free list while ``state == _MSpanFree``,
an mcentral list (or, for large objects, a heap busy list) while in use,
or none (stack spans, spans being handed around).

Per-object state lives in two bitmaps, held here as Python ints (bit i is
object i): ``allocBits`` (objects allocated as of the last sweep) and
``gcmarkBits`` (objects marked by the current cycle). Allocation does *not*
set alloc bits: as in Go 1.8, ``freeindex`` says every slot below it is
taken, and ``allocCache`` caches the complement of the 64 alloc bits at the
64-aligned word containing ``freeindex``, shifted so bit 0 is ``freeindex``.
A sweep makes ``allocBits = gcmarkBits`` and starts a fresh mark bitmap.

Field names are Go's, so a reader of mheap.go finds each one here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow

if TYPE_CHECKING:
    from goheap.runtime.specials import SpecialRecord

# mSpanState
_MSpanDead: Final = 0
_MSpanInUse: Final = 1  # allocated for garbage collected heap
_MSpanStack: Final = 2  # allocated for use by the stack allocator
_MSpanFree: Final = 3

MSPAN_STATE_NAMES: Final = ("_MSpanDead", "_MSpanInUse", "_MSpanStack", "_MSpanFree")

MASK64: Final = (1 << 64) - 1

# The runtime page is 8 KiB in every Go version modelled.
_PageShift: Final = 13


def ctz64(x: int) -> int:
    """sys.Ctz64: count trailing zeros of a 64-bit value (64 for 0)."""
    if x == 0:
        return 64
    return (x & -x).bit_length() - 1


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


class MSpan:
    """mspan: a run of pages, with the allocation state of its objects."""

    __slots__ = (
        "allocBits",
        "allocCache",
        "allocCount",
        "baseMask",
        "deadBits",
        "divMul",
        "divShift",
        "divShift2",
        "elemsize",
        "freeindex",
        "gcmarkBits",
        "incache",
        "limit",
        "list",
        "needzero",
        "nelems",
        "next",
        "npages",
        "npreleased",
        "prev",
        "sizeclass",
        "specials",
        "startAddr",
        "state",
        "sweepgen",
        "unusedsince",
    )

    def __init__(self) -> None:
        # A fresh struct from fixalloc's chunk: zero everywhere (persistentalloc
        # memory is zeroed). spanalloc does not zero reused structs, so a
        # reused mspan keeps its sweepgen.
        self.next: MSpan | None = None
        self.prev: MSpan | None = None
        self.list: MSpanList | None = None
        self.startAddr = 0
        self.npages = 0
        self.freeindex = 0
        self.nelems = 0
        self.allocCache = 0
        self.allocBits = 0
        self.gcmarkBits = 0
        self.sweepgen = 0
        self.divMul = 0
        self.baseMask = 0
        self.allocCount = 0
        self.sizeclass = 0
        self.incache = False
        self.state = _MSpanDead
        self.needzero = 0
        self.divShift = 0
        self.divShift2 = 0
        self.elemsize = 0
        self.unusedsince = 0
        self.npreleased = 0
        self.limit = 0
        self.specials: SpecialRecord | None = None
        # Lifetime mode only (not a Go field): objects the driver declared dead.
        self.deadBits = 0

    def init(self, base: int, npages: int) -> None:
        """mspan.init: reset the span for a new run of pages (not zeroed)."""
        self.next = None
        self.prev = None
        self.list = None
        self.startAddr = base
        self.npages = npages
        self.allocCount = 0
        self.sizeclass = 0
        self.incache = False
        self.elemsize = 0
        self.state = _MSpanDead
        self.unusedsince = 0
        self.npreleased = 0
        self.specials = None
        self.needzero = 0
        self.freeindex = 0
        self.allocBits = 0
        self.gcmarkBits = 0
        self.deadBits = 0

    def base(self) -> int:
        return self.startAddr

    def end(self) -> int:
        """One past the last byte of the span's pages."""
        return self.startAddr + (self.npages << _PageShift)

    def layout(self) -> tuple[int, int, int]:
        """(elemsize, objects, total bytes) as mspan.layout computes them."""
        total = self.npages << _PageShift
        size = self.elemsize
        n = total // size if size > 0 else 0
        return size, n, total

    # --- allocation bits (mbitmap.go) ---

    def refillAllocCache(self, whichByte: int) -> None:
        """Load the complement of the 64 alloc bits starting at byte whichByte."""
        self.allocCache = ~(self.allocBits >> (whichByte << 3)) & MASK64

    def nextFreeIndex(self) -> int:
        """Index of the next free slot at or after freeindex, or nelems if full."""
        sfreeindex = self.freeindex
        snelems = self.nelems
        if sfreeindex == snelems:
            return sfreeindex
        if sfreeindex > snelems:
            raise RuntimeThrow("s.freeindex > s.nelems")
        aCache = self.allocCache
        bitIndex = ctz64(aCache)
        while bitIndex == 64:
            sfreeindex = (sfreeindex + 64) & ~63
            if sfreeindex >= snelems:
                self.freeindex = snelems
                return snelems
            self.refillAllocCache(sfreeindex >> 3)
            aCache = self.allocCache
            bitIndex = ctz64(aCache)
        result = sfreeindex + bitIndex
        if result >= snelems:
            self.freeindex = snelems
            return snelems
        self.allocCache >>= bitIndex + 1
        sfreeindex = result + 1
        if sfreeindex % 64 == 0 and sfreeindex != snelems:
            self.refillAllocCache(sfreeindex >> 3)
        self.freeindex = sfreeindex
        return result

    def isFree(self, index: int) -> bool:
        if index < self.freeindex:
            return False
        return (self.allocBits >> index) & 1 == 0

    def objIndex(self, p: int) -> int:
        """The object index of address p, with the span's division magic."""
        byteOffset = p - self.startAddr
        if byteOffset == 0:
            return 0
        if self.baseMask != 0:
            return byteOffset >> self.divShift
        return ((byteOffset >> self.divShift) * self.divMul) >> self.divShift2

    def countFree(self) -> int:
        """Objects whose mark bit is clear, over nelems."""
        mask = (1 << self.nelems) - 1
        return self.nelems - (self.gcmarkBits & mask).bit_count()

    def allocated_indices(self) -> list[int]:
        """Indices of allocated slots: below freeindex, or with the alloc bit set."""
        n = self.nelems
        if n == 0:
            return []
        bits = self.allocBits | ((1 << self.freeindex) - 1)
        bits &= (1 << n) - 1
        out: list[int] = []
        while bits:
            low = bits & -bits
            out.append(low.bit_length() - 1)
            bits ^= low
        return out

    def __repr__(self) -> str:
        return (
            f"<mspan {self.startAddr:#x} npages={self.npages} class={self.sizeclass} "
            f"state={MSPAN_STATE_NAMES[self.state]} allocCount={self.allocCount}/{self.nelems}>"
        )
