"""Address ranges (Go 1.27 ``runtime/mranges.go``): ``addrRange``, ``addrRanges``, ``offAddr``.

What the Go code does
---------------------
The page allocator and the scavenger reason about *ranges of address
space*.  ``addrRange`` is a half-open interval ``[base, limit)``; ``addrRanges``
is a sorted, eagerly coalesced list of non-overlapping ranges (the page
allocator's ``inUse``: every range ever passed to ``pageAlloc.grow``).
Adding a range merges it with a neighbour it touches on either side;
``findSucc`` is a binary-then-linear search for the first range whose base
lies above an address.

On amd64 the 48-bit address space is sign-extended, so Go compares heap
addresses in an *offset* view: ``addr - arenaBaseOffset`` (modulo 2^64),
with ``arenaBaseOffset = 0xffff800000000000``.  ``offAddr`` wraps a virtual
address and compares in that view; ``minOffAddr`` (virtual
``arenaBaseOffset``) is the lowest and ``maxOffAddr`` (virtual
``0x00007fffffffffff``) the highest address of the view.

What the model simplifies
-------------------------
* An ``offAddr`` is a plain ``int`` holding the *virtual* address, exactly
  what Go stores in ``offAddr.a``; the comparisons ``off_lt``/``off_le``
  translate to the offset view as Go's ``lessThan``/``lessEqual`` do.
* ``addrRanges`` keeps its ranges in a Python list.  Go allocates the
  backing array with ``persistentalloc`` (16 entries of 16 bytes at
  ``init``, doubling when full, old arrays leaked) and charges it to a
  ``sysMemStat``; :attr:`AddrRanges.persistent_bytes` counts those bytes so
  the heap can charge them where Go does (``gcMiscSys`` for the page
  allocator's ``inUse``).
* The atomic variants (``atomicOffAddr``) live with their only user, the
  scavenge index in :mod:`goheap.runtime.go127.mpagealloc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from goheap.errors import RuntimeThrow

#: ``uintptrMask``: arithmetic on addresses wraps at 2^64 as uintptr does.
UINTPTR_MASK: Final = (1 << 64) - 1
#: ``heapAddrBits`` on linux/amd64.
HEAP_ADDR_BITS: Final = 48
#: ``arenaBaseOffset`` on amd64: the virtual address that is offset 0.
ARENA_BASE_OFFSET: Final = 0xFFFF800000000000
#: ``minOffAddr``: the lowest address of the offset view (as a virtual address).
MIN_OFF_ADDR: Final = ARENA_BASE_OFFSET
#: ``maxOffAddr``: the highest address of the offset view (as a virtual address).
MAX_OFF_ADDR: Final = (((1 << HEAP_ADDR_BITS) - 1) + ARENA_BASE_OFFSET) & UINTPTR_MASK

#: Size in bytes of one ``addrRange`` (two uintptrs), for ``persistentalloc`` accounting.
ADDR_RANGE_BYTES: Final = 16
#: Initial capacity of ``addrRanges.ranges`` (``addrRanges.init``).
ADDR_RANGES_INIT_CAP: Final = 16


def off(addr: int) -> int:
    """The position of virtual address ``addr`` in the offset view (``addr - arenaBaseOffset``)."""
    return (addr - ARENA_BASE_OFFSET) & UINTPTR_MASK


def off_lt(a: int, b: int) -> bool:
    """``offAddr{a}.lessThan(offAddr{b})``."""
    return ((a - ARENA_BASE_OFFSET) & UINTPTR_MASK) < ((b - ARENA_BASE_OFFSET) & UINTPTR_MASK)


def off_le(a: int, b: int) -> bool:
    """``offAddr{a}.lessEqual(offAddr{b})``."""
    return ((a - ARENA_BASE_OFFSET) & UINTPTR_MASK) <= ((b - ARENA_BASE_OFFSET) & UINTPTR_MASK)


@dataclass(slots=True)
class AddrRange:
    """``addrRange``: the address space ``[base, limit)`` (virtual addresses, offset order).

    The zero value ``AddrRange(0, 0)`` is the empty range, as in Go.
    """

    base: int = 0
    limit: int = 0

    @staticmethod
    def make(base: int, limit: int) -> AddrRange:
        """``makeAddrRange``: throws if base and limit lie in different segments."""
        base &= UINTPTR_MASK
        limit &= UINTPTR_MASK
        b_wraps = ((base - ARENA_BASE_OFFSET) & UINTPTR_MASK) >= base
        l_wraps = ((limit - ARENA_BASE_OFFSET) & UINTPTR_MASK) >= limit
        if b_wraps != l_wraps:
            raise RuntimeThrow("addr range base and limit are not in the same memory segment")
        return AddrRange(base, limit)

    def size(self) -> int:
        """Bytes in the range; 0 when ``limit <= base`` in offset order."""
        if not off_lt(self.base, self.limit):
            return 0
        return (self.limit - self.base) & UINTPTR_MASK

    def contains(self, addr: int) -> bool:
        """``base <= addr < limit`` in offset order."""
        return off_le(self.base, addr) and off_lt(addr, self.limit)

    def subtract(self, b: AddrRange) -> AddrRange:
        """This range minus ``b``; ``b`` may cover it, overlap one side, or miss it.

        Throws ("bad prune") when ``b`` lies strictly inside, which would split it.
        """
        a = AddrRange(self.base, self.limit)
        if off_le(b.base, a.base) and off_le(a.limit, b.limit):
            return AddrRange()
        if off_lt(a.base, b.base) and off_lt(b.limit, a.limit):
            raise RuntimeThrow("bad prune")
        if off_lt(b.limit, a.limit) and off_lt(a.base, b.limit):
            a.base = b.limit
        elif off_lt(a.base, b.base) and off_lt(b.base, a.limit):
            a.limit = b.base
        return a

    def removeGreaterEqual(self, addr: int) -> AddrRange:
        """The part of this range below ``addr``."""
        if off_le(addr, self.base):
            return AddrRange()
        if off_le(self.limit, addr):
            return AddrRange(self.base, self.limit)
        return AddrRange.make(self.base, addr)


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


def _align_down(n: int, a: int) -> int:
    return n & ~(a - 1)


class AddrRanges:
    """``addrRanges``: sorted, coalesced, non-overlapping address ranges.

    ``ranges`` is sorted by base (offset order); ``totalBytes`` is the sum of
    their sizes.  ``cap`` mirrors the capacity of Go's persistentalloc'd
    backing array and ``persistent_bytes`` the bytes Go allocated for it
    (never freed).
    """

    __slots__ = ("cap", "persistent_bytes", "ranges", "totalBytes")

    def __init__(self, ranges: list[AddrRange] | None = None) -> None:
        """``addrRanges.init``; with ``ranges``, a pre-filled set (tests' ``MakeAddrRanges``)."""
        self.ranges: list[AddrRange] = []
        self.totalBytes = 0
        self.cap = ADDR_RANGES_INIT_CAP
        self.persistent_bytes = ADDR_RANGES_INIT_CAP * ADDR_RANGE_BYTES
        if ranges:
            self.ranges = [AddrRange(r.base, r.limit) for r in ranges]
            self.totalBytes = sum(r.size() for r in ranges)
            self.cap = max(self.cap, len(ranges))

    def findSucc(self, addr: int) -> int:
        """The first index whose range's base is strictly above ``addr`` (offset order)."""
        ranges = self.ranges
        bot, top = 0, len(ranges)
        iter_max = 8
        while top - bot > iter_max:
            i = (bot + top) >> 1
            r = ranges[i]
            if r.contains(addr):
                return i + 1
            if off_lt(addr, r.base):
                top = i
            else:
                bot = i + 1
        for i in range(bot, top):
            if off_lt(addr, ranges[i].base):
                return i
        return top

    def findAddrGreaterEqual(self, addr: int) -> tuple[int, bool]:
        """The lowest address in the set that is >= ``addr``, and whether there is one."""
        i = self.findSucc(addr)
        if i == 0:
            return self.ranges[0].base, True
        if self.ranges[i - 1].contains(addr):
            return addr, True
        if i < len(self.ranges):
            return self.ranges[i].base, True
        return 0, False

    def contains(self, addr: int) -> bool:
        """Whether some range covers ``addr``."""
        i = self.findSucc(addr)
        if i == 0:
            return False
        return self.ranges[i - 1].contains(addr)

    def add(self, r: AddrRange) -> None:
        """Insert ``r`` (non-empty, overlapping nothing), merging with touching neighbours."""
        size = r.size()
        if size == 0:
            raise RuntimeThrow(
                f"attempted to add zero-sized address range {{{r.base:#x}, {r.limit:#x}}}"
            )
        ranges = self.ranges
        i = self.findSucc(r.base)
        down = i > 0 and ranges[i - 1].limit == r.base
        up = i < len(ranges) and r.limit == ranges[i].base
        if up and down:
            ranges[i - 1].limit = ranges[i].limit
            del ranges[i]
        elif down:
            ranges[i - 1].limit = r.limit
        elif up:
            ranges[i].base = r.base
        else:
            if len(ranges) + 1 > self.cap:
                # Go allocates a fresh array of twice the capacity and leaks the old one.
                self.cap *= 2
                self.persistent_bytes += self.cap * ADDR_RANGE_BYTES
            ranges.insert(i, AddrRange(r.base, r.limit))
        self.totalBytes += size

    def removeGreaterEqual(self, addr: int) -> None:
        """Drop every address >= ``addr``, splitting the range that contains it."""
        pivot = self.findSucc(addr)
        if pivot == 0:
            self.totalBytes = 0
            self.ranges.clear()
            return
        removed = sum(r.size() for r in self.ranges[pivot:])
        r = self.ranges[pivot - 1]
        if r.contains(addr):
            removed += r.size()
            r = r.removeGreaterEqual(addr)
            if r.size() == 0:
                pivot -= 1
            else:
                removed -= r.size()
                self.ranges[pivot - 1] = r
        del self.ranges[pivot:]
        self.totalBytes -= removed
