"""Per-chunk page bitmaps (Go 1.27 ``runtime/mpallocbits.go``, plus ``pallocSum``).

What the Go code does
---------------------
The page heap is cut into *palloc chunks* of ``pallocChunkPages = 512``
runtime pages (4 MiB).  For each chunk the page allocator keeps a
``pallocData``: a 512-bit in-use bitmap ``pallocBits`` (bit *i* set = page
*i* is allocated) and a 512-bit ``scavenged`` bitmap (bit set = the page's
memory has been returned to the OS).  Go stores each bitmap as eight
``uint64`` words (``pageBits``) and works on them with bit tricks:

* ``summarize`` reduces the in-use bitmap to a ``pallocSum``: the number of
  free pages at the start of the chunk, the longest free run anywhere, and
  the number of free pages at its end.  Three 21-bit counts are packed into
  one ``uint64``; the all-free value of the root level (2^21) is encoded by
  setting bit 63 alone.
* ``find(npages, searchIdx)`` returns the lowest index of a run of
  ``npages`` free pages, searching from the 64-page word that holds
  ``searchIdx``, together with the first free page it saw (the caller's new
  search hint).  Go has three variants: ``find1`` (one page),
  ``findSmallN`` (2..64 pages: a run crosses at most one word boundary;
  within a word it uses ``findBitRange64``) and ``findLargeN`` (more than
  64 pages: runs of whole free words glued to the ends of their
  neighbours).  All three are address-ordered first fit.
* ``pallocData.allocRange`` sets in-use bits and clears the scavenged bits
  of the range (the memory is about to be touched again).
* ``findScavengeCandidate`` (defined in ``mgcscavenge.go`` on
  ``pallocData``) searches *downwards* for the highest run of pages that are
  free and not yet scavenged, at most ``max`` pages (rounded up to the
  physical-page multiple ``min``), extended down to a huge-page boundary
  when that avoids breaking a free huge page.

What the model simplifies
-------------------------
* A bitmap is one Python ``int`` of 512 bits (bit *i* = page *i*) instead of
  eight words.  Range operations, popcounts and run searches become a few
  big-integer operations.  ``find``/``find1``/``findSmallN``/``findLargeN``
  return exactly what Go's word-by-word loops return for every input: the
  lowest start of a free run of ``npages`` at or above the first bit of the
  word holding ``searchIdx`` (``searchIdx // 64 * 64``), and the first free
  bit at or above that word start (the tests check this against a
  word-by-word reference).  "Not found" is :data:`NOT_FOUND` (Go:
  ``^uint(0)``).
* ``pallocSum`` and its packing (``mpagealloc.go`` in Go) live here, next
  to ``summarize`` which produces it; summaries are plain ``int`` values
  packed exactly as Go packs them.
* ``findBitRange64``, ``fillAligned`` and ``findScavengeCandidate`` work on
  64-bit words as Go does.  The host's physical and huge page sizes are
  parameters (defaults: 4 KiB and 2 MiB, as read from
  ``/sys/kernel/mm/transparent_hugepage/hpage_pmd_size`` on linux/amd64).
"""

from __future__ import annotations

from typing import Final

from goheap.errors import RuntimeThrow

#: ``gc.PageShift``.
PAGE_SHIFT: Final = 13
#: ``pageSize``: the runtime page (8 KiB).
PAGE_SIZE: Final = 1 << PAGE_SHIFT
#: ``logPallocChunkPages``.
LOG_PALLOC_CHUNK_PAGES: Final = 9
#: ``pallocChunkPages``: pages per palloc chunk.
PALLOC_CHUNK_PAGES: Final = 1 << LOG_PALLOC_CHUNK_PAGES
#: ``pallocChunkBytes``: 4 MiB.
PALLOC_CHUNK_BYTES: Final = PALLOC_CHUNK_PAGES * PAGE_SIZE
#: ``logPallocChunkBytes``.
LOG_PALLOC_CHUNK_BYTES: Final = LOG_PALLOC_CHUNK_PAGES + PAGE_SHIFT

#: ``summaryLevels`` (64-bit platforms).
SUMMARY_LEVELS: Final = 5
#: ``summaryLevelBits``.
SUMMARY_LEVEL_BITS: Final = 3
#: ``logMaxPackedValue``: bits per field of a ``pallocSum``.
LOG_MAX_PACKED_VALUE: Final = LOG_PALLOC_CHUNK_PAGES + (SUMMARY_LEVELS - 1) * SUMMARY_LEVEL_BITS
#: ``maxPackedValue``: the largest count a summary field holds (pages of a root entry).
MAX_PACKED_VALUE: Final = 1 << LOG_MAX_PACKED_VALUE
_FIELD_MASK: Final = MAX_PACKED_VALUE - 1
_ALL_FREE_BIT: Final = 1 << 63
#: Size in bytes of one ``pallocSum``.
PALLOC_SUM_BYTES: Final = 8

#: ``maxPagesPerPhysPage`` (``maxPhysPageSize = 512 KiB`` / ``pageSize``).
MAX_PAGES_PER_PHYS_PAGE: Final = 64
#: Physical page size on linux/amd64.
PHYS_PAGE_SIZE: Final = 4096
#: Transparent huge page size on linux/amd64 (``hpage_pmd_size``).
PHYS_HUGE_PAGE_SIZE: Final = 2 << 20

#: Go's ``^uint(0)``: "no such index".
NOT_FOUND: Final = -1

_M64: Final = (1 << 64) - 1
_ALL: Final = (1 << PALLOC_CHUNK_PAGES) - 1
_WORDS: Final = PALLOC_CHUNK_PAGES // 64


# --------------------------------------------------------------------------
# pallocSum
# --------------------------------------------------------------------------


def packPallocSum(start: int, most: int, end: int) -> int:
    """Pack (start, max, end) into a ``pallocSum``; all three = 2^21 sets bit 63 only."""
    if most == MAX_PACKED_VALUE:
        return _ALL_FREE_BIT
    return (
        (start & _FIELD_MASK)
        | ((most & _FIELD_MASK) << LOG_MAX_PACKED_VALUE)
        | ((end & _FIELD_MASK) << (2 * LOG_MAX_PACKED_VALUE))
    )


def sumStart(s: int) -> int:
    """``pallocSum.start``: free pages at the start of the region."""
    if s & _ALL_FREE_BIT:
        return MAX_PACKED_VALUE
    return s & _FIELD_MASK


def sumMax(s: int) -> int:
    """``pallocSum.max``: the longest free run in the region."""
    if s & _ALL_FREE_BIT:
        return MAX_PACKED_VALUE
    return (s >> LOG_MAX_PACKED_VALUE) & _FIELD_MASK


def sumEnd(s: int) -> int:
    """``pallocSum.end``: free pages at the end of the region."""
    if s & _ALL_FREE_BIT:
        return MAX_PACKED_VALUE
    return (s >> (2 * LOG_MAX_PACKED_VALUE)) & _FIELD_MASK


def unpackPallocSum(s: int) -> tuple[int, int, int]:
    """``pallocSum.unpack``: (start, max, end)."""
    if s & _ALL_FREE_BIT:
        return MAX_PACKED_VALUE, MAX_PACKED_VALUE, MAX_PACKED_VALUE
    return (
        s & _FIELD_MASK,
        (s >> LOG_MAX_PACKED_VALUE) & _FIELD_MASK,
        (s >> (2 * LOG_MAX_PACKED_VALUE)) & _FIELD_MASK,
    )


#: ``freeChunkSum``: the summary of an entirely free chunk.
FREE_CHUNK_SUM: Final = packPallocSum(PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES)


# --------------------------------------------------------------------------
# bit helpers
# --------------------------------------------------------------------------


def _run_starts(f: int, n: int) -> int:
    """Bits s of ``f`` such that bits s..s+n-1 are all set (n >= 1)."""
    p = n - 1
    k = 1
    while p > 0:
        if p <= k:
            return f & (f >> p)
        f &= f >> k
        if not f:
            return 0
        p -= k
        k *= 2
    return f


def _longest_run(f: int) -> int:
    """Length of the longest run of set bits in ``f`` (0 if none)."""
    if not f:
        return 0
    # pows[j]: starts of runs of length >= 2**j.
    pows = [f]
    k = 1
    while True:
        nxt = pows[-1] & (pows[-1] >> k)
        if not nxt:
            break
        pows.append(nxt)
        k <<= 1
    length = k
    cur = pows[-1]
    for j in range(len(pows) - 2, -1, -1):
        t = cur & (pows[j] >> length)
        if t:
            cur = t
            length += 1 << j
    return length


def _lowest_bit(x: int) -> int:
    return (x & -x).bit_length() - 1


def findBitRange64(c: int, n: int) -> int:
    """Index of the first run of ``n`` set bits in the 64-bit word ``c``; >= 64 if none."""
    p = n - 1
    k = 1
    while p > 0:
        if p <= k:
            c &= c >> p
            break
        c &= c >> k
        if c == 0:
            return 64
        p -= k
        k *= 2
    if c == 0:
        return 64
    return _lowest_bit(c)


_FILL_CONSTS: Final = {
    2: 0x5555555555555555,
    4: 0x7777777777777777,
    8: 0x7F7F7F7F7F7F7F7F,
    16: 0x7FFF7FFF7FFF7FFF,
    32: 0x7FFFFFFF7FFFFFFF,
    64: 0x7FFFFFFFFFFFFFFF,
}


def fillAligned(x: int, m: int) -> int:
    """Set every bit of each ``m``-aligned group of ``m`` bits of ``x`` that has any bit set.

    ``m`` is a power of two <= 64; ``m == 1`` returns ``x``.
    """
    if m == 1:
        return x
    c = _FILL_CONSTS.get(m)
    if c is None:
        raise RuntimeThrow("bad m value")
    # Top bit of each group set iff the whole group of x is zero.
    x = ~((((x & c) + c) | x) | c) & _M64
    return ~(((x - (x >> (m - 1))) & _M64) | x) & _M64


# --------------------------------------------------------------------------
# pageBits, pallocBits, pallocData
# --------------------------------------------------------------------------


class PageBits:
    """``pageBits``: one bit per page of a chunk, held in one 512-bit ``int`` (``v``)."""

    __slots__ = ("v",)

    def __init__(self, v: int = 0) -> None:
        self.v = v

    def get(self, i: int) -> int:
        """Bit ``i``."""
        return (self.v >> i) & 1

    def block64(self, i: int) -> int:
        """The 64-bit aligned word holding bit ``i``."""
        return (self.v >> (i & ~63)) & _M64

    def set(self, i: int) -> None:
        """Set bit ``i``."""
        self.v |= 1 << i

    def setRange(self, i: int, n: int) -> None:
        """Set bits ``[i, i+n)``."""
        self.v |= ((1 << n) - 1) << i

    def setAll(self) -> None:
        """Set every bit."""
        self.v = _ALL

    def clear(self, i: int) -> None:
        """Clear bit ``i``."""
        self.v &= ~(1 << i)

    def clearRange(self, i: int, n: int) -> None:
        """Clear bits ``[i, i+n)``."""
        self.v &= ~(((1 << n) - 1) << i)

    def clearBlock64(self, i: int, v: int) -> None:
        """Clear the bits of ``v`` in the word holding bit ``i``."""
        self.v &= ~(v << (i & ~63))

    def popcntRange(self, i: int, n: int) -> int:
        """Number of set bits in ``[i, i+n)``."""
        return ((self.v >> i) & ((1 << n) - 1)).bit_count()

    def words(self) -> list[int]:
        """The eight uint64 words Go would store (for tests and debugging)."""
        return [(self.v >> (64 * k)) & _M64 for k in range(_WORDS)]


class PallocBits(PageBits):
    """``pallocBits``: the in-use bitmap of one chunk (1 = allocated)."""

    __slots__ = ()

    def summarize(self) -> int:
        """The packed ``pallocSum`` (start, max, end) of the free pages."""
        b = self.v
        if b == 0:
            return FREE_CHUNK_SUM
        start = _lowest_bit(b)
        end = PALLOC_CHUNK_PAGES - b.bit_length()
        if b == _ALL:
            return 0
        most = _longest_run(~b & _ALL)
        return packPallocSum(start, most, end)

    def find(self, npages: int, searchIdx: int) -> tuple[int, int]:
        """First fit of ``npages`` from the word holding ``searchIdx``.

        Returns ``(index, newSearchIdx)``: the lowest start of ``npages`` free
        pages (or :data:`NOT_FOUND`) and the first free page from that word
        (only meaningful when something was found).
        """
        first = searchIdx & ~63
        free = ~self.v & _ALL & ~((1 << first) - 1)
        if not free:
            return NOT_FOUND, NOT_FOUND
        new_search = _lowest_bit(free)
        if npages == 1:
            return new_search, new_search
        c = _run_starts(free, npages)
        if not c:
            return NOT_FOUND, new_search
        return _lowest_bit(c), new_search

    def allocRange(self, i: int, n: int) -> None:
        """Mark pages ``[i, i+n)`` allocated."""
        self.v |= ((1 << n) - 1) << i

    def allocAll(self) -> None:
        """Mark every page allocated."""
        self.v = _ALL

    def free1(self, i: int) -> None:
        """Mark page ``i`` free."""
        self.v &= ~(1 << i)

    def free(self, i: int, n: int) -> None:
        """Mark pages ``[i, i+n)`` free."""
        self.v &= ~(((1 << n) - 1) << i)

    def freeAll(self) -> None:
        """Mark every page free."""
        self.v = 0

    def pages64(self, i: int) -> int:
        """In-use bits of the 64-page aligned block holding page ``i``."""
        return (self.v >> (i & ~63)) & _M64

    def allocPages64(self, i: int, alloc: int) -> None:
        """Mark allocated the pages of ``alloc`` in the 64-page block holding page ``i``."""
        self.v |= alloc << (i & ~63)


class PallocData(PallocBits):
    """``pallocData``: a chunk's in-use bitmap plus its ``scavenged`` bitmap."""

    __slots__ = ("scavenged",)

    def __init__(self, v: int = 0, scavenged: int = 0) -> None:
        super().__init__(v)
        self.scavenged = PageBits(scavenged)

    def allocRange(self, i: int, n: int) -> None:
        """Allocate ``[i, i+n)`` and clear its scavenged bits."""
        m = ((1 << n) - 1) << i
        self.v |= m
        self.scavenged.v &= ~m

    def allocAll(self) -> None:
        """Allocate the whole chunk and clear all scavenged bits."""
        self.v = _ALL
        self.scavenged.v = 0

    def findScavengeCandidate(
        self,
        searchIdx: int,
        minimum: int,
        max_: int,
        *,
        phys_page_size: int = PHYS_PAGE_SIZE,
        phys_huge_page_size: int = PHYS_HUGE_PAGE_SIZE,
    ) -> tuple[int, int]:
        """The highest run of free, unscavenged pages at or below the word of ``searchIdx``.

        Returns ``(start, size)`` in pages; ``size == 0`` when there is none.
        ``minimum`` (a power of two <= 64) is the physical-page granularity in
        pages; ``max_`` caps the size (0 means ``minimum``); the run may grow
        down to a huge-page boundary to keep a free huge page whole.
        """
        if minimum & (minimum - 1) or minimum == 0:
            raise RuntimeThrow(f"min must be a non-zero power of 2 (min = {minimum})")
        if minimum > MAX_PAGES_PER_PHYS_PAGE:
            raise RuntimeThrow(f"min too large (min = {minimum})")
        max_ = minimum if max_ == 0 else (max_ + minimum - 1) & ~(minimum - 1)

        # 1s: scavenged or in use; 0s: free and unscavenged.
        taken = self.scavenged.v | self.v

        def word(k: int) -> int:
            return fillAligned((taken >> (64 * k)) & _M64, minimum)

        i = searchIdx // 64
        while i >= 0:
            if word(i) != _M64:
                break
            i -= 1
        if i < 0:
            return 0, 0
        x = word(i)
        z1 = 64 - (x ^ _M64).bit_length()  # leading zeros of ^x
        end = i * 64 + (64 - z1)
        shifted = (x << z1) & _M64
        if shifted != 0:
            run = 64 - shifted.bit_length()  # leading zeros of x << z1
        else:
            run = 64 - z1
            for j in range(i - 1, -1, -1):
                xj = word(j)
                run += 64 - xj.bit_length()
                if xj != 0:
                    break
        size = min(run, max_)
        start = end - size

        if phys_huge_page_size > PAGE_SIZE and phys_huge_page_size > phys_page_size:
            per_huge = phys_huge_page_size // PAGE_SIZE
            huge_above = (start + per_huge - 1) & ~(per_huge - 1)
            if huge_above <= end:
                huge_below = start & ~(per_huge - 1)
                if huge_below >= end - run:
                    size += start - huge_below
                    start = huge_below
        return start, size
