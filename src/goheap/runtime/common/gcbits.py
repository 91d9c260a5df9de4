"""gcBits arenas (mheap.go): where allocBits and gcmarkBits live.

Each span's alloc and mark bitmaps take ``ceil(nelems/64)*8`` bytes,
bump-allocated from 64 KiB arenas obtained with sysAlloc (charged to
``gc_sys``) or reused from the free list, and never returned to the OS.
Arenas move through ``next -> current -> previous -> free`` at each GC start
(``nextMarkBitArenaEpoch``). The bits themselves are kept on the mspan (as
Python ints); this module does the memory accounting Go does for them, so
GCSys grows exactly when Go's would.
"""

from __future__ import annotations

from goheap.runtime.common.arena import OS
from goheap.runtime.common.mstats import SysStat


class GCBitsArena:
    __slots__ = ("free", "next")

    def __init__(self) -> None:
        self.free = 0  # bytes used so far
        self.next: GCBitsArena | None = None


class GCBitsArenas:
    def __init__(self, os_: OS, gc_sys: SysStat, chunk_bytes: int, header_bytes: int) -> None:
        self.os = os_
        self.gc_sys = gc_sys
        self.chunk_bytes = chunk_bytes
        self.capacity = chunk_bytes - header_bytes
        self.free: GCBitsArena | None = None
        self.next: GCBitsArena | None = None
        self.current: GCBitsArena | None = None
        self.previous: GCBitsArena | None = None
        self.arenas_mapped = 0

    def newMarkBits(self, nelems: int) -> None:
        """Reserve room for one span's bitmap (mark or alloc bits)."""
        bytes_needed = ((nelems + 63) // 64) * 8
        if self.next is None or self.next.free + bytes_needed > self.capacity:
            fresh = self._newArena()
            fresh.next = self.next
            self.next = fresh
        self.next.free += bytes_needed

    def newAllocBits(self, nelems: int) -> None:
        self.newMarkBits(nelems)

    def nextMarkBitArenaEpoch(self) -> None:
        if self.previous is not None:
            if self.free is None:
                self.free = self.previous
            else:
                last = self.previous
                while last.next is not None:
                    last = last.next
                last.next = self.free
                self.free = self.previous
        self.previous = self.current
        self.current = self.next
        self.next = None

    def _newArena(self) -> GCBitsArena:
        if self.free is None:
            self.os.sysAlloc(self.chunk_bytes, self.gc_sys)
            self.arenas_mapped += 1
            result = GCBitsArena()
        else:
            result = self.free
            self.free = result.next
        result.next = None
        result.free = 0
        return result
