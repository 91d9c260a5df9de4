"""The page allocator (Go 1.27 ``runtime/mpagealloc.go``, ``mpagealloc_64bit.go``,
and the page-level half of ``mgcscavenge.go``).

What the Go code does
---------------------
``mheap.pages`` is a ``pageAlloc``.  It owns every runtime page (8 KiB) the
heap has mapped and hands out runs of them, *address-ordered first fit*:

* **Bitmaps.**  Address space is cut into 4 MiB palloc chunks of 512
  pages; each grown chunk has a ``pallocData`` (in-use bitmap + scavenged
  bitmap, :mod:`.mpallocbits`).  ``chunks`` is a two-level sparse map
  (``chunks[l1][l2]``, 13 + 13 bits of chunk index); a second-level block of
  8192 chunks (1 MiB of metadata) is ``sysAlloc``'d the first time a grown
  chunk falls in it.
* **Summaries.**  A radix tree of ``pallocSum`` values (start/max/end free
  pages) with ``summaryLevels = 5`` levels.  Level 4 has one entry per chunk;
  each level above has one entry per 8 entries below (``levelBits = 14, 3,
  3, 3, 3``), so a root entry covers 16 GiB.  Each level is one huge array
  reserved up front and mapped (``sysGrow``) only around grown address
  ranges, a physical page of summaries at a time; unmapped or ungrown
  entries read as 0 ("nothing free").  ``update`` recomputes the leaf
  summaries a change touched and merges them upward (``mergeSummaries``)
  until a level does not change.
* **find** walks from the root: in each 8-entry block (the whole 16384
  entries at the root) it either finds a run that straddles entries (end of
  one + start/fully-free middle + start of the next), or descends into the
  first entry whose ``max`` is large enough; at the leaf it searches the
  chunk's bitmap.  It also narrows a window ``firstFree`` that must hold the
  first free page, giving a new ``searchAddr`` candidate.
* **searchAddr** is a lower bound: every page below it is allocated.
  ``alloc`` first tries the chunk holding ``searchAddr`` (fast path when
  that chunk's ``max`` suffices), otherwise ``find``; it raises
  ``searchAddr`` after allocating.  ``free`` and ``grow`` lower it.
* **alloc/allocRange** set in-use bits, clear scavenged bits, and return
  how many of the allocated bytes were scavenged (the heap subtracts that
  from ``heapReleased``).  **free** clears in-use bits only (freed pages are
  free and *not* scavenged).  There is no coalescing: free runs merge in the
  bitmaps.
* **grow(base, size)** registers freshly mapped memory: chunks are created
  with *all scavenged bits set* (new memory has never been touched), the
  range is added to ``inUse`` and the summaries are updated as for a free.
* **Scavenging.**  ``scav.index`` (``scavengeIndex``) keeps per chunk the
  pages in use this and last GC generation, a generation number and a
  "has free-and-unscavenged pages" flag; ``find(force)`` walks chunk indices
  downward from one of two cursors (``searchAddrBg``, moved up to the
  highest page freed in the last cycle by ``nextGen``; ``searchAddrForce``,
  moved up by every free).  Unless forced, chunks that were dense (>= 496
  pages in use) this generation, or last generation if touched this one,
  are skipped.  ``scavenge(nbytes, shouldStop, force)`` repeatedly takes a
  chunk from the index and calls ``scavengeOne``, which releases the highest
  free-and-unscavenged run of the chunk (``findScavengeCandidate``): it
  marks the run allocated, madvises it, frees it again and sets its
  scavenged bits.  A chunk where nothing is found is marked empty.
* ``markRandomPaddingPages`` (heap base randomisation) marks pages
  allocated *and* scavenged so they are never used but stay released.

What the model simplifies
-------------------------
Nothing that changes an address, a page state, a scavenged-byte count or a
metadata byte count:

* Summary levels and chunk maps are dicts keyed by index (missing = 0 /
  not grown).  ``find`` at the root visits only non-zero root entries (in
  index order, a gap resetting the current run exactly as Go's zero entries
  do) instead of looping over all 16384.  The scavenge index likewise walks
  only chunks that have scavenge data.
* The metadata Go maps for the allocator is counted, not stored:
  :attr:`PageAlloc.sysStat` is every byte Go charges to the allocator's
  ``sysStat`` (``gcMiscSys`` for the heap): chunk-map blocks (1 MiB each),
  summary pages, scavenge-index pages.  All of it is also ``mappedReady``.
  The ``inUse`` list's ``persistentalloc`` bytes are in
  ``inUse.persistent_bytes`` (Go moves them from ``other_sys`` to
  ``sysStat``).
* ``findMappedAddr`` always uses ``inUse`` (Go's test-mode path); outside
  tests Go first accepts any address inside an existing heap arena.  Both
  give a valid ``searchAddr`` lower bound and the same allocation results.
* No locks, atomics or ``sys*`` calls.  The OS-level accounting of
  ``scavengeOne`` (``heapReleased += n``, ``heapFree -= n``, stats
  ``committed -= n`` / ``released += n``, ``mappedReady -= n``) is left to
  the caller, which gets the bytes back and, if it sets
  :attr:`PageAlloc.onScavenged`, a call per released run.
* Huge-page metadata hints (``enableChunkHugePages``) change no number and
  are omitted.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.go127.mpallocbits import (
    FREE_CHUNK_SUM,
    LOG_MAX_PACKED_VALUE,
    LOG_PALLOC_CHUNK_BYTES,
    LOG_PALLOC_CHUNK_PAGES,
    NOT_FOUND,
    PAGE_SIZE,
    PALLOC_CHUNK_BYTES,
    PALLOC_CHUNK_PAGES,
    PALLOC_SUM_BYTES,
    PHYS_HUGE_PAGE_SIZE,
    PHYS_PAGE_SIZE,
    SUMMARY_LEVEL_BITS,
    SUMMARY_LEVELS,
    PallocData,
    packPallocSum,
    sumMax,
    unpackPallocSum,
)
from goheap.runtime.go127.mranges import (
    ARENA_BASE_OFFSET,
    HEAP_ADDR_BITS,
    MAX_OFF_ADDR,
    MIN_OFF_ADDR,
    UINTPTR_MASK,
    AddrRange,
    AddrRanges,
    off,
    off_lt,
)

if TYPE_CHECKING:
    from goheap.runtime.go127.mpagecache import PageCache


#: ``summaryL0Bits``: radix bits of the root level.
SUMMARY_L0_BITS: Final = (
    HEAP_ADDR_BITS - LOG_PALLOC_CHUNK_BYTES - (SUMMARY_LEVELS - 1) * SUMMARY_LEVEL_BITS
)
#: ``pallocChunksL1Bits`` / ``pallocChunksL2Bits``: the chunk map's two levels.
PALLOC_CHUNKS_L1_BITS: Final = 13
PALLOC_CHUNKS_L2_BITS: Final = HEAP_ADDR_BITS - LOG_PALLOC_CHUNK_BYTES - PALLOC_CHUNKS_L1_BITS
#: Size of one ``pallocData`` (two 512-bit bitmaps) and of one L2 block of the chunk map.
PALLOC_DATA_BYTES: Final = 2 * PALLOC_CHUNK_PAGES // 8
CHUNKS_L2_BYTES: Final = (1 << PALLOC_CHUNKS_L2_BITS) * PALLOC_DATA_BYTES

#: ``levelBits``, ``levelShift``, ``levelLogPages`` per summary level (0 = root).
LEVEL_BITS: Final = (SUMMARY_L0_BITS,) + (SUMMARY_LEVEL_BITS,) * (SUMMARY_LEVELS - 1)
LEVEL_SHIFT: Final = tuple(
    HEAP_ADDR_BITS - SUMMARY_L0_BITS - k * SUMMARY_LEVEL_BITS for k in range(SUMMARY_LEVELS)
)
LEVEL_LOG_PAGES: Final = tuple(
    LOG_PALLOC_CHUNK_PAGES + (SUMMARY_LEVELS - 1 - k) * SUMMARY_LEVEL_BITS
    for k in range(SUMMARY_LEVELS)
)
_LEAF: Final = SUMMARY_LEVELS - 1

#: ``scavChunkHiOccPages``: a chunk this full is "dense" and skipped by the background scavenger.
SCAV_CHUNK_HI_OCC_PAGES: Final = int(0.96875 * PALLOC_CHUNK_PAGES)
#: Size of one ``atomicScavChunkData`` entry of the scavenge index.
SCAV_CHUNK_DATA_BYTES: Final = 8

# Stand-in base addresses of the reserved metadata arrays (only sizes matter;
# each is page-aligned and the ranges never overlap).
_SUMMARY_ARRAY_BASE: Final = tuple((k + 1) << 40 for k in range(SUMMARY_LEVELS))
_SCAV_INDEX_ARRAY_BASE: Final = 8 << 40


def chunkIndex(p: int) -> int:
    """``chunkIndex``: global index of the palloc chunk containing address ``p``."""
    return ((p - ARENA_BASE_OFFSET) & UINTPTR_MASK) >> LOG_PALLOC_CHUNK_BYTES


def chunkBase(ci: int) -> int:
    """``chunkBase``: the address of chunk ``ci``."""
    return ((ci << LOG_PALLOC_CHUNK_BYTES) + ARENA_BASE_OFFSET) & UINTPTR_MASK


def chunkPageIndex(p: int) -> int:
    """``chunkPageIndex``: the page of ``p`` within its chunk."""
    return (p % PALLOC_CHUNK_BYTES) // PAGE_SIZE


def addrsToSummaryRange(level: int, base: int, limit: int) -> tuple[int, int]:
    """Entries ``[lo, hi)`` of ``summary[level]`` covering addresses ``[base, limit)``."""
    shift = LEVEL_SHIFT[level]
    lo = ((base - ARENA_BASE_OFFSET) & UINTPTR_MASK) >> shift
    hi = (((limit - 1 - ARENA_BASE_OFFSET) & UINTPTR_MASK) >> shift) + 1
    return lo, hi


def blockAlignSummaryRange(level: int, lo: int, hi: int) -> tuple[int, int]:
    """Align ``[lo, hi)`` out to the level's block width (``1 << levelBits[level]``)."""
    e = 1 << LEVEL_BITS[level]
    return lo & ~(e - 1), (hi + e - 1) & ~(e - 1)


def mergeSummaries(sums: list[int], logMaxPagesPerSum: int) -> int:
    """Merge consecutive summaries, each covering ``1 << logMaxPagesPerSum`` pages."""
    full = 1 << logMaxPagesPerSum
    start, most, end = unpackPallocSum(sums[0])
    for i in range(1, len(sums)):
        si, mi, ei = unpackPallocSum(sums[i])
        if start == i << logMaxPagesPerSum:
            start += si
        most = max(most, end + si, mi)
        end = end + full if ei == full else ei
    return packPallocSum(start, most, end)


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


def _align_down(n: int, a: int) -> int:
    return n & ~(a - 1)


# --------------------------------------------------------------------------
# scavenge index (mgcscavenge.go)
# --------------------------------------------------------------------------


@dataclass(slots=True)
class ScavChunkData:
    """``scavChunkData``: scavenger bookkeeping for one chunk.

    The zero value is a freshly grown chunk: nothing in use, nothing to
    scavenge (new memory is already scavenged).
    """

    inUse: int = 0
    lastInUse: int = 0
    gen: int = 0
    hasFree: bool = False

    def shouldScavenge(self, currGen: int, force: bool) -> bool:
        """Whether the scavenger should look at this chunk now."""
        if not self.hasFree:
            return False
        if force:
            return True
        if self.gen == currGen:
            return self.inUse < SCAV_CHUNK_HI_OCC_PAGES and self.lastInUse < SCAV_CHUNK_HI_OCC_PAGES
        return self.inUse < SCAV_CHUNK_HI_OCC_PAGES

    def alloc(self, npages: int, newGen: int) -> None:
        """``npages`` of the chunk were allocated."""
        if self.inUse + npages > PALLOC_CHUNK_PAGES:
            raise RuntimeThrow(
                f"too many pages allocated in chunk? (inUse={self.inUse} npages={npages})"
            )
        if self.gen != newGen:
            self.lastInUse = self.inUse
            self.gen = newGen
        self.inUse += npages
        if self.inUse == PALLOC_CHUNK_PAGES:
            self.hasFree = False

    def free(self, npages: int, newGen: int) -> None:
        """``npages`` of the chunk were freed."""
        if self.inUse < npages:
            raise RuntimeThrow(f"allocated pages below zero? (inUse={self.inUse} npages={npages})")
        if self.gen != newGen:
            self.lastInUse = self.inUse
            self.gen = newGen
        self.inUse -= npages
        self.hasFree = True


class AtomicOffAddr:
    """``atomicOffAddr``: an offset address that can be *marked* (stored negated).

    A marked value was raised by ``free``/``nextGen`` and must be seen by a
    ``find`` before it may be lowered again.
    """

    __slots__ = ("a",)

    def __init__(self) -> None:
        self.a = 0

    def Clear(self) -> None:
        """Store ``minOffAddr`` unless the value is marked."""
        if self.a >= 0:
            self.a = 0

    def StoreMin(self, addr: int) -> None:
        """Store ``addr`` if it is below the current (unmarked) value."""
        new = off(addr)
        if self.a < new:
            return
        self.a = new

    def StoreUnmark(self, markedAddr: int, newAddr: int) -> None:
        """Replace the marked ``markedAddr`` by the unmarked ``newAddr``, if still there."""
        if self.a == -off(markedAddr):
            self.a = off(newAddr)

    def StoreMarked(self, addr: int) -> None:
        """Store ``addr``, marked."""
        self.a = -off(addr)

    def Load(self) -> tuple[int, bool]:
        """(virtual address, marked)."""
        v = self.a
        marked = v < 0
        if marked:
            v = -v
        return (v + ARENA_BASE_OFFSET) & UINTPTR_MASK, marked


class ScavengeIndex:
    """``scavengeIndex``: which chunks may hold pages to scavenge."""

    def __init__(self) -> None:
        self.chunks: dict[int, ScavChunkData] = {}
        self._keys: list[int] = []  # sorted keys of chunks
        self.min = 0
        self.max = 0
        self.minHeapIdx = 0
        self.searchAddrBg = AtomicOffAddr()
        self.searchAddrForce = AtomicOffAddr()
        self.freeHWM = MIN_OFF_ADDR
        self.gen = 0

    def _data(self, ci: int) -> ScavChunkData:
        sc = self.chunks.get(ci)
        if sc is None:
            sc = ScavChunkData()
            self.chunks[ci] = sc
            bisect.insort(self._keys, ci)
        return sc

    def load(self, ci: int) -> ScavChunkData:
        """A copy of chunk ``ci``'s data (zero value if never touched)."""
        sc = self.chunks.get(ci)
        if sc is None:
            return ScavChunkData()
        return ScavChunkData(sc.inUse, sc.lastInUse, sc.gen, sc.hasFree)

    def grow(self, base: int, limit: int) -> int:
        """Note growth ``[base, limit)``; returns the index bytes newly mapped (``sysGrow``)."""
        base_idx = chunkIndex(base)
        if self.minHeapIdx == 0 or base_idx < self.minHeapIdx:
            self.minHeapIdx = base_idx
        if base % PALLOC_CHUNK_BYTES or limit % PALLOC_CHUNK_BYTES:
            raise RuntimeThrow("sysGrow bounds not aligned to pallocChunkBytes")
        per_page = PHYS_PAGE_SIZE // SCAV_CHUNK_DATA_BYTES
        have_min, have_max = self.min, self.max
        need_min = _align_down(chunkIndex(base), per_page)
        need_max = _align_up(chunkIndex(limit), per_page)
        if need_max < have_min:
            need_max = have_min
        if have_max != 0 and need_min > have_max:
            need_min = have_max
        b, w = _SCAV_INDEX_ARRAY_BASE, SCAV_CHUNK_DATA_BYTES
        have = AddrRange.make(b + have_min * w, b + have_max * w)
        need = AddrRange.make(b + need_min * w, b + need_max * w)
        need = need.subtract(have)
        size = need.size()
        if size != 0:
            if have_max == 0 or need_min < have_min:
                self.min = need_min
            if need_max > have_max:
                self.max = need_max
        return size

    def find(self, force: bool) -> tuple[int, int]:
        """The highest chunk that may hold pages to scavenge, and the page to start from.

        Returns ``(0, 0)`` when there is none.
        """
        cursor = self.searchAddrForce if force else self.searchAddrBg
        search_addr, marked = cursor.Load()
        if search_addr == MIN_OFF_ADDR:
            return 0, 0
        gen = self.gen
        lo = self.minHeapIdx
        start = chunkIndex(search_addr)
        keys = self._keys
        k = bisect.bisect_right(keys, start) - 1
        while k >= 0:
            i = keys[k]
            if i < lo:
                break
            k -= 1
            if not self.chunks[i].shouldScavenge(gen, force):
                continue
            if i == start:
                return i, chunkPageIndex(search_addr)
            new_search = chunkBase(i) + PALLOC_CHUNK_BYTES - PAGE_SIZE
            if marked:
                cursor.StoreUnmark(search_addr, new_search)
            else:
                cursor.StoreMin(new_search)
            return i, PALLOC_CHUNK_PAGES - 1
        cursor.Clear()
        return 0, 0

    def alloc(self, ci: int, npages: int) -> None:
        """``npages`` were allocated in chunk ``ci``."""
        self._data(ci).alloc(npages, self.gen)

    def free(self, ci: int, page: int, npages: int) -> None:
        """Pages ``[page, page+npages)`` of chunk ``ci`` were freed."""
        self._data(ci).free(npages, self.gen)
        addr = chunkBase(ci) + (page + npages - 1) * PAGE_SIZE
        if off_lt(self.freeHWM, addr):
            self.freeHWM = addr
        search_addr, _ = self.searchAddrForce.Load()
        if off_lt(search_addr, addr):
            self.searchAddrForce.StoreMarked(addr)

    def nextGen(self) -> None:
        """Start a new generation (once per GC cycle, at mark termination)."""
        self.gen = (self.gen + 1) & 0xFFFFFFFF
        search_addr, _ = self.searchAddrBg.Load()
        if off_lt(search_addr, self.freeHWM):
            self.searchAddrBg.StoreMarked(self.freeHWM)
        self.freeHWM = MIN_OFF_ADDR

    def setEmpty(self, ci: int) -> None:
        """The scavenger found nothing more to take from chunk ``ci`` for now."""
        self._data(ci).hasFree = False


# --------------------------------------------------------------------------
# pageAlloc
# --------------------------------------------------------------------------


class PageAlloc:
    """``pageAlloc``: bitmaps + summary radix tree over all heap pages.

    Addresses are virtual addresses (``int``); ``searchAddr`` compares in
    the offset view (:mod:`.mranges`).  ``alloc`` returns ``(0, 0)`` when
    nothing fits, as Go does.
    """

    def __init__(
        self,
        *,
        phys_page_size: int = PHYS_PAGE_SIZE,
        phys_huge_page_size: int = PHYS_HUGE_PAGE_SIZE,
        onScavenged: Callable[[int, int], None] | None = None,
    ) -> None:
        """``pageAlloc.init``; ``onScavenged(addr, nbytes)`` is told of every released run."""
        if LEVEL_LOG_PAGES[0] > LOG_MAX_PACKED_VALUE:
            raise RuntimeThrow("root level max pages doesn't fit in summary")
        self.phys_page_size = phys_page_size
        self.phys_huge_page_size = phys_huge_page_size
        #: ``summary[l]``: level ``l`` of the radix tree, index -> packed pallocSum.
        self.summary: list[dict[int, int]] = [{} for _ in range(SUMMARY_LEVELS)]
        #: ``chunks``: chunk index -> pallocData (grown chunks only).
        self.chunks: dict[int, PallocData] = {}
        #: L1 indices whose L2 block of the chunk map has been allocated.
        self.chunksL2: set[int] = set()
        self.searchAddr = MAX_OFF_ADDR
        self.start = 0
        self.end = 0
        self.inUse = AddrRanges()
        self.scavIndex = ScavengeIndex()
        #: ``scav.releasedBg`` / ``scav.releasedEager``: for ``GODEBUG=scavtrace``.
        self.releasedBg = 0
        self.releasedEager = 0
        #: Bytes Go charges to this allocator's ``sysStat`` (see module docstring).
        self.sysStat = 0
        #: ``summaryMappedReady``: summary + scavenge-index bytes mapped Ready.
        self.summaryMappedReady = 0
        #: Called as ``onScavenged(addr, nbytes)`` when ``scavengeOne`` releases a run.
        self.onScavenged = onScavenged

    # ---------------------------------------------------------------- chunks

    def chunkOf(self, ci: int) -> PallocData:
        """The bitmaps of grown chunk ``ci``."""
        return self.chunks[ci]

    def tryChunkOf(self, ci: int) -> PallocData | None:
        """The bitmaps of chunk ``ci``; None if its L2 block was never allocated.

        A chunk inside an allocated L2 block that was never grown reads as
        zero bitmaps, as Go's zeroed memory does.
        """
        if (ci >> PALLOC_CHUNKS_L2_BITS) not in self.chunksL2:
            return None
        c = self.chunks.get(ci)
        return c if c is not None else PallocData()

    # ----------------------------------------------------------------- grow

    def grow(self, base: int, size: int) -> None:
        """Register the mapped range ``[base, base+size)`` (chunk-rounded) as free and scavenged."""
        limit = _align_up(base + size, PALLOC_CHUNK_BYTES)
        base = _align_down(base, PALLOC_CHUNK_BYTES)
        self.sysGrow(base, limit)
        n = self.scavIndex.grow(base, limit)
        self.summaryMappedReady += n
        self.sysStat += n

        first_growth = self.start == 0
        start, end = chunkIndex(base), chunkIndex(limit)
        if first_growth or start < self.start:
            self.start = start
        if end > self.end:
            self.end = end
        self.inUse.add(AddrRange.make(base, limit))
        if off_lt(base, self.searchAddr):
            self.searchAddr = base
        for c in range(start, end):
            l1 = c >> PALLOC_CHUNKS_L2_BITS
            if l1 not in self.chunksL2:
                self.chunksL2.add(l1)
                self.sysStat += CHUNKS_L2_BYTES
            chunk = self.chunks.get(c)
            if chunk is None:
                chunk = self.chunks[c] = PallocData()
            chunk.scavenged.setRange(0, PALLOC_CHUNK_PAGES)
        self.update(base, size // PAGE_SIZE, True, False)

    def sysGrow(self, base: int, limit: int) -> None:
        """Map the summary entries ``[base, limit)`` needs (counts the bytes)."""
        if base % PALLOC_CHUNK_BYTES or limit % PALLOC_CHUNK_BYTES:
            raise RuntimeThrow(
                f"sysGrow bounds not aligned to pallocChunkBytes (base={base:#x} limit={limit:#x})"
            )
        phys = self.phys_page_size

        def sum_addr_range(level: int, r: AddrRange) -> AddrRange:
            lo, hi = addrsToSummaryRange(level, r.base, r.limit)
            lo, hi = blockAlignSummaryRange(level, lo, hi)
            b = _SUMMARY_ARRAY_BASE[level]
            return AddrRange(
                b + _align_down(lo * PALLOC_SUM_BYTES, phys),
                b + _align_up(hi * PALLOC_SUM_BYTES, phys),
            )

        new = AddrRange.make(base, limit)
        in_use_index = self.inUse.findSucc(base)
        ranges = self.inUse.ranges
        for level in range(SUMMARY_LEVELS):
            need = sum_addr_range(level, new)
            if in_use_index > 0:
                need = need.subtract(sum_addr_range(level, ranges[in_use_index - 1]))
            if in_use_index < len(ranges):
                need = need.subtract(sum_addr_range(level, ranges[in_use_index]))
            size = need.size()
            if size == 0:
                continue
            self.sysStat += size
            self.summaryMappedReady += size

    # --------------------------------------------------------------- update

    def update(self, base: int, npages: int, contig: bool, alloc: bool) -> None:
        """Recompute the summaries after the bitmaps of ``[base, base+npages)`` changed."""
        limit = base + npages * PAGE_SIZE - 1
        sc, ec = chunkIndex(base), chunkIndex(limit)
        leaf = self.summary[_LEAF]
        chunks = self.chunks
        if sc == ec:
            y = chunks[sc].summarize()
            if leaf.get(sc, 0) == y:
                return
            leaf[sc] = y
        elif contig:
            leaf[sc] = chunks[sc].summarize()
            whole = 0 if alloc else FREE_CHUNK_SUM
            for c in range(sc + 1, ec):
                leaf[c] = whole
            leaf[ec] = chunks[ec].summarize()
        else:
            for c in range(sc, ec + 1):
                leaf[c] = chunks[c].summarize()

        changed = True
        level = SUMMARY_LEVELS - 2
        while level >= 0 and changed:
            changed = False
            log_entries = LEVEL_BITS[level + 1]
            log_max_pages = LEVEL_LOG_PAGES[level + 1]
            below = self.summary[level + 1]
            here = self.summary[level]
            lo, hi = addrsToSummaryRange(level, base, limit + 1)
            width = 1 << log_entries
            for i in range(lo, hi):
                first = i << log_entries
                children = [below.get(k, 0) for k in range(first, first + width)]
                s = mergeSummaries(children, log_max_pages)
                if here.get(i, 0) != s:
                    changed = True
                    here[i] = s
            level -= 1

    # ---------------------------------------------------------- allocRange

    def allocRange(self, base: int, npages: int) -> int:
        """Mark ``[base, base+npages*pageSize)`` allocated; returns its scavenged bytes."""
        limit = base + npages * PAGE_SIZE - 1
        sc, ec = chunkIndex(base), chunkIndex(limit)
        si, ei = chunkPageIndex(base), chunkPageIndex(limit)
        index = self.scavIndex
        scav = 0
        if sc == ec:
            chunk = self.chunks[sc]
            scav += chunk.scavenged.popcntRange(si, ei + 1 - si)
            chunk.allocRange(si, ei + 1 - si)
            index.alloc(sc, ei + 1 - si)
        else:
            chunk = self.chunks[sc]
            scav += chunk.scavenged.popcntRange(si, PALLOC_CHUNK_PAGES - si)
            chunk.allocRange(si, PALLOC_CHUNK_PAGES - si)
            index.alloc(sc, PALLOC_CHUNK_PAGES - si)
            for c in range(sc + 1, ec):
                chunk = self.chunks[c]
                scav += chunk.scavenged.v.bit_count()
                chunk.allocAll()
                index.alloc(c, PALLOC_CHUNK_PAGES)
            chunk = self.chunks[ec]
            scav += chunk.scavenged.popcntRange(0, ei + 1)
            chunk.allocRange(0, ei + 1)
            index.alloc(ec, ei + 1)
        self.update(base, npages, True, True)
        return scav * PAGE_SIZE

    # ----------------------------------------------------------------- find

    def findMappedAddr(self, addr: int) -> int:
        """The lowest address in ``inUse`` that is >= ``addr``, or ``maxOffAddr``."""
        v, ok = self.inUse.findAddrGreaterEqual(addr)
        return v if ok else MAX_OFF_ADDR

    def find(self, npages: int) -> tuple[int, int]:
        """Address-ordered first fit of ``npages`` by walking the radix tree.

        Returns ``(addr, searchAddr candidate)``; ``addr == 0`` on failure
        (then the candidate is ``maxOffAddr`` and must be ignored).
        """
        i = 0
        # firstFree window, inclusive bounds, in the offset view.
        ff_base = 0
        ff_bound = (1 << HEAP_ADDR_BITS) - 1
        search_off = off(self.searchAddr)

        def found_free(addr_off: int, size: int) -> None:
            nonlocal ff_base, ff_bound
            top = addr_off + size - 1
            if ff_base <= addr_off and top <= ff_bound:
                ff_base = addr_off
                ff_bound = top
            elif not (top < ff_base or ff_bound < addr_off):
                raise RuntimeThrow(
                    f"range partially overlaps (addr={addr_off:#x}, size={size}, "
                    f"base={ff_base:#x}, bound={ff_bound:#x})"
                )

        level = 0
        while level < SUMMARY_LEVELS:
            entries_per_block = 1 << LEVEL_BITS[level]
            log_max_pages = LEVEL_LOG_PAGES[level]
            full = 1 << log_max_pages
            i <<= LEVEL_BITS[level]
            shift = LEVEL_SHIFT[level]
            sums = self.summary[level]
            j0 = 0
            search_idx = search_off >> shift
            if search_idx & ~(entries_per_block - 1) == i:
                j0 = search_idx & (entries_per_block - 1)

            if level == 0:
                js = sorted(k for k, v in sums.items() if v and k >= j0)
            else:
                js = [j for j in range(j0, entries_per_block) if sums.get(i + j, 0)]

            base = 0
            size = 0
            descended = False
            prev = None
            for j in js:
                if prev is not None and j != prev + 1:
                    size = 0  # zero (full or unmapped) entries in between
                prev = j
                s = sums[i + j]
                found_free((i + j) << shift, full * PAGE_SIZE)
                st, mx, en = unpackPallocSum(s)
                if size + st >= npages:
                    if size == 0:
                        base = j << log_max_pages
                    size += st
                    break
                if mx >= npages:
                    i += j
                    descended = True
                    break
                if size == 0 or st < full:
                    size = en
                    base = ((j + 1) << log_max_pages) - size
                    continue
                size += full
            if descended:
                level += 1
                continue
            if size >= npages:
                addr_off = (i << shift) + base * PAGE_SIZE
                addr = (addr_off + ARENA_BASE_OFFSET) & UINTPTR_MASK
                ff = (ff_base + ARENA_BASE_OFFSET) & UINTPTR_MASK
                return addr, self.findMappedAddr(ff)
            if level == 0:
                return 0, MAX_OFF_ADDR
            raise RuntimeThrow(f"bad summary data (level {level}, npages {npages})")

        ci = i
        j, search_idx = self.chunks[ci].find(npages, 0)
        if j == NOT_FOUND:
            raise RuntimeThrow(f"bad summary data (chunk {ci:#x}, npages {npages})")
        cb = chunkBase(ci)
        addr = cb + j * PAGE_SIZE
        search_addr = cb + search_idx * PAGE_SIZE
        found_free(off(search_addr), chunkBase(ci + 1) - search_addr)
        ff = (ff_base + ARENA_BASE_OFFSET) & UINTPTR_MASK
        return addr, self.findMappedAddr(ff)

    # ---------------------------------------------------------- alloc/free

    def alloc(self, npages: int) -> tuple[int, int]:
        """Allocate ``npages``: ``(base address, scavenged bytes in it)``, or ``(0, 0)``."""
        sa = self.searchAddr
        if chunkIndex(sa) >= self.end:
            return 0, 0
        pi = chunkPageIndex(sa)
        found = False
        addr = 0
        new_search = MIN_OFF_ADDR
        if PALLOC_CHUNK_PAGES - pi >= npages:
            i = chunkIndex(sa)
            mx = sumMax(self.summary[_LEAF].get(i, 0))
            if mx >= npages:
                j, search_idx = self.chunks[i].find(npages, pi)
                if j == NOT_FOUND:
                    raise RuntimeThrow(
                        f"bad summary data (max={mx}, npages={npages}, searchAddr={sa:#x})"
                    )
                cb = chunkBase(i)
                addr = cb + j * PAGE_SIZE
                new_search = cb + search_idx * PAGE_SIZE
                found = True
        if not found:
            addr, new_search = self.find(npages)
            if addr == 0:
                if npages == 1:
                    self.searchAddr = MAX_OFF_ADDR
                return 0, 0
        scav = self.allocRange(addr, npages)
        if off_lt(self.searchAddr, new_search):
            self.searchAddr = new_search
        return addr, scav

    def free(self, base: int, npages: int) -> None:
        """Return ``[base, base+npages*pageSize)`` to the allocator (free, not scavenged)."""
        if off_lt(base, self.searchAddr):
            self.searchAddr = base
        limit = base + npages * PAGE_SIZE - 1
        index = self.scavIndex
        if npages == 1:
            i = chunkIndex(base)
            pi = chunkPageIndex(base)
            self.chunks[i].free1(pi)
            index.free(i, pi, 1)
        else:
            sc, ec = chunkIndex(base), chunkIndex(limit)
            si, ei = chunkPageIndex(base), chunkPageIndex(limit)
            if sc == ec:
                self.chunks[sc].free(si, ei + 1 - si)
                index.free(sc, si, ei + 1 - si)
            else:
                self.chunks[sc].free(si, PALLOC_CHUNK_PAGES - si)
                index.free(sc, si, PALLOC_CHUNK_PAGES - si)
                for c in range(sc + 1, ec):
                    self.chunks[c].freeAll()
                    index.free(c, 0, PALLOC_CHUNK_PAGES)
                self.chunks[ec].free(0, ei + 1)
                index.free(ec, 0, ei + 1)
        self.update(base, npages, True, False)

    def markRandomPaddingPages(self, base: int, npages: int) -> None:
        """Mark ``[base, base+npages*pageSize)`` allocated *and* scavenged (heap base padding)."""
        limit = base + npages * PAGE_SIZE - 1
        sc, ec = chunkIndex(base), chunkIndex(limit)
        si, ei = chunkPageIndex(base), chunkPageIndex(limit)
        index = self.scavIndex
        if sc == ec:
            chunk = self.chunks[sc]
            chunk.allocRange(si, ei + 1 - si)
            index.alloc(sc, ei + 1 - si)
            chunk.scavenged.setRange(si, ei + 1 - si)
        else:
            chunk = self.chunks[sc]
            chunk.allocRange(si, PALLOC_CHUNK_PAGES - si)
            index.alloc(sc, PALLOC_CHUNK_PAGES - si)
            chunk.scavenged.setRange(si, PALLOC_CHUNK_PAGES - si)
            for c in range(sc + 1, ec):
                chunk = self.chunks[c]
                chunk.allocAll()
                index.alloc(c, PALLOC_CHUNK_PAGES)
                chunk.scavenged.setAll()
            chunk = self.chunks[ec]
            chunk.allocRange(0, ei + 1)
            index.alloc(ec, ei + 1)
            chunk.scavenged.setRange(0, ei + 1)
        self.update(base, npages, True, True)

    def allocToCache(self) -> PageCache:
        """``pageAlloc.allocToCache`` (defined in :mod:`.mpagecache`)."""
        from goheap.runtime.go127.mpagecache import allocToCache

        return allocToCache(self)

    # ------------------------------------------------------------ scavenge

    def scavenge(
        self, nbytes: int, shouldStop: Callable[[], bool] | None = None, force: bool = False
    ) -> int:
        """Release up to ``nbytes`` (at least that much unless the heap runs out), highest first.

        ``force`` ignores chunk density (``debug.FreeOSMemory``, memory limit).
        Returns the bytes released.
        """
        released = 0
        index = self.scavIndex
        while released < nbytes:
            ci, page_idx = index.find(force)
            if ci == 0:
                break
            released += self.scavengeOne(ci, page_idx, nbytes - released)
            if shouldStop is not None and shouldStop():
                break
        return released

    def scavengeAll(self) -> int:
        """``pages.scavenge(^uintptr(0), nil, true)``: release every free page (FreeOSMemory)."""
        return self.scavenge(UINTPTR_MASK, None, True)

    def scavengeOne(self, ci: int, searchIdx: int, max_: int) -> int:
        """Release the highest free, unscavenged run of chunk ``ci`` (at most ~``max_`` bytes)."""
        max_pages = max_ // PAGE_SIZE
        if max_ % PAGE_SIZE:
            max_pages += 1
        min_pages = max(self.phys_page_size // PAGE_SIZE, 1)
        if sumMax(self.summary[_LEAF].get(ci, 0)) >= min_pages:
            chunk = self.chunks[ci]
            base, npages = chunk.findScavengeCandidate(
                searchIdx,
                min_pages,
                max_pages,
                phys_page_size=self.phys_page_size,
                phys_huge_page_size=self.phys_huge_page_size,
            )
            if npages != 0:
                addr = chunkBase(ci) + base * PAGE_SIZE
                chunk.allocRange(base, npages)
                self.update(addr, npages, True, True)
                nbytes = npages * PAGE_SIZE
                if self.onScavenged is not None:
                    self.onScavenged(addr, nbytes)
                if off_lt(addr, self.searchAddr):
                    self.searchAddr = addr
                chunk.free(base, npages)
                self.update(addr, npages, True, False)
                chunk.scavenged.setRange(base, npages)
                return nbytes
        self.scavIndex.setEmpty(ci)
        return 0

    # --------------------------------------------------- model diagnostics

    def freePages(self) -> int:
        """Free pages in all grown chunks (not in Go; for accounting checks)."""
        return sum(PALLOC_CHUNK_PAGES - c.v.bit_count() for c in self.chunks.values())

    def scavengedPages(self) -> int:
        """Pages whose scavenged bit is set (not in Go; equals heapReleased minus page caches)."""
        return sum(c.scavenged.v.bit_count() for c in self.chunks.values())

    def checkSummaries(self) -> None:
        """Throw unless every summary equals its recomputation from the bitmaps (not in Go)."""
        leaf = self.summary[_LEAF]
        for ci, chunk in self.chunks.items():
            if leaf.get(ci, 0) != chunk.summarize():
                raise RuntimeThrow(f"leaf summary of chunk {ci:#x} is stale")
        for level in range(SUMMARY_LEVELS - 2, -1, -1):
            below = self.summary[level + 1]
            here = self.summary[level]
            width = 1 << LEVEL_BITS[level + 1]
            parents = {k >> LEVEL_BITS[level + 1] for k in below} | set(here)
            for p in parents:
                kids = [below.get(k, 0) for k in range(p * width, (p + 1) * width)]
                if here.get(p, 0) != mergeSummaries(kids, LEVEL_LOG_PAGES[level + 1]):
                    raise RuntimeThrow(f"summary[{level}][{p:#x}] is stale")
        sa = self.searchAddr
        if sa != MAX_OFF_ADDR:
            for ci, chunk in self.chunks.items():
                cb = chunkBase(ci)
                if off_lt(cb, sa):
                    n = min(PALLOC_CHUNK_PAGES, (off(sa) - off(cb)) // PAGE_SIZE)
                    if chunk.popcntRange(0, n) != n:
                        raise RuntimeThrow(f"free page below searchAddr {sa:#x} in {ci:#x}")
