"""persistentalloc and fixalloc (malloc.go, mfixalloc.go).

``persistentalloc`` bump-allocates runtime metadata that is never freed from
256 KiB chunks mapped with sysAlloc and charged to ``other_sys``; a request
of 64 KiB or more is its own sysAlloc. When the caller names another stat,
the bytes move from ``other_sys`` to that stat, so ``other_sys`` keeps the
unused chunk tails. Go keeps one chunk per P (``p.palloc``) plus a global
one; this model has one per P and the global one. In modern Go the first
word of every chunk links it into ``persistentChunks`` (``chunk_link``).

``fixalloc`` is a free-list allocator of fixed-size runtime structs (mspan,
mcache, special records). It carves objects from 16 KiB persistentalloc
chunks and keeps ``inuse`` bytes, which become MSpanInuse / MCacheInuse.
Python objects stand for the structs; fixalloc does Go's accounting and
reuses freed objects, so a reused mspan keeps its sweepgen as in Go
(``spanalloc.zero == false``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from goheap.errors import RuntimeThrow
from goheap.runtime.common.arena import OS, round_up
from goheap.runtime.common.mstats import SysStat

T = TypeVar("T")


class PersistentAlloc:
    """One persistentalloc chunk cursor (Go's ``persistentAlloc``)."""

    __slots__ = ("base", "off")

    def __init__(self) -> None:
        self.base = 0
        self.off = 0


class PersistentAllocator:
    """persistentalloc1 with the chunk and block sizes of the profile."""

    def __init__(
        self,
        os_: OS,
        other_sys: SysStat,
        chunk: int,
        max_block: int,
        page_size: int,
        chunk_link: int = 0,
    ):
        self.os = os_
        self.other_sys = other_sys
        self.chunk = chunk
        self.max_block = max_block
        self.page_size = page_size
        # Bytes at the start of each chunk holding the link of Go's
        # persistentChunks list (modern Go: one pointer; Go 1.8: none).
        self.chunk_link = chunk_link
        self.global_alloc = PersistentAlloc()

    def alloc(self, size: int, align: int, stat: SysStat, persistent: PersistentAlloc) -> int:
        if size == 0:
            raise RuntimeThrow("persistentalloc: size == 0")
        if align != 0:
            if align & (align - 1) != 0:
                raise RuntimeThrow("persistentalloc: align is not a power of 2")
            if align > self.page_size:
                raise RuntimeThrow("persistentalloc: align is too large")
        else:
            align = 8
        if size >= self.max_block:
            return self.os.sysAlloc(size, stat)
        persistent.off = round_up(persistent.off, align)
        if persistent.off + size > self.chunk or persistent.base == 0:
            persistent.base = self.os.sysAlloc(self.chunk, self.other_sys)
            persistent.off = round_up(self.chunk_link, align) if self.chunk_link else 0
        p = persistent.base + persistent.off
        persistent.off += size
        if stat is not self.other_sys:
            stat.inc(size)
            self.other_sys.dec(size)
        return p


class FixAlloc(Generic[T]):
    """fixalloc: fixed-size struct allocator with a free list and inuse bytes."""

    def __init__(
        self,
        name: str,
        size: int,
        make: Callable[[], T],
        first: Callable[[T], None] | None,
        stat: SysStat,
        palloc: PersistentAllocator,
        chunk_bytes: int,
    ) -> None:
        self.name = name
        self.size = size
        self.make = make
        self.first = first
        self.stat = stat
        self.palloc = palloc
        self.chunk_bytes = chunk_bytes
        self.nchunk = 0  # bytes left in the current chunk
        self.chunks = 0  # chunks taken so far
        self.inuse = 0
        self.free_list: list[T] = []

    def alloc(self, persistent: PersistentAlloc) -> T:
        if self.free_list:
            self.inuse += self.size
            return self.free_list.pop()
        if self.nchunk < self.size:
            self.palloc.alloc(self.chunk_bytes, 0, self.stat, persistent)
            self.nchunk = self.chunk_bytes
            self.chunks += 1
        v = self.make()
        if self.first is not None:
            self.first(v)
        self.nchunk -= self.size
        self.inuse += self.size
        return v

    def free(self, v: T) -> None:
        self.inuse -= self.size
        self.free_list.append(v)
