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

The collector's ``runtime_heap_scan`` = 10264 and ``runtime_heap_scan_per_p``
= 9792: heap scan work per cycle of the runtime's own objects, which the
model does not allocate -- a minimal program's scan work per background
cycle (``GODEBUG=gcpacertrace=1``'s W_a: 10264 with one P, 20056 with two).
``runtime_heap_scan_first`` = 8400: how much of it Go 1.8's drain reaches
before the program's own objects. A copy of Go 1.8 whose ``gcDrain`` and
``gcDrainN`` print each object's scan work ran such a program with an
80,000-byte pointer array of its own: every background cycle's first
assist scanned 8,400 bytes of the runtime's objects, then the array, and
stopped there (88,400 units); the runtime's other 5,288 came after.
``runtime_heap_live`` = 16800 and ``runtime_heap_live_per_p`` = 7152: the
live bytes of those objects, which Go 1.8's pacer counts in ``heap_marked``
and ``heap_live`` like any others: the HeapAlloc of a program of
``runtime`` and ``time`` only after the oracle twins' warm-up (a 1 µs
sleep, the mark workers, ``runtime.GC()``; ``tests/oracle/go18probe/livebase``),
16800 with one P (13 of 20 runs; others 17008-18864) and 23952 with two
(15 of 20; others to 25808). The model allocates none of them. The same
probe then holds an 8 MiB array and collects again: NextGC is 2 * (8 MiB +
16800), so the goal counts them. The model has them from the start and
adds them at every mark termination, with a program's own unmodelled
objects (``Heap.set_unmodelled_heap_scan(..., live=)``: the Go 1.8 twins'
328680, ``goheap.validate.sim``). A cycle's ``bytesMarked`` and MemStats
stay the model's objects; gctrace's live heap includes them, as Go's does.

The pages the runtime holds at ``main`` (the same probe, its first line):
``premain_heap_inuse`` = 131072, the heap spans of those objects (HeapInuse,
16 pages, with one P and with two: 13 and 9 of 20 runs, the others up to
188416), and ``premain_stack_inuse`` = 196608 with ``_per_p`` = 32768,
goroutine stacks (StackInuse: 196608 with one P in 17 of 20 runs, 229376
with two in 18 of 20), which Go 1.8 takes from the heap's pages
(``mheap.allocStack``, spans of ``_StackCacheSize``). With
``premain_pages`` the runtime takes them when it is built (or later,
before the first allocation, ``heap.runtime.with_premain_pages()``), so
HeapInuse, HeapSys (851968 with one P: the first 1 MiB of arena less the
stacks), HeapIdle, StackInuse and where the first arena chunk runs out are
Go's; ``goheap validate`` does so. Off by default: a fresh heap is then
empty and its page arithmetic (addresses from the arena's start, HeapSys
of the first chunk) is the plain one the exact tests and docs spell out;
the go1.27 profile leaves its pre-main pages out too. Simplified: the heap
spans are whole pages kept out of the GC'd heap, so the program's objects
never fill their free slots as in Go they may.

``Go18Runtime`` builds Go 1.8's runtime whole, in the order ``schedinit``
does: ``mallocinit`` (the contiguous arena reservation, ``mheap.init``),
the profiler and the finalizer queue, ``gcinit`` (the pacer, the
collector), mallocgc, and ``procresize``: one P with one mcache per
``procs``. Each part gets what it needs in its constructor; the page heap
reaches the collector, the finalizer queue and the profiler through the
runtime itself (``Hooks``), as Go's mheap calls those files' functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from goheap.errors import GoheapError
from goheap.profiles.base import HeapSnapshot, Runtime, RuntimeOptions
from goheap.profiles.fastforward import IdleFastForward, play_timer
from goheap.runtime.common.arena import OS
from goheap.runtime.common.clock import Clock, CostModel
from goheap.runtime.common.facade import Program
from goheap.runtime.common.mgc import GCCycle, format_gctrace
from goheap.runtime.common.mstats import MemStats
from goheap.runtime.common.proc import P
from goheap.runtime.common.specials import SpecialRecord
from goheap.runtime.go18.malloc import Malloc
from goheap.runtime.go18.mcache import MCache
from goheap.runtime.go18.mcheck import check_heap
from goheap.runtime.go18.mfinal import Finalizers
from goheap.runtime.go18.mgc import GC, forcegcperiod, scavengelimit
from goheap.runtime.go18.mgcmark import Marker
from goheap.runtime.go18.mgcpacer import GCControllerState
from goheap.runtime.go18.mheap import MHeap
from goheap.runtime.go18.mprof import Bucket, MProf
from goheap.runtime.go18.mspan import MSpan, MSpanFree, MSpanInUse
from goheap.runtime.go18.mstats import MStats, updatememstats
from goheap.runtime.go18.profile import Go18Profile


class Go18Runtime(Runtime):
    """Go 1.8's runtime of one heap (see the module doc)."""

    def __init__(
        self,
        prof: Go18Profile,
        opts: RuntimeOptions,
        clock: Clock,
        cost: CostModel,
        program: Program,
    ) -> None:
        self.profile: Go18Profile = prof
        self.max_small_request = prof.max_small_size
        self.clock = clock
        # mallocinit
        self.stats: MStats = MStats(prof.sizeclasses.num_classes)
        self.os = OS(prof.phys_page_size)
        self.controller = GCControllerState(self.stats, opts.gcpercent, opts.procs)
        self.mheap: MHeap = MHeap(prof, self.stats, self.os, clock, self.controller, self)
        rate = prof.mem_profile_rate if opts.memprofilerate is None else opts.memprofilerate
        self.mprof: MProf = MProf(self.mheap, rate)
        self.finalizers: Finalizers = Finalizers(self.mheap)
        # gcinit
        self.gc_: GC = GC(
            self.mheap,
            self.mprof,
            self.finalizers,
            program.roots,
            procs=opts.procs,
            liveness=opts.liveness,
            cost=cost,
            gctrace=opts.gctrace,
            runtime_heap_scan=prof.runtime_heap_scan_for(opts.procs),
            runtime_heap_scan_first=prof.runtime_heap_scan_first,
            runtime_heap_scan_shared=prof.runtime_heap_scan_per_p * (opts.procs - 1),
            runtime_heap_live=prof.runtime_heap_live_for(opts.procs),
            sysmon_phase=opts.sysmon_phase,
        )
        self.malloc_: Malloc = Malloc(self.mheap, self.mprof, self.gc_)
        # procresize: one P and one mcache each (allocmcache, global palloc).
        self.allp: list[P[MCache]] = [
            P(i, self.mheap.allocmcache(self.mprof.nextSample())) for i in range(opts.procs)
        ]
        self.mheap.procresize(self.allp)
        self.premain_applied = False
        if prof.premain_pages:
            self.with_premain_pages()
        # Idle time in closed form (profiles.fastforward).
        gc = self.gc_
        self.fastforward = IdleFastForward(
            self,
            gc,
            self.stats,
            cpu_attr="totaltime",
            forcegcperiod=forcegcperiod,
            fmt=lambda c, frac: format_gctrace(c, gc.start_ns, frac),
            excluded=[(gc, "last_scavenge")],
            settled=self._scavenger_idle,
            timer=self._play_scavenger,
        )
        gc.idle_point = self.fastforward

    def with_premain_pages(self) -> None:
        """Take the pages Go 1.8's runtime holds at ``main`` (see the module doc).

        Switched on by ``premain_pages=True`` in the profile; this applies it
        to a heap built without it, once. Call it before the first allocation:
        the pages then lie at the arena's start, as Go's do.
        """
        if self.premain_applied:
            raise GoheapError("the pre-main pages are taken already")
        self.hold_premain_pages(*self.profile.premain_pages_for(len(self.allp)))
        self.premain_applied = True

    def hold_premain_pages(self, heap_bytes: int, stack_bytes: int = 0) -> None:
        """Take the pages a program holds before its first allocation that the model
        does not otherwise allocate: heap_bytes of heap spans (one page each) whose
        objects it does not make, stack_bytes of goroutine stacks (spans of
        _StackCacheSize, as the stack pool takes them). Both are whole pages."""
        page = self.profile.page_size
        chunk = self.profile.stack_cache_size
        if heap_bytes % page or stack_bytes % page:
            raise GoheapError(
                f"hold_premain_pages: {heap_bytes} and {stack_bytes} bytes are not whole pages"
            )
        h = self.mheap
        while stack_bytes > 0:
            n = min(chunk, stack_bytes)
            if h.allocStack(n // page) is None:
                raise GoheapError("hold_premain_pages: out of memory for the stacks")
            stack_bytes -= n
        for _ in range(heap_bytes // page):
            if h.allocPremain(1) is None:
                raise GoheapError("hold_premain_pages: out of memory for the heap pages")

    def _scavenger_idle(self) -> bool:
        """Every free span is released already: sysmon's scavenge would change nothing."""
        return self.mheap.all_free_released()

    def _play_scavenger(self, x0: int, x_end: int, grid: list[tuple[int, int]]) -> None:
        """sysmon's scavenger timer (every scavengelimit/2) through skipped idle time."""
        gc = self.gc_
        every = scavengelimit // 2 + 1  # sysmon: now - last_scavenge > scavengelimit/2
        gc.last_scavenge = play_timer(gc.last_scavenge, every, x0, x_end, grid[-1][1], grid)

    # --- what the page heap calls (mheap.Hooks) ---

    def sweepCost(self, s: MSpan) -> None:
        self.gc_.sweepCost(s)

    def queuefinalizer(self, rec: SpecialRecord, p: int) -> None:
        self.finalizers.queuefinalizer(rec, p)

    def mprof_free(self, bucket: object, size: int) -> None:
        assert isinstance(bucket, Bucket)
        self.mprof.mProf_Free(bucket, size)

    # --- the facade's operations ---

    def cycles(self) -> Sequence[GCCycle]:
        return self.gc_.cycles

    @property
    def mcaches(self) -> list[MCache]:
        return [p.mcache for p in self.allp if p.mcache is not None]

    def snapshot(self) -> HeapSnapshot:
        st = self.stats
        return HeapSnapshot(  # MemStats' HeapInuse and HeapSys: stacks apart
            st.heap_alloc_now,
            st.heap_inuse - st.stacks_inuse,
            st.heap_sys.value - st.stacks_inuse,
            st.heap_released,
            st.next_gc,
            st.numgc,
        )

    def object_pointers(self, base: int, size: int) -> list[int]:
        m = Marker(self.mheap)
        if not m._has_pointers(base):
            return []
        return m.scan_words(base, size)[0]

    def free_page_runs(self) -> list[tuple[int, int, bool]]:
        h = self.mheap
        runs = [
            ((s.startAddr - h.arena_start) >> h.profile.page_shift, s.npages, s.npreleased > 0)
            for s in h.allspans
            if s.state == MSpanFree
        ]
        return sorted(runs)

    def read_memstats(self) -> MemStats:
        for c in self.mcaches:
            c.releaseAll()
        return updatememstats(self.mheap, self.profile.memstats_by_size_len)

    def memstats(self) -> MemStats:
        return updatememstats(self.mheap, self.profile.memstats_by_size_len)

    def read_metrics(self) -> dict[str, Any]:
        raise GoheapError("runtime/metrics does not exist in Go 1.8 (profile go1.8)")

    def check(self) -> None:
        check_heap(self.mheap, self.mcaches)

    def inuse_spans(self) -> list[MSpan]:
        return [s for s in self.mheap.allspans if s.state == MSpanInUse]

    def gc(self) -> None:
        self.gc_.runtime_GC()

    def free_os_memory(self) -> int:
        self.gc_.runtime_GC()
        return self.mheap.scavenge((1 << 63) - 1, -1)

    def set_gc_percent(self, value: int) -> int:
        old = self.gc_.controller.setGCPercent(value)
        self.gc_.runtime_GC()
        return old

    def set_finalizer(self, obj: int, fn: Callable[[int], object] | None) -> None:
        self.finalizers.SetFinalizer(obj, fn)

    def advance(self, ns: int) -> None:
        self.fastforward.reset()
        self.gc_.idle(ns)

    def close(self) -> None:
        self.mheap.heapbits.release()
        self.mheap.mem.close()


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
    runtime_heap_scan=10264,
    runtime_heap_scan_per_p=9792,
    runtime_heap_scan_first=8400,
    runtime_heap_scan_first_assisted=8400,  # not measured apart on Go 1.8: the same
    runtime_heap_live=16800,
    runtime_heap_live_per_p=7152,
    premain_pages=False,
    premain_heap_inuse=131072,
    premain_stack_inuse=196608,
    premain_stack_inuse_per_p=32768,
    stack_cache_size=32 << 10,
)
