"""The Profile record: everything that differs between modelled Go versions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from goheap.sizeclasses import SizeClasses, for_profile


@dataclass(frozen=True)
class Profile:
    """Constants and struct sizes of one Go version on linux/amd64.

    Names follow the Go runtime (``_PageShift``, ``_MaxMHeapList``, ...),
    spelled in Python style where the Go name has a leading underscore.
    """

    name: str
    # malloc.go
    page_shift: int
    max_small_size: int
    tiny_size: int
    tiny_size_class: int
    heap_alloc_chunk: int  # _HeapAllocChunk: smallest mheap.grow
    grow_round_bytes: int  # grow rounds the page count up to this many bytes
    max_mheap_list: int  # _MaxMHeapList: free[]/busy[] lists indexed by page count
    mheap_map_total_bits: int  # _MHeapMap_TotalBits -> _MaxMem
    arena_hint: int  # first address mallocinit asks sysReserve for
    phys_page_size: int
    heap_bitmap_scale: int  # bytes of heap per bitmap byte
    bitmap_chunk: int  # mapBits maps the bitmap in steps of this
    # mfixalloc.go / malloc.go persistentalloc
    fixalloc_chunk: int
    persistent_chunk: int
    persistent_max_block: int
    cache_line_size: int
    # unsafe.Sizeof of runtime structs (linux/amd64)
    sizeof_mspan: int
    sizeof_mcache: int
    sizeof_specialfinalizer: int
    sizeof_specialprofile: int
    # mheap.go gcBits arenas
    gc_bits_chunk_bytes: int
    gc_bits_header_bytes: int
    # mgcsweepbuf.go
    sweep_block_entries: int
    sweep_spine_init_cap: int
    # mprof.go
    mem_profile_rate: int
    buck_hash_size: int
    sizeof_bucket_header: int
    sizeof_memrecord: int
    max_stack: int
    # MemStats.BySize length (Go 1.8 reports only the first 61 classes)
    memstats_by_size_len: int

    @cached_property
    def sizeclasses(self) -> SizeClasses:
        return for_profile(self.name)

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def max_mem(self) -> int:
        return (1 << self.mheap_map_total_bits) - 1
