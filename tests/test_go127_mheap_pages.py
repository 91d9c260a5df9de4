"""The go1.27 heap's page path (arenas, pageAlloc, the page cache), as the probe saw it.

The allocation sequence of the probe (docs/go1.27-notes.md §4, pageheap.jsonl)
through mheap.allocSpan/freeSpan's page part, with HeapSys and HeapReleased checked
after each step.
"""

from __future__ import annotations

from goheap.runtime.go127.marena import (
    HeapArenas,
)
from goheap.runtime.go127.mpagealloc import (
    PageAlloc,
)
from goheap.runtime.go127.mpagecache import PAGE_CACHE_PAGES, PageCache
from tests.go127_page_helpers import (
    PS,
)

# ==========================================================================
# The probe's page-heap sequence (docs/go1.27-notes.md §4, pageheap.jsonl)
# ==========================================================================


class _MiniHeap:
    """The page part of mheap.allocSpan/freeSpan and its accounting, as the go1.27 heap will do."""

    def __init__(self) -> None:
        self.arenas = HeapArenas()
        self.pages = PageAlloc()
        self.pcache = PageCache()
        self.heap_in_use = self.heap_free = self.heap_released = self.in_stacks = 0

    @property
    def heap_sys(self) -> int:
        return self.heap_in_use + self.heap_free + self.heap_released

    def alloc_span(self, npages: int, stack: bool = False) -> int:
        base = scav = 0
        if npages < PAGE_CACHE_PAGES // 4:
            if self.pcache.empty():
                self.pcache = self.pages.allocToCache()
            base, scav = self.pcache.alloc(npages)
        if base == 0:
            base, scav = self.pages.alloc(npages)
            if base == 0:
                growth, ok = self.arenas.grow(npages, self.pages)
                assert ok
                self.heap_released += growth
                base, scav = self.pages.alloc(npages)
                assert base
        nbytes = npages * PS
        self.heap_released -= scav
        self.heap_free -= nbytes - scav
        if stack:
            self.in_stacks += nbytes
        else:
            self.heap_in_use += nbytes
        return base

    def free_span(self, base: int, npages: int) -> None:
        self.pages.free(base, npages)
        self.heap_in_use -= npages * PS
        self.heap_free += npages * PS

    def free_os_memory(self) -> None:
        r = self.pages.scavengeAll()
        self.heap_released += r
        self.heap_free -= r

    def check(self) -> None:
        # heapReleased is exactly the scavenged pages, in the allocator and in the P's cache.
        released_pages = self.pages.scavengedPages() + self.pcache.scavengedPages()
        assert self.heap_released == released_pages * PS
        free_pages = self.pages.freePages() + self.pcache.freePages()
        assert self.heap_free + self.heap_released == free_pages * PS


def test_probe_pageheap_sequence() -> None:
    h = _MiniHeap()
    for _ in range(8):
        h.alloc_span(4, stack=True)  # 32 stack pages (StackInuse 262144)
    for _ in range(42):
        h.alloc_span(1)  # 42 heap pages (HeapInuse 344064)
    h.check()
    assert h.heap_sys + h.in_stacks == 4 << 20
    # (HeapSys + StackInuse) after each large object, as measured.
    want_total = {1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4, 128: 4, 256: 8, 512: 12, 1024: 20}
    objs = []
    for npages, mib in want_total.items():
        objs.append((h.alloc_span(npages), npages))
        assert h.heap_sys + h.in_stacks == mib << 20, npages
        h.check()
    sys_before = h.heap_sys
    for base, npages in objs:
        h.free_span(base, npages)
    h.check()
    assert h.heap_sys == sys_before
    h.free_os_memory()
    h.check()
    assert h.heap_sys == sys_before
    # Every free page is released except unscavenged pages in this P's cache.
    cache_unscav = (h.pcache.cache & ~h.pcache.scav).bit_count() * PS
    assert h.heap_free == cache_unscav
    released = h.heap_released
    for _ in range(128):
        h.alloc_span(8)  # 64 KiB objects, through the page cache
    h.check()
    assert h.heap_sys == sys_before
    assert h.heap_released == released - (8 << 20)  # all 1024 pages were released ones
