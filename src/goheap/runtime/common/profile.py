"""The constants every modelled Go version has, as one record (``Profile``).

A profile is the data of one Go version on linux/amd64: the constants and
struct sizes the runtime's modules read (``profile.page_shift``, ...), and
its size-class table. Each version's package extends it with its own
(``go18.profile.Go18Profile``, ``go127.profile.Go127Profile``); the
instances and the strategy that builds a runtime from one are in
:mod:`goheap.profiles`. Not compiled (see ``goheap.build``): data read at
start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from goheap.sizeclasses import SizeClasses, for_profile


@dataclass(frozen=True)
class Profile:
    """Constants and struct sizes every modelled Go version has (linux/amd64).

    Names follow the Go runtime (``_PageShift``, ``_FixAllocChunk``, ...),
    spelled in Python style where the Go name has a leading underscore.
    """

    # Whether this version has GOMEMLIMIT (Go 1.19+); without it a limit is recorded only.
    has_memory_limit: ClassVar[bool] = False
    # Whether this version has runtime/metrics (Go 1.16+): Heap.read_metrics.
    has_runtime_metrics: ClassVar[bool] = False

    name: str
    # malloc.go
    page_shift: int
    max_small_size: int
    tiny_size: int
    tiny_size_class: int
    arena_hint: int  # first address mallocinit asks to reserve
    phys_page_size: int
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
    # mgcsweepbuf.go (Go 1.8) / mspanset.go (modern): entries per block, first spine
    sweep_block_entries: int
    sweep_spine_init_cap: int
    # mprof.go
    mem_profile_rate: int
    buck_hash_size: int
    sizeof_bucket_header: int
    sizeof_memrecord: int
    max_stack: int
    # MemStats.BySize length (61 rows in every version so far)
    memstats_by_size_len: int
    # The collector: heap scan work, per GC cycle, of the runtime's own
    # objects that the model does not allocate (Ms, Ps, Gs, init-time
    # objects), with one P and for each further P.
    runtime_heap_scan: int
    runtime_heap_scan_per_p: int
    # How much of runtime_heap_scan (at most all of it) Go drains before the
    # program's own heap objects; the rest, and the per-P part, come after them.
    # The order is the mark workers' (gcDrain: every root job first); where a
    # mark assist takes the data and BSS root jobs (Go 1.27's gcDrainN drains
    # what each job greys before it takes the next), the part is ..._assisted.
    runtime_heap_scan_first: int
    runtime_heap_scan_first_assisted: int
    # The live bytes of those objects, with one P and for each further P: what
    # the pacer's marked and live heap hold beyond the model's own objects.
    runtime_heap_live: int
    runtime_heap_live_per_p: int

    def runtime_heap_scan_for(self, procs: int) -> int:
        """The runtime's own unmodelled heap scan work per cycle with procs Ps."""
        return self.runtime_heap_scan + self.runtime_heap_scan_per_p * (procs - 1)

    def runtime_heap_live_for(self, procs: int) -> int:
        """The unmodelled live heap bytes the pacer counts with procs Ps."""
        return self.runtime_heap_live + self.runtime_heap_live_per_p * (procs - 1)

    @cached_property
    def sizeclasses(self) -> SizeClasses:
        return for_profile(self.name)

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift
