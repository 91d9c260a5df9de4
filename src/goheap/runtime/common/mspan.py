"""What every version's mspan has (mheap.go, mbitmap.go).

An mspan is a run of ``npages`` 8 KiB pages starting at ``startAddr``.
Per-object state lives in two bitmaps, held here as Python ints (bit i is
object i): ``allocBits`` (objects allocated as of the last sweep) and
``gcmarkBits`` (objects marked by the current cycle). Allocation does *not*
set alloc bits: ``freeindex`` says every slot below it is taken, and
``allocCache`` caches the complement of the 64 alloc bits at the 64-aligned
word containing ``freeindex``, shifted so bit 0 is ``freeindex``. A sweep
makes ``allocBits = gcmarkBits`` and starts a fresh mark bitmap. This
machinery is unchanged from Go 1.8 to Go 1.27.

``MSpan`` here holds only the fields both versions have; each version's
package subclasses it with its own fields, span states and ``objIndex``
(the division magic differs). Field names are Go's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.common.wordmem import bit, ctz64

if TYPE_CHECKING:
    from goheap.runtime.common.specials import SpecialRecord

MASK64: Final = (1 << 64) - 1

# The runtime page is 8 KiB in every Go version modelled.
_PageShift: Final = 13


class MSpan:
    """The mspan fields and allocation-bit methods of every version."""

    __slots__ = (
        "allocBits",
        "allocCache",
        "allocCount",
        "deadBits",
        "divMul",
        "elemsize",
        "freeindex",
        "gcmarkBits",
        "limit",
        "needzero",
        "nelems",
        "npages",
        "sizeclass",
        "specials",
        "startAddr",
        "state",
        "sweepgen",
    )

    def __init__(self) -> None:
        # A fresh struct from fixalloc's chunk: zero everywhere (persistentalloc
        # memory is zeroed). spanalloc does not zero reused structs, so a
        # reused mspan keeps its sweepgen. State 0 is mSpanDead in every version.
        self.startAddr = 0
        self.npages = 0
        self.freeindex = 0
        self.nelems = 0
        self.allocCache = 0
        self.allocBits = 0
        self.gcmarkBits = 0
        self.sweepgen = 0
        self.divMul = 0
        self.allocCount = 0
        self.sizeclass = 0
        self.state = 0
        self.needzero = 0
        self.elemsize = 0
        self.limit = 0
        self.specials: SpecialRecord | None = None
        # Lifetime mode only (not a Go field): objects the driver declared dead.
        self.deadBits = 0

    def init(self, base: int, npages: int) -> None:
        """mspan.init's resets of the shared fields (the version sets its state)."""
        self.startAddr = base
        self.npages = npages
        self.allocCount = 0
        self.sizeclass = 0
        self.elemsize = 0
        self.specials = None
        self.needzero = 0
        self.freeindex = 0
        self.allocBits = 0
        self.gcmarkBits = 0
        self.deadBits = 0

    def inUse(self) -> bool:
        """Does the span hold heap objects (state mSpanInUse)?"""
        raise NotImplementedError

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
        if sfreeindex & 63 == 0 and sfreeindex != snelems:  # sfreeindex%64 == 0
            self.refillAllocCache(sfreeindex >> 3)
        self.freeindex = sfreeindex
        return result

    def isFree(self, index: int) -> bool:
        if index < self.freeindex:
            return False
        return bit(self.allocBits, index) == 0

    def objIndex(self, p: int) -> int:
        """The object index of address p (each version's division)."""
        raise NotImplementedError

    def countFree(self) -> int:
        """Objects whose mark bit is clear, over nelems."""
        mask = (1 << self.nelems) - 1
        return self.nelems - (self.gcmarkBits & mask).bit_count()

    def allocated_indices(self) -> list[int]:
        """Indices of allocated slots: below freeindex, or with the alloc bit set."""
        n = self.nelems
        free = min(self.freeindex, n)
        out = list(range(free))
        if free < n:
            # The alloc bits a byte at a time: the set bits peeled off small ints, where
            # peeling them off a 512-bit allocBits made three new ints per slot.
            bits = self.allocBits
            nbytes = (n + 7) >> 3
            b = bits.to_bytes(max(nbytes, (bits.bit_length() + 7) >> 3), "little")
            for j in range(free >> 3, nbytes):
                v = b[j]
                while v:
                    low = v & -v
                    i = (j << 3) + low.bit_length() - 1
                    if free <= i < n:
                        out.append(i)
                    v ^= low
        return out
