"""The operating system as the runtime sees it, and the memory behind the heap.

Go 1.8 on linux/amd64 (mallocinit, mem_linux.go) reserves one region laid out
as ``spans table | heap bitmap | arena`` at the hint 0x00c000000000, so the
arena starts at 0xc420000000. On 64-bit Linux the reservation is only
probed (``arena_reserved == false``); pages are mapped later by ``sysMap``
as the heap grows, and each mapping is charged to a ``*_sys`` stat.

This module models those calls:

- ``sysMap(addr, n, stat)`` charges ``n`` bytes of the reserved region;
- ``sysAlloc(n, stat)`` maps fresh memory outside the arena (persistentalloc
  chunks, allspans arrays, gcBits arenas, the profile hash table) and
  charges it; its addresses come from a separate, deterministic range;
- ``sysFree``, ``sysUnused`` (MADV_DONTNEED) and ``sysUsed``.

The arena and the heap bitmap are *real* memory: one anonymous
MAP_NORESERVE mapping each, the size of Go's reservation, so an object's
words can be written and read at their Go addresses and ``sysUnused``
really drops pages (they read back as zero, as on Linux). Memory outside
the arena that the runtime allocates for itself is only accounted, not
backed: nothing in the model reads it.

The arena also keeps the operating system's side of each 4 KiB page: has
anything written it since the kernel handed it out? Memory Go maps for
the heap costs nothing until it is first written; that first write takes
a page fault (the kernel finds and zeroes a page). Go never clears memory
fresh from the OS (``needzero``), so a program that does not write what it
allocates never faults it in; the fault comes when the runtime clears the
memory for a later reuse, or when the program writes it. ``sysUnused``
(``release``) makes pages fresh again. The clock charges those faults
(``new_faults``) and the bytes the runtime clears (``cleared``) to the
allocation in progress (``runtime.common.facade.Collector.chargeAlloc``).
"""

from __future__ import annotations

import contextlib
import gc
import mmap
from typing import Final

from goheap.errors import GoheapError
from goheap.runtime.common.mstats import SysStat
from goheap.runtime.common.wordmem import load8, store64

MAP_NORESERVE: Final = 0x4000  # Linux; Python 3.11's mmap module lacks the name

#: The operating system's page (linux/amd64): the unit of a first-touch fault.
OS_PAGE_SHIFT: Final = 12
#: Zeros to clear from: a small object's clear copies a slice of these rather than
#: making (and freeing) a zeroed bytes object of its size.
_ZEROS_LEN: Final = 1 << 16
_ZEROS: Final = memoryview(bytes(_ZEROS_LEN))

# Where sysAlloc'd (non-arena) runtime memory is placed. Linux hands out
# such mappings near the top of the user address space; the exact values
# are never visible in MemStats.
SYSALLOC_BASE: Final = 0x7F0000000000


def round_up(n: int, a: int) -> int:
    """Go's round(n, a) for a power-of-two a."""
    return (n + a - 1) & ~(a - 1)


def _anon_mapping(size: int) -> mmap.mmap:
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE
    prot = mmap.PROT_READ | mmap.PROT_WRITE
    try:
        return mmap.mmap(-1, size, flags=flags, prot=prot)
    except OSError:
        # Address space held by heaps that are unreachable but not yet
        # collected (reference cycles): collect them and try once more.
        gc.collect()
        try:
            return mmap.mmap(-1, size, flags=flags, prot=prot)
        except OSError as e:
            raise GoheapError(
                f"cannot reserve {size >> 30} GiB of address space for the heap: {e}"
            ) from None


class OS:
    """sysAlloc/sysFree/sysMap/sysUnused/sysUsed with Go's stat accounting."""

    def __init__(self, phys_page_size: int) -> None:
        self.phys_page_size = phys_page_size
        self._next_sysalloc = SYSALLOC_BASE
        self.sysalloc_calls = 0

    def sysAlloc(self, n: int, stat: SysStat) -> int:
        """Map n fresh zeroed bytes outside the arena; charge them to stat."""
        addr = self._next_sysalloc
        self._next_sysalloc += round_up(n, self.phys_page_size)
        self.sysalloc_calls += 1
        stat.inc(n)
        return addr

    def sysFree(self, addr: int, n: int, stat: SysStat) -> None:
        stat.dec(n)

    def sysMap(self, addr: int, n: int, stat: SysStat) -> None:
        """Commit n bytes of the reserved region at addr; charge them to stat."""
        stat.inc(n)


class ArenaMemory:
    """The bytes of the arena and of the heap bitmap, at their Go addresses.

    ``words`` is the arena viewed as uint64s: the word at address ``a`` is
    ``words[(a - arena_start) >> 3]``. ``bitmap`` is the heap bitmap viewed as
    bytes: the byte at address ``b`` is ``bitmap[b - bitmap_low]``, where
    ``bitmap_low = arena_start - bitmap_size`` (the bitmap grows down from
    ``arena_start``).
    """

    def __init__(self, arena_start: int, arena_size: int, bitmap_size: int) -> None:
        self.arena_start = arena_start
        self.arena_size = arena_size
        self.bitmap_size = bitmap_size
        self._arena_map = _anon_mapping(arena_size)
        self._bitmap_map = _anon_mapping(bitmap_size)
        self.bytes = memoryview(self._arena_map)
        self.words = self.bytes.cast("Q")
        self.bitmap = memoryview(self._bitmap_map)
        # One byte per 4 KiB page of the arena: 1 once written since the OS
        # gave it. A mapping of its own (reserved, not committed: a byte per
        # page of a 512 GiB reservation is 128 MiB of address space, of which
        # only what the heap reaches is ever touched), read through load8,
        # which the compiled build does natively: this runs on every store.
        self._touched_map = _anon_mapping(max(1, arena_size >> OS_PAGE_SHIFT))
        self.touched = memoryview(self._touched_map)
        # Counted here, charged and reset by the clock at the allocation in
        # progress (runtime.common.facade.Collector._memory_ns):
        self.new_faults = 0  # pages first written since the clock last charged them
        self.cleared = 0  # bytes memclr'd since the clock last charged them
        # Spans of small objects, and pages of any span, the page heap handed
        # out fresh from the OS (needzero off) since the clock last charged them.
        self.fresh_spans = 0
        self.fresh_pages = 0
        # Spans the mcache took from its mcentral (mcache.refill) since the
        # clock last charged them.
        self.refills = 0
        # The pointers the write barrier shaded since the clock last charged
        # them, the stores' old values and their new ones that are not nil
        # (the facade counts them: Heap._init_pointer).
        self.barrier_old = 0
        self.barrier_new = 0

    # --- first touch ---

    def touch(self, addr: int) -> None:
        """A write to the word at addr: fault its page in if it is fresh."""
        page = (addr - self.arena_start) >> OS_PAGE_SHIFT
        if load8(self.touched, page):
            return
        self._fault(page, page + 1)

    def touch_range(self, addr: int, n: int) -> None:
        """Writes over [addr, addr+n) (n > 0): fault in every fresh page of it."""
        off = addr - self.arena_start
        lo = off >> OS_PAGE_SHIFT
        hi = ((off + n - 1) >> OS_PAGE_SHIFT) + 1
        touched = self.touched
        # Page by page: most ranges (an object's clear) lie in one or two pages.
        p = lo
        while p < hi and load8(touched, p):
            p += 1
        if p < hi:
            self._fault(p, hi)

    def _fault(self, lo: int, hi: int) -> None:
        view = self.touched[lo:hi]
        self.new_faults += view.tobytes().count(0)
        view[:] = b"\x01" * (hi - lo)

    def fresh_span(self, npages: int, small: bool) -> None:
        """The page heap handed out a span of npages never used since the OS gave them."""
        self.fresh_pages += npages
        if small:
            self.fresh_spans += 1

    # --- the memory ---

    def zero(self, addr: int, n: int) -> None:
        """memclrNoHeapPointers over [addr, addr+n): its time is charged by the clock."""
        self.cleared += n
        off = addr - self.arena_start
        page = off >> OS_PAGE_SHIFT
        if not load8(self.touched, page) or (off + n - 1) >> OS_PAGE_SHIFT != page:
            self.touch_range(addr, n)  # (most clears lie in one page, touched already)
        if (n == 16 or n == 8) and off & 7 == 0:
            # One or two words (the smallest objects): stores, no slice and bytes object.
            words = self.words
            w = off >> 3
            store64(words, w, 0)
            if n == 16:
                store64(words, w + 1, 0)
        elif n >= 1 << 16 and off % mmap.PAGESIZE == 0 and n % mmap.PAGESIZE == 0:
            self._arena_map.madvise(mmap.MADV_DONTNEED, off, n)
        elif n <= _ZEROS_LEN:
            self.bytes[off : off + n] = _ZEROS[:n]  # a copy, no new zeroed bytes object
        else:
            self.bytes[off : off + n] = bytes(n)

    def zero_bitmap(self, off: int, n: int) -> None:
        """Clear n bytes of the heap bitmap from index off.

        Whole pages inside the range are given back (they read as zero, as
        the memclr would leave them) rather than written, so clearing the
        bitmap of a huge span costs neither time nor memory in proportion to
        its size; the partial pages at the ends are written.
        """
        page = mmap.PAGESIZE
        lo = round_up(off, page)
        hi = (off + n) & ~(page - 1)
        if hi - lo < 1 << 16:
            self.bitmap[off : off + n] = bytes(n)
            return
        self.bitmap[off:lo] = bytes(lo - off)
        self._bitmap_map.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        self.bitmap[hi : off + n] = bytes(off + n - hi)

    def release(self, addr: int, n: int) -> int:
        """sysUnused: give the pages back; they read as zero afterwards, and are fresh.

        Returns how many of the OS pages were resident (written since the OS
        gave them): only those does the kernel unmap, and only their release
        costs (``CostModel.release_ns``).
        """
        off = addr - self.arena_start
        self._arena_map.madvise(mmap.MADV_DONTNEED, off, n)
        lo = off >> OS_PAGE_SHIFT
        hi = (off + n) >> OS_PAGE_SHIFT
        if hi <= lo:
            return 0
        resident = (hi - lo) - self.touched[lo:hi].tobytes().count(0)
        self.touched[lo:hi] = bytes(hi - lo)
        return resident

    def close(self) -> None:
        """Unmap the regions (the heap is unusable afterwards).

        A region something still views (a numpy array in a frame a sampling
        profiler keeps, as Dask's workers do) cannot be unmapped now: it is
        left to be unmapped when the last view goes, which changes nothing
        but when the address space is given back.
        """
        for view in (self.words, self.bytes, self.bitmap, self.touched):
            with contextlib.suppress(BufferError):
                view.release()
        for region in (self._arena_map, self._bitmap_map, self._touched_map):
            with contextlib.suppress(BufferError):
                region.close()
