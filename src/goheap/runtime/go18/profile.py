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
    # The pages the runtime holds at main (see the profile's doc): heap spans of
    # its own objects, and goroutine stacks with one P and for each further P.
    premain_pages: bool  # switch: the runtime takes them when it is built
    premain_heap_inuse: int
    premain_stack_inuse: int
    premain_stack_inuse_per_p: int
    stack_cache_size: int  # _StackCacheSize: the span a stack pool takes at a time

    def premain_pages_for(self, procs: int) -> tuple[int, int]:
        """Bytes of the runtime's heap spans and stack spans at main with procs Ps."""
        stacks = self.premain_stack_inuse + self.premain_stack_inuse_per_p * (procs - 1)
        return self.premain_heap_inuse, stacks

    @property
    def max_mem(self) -> int:
        return (1 << self.mheap_map_total_bits) - 1
