"""Per-P page caches (Go 1.27 ``runtime/mpagecache.go``).

What the Go code does
---------------------
Each P owns a ``pageCache``: one 64-page aligned block of a palloc chunk
(``base``), a 64-bit bitmap of the pages of that block it owns and that are
free (``cache``, 1 = free) and which of those are scavenged (``scav``).
``mheap.allocSpan`` uses it, without the heap lock, for spans of fewer
than ``pageCachePages / 4 = 16`` pages:

* ``allocToCache`` (on ``pageAlloc``, under the heap lock) refills an empty
  cache: it takes the 64-page block containing the first free page at or
  after ``searchAddr`` (fast path: from the chunk of ``searchAddr`` when its
  summary is non-zero; otherwise the radix-tree ``find(1)``), claims *all*
  free pages of that block (marks them allocated in the chunk bitmap, clears
  their scavenged bits, keeps a copy in ``scav``), updates the summaries as
  a non-contiguous allocation, tells the scavenge index, and sets
  ``searchAddr`` to the block's last page.
* ``alloc(1)`` takes the lowest free bit; ``allocN(n)`` the lowest run of
  ``n`` free bits (``findBitRange64``).  Both return the base address and
  the scavenged bytes in the pages taken; ``(0, 0)`` when the cache cannot
  satisfy the request (the caller then goes to the page allocator).
* ``flush`` gives every page still cached back to the page allocator (free
  bit, scavenged bit restored), lowers ``searchAddr`` like a free, and
  empties the cache.  It runs for idle Ps at the end of each GC and when a P
  is destroyed.

Pages sitting in a cache are allocated as far as the page allocator and
the scavenger know, but the heap counts them as free (``heapFree`` /
``heapReleased`` are untouched by ``allocToCache``).

What the model simplifies
-------------------------
Nothing: the cache is three integers and the operations are the Go ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.go127.mpagealloc import chunkBase, chunkIndex, chunkPageIndex
from goheap.runtime.go127.mpallocbits import NOT_FOUND, PAGE_SIZE, findBitRange64
from goheap.runtime.go127.mranges import MAX_OFF_ADDR, off_lt

if TYPE_CHECKING:
    from goheap.runtime.go127.mpagealloc import PageAlloc

#: ``pageCachePages``: pages covered by one cache (bits in ``cache``).
PAGE_CACHE_PAGES: Final = 64
_M64: Final = (1 << 64) - 1


def _lowest_bit(x: int) -> int:
    return (x & -x).bit_length() - 1


@dataclass(slots=True)
class PageCache:
    """``pageCache``: a P's private 64-page block (``cache``: 1 = free, ``scav``: 1 = scavenged)."""

    base: int = 0
    cache: int = 0
    scav: int = 0

    def empty(self) -> bool:
        """No free pages left."""
        return self.cache == 0

    def alloc(self, npages: int) -> tuple[int, int]:
        """Take ``npages``: ``(base address, scavenged bytes)``, or ``(0, 0)``."""
        if self.cache == 0:
            return 0, 0
        if npages == 1:
            i = _lowest_bit(self.cache)
            scav = (self.scav >> i) & 1
            self.cache &= ~(1 << i)
            self.scav &= ~(1 << i)
            return self.base + i * PAGE_SIZE, scav * PAGE_SIZE
        return self.allocN(npages)

    def allocN(self, npages: int) -> tuple[int, int]:
        """Take the lowest run of ``npages`` cached pages, or return ``(0, 0)``."""
        i = findBitRange64(self.cache, npages)
        if i >= 64:
            return 0, 0
        mask = (((1 << npages) - 1) << i) & _M64
        scav = (self.scav & mask).bit_count()
        self.cache &= ~mask
        self.scav &= ~mask
        return self.base + i * PAGE_SIZE, scav * PAGE_SIZE

    def flush(self, p: PageAlloc) -> None:
        """Return every cached page to ``p`` and empty the cache."""
        if self.empty():
            return
        ci = chunkIndex(self.base)
        pi = chunkPageIndex(self.base)
        chunk = p.chunkOf(ci)
        index = p.scavIndex
        for i in range(64):
            if self.cache & (1 << i):
                chunk.free1(pi + i)
                index.free(ci, pi + i, 1)
            if self.scav & (1 << i):
                chunk.scavenged.setRange(pi + i, 1)
        if off_lt(self.base, p.searchAddr):
            p.searchAddr = self.base
        p.update(self.base, PAGE_CACHE_PAGES, False, False)
        self.base = self.cache = self.scav = 0

    def freePages(self) -> int:
        """Pages held (not in Go; for accounting)."""
        return self.cache.bit_count()

    def scavengedPages(self) -> int:
        """Held pages that are scavenged (not in Go; part of heapReleased)."""
        return (self.cache & self.scav).bit_count()


def allocToCache(p: PageAlloc) -> PageCache:
    """``pageAlloc.allocToCache``: claim the free pages of the first 64-page block with any."""
    if chunkIndex(p.searchAddr) >= p.end:
        return PageCache()
    ci = chunkIndex(p.searchAddr)
    if p.summary[-1].get(ci, 0) != 0:
        chunk = p.chunkOf(ci)
        j, _ = chunk.find(1, chunkPageIndex(p.searchAddr))
        if j == NOT_FOUND:
            raise RuntimeThrow("bad summary data")
        c = PageCache(
            base=chunkBase(ci) + (j & ~63) * PAGE_SIZE,
            cache=~chunk.pages64(j) & _M64,
            scav=chunk.scavenged.block64(j),
        )
    else:
        addr, _ = p.find(1)
        if addr == 0:
            p.searchAddr = MAX_OFF_ADDR
            return PageCache()
        ci = chunkIndex(addr)
        chunk = p.chunkOf(ci)
        c = PageCache(
            base=addr & ~(64 * PAGE_SIZE - 1),
            cache=~chunk.pages64(chunkPageIndex(addr)) & _M64,
            scav=chunk.scavenged.block64(chunkPageIndex(addr)),
        )
    cpi = chunkPageIndex(c.base)
    chunk.allocPages64(cpi, c.cache)
    chunk.scavenged.clearBlock64(cpi, c.cache & c.scav)
    p.update(c.base, PAGE_CACHE_PAGES, False, True)
    p.scavIndex.alloc(ci, c.cache.bit_count())
    p.searchAddr = c.base + PAGE_SIZE * (PAGE_CACHE_PAGES - 1)
    return c
