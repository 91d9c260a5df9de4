"""Go 1.8 (linux/amd64): the system of the seed.

Values from the go1.8 sources (malloc.go, mheap.go, mfixalloc.go,
mgcsweepbuf.go, mprof.go, mstats.go); see shared/reference/go1.8-facts.md.
Struct sizes are unsafe.Sizeof on amd64, counted field by field:

- mspan: 3 list pointers, startAddr, npages, stackfreelist, freeindex,
  nelems, allocCache, allocBits, gcmarkBits (11 words = 88 bytes);
  sweepgen u32 + divMul u16 + baseMask u16 (8); allocCount u16 and six
  bytes (8); elemsize, unusedsince, npreleased, limit, speciallock,
  specials (48): 152 bytes.
- mcache: next_sample (padded to 8), local_scan, tiny, tinyoffset,
  local_tinyallocs (40); alloc[67] (536); stackcache[4] of 16 bytes (64);
  local_nlookup, local_largefree, local_nlargefree (24);
  local_nsmallfree[67] (536): 1200 bytes.
- specialfinalizer: special header (16) + fn, nret, fint, ot: 48 bytes;
  specialprofile: header + bucket pointer: 24 bytes.
- bucket header: next, allnext, typ, hash, size, nstk: 48 bytes; memRecord:
  12 counters: 96 bytes.

The runtime strategy (``build_runtime``) wires Go 1.8's modules together the
way ``mallocinit``/``schedinit`` do: the contiguous arena reservation,
``mheap.init``, the profiler, the finalizer queue, the collector, mallocgc,
and one P with one mcache per ``procs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from goheap.errors import GoheapError
from goheap.profiles.base import HeapSnapshot, Profile, Runtime, RuntimeOptions

if TYPE_CHECKING:
    from goheap.heap import Heap
    from goheap.runtime.common.mstats import MemStats
    from goheap.runtime.go18.mspan import MSpan


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

    def build_runtime(self, heap: Heap, opts: RuntimeOptions) -> Runtime:
        return Go18Runtime(self, heap, opts)


class Go18Runtime(Runtime):
    """Go 1.8's runtime on one heap: what ``Heap.__init__`` built before profiles had strategies."""

    def __init__(self, prof: Go18Profile, heap: Heap, opts: RuntimeOptions) -> None:
        from goheap.runtime.common.arena import OS
        from goheap.runtime.common.proc import P
        from goheap.runtime.go18.malloc import Malloc
        from goheap.runtime.go18.mfinal import Finalizers
        from goheap.runtime.go18.mgc import GC
        from goheap.runtime.go18.mheap import MHeap
        from goheap.runtime.go18.mprof import MProf
        from goheap.runtime.go18.mstats import MStats

        self.heap = heap
        self.profile = prof
        self.max_small_request = prof.max_small_size
        heap.stats = MStats(prof.sizeclasses.num_classes)
        heap.os = OS(prof.phys_page_size)
        heap.mheap = MHeap(prof, heap.stats, heap.os, heap.clock)
        rate = prof.mem_profile_rate if opts.memprofilerate is None else opts.memprofilerate
        heap.mprof = MProf(heap.mheap, rate)
        heap.finalizers = Finalizers(heap.mheap)
        heap.mheap.queuefinalizer = heap.finalizers.queuefinalizer
        heap.mheap.mprof_free = heap.mprof.mProf_Free  # type: ignore[assignment]
        heap.gc_ = GC(
            heap.mheap,
            heap.mprof,
            heap.finalizers,
            heap._roots,
            gogc=opts.gcpercent,
            procs=opts.procs,
            liveness=opts.liveness,
            cost=heap.cost,
        )
        heap.malloc_ = Malloc(heap.mheap, heap.mprof, heap.gc_)

        # procresize: one P and one mcache each (allocmcache, global palloc).
        heap.allp = [P(i) for i in range(opts.procs)]
        heap.mheap.allp = heap.allp
        for p in heap.allp:
            c = heap.mheap.cachealloc.alloc(heap.mheap.palloc.global_alloc)
            c.next_sample = heap.mprof.nextSample()
            p.mcache = c
        heap.mheap.curp = heap.allp[0]

    def snapshot(self) -> HeapSnapshot:
        st = self.heap.stats
        return HeapSnapshot(
            st.heap_alloc_now,
            st.heap_inuse,
            st.heap_sys.value,
            st.heap_released,
            st.next_gc,
            st.numgc,
        )

    def object_pointers(self, base: int, size: int) -> list[int]:
        from goheap.runtime.go18.mgcmark import Marker

        m = Marker(self.heap.mheap)
        if not m._has_pointers(base):
            return []
        return m.scan_words(base, size)[0]

    def free_page_runs(self) -> list[tuple[int, int, bool]]:
        from goheap.runtime.go18.mspan import MSpanFree

        h = self.heap.mheap
        runs = [
            ((s.startAddr - h.arena_start) >> h.profile.page_shift, s.npages, s.npreleased > 0)
            for s in h.allspans
            if s.state == MSpanFree
        ]
        return sorted(runs)

    def read_memstats(self) -> MemStats:
        from goheap.runtime.go18.mstats import updatememstats

        for c in self.heap.mcaches:
            c.releaseAll()
        return updatememstats(self.heap.mheap, self.profile.memstats_by_size_len)

    def memstats(self) -> MemStats:
        from goheap.runtime.go18.mstats import updatememstats

        return updatememstats(self.heap.mheap, self.profile.memstats_by_size_len)

    def read_metrics(self) -> dict[str, Any]:
        raise GoheapError("runtime/metrics does not exist in Go 1.8 (profile go1.8)")

    def check(self) -> None:
        from goheap.runtime.go18.mcheck import check_heap

        check_heap(self.heap)

    def inuse_spans(self) -> list[MSpan]:
        from goheap.runtime.go18.mspan import MSpanInUse

        return [s for s in self.heap.mheap.allspans if s.state == MSpanInUse]

    def gc(self) -> None:
        self.heap.gc_.runtime_GC()

    def free_os_memory(self) -> int:
        self.heap.gc_.runtime_GC()
        return self.heap.mheap.scavenge((1 << 63) - 1, -1)

    def set_gc_percent(self, value: int) -> int:
        old = self.heap.gc_.controller.setGCPercent(value)
        self.heap.gc_.runtime_GC()
        return old

    def set_finalizer(self, obj: int, fn: Callable[[int], object] | None) -> None:
        self.heap.finalizers.SetFinalizer(obj, fn)

    def advance(self, ns: int) -> None:
        self.heap.gc_.idle(ns)

    def close(self) -> None:
        self.heap.mheap.heapbits.release()
        self.heap.mheap.mem.close()


GO18 = Go18Profile(
    name="go1.8",
    page_shift=13,
    max_small_size=32768,
    tiny_size=16,
    tiny_size_class=2,
    heap_alloc_chunk=1 << 20,
    grow_round_bytes=64 << 10,
    max_mheap_list=1 << (20 - 13),
    mheap_map_total_bits=39,
    arena_hint=0x00C0 << 32,
    phys_page_size=4096,
    heap_bitmap_scale=8 * 8 // 2,
    bitmap_chunk=8192,
    fixalloc_chunk=16 << 10,
    persistent_chunk=256 << 10,
    persistent_max_block=64 << 10,
    cache_line_size=64,
    sizeof_mspan=152,
    sizeof_mcache=1200,
    sizeof_specialfinalizer=48,
    sizeof_specialprofile=24,
    gc_bits_chunk_bytes=64 << 10,
    gc_bits_header_bytes=16,
    sweep_block_entries=512,
    sweep_spine_init_cap=256,
    mem_profile_rate=512 * 1024,
    buck_hash_size=179999,
    sizeof_bucket_header=48,
    sizeof_memrecord=96,
    max_stack=32,
    memstats_by_size_len=61,
)
