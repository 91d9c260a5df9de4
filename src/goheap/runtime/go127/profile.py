"""Go 1.27's constants: the common ones plus the modern allocator's (``Go127Profile``).

The values (``GO127``), their sources and what the collector figures mean
are in :mod:`goheap.profiles.go127`. Not a Go file: the record a profile
carries. Not compiled (see ``goheap.build``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from goheap.runtime.common.profile import Profile


@dataclass(frozen=True)
class Go127Profile(Profile):
    """Go 1.27's profile: the common constants plus the modern allocator's."""

    has_memory_limit: ClassVar[bool] = True
    has_runtime_metrics: ClassVar[bool] = True

    page_cache_pages: int  # pageCachePages: pages in a P's page cache
    mspancache_cap: int  # len(p.mspancache.buf)
    green_tea_gc: bool  # GOEXPERIMENT=greenteagc (the default)
    sizeof_span_inline_mark_bits: int  # unsafe.Sizeof(spanInlineMarkBits{})
    tag_align: int  # tagAlign: lfstack'd structs (spanSetBlock) are aligned to this
    span_set_block_bytes: int  # unsafe.Sizeof(spanSetBlock{})
    persistent_chunk_link: int  # bytes of each persistentalloc chunk's list link
    sizeof_arena_hint: int
    default_mem_profile_rate: int  # MemProfileRate of a program without heap profiles
    # The collector (see the module doc).
    globals_scan: int
    globals_data: int  # of globals_scan, the .data section's bytes (the rest is .bss)
    stack_scan_base: int
    stack_scan_per_goroutine: int
    stack_size: int  # _FixedStack: a new goroutine's stack
    runtime_goroutines: int  # goroutines the runtime keeps (main excluded)
    dense_span_scan: bool
    runtime_allocs: bool
    gc_worker_chan_bytes: int  # make(chan struct{}, 1) in gcBgMarkStartWorkers
    gc_worker_allocs: tuple[tuple[int, bool], ...]  # per P: closure, g, worker node
    gcw_ptrbuf_bytes: int  # p.gcw.ptrBuf (Green Tea)
    finalizer_frame_bytes: int  # runFinalizers' frame: 16 + nret
    # The pre-main non-heap preset (see the module doc).
    premain_nonheap: bool  # switch
    premain_stack_inuse: int  # StackInuse = StackSys at main (init's goroutine stacks)
    premain_buckhash_buckets: int  # BuckHashSys at main beyond the hash table
