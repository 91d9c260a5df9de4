"""Go 1.8's constants: the common ones plus its page heap's own (``Go18Profile``).

The values (``GO18``) and their sources are in :mod:`goheap.profiles.go18`.
Not a Go file: the record a profile carries. Not compiled (see
``goheap.build``).
"""

from __future__ import annotations

from dataclasses import dataclass

from goheap.runtime.common.profile import Profile


@dataclass(frozen=True)
class Go18Profile(Profile):
    """Go 1.8's profile: the common constants plus its page heap's own."""

    heap_alloc_chunk: int  # _HeapAllocChunk: smallest mheap.grow
    grow_round_bytes: int  # grow rounds the page count up to this many bytes
    max_mheap_list: int  # _MaxMHeapList: free[]/busy[] lists indexed by page count
    mheap_map_total_bits: int  # _MHeapMap_TotalBits -> _MaxMem
    heap_bitmap_scale: int  # bytes of heap per bitmap byte
    bitmap_chunk: int  # mapBits maps the bitmap in steps of this

    @property
    def max_mem(self) -> int:
        return (1 << self.mheap_map_total_bits) - 1
