"""The Go 1.27 collector (``mgc.go``) on a virtual clock.

A cycle, as ``GC`` runs it (Go's functions in parentheses):

1. **start** (``gcStart``): a trigger fired -- the heap trigger
   (``heapLive >= trigger``, tested after a span refill or a large
   allocation), the 2-minute periodic GC (sysmon's ``forcegc``) or
   ``runtime.GC`` (``gcTriggerCycle``). The starter sweeps what is left,
   starts the per-P mark workers the first time (``gcBgMarkStartWorkers``:
   the runtime's own heap objects, see below), resets the mark state, stops
   the world (sweep termination: ``finishsweep_m``), starts the pacer's
   cycle (``gcController.startCycle``: workers, ``triggered``, assist
   ratio) and the CPU limiter's GC transition, enters ``_GCmark``, greys
   the Ps' tiny blocks and enables assists.
   Then the snapshot trace runs (:mod:`goheap.runtime.go127.mgcmark`) and its
   scan work becomes the work to pay: globals first, then stacks, then the
   heap (``markroot`` jobs come before heap work in ``gcDrain``). The roots
   (globals, stacks) cost ``root_scan_ns_per_byte``; the heap's price per
   unit carries the greying of the objects marked.
2. **concurrent mark**: the mutator allocates black. Work is paid by
   mark assists (``gcAssistAlloc``: the debt times ``assistWorkPerByte``,
   at least ``gcOverAssistWork``, stealing background credit first; skipped
   while the CPU limiter limits) and by background workers, as the
   scheduler would run them: on one P the fractional worker (goal 25 %)
   only gets the P at a scheduling point -- when sysmon preempts the
   mutator (``runtime.common.sysmon``: 10-20 ms of continuous mutator time;
   an assist's drain stops there too, and the goroutine yields), or when the
   mutator blocks -- and then runs until its share exceeds 1.2x its goal
   (``pollFractionalWorkerExit``, asked after each whole root job and each
   ``drainCheckThreshold`` units of heap work);
   with more Ps the other (idle) Ps run dedicated and idle workers the whole
   time. An idle mutator (``advance``, or ``runtime.GC`` waiting) leaves
   every P to idle workers.
   A fractional worker that stops at its share leaves the rest of the
   work queued; the mark then waits for the next drain -- the mutator's
   assist once its credit (stolen from the worker's, at the assist ratio
   of an almost finished mark) runs out, or the next scheduling point --
   while the mutator allocates black (Go 1.27's one-P gctrace shows such
   cycles: background time, little assist time, the heap far past its
   goal).
3. **mark termination** (``gcMarkDone``, ``gcMarkTermination``): when the
   work is paid: the world stops, ``endCycle`` measures cons/mark,
   ``resetLive`` (bytesMarked plus the live bytes of the runtime's and the
   program's objects the model does not allocate: ``runtime_heap_live``,
   ``set_program_heap_live``), ``gcSweep`` (``sweepgen += 2``, sweeping
   restarts), ``lastHeapInUse``, ``gcControllerCommit`` (goal, trigger,
   sweep pacing, scavenger goals), the statistics, ``numgc++``, the
   scavenge index's ``nextGen``, the heap profile's cycle, then every P
   flushes its mcache (``prepareForSweep``, which sweeps spans cached
   before the sweep began) and idle Ps flush their page caches; gctrace.
4. **sweep**, concurrently with the mutator: proportional sweep on span
   allocation, mcentral sweeping the spans it takes, the page reclaimer,
   the background sweeper (on one P it gets a 10-span batch per scheduling
   round; on idle Ps it sweeps continuously), and ``runtime.GC``, which
   sweeps everything before it returns. The last sweeper readies the
   background scavenger.

The runtime's own heap objects (``gcBgMarkStartWorkers``, notes §11): the
first cycle allocates a 112-byte ``chan struct{}`` and, per P, the
worker's 16-byte closure, its 480-byte ``g`` and its 512-byte
``gcBgMarkWorkerNodePadded``; they stay reachable for the program's life.
With Green Tea every P also gets an 8 KiB ``gcw.ptrBuf`` (persistentalloc,
GCSys). The profile's ``runtime_allocs`` switches these (and the finalizer
goroutine's 16-byte frame) off.

Times come from the ``CostModel`` (documented estimates); they shape when
cycles end relative to allocation, pauses, gctrace times and GCCPUFraction,
never which objects survive. The background scavenger runs beside the
mutator without taking its time (its own CPU use is 1 % by design).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.common import mgc
from goheap.runtime.common.clock import NEVER_NS, WORK_RESIDUE, CostModel
from goheap.runtime.common.facade import Collector, Program
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.mgc import gcBackgroundMode
from goheap.runtime.common.scanpieces import ScanPieces
from goheap.runtime.go127.mem import Releases
from goheap.runtime.go127.mgclimit import GCCPULimiterState
from goheap.runtime.go127.mgcmark import Marker
from goheap.runtime.go127.mgcpacer import (
    GCControllerState,
    float64ToInt64,
    gcOverAssistWork,
    gcTriggerKind,
    u64,
)
from goheap.runtime.go127.mgcscavenge import BgScavenger, gcPaceScavenger
from goheap.runtime.go127.mgcsweep import finishsweep_m, gcPaceSweeper, sweepone

if TYPE_CHECKING:
    from goheap.runtime.common.clock import Clock
    from goheap.runtime.go127.mcache import MCache
    from goheap.runtime.go127.mfinal import Finalizers
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mprof import MProf
    from goheap.runtime.go127.mspan import MSpan
    from goheap.runtime.go127.proc import P

#: mallocgc(size, typ, needzero, c, stack), for the runtime's own objects.
MallocgcFunc = Callable[[int, "Type | None", bool, "MCache", tuple[str, ...]], int]

_GCoff: Final = 0
_GCmark: Final = 1
_GCmarktermination: Final = 2

forcegcperiod: Final = 2 * 60 * 1_000_000_000
drainCheckThreshold: Final = 100_000
rootBlockBytes: Final = 256 << 10  # mgcmark.go: a data or BSS root job scans at most this
sweepBatchSize: Final = 10

#: Allocation stacks the heap profile records for the runtime's own objects.
RUNTIME_STACK: Final = ("runtime.gcBgMarkStartWorkers", "runtime.gcStart", "runtime.mallocgc")
FRAME_STACK: Final = ("runtime.runFinalizers", "runtime.goexit")

# Types of the runtime's own objects (pointer layouts simplified: what matters
# for the model is their size, their span class and that they stay live).
FUNCVAL_TYPE: Final = Type("runtime.gcBgMarkStartWorkers.gowrap1", 16, pointers=[8])
G_TYPE: Final = Type("runtime.g", 480, pointers=[64, 472])


@dataclass
class GCCycle(mgc.GCCycle):
    """One go1.27 collection, as gctrace and the run reports show it."""

    userForced: bool = False  # started by runtime.GC (gcTriggerCycle)
    kind: str = "heap"  # heap, time or cycle
    stackScan: int = 0  # lastStackScan after the cycle
    globalsScan: int = 0
    spanScanWork: int = 0  # of scanWork, Green Tea's span scans (span_scan_ns_per_byte)

    @property
    def forced(self) -> bool:
        return self.userForced


@dataclass(frozen=True)
class GCParams:
    """What the collector needs from the profile (see ``Go127Profile``)."""

    globals_scan: int  # scannable data+bss bytes of the program's binary
    globals_data: int  # of which .data (a root job of its own; the rest is .bss)
    stack_scan_base: int  # stack bytes scanned in the runtime's goroutines and main's frames
    stack_scan_per_goroutine: int  # frames of each further goroutine of the program
    stack_size: int  # a goroutine's starting stack (maxStackScan)
    runtime_goroutines: int  # goroutines the runtime keeps (maxStackScan)
    dense_span_scan: bool  # ScanSpanPacked is available (AVX-512)
    runtime_allocs: bool  # model the runtime's own heap objects
    worker_chan_bytes: int
    worker_allocs: tuple[tuple[int, bool], ...]  # per P: (size, pointerful)
    ptrbuf_bytes: int  # gcw.ptrBuf per P (Green Tea)
    runtime_heap_scan: int  # the runtime's unmodelled objects' heap scan work (these Ps)
    runtime_heap_scan_first: int  # of it, drained before the program's objects
    runtime_heap_scan_first_assisted: int  # the same where an assist took the data job
    runtime_heap_live: int  # the live bytes of those objects (these Ps): in heapMarked
    runtime_heap_scan_shared: int = 0  # of it, the other Ps' own: other Ps' workers find it


def _mcache(p: P) -> MCache:
    """The P's mcache (every go1.27 P has one)."""
    c = p.mcache
    assert c is not None
    return c


def format_gctrace(c: GCCycle, start_ns: int, cpu_fraction: float) -> str:
    """The gctrace=1 line, exactly as Go 1.27 prints it: Go 1.8's plus stacks and globals."""
    extra = f"{c.stackScan >> 20} MB stacks, {c.globalsScan >> 20} MB globals, "
    return mgc.format_gctrace(c, start_ns, cpu_fraction, extra)


class GC(Collector):
    """gcController, gcphase, the cycle and the collector's goroutines of one go1.27 runtime."""

    def __init__(
        self,
        h: MHeap,
        controller: GCControllerState,
        clock: Clock,
        procs: int,
        *,
        cost: CostModel,
        liveness: str,
        program: Program,
        mallocgc: MallocgcFunc | None,
        fin: Finalizers,
        mprof: MProf,
        params: GCParams,
        gctrace: Callable[[str], None] | None = None,
        sysmon_phase: int = 0,
    ) -> None:
        self.h = h
        self.stats = h.stats
        self.controller = controller
        self.clock = clock
        self.procs = procs
        self.cost = cost
        self.liveness = liveness
        self.program = program  # its roots and goroutines
        self.fin = fin
        self.mprof = mprof
        self.params = params
        self.mallocgc = mallocgc  # for the runtime's own objects (None: not modelled)
        self.limiter = GCCPULimiterState(clock.now, procs, numgc=lambda: self.stats.numgc)
        self.scavenger = BgScavenger(h, cost, procs)
        # The TLB shootdowns the background scavenger's releases cost the program's
        # goroutine, not yet charged (its next allocation or computing pays them).
        self.shootdown_ns = 0
        self.shootdown_from = 0  # the owed part runs from here ...
        self.shootdown_until = 0  # ... to here, on the virtual clock
        self.ownReleaseTime = 0  # ns the program's own releases took since the start
        self.go18 = False
        self.gcphase = _GCoff
        self.writeBarrier = False
        self.writeBarrierPointers = 0
        self.gcBlackenEnabled = 0
        self.enablegc = True
        self.gcAssistBytes = 0  # the running goroutine's assist credit
        # work
        self.cycles_started = 0  # work.cycles
        self.cycles = mgc.CycleLog()
        self.cur: GCCycle | None = None
        self.userForced = False
        self.bytesMarked = 0
        self.work_total = 0.0
        self.pieces = ScanPieces()  # where the cycle's large objects lie in its heap work
        self.work_remaining = 0.0
        self.work_split = (0, 0, 0)  # globals, stacks, heap scan work of this cycle
        # The cycle's root jobs in gcDrain's order, as where each ends in units
        # of work (_setRootJobs), and how many are done.
        self.root_ends: list[float] = []
        self.root_next = 0
        # More Ps: when the others' threads are up after the world restarts, the
        # scavenger turn that holds one of them (until scav_until, or waiting
        # for that P's fractional stint: scav_pending ns) and that P's
        # fractional mark time this cycle.
        self.others_wake_at = 0
        # Of the heap work left, what the other Ps' workers can reach
        # (MarkResult.shared); the rest is in the running P's caches. They park
        # for the cycle once they find none (_otherPs).
        self.shared_remaining = 0.0
        self.others_parked = False
        self.scav_until = 0
        self.scav_pending = 0.0
        self.other_frac_time = 0.0
        # Virtual ns per unit of this cycle's heap work (the roots, paid first,
        # cost CostModel.root_scan_ns_per_byte: _work_ns).
        self.ns_per_work = cost.scan_ns_per_byte
        self.nDedicated = 0
        self.bgMarkWorkerCount = 0
        self.runtimeObjects: list[int] = []
        self.inflight = 0  # the object the last mallocgc returned (until the caller has it)
        self.alloc_size = -1  # no allocation to charge (alloc_tiny, alloc_large: its kind)
        self.alloc_tiny = False
        self.alloc_large = False
        self.alloc_black = False
        self.mem = h.mem
        self.pinned: list[int] = []  # in-flight objects of callers below us
        self._starting = False
        self._in_mark_done = False
        self._in_fin = False
        self._bg = False  # sweeping on another P: its time is not the mutator's
        self._bg_spent = 0
        self._bg_credit = 0  # CPU time idle Ps have for the background sweeper
        # time and statistics
        self.start_ns = clock.now  # runtimeInitTime
        self.slice_start = clock.now  # when the running goroutine was last scheduled
        self.last_gc_nanotime = 0
        self.gcCpuTime = 0  # GC CPU time, idle marking excluded
        self.nbgsweep = 0
        self.npausesweep = 0
        # Reports (the facade and goheap.timeline use these as with Go 1.8).
        self.gctrace = gctrace  # GODEBUG=gctrace=1: told each cycle's line
        self.on_cycle: Callable[[GCCycle], None] | None = None
        # Told the idle period's end at each quiet point of an idle period;
        # may fast-forward the heap through identical cycles (profiles.fastforward)
        # and returns the period's end then.
        self.idle_point: Callable[[int], int] | None = None
        self.on_sample = None
        self.next_sample_ns = NEVER_NS
        self.sample_jumps = False  # on_sample accepts idle fast-forwards
        self.sysmon = cost.sysmon(clock.now, sysmon_phase)
        self.next_event_ns = self.sysmon.preempt_at(clock.now)
        # Idle time with nothing to do is jumped over (tests compare it with stepping).
        self.skip_quiet_wakes = True
        self.runtime_heap_scan = params.runtime_heap_scan
        self.program_heap_scan = 0
        self.runtime_heap_scan_first = params.runtime_heap_scan_first
        self.runtime_heap_scan_shared = params.runtime_heap_scan_shared
        self.program_heap_scan_first = 0
        self.runtime_heap_scan_first_assisted = params.runtime_heap_scan_first_assisted
        self.program_heap_scan_first_assisted = 0
        self.program_heap_scan_stacks = 0
        # The heap's order this cycle (_layOutHeap): who took the data root job,
        # whether the order is set, and whether the drain paying now is an assist.
        self.data_by_assist = False
        self.heap_laid_out = False
        self.assisting = False
        # What the stacks' job reaches (program_heap_scan_stacks) while no drain
        # has taken that job yet: it waits at the heap's end (_takeStacksReach).
        self.stacks_reach_pending = 0
        self.program_heap_live = 0

        controller.addGlobals(params.globals_scan)
        # The runtime's own objects, allocated before main, are live heap already.
        controller.heapLive += params.runtime_heap_live

    def set_program_heap_live(self, n: int) -> None:
        """The program's unmodelled objects are live heap now, and marked from the next cycle."""
        ctl = self.controller
        ctl.heapLive = u64(ctl.heapLive + n - self.program_heap_live)
        self.program_heap_live = n

    # --- time -------------------------------------------------------------------

    def sweepCost(self, s: MSpan) -> None:
        """Charge the virtual clock for sweeping s (to the background if a P is idle)."""
        ns = int(self.cost.sweep_ns_per_span + self.cost.sweep_ns_per_object * s.nelems)
        if self._bg:
            self._bg_spent += ns
        else:
            self.clock.now += ns

    def onEagerScavenge(self, released: int, calls: Releases) -> None:
        """Scavenging on allocation takes the allocating goroutine's time (an assist)."""
        if released:
            ns = self._ownRelease(calls)
            self.limiter.addAssistTime(ns)
            self.h.scavenge.assistTime += ns

    def _ownRelease(self, calls: Releases) -> int:
        """The running goroutine's own release calls (an allocation's scavenging,
        ``debug.FreeOSMemory``) take its time: ``release_ns``, with the TLB shootdown
        when another P runs a thread meanwhile (a mark worker, bgsweep or a scavenger
        turn; simplified: the time those threads lose is not charged)."""
        beside = self.procs > 1 and (
            self.gcphase == _GCmark or not self.h.isSweepDone() or self.scav_until > self.clock.now
        )
        cost = self.cost.release_ns(calls.calls, calls.resident_calls, calls.resident_pages, beside)
        ns = int(cost)
        self.clock.now += ns
        self.ownReleaseTime += ns
        return ns

    def heapInuse(self) -> int:
        return self.controller.heapInUse

    def mutator_ran(self, ns: float) -> None:
        """The running goroutine used ns of CPU: advance the clock; other Ps work meanwhile."""
        if ns <= 0:
            return
        n = int(ns)
        if self.shootdown_ns:
            n += self._shootdownsDue()
        self._advance(n, False)
        self._preemption_point(self.inflight)
        self.inflight = 0

    def malloc_ran(self, ns: float) -> None:
        """mallocgc's own time: the clock runs and the other Ps work, but nothing
        preempts the goroutine and the world cannot stop until mallocgc returns.

        Go sets ``mp.mallocing`` for the allocation itself: sysmon's preemption
        request waits (newstack defers it while mallocing; an asynchronous one
        finds no safe point), and so does the stop-the-world of mark
        termination, which another P's worker may be ready for. Both happen
        at ``afterMalloc``, after the trigger test: a cycle that ends inside
        the allocation cannot reset heapLive between the allocation's
        heapLive update and its trigger test.
        """
        if ns > 0:  # _advance(int(ns), True), on the per-allocation path without the call
            n = int(ns)
            if self.shootdown_ns:
                n += self._shootdownsDue()
            self.clock.now += n
            if self.procs > 1:
                self._otherPs(n, True)

    def afterMalloc(self, x: int) -> None:
        """The goroutine's next call after mallocgc: mark termination and preemption that
        waited for it."""
        if self._preemption_point(x):
            self.inflight = 0

    def _advance(self, ns: int, mallocing: bool) -> None:
        """ns of the running goroutine's time pass; the other Ps work meanwhile."""
        self.clock.now += ns
        if self.procs > 1:
            self._otherPs(ns, mallocing)

    def _preemption_point(self, x: int) -> bool:
        """Where the goroutine can be preempted: a mark whose work is paid ends, sysmon
        runs at its deadlines. x, the object mallocgc returned, is still only in the
        caller's frame: a cycle started here keeps it. Whether anything was due."""
        done = self.gcphase == _GCmark and self.gcBlackenEnabled and self.work_remaining <= 0
        now = self.clock.now
        if not done and now < self.next_event_ns and now < self.next_sample_ns:
            return False
        self.pinned.append(x)
        try:
            if done:
                self.gcMarkDone()
            if self.clock.now >= self.next_event_ns or self.clock.now >= self.next_sample_ns:
                self._sysmon()
        finally:
            self.pinned.pop()
        return True

    def _otherPs(self, ns: int, mallocing: bool = False) -> None:
        """With more than one P the others run mark workers, or the background sweeper.

        The window is the ns of the running goroutine's time just passed. The
        other Ps mark from ``others_wake_at`` on (their threads were asleep),
        and one of them not while it runs a scavenger turn (``_scavTurn``).
        A P with a dedicated worker marks all the time, the others as their
        fractional workers (``findRunnableGCWorker``) up to 1.2 times their
        goal of the mark so far (``pollFractionalWorkerExit``): these take
        any work (simplified: they take the root jobs, and what those reach
        is theirs). Beyond that a P marks as an idle worker only where
        ``findRunnable``'s ``gcMarkWorkAvailable`` sees global work: root
        jobs and the shared heap work (``MarkResult.shared``: small objects
        and a large array's oblets, which ``gcWork.balance`` and Green Tea's
        span queues make global); what a drain found one large object at a
        time stays in its P's cache. Once the idle workers find none, they
        sleep for the rest of the cycle (no new shared work appears in the
        model's snapshot to wake them, ``enlistWorker``). At two Ps the churn
        twin's other P ran 333 fractional stints and 17 idle ones in 183
        cycles (benchmarks/mark_timeline127.py). gctrace's background and
        idle columns and the pacer's idle utilization split their time so.
        """
        others = self.procs - 1
        now = self.clock.now
        t0 = now - ns
        if self.gcphase == _GCmark and self.gcBlackenEnabled:
            start = max(t0, self.others_wake_at)
            if start >= now:
                return
            ctl = self.controller
            ded = min(self.nDedicated, others)
            quota = (others - ded) * self._g12() * (now - ctl.markStartTime)
            cap = self._scavengerP(start, now) + float((now - start) * (others - 1))
            # Dedicated and fractional workers: any work (simplified: they take the
            # root jobs, and what those reach is theirs).
            share = max(quota - self.other_frac_time, 0.0)
            need = self._work_ns(self.work_remaining)
            worked = min(cap, float((now - start) * ded) + share, need)
            if worked > 0:
                dedicated = min(worked, float((now - start) * ded))
                ctl.dedicatedMarkTime += int(dedicated)
                self.other_frac_time += worked - dedicated
                ctl.fractionalMarkTime += int(worked - dedicated)
                units = self.work_remaining if worked >= need else self._work_units(worked)
                self._pay_shared(units)
                ctl.bgScanCredit += int(units)
            # Idle workers, while the Ps have time left: only work in global queues.
            idle_cap = cap - worked
            if idle_cap > 0 and not self.others_parked and self.work_remaining > 0:
                reach = min(
                    self.work_remaining, max(self._roots_left(), 0.0) + self.shared_remaining
                )
                need = self._work_ns(reach)
                if need <= idle_cap:
                    self.others_parked = True  # they run out within this time
                idle = min(idle_cap, need)
                if idle > 0:
                    ctl.idleMarkTime += int(idle)
                    self.limiter.addIdleTime(int(idle))
                    units = reach if idle >= need else min(self._work_units(idle), reach)
                    self._pay_shared(units)
                    ctl.bgScanCredit += int(units)
            if self.work_remaining <= 0 and not mallocing:
                self.gcMarkDone()
        else:
            if self.scav_pending > 0:  # the mark ended before the P's stint did
                self.scav_until = max(t0, self.scav_until) + int(self.scav_pending)
                self.scav_pending = 0.0
            if not self.h.isSweepDone():
                busy = min(max(self.scav_until - t0, 0), ns)
                self._background_sweep(ns * others - busy)

    def _g12(self) -> float:
        """``pollFractionalWorkerExit``'s bound: 1.2 x the fractional utilization goal."""
        return 1.2 * self.controller.fractionalUtilizationGoal

    def _scavengerP(self, start: int, end: int) -> float:
        """The marking time in [start, end) of the other P that runs the scavenger.

        A scavenger turn that became due during the mark waits for that P's
        fractional worker (``findRunnableGCWorker`` comes first), which stops
        once it has had 1.2 times its goal of the mark so far
        (``pollFractionalWorkerExit``; simplified: continuously, not after
        whole root jobs and heap chunks). The turn then holds the P -- the
        scavenger does not yield -- and the P marks again after it.
        """
        if self.scav_until > start:  # a turn still running holds the P first
            start = min(self.scav_until, end)
        if self.scav_pending <= 0 or start >= end:
            return float(end - start)
        g12 = self._g12()
        # The stint ends where other_frac_time + (t - start) = g12 * (t - markStart).
        spent = g12 * (start - self.controller.markStartTime) - self.other_frac_time
        stint = min(max(spent / (1.0 - g12), 0.0), float(end - start))
        if stint < end - start:
            self.scav_until = start + int(stint) + int(self.scav_pending)
            self.scav_pending = 0.0
            return stint + max(end - self.scav_until, 0)
        return stint

    def _background_sweep(self, budget: int) -> None:
        """bgsweep on Ps the mutator does not use: sweep while their CPU time lasts."""
        self._bg = True
        self._bg_credit += budget
        try:
            while self._bg_credit > 0:
                self._bg_spent = 0
                if sweepone(self.h) == -1:
                    self._bg_credit = 0
                    break
                self.nbgsweep += 1
                self._bg_credit -= max(self._bg_spent, 1)
        finally:
            self._bg = False

    def _sysmon(self, idle: bool = False) -> None:
        """sysmon and the scheduler at their deadlines: ticks, preemption, forced GC, scavenger.

        ``idle``: every P is idle (``idle``), so a woken scavenger has a P at once.
        """
        now = self.clock.now
        if now >= self.next_sample_ns and self.on_sample is not None:
            self.on_sample("tick")
        scheduled = now >= self.sysmon.preempt_at(self.slice_start)
        if scheduled:
            self._schedule()
            now = self.clock.now
        lim = self.limiter
        if lim.needUpdate(now):
            lim.update(now)
        if self.gcphase == _GCoff and self._timeTriggerTest():
            self.gcStart(gcTriggerKind.Time)
        if self.procs > 1:
            # While every P is idle no thread of the program runs beside the turn:
            # its releases flush no other CPU's TLB.
            self.scavenger.beside = not idle
            worked = self.scavenger.poll(self.clock.now)
            if worked > 0:
                self._scavTurn(worked)
                self._chargeShootdowns(worked)
        elif idle or scheduled:
            # One P: bgscavenge is a goroutine, readied by its wake or its timer
            # into the run queue; a P that runs a goroutine without a break
            # schedules it only when sysmon preempts that goroutine.
            worked = self.scavenger.poll(self.clock.now)
            if worked > 0 and not idle:
                self._scavTurnOnP(worked)
        self._next_event()

    def _scavTurnOnP(self, worked: float) -> None:
        """A turn of bgscavenge on the only P, at a preemption: the mutator waits for it.

        The turn (up to 1 ms of releasing, ``run``) holds the P; the
        preempted goroutine runs again when it sleeps. Its time is the
        scavenger's, not GC time, and is not the mutator's allocation either.
        """
        self.clock.now += int(worked)
        self.slice_start = self.clock.now

    def _chargeShootdowns(self, worked: float) -> None:
        """The turn's releases interrupt the program's CPU (``tlb_shootdown_victim_ns``
        a call that unmapped a resident page) while the turn runs: the program owes
        them over the turn's ``worked`` ns from now, and pays as its time passes
        (``_shootdownsDue``). Simplified: from now, where a turn due in a mark may
        start after the other P's fractional stint (``_scavengerP``)."""
        sc = self.scavenger
        if sc.shootdowns:
            ns = int(sc.shootdowns * self.cost.tlb_shootdown_victim_ns)
            now = self.clock.now
            if not self.shootdown_ns:
                self.shootdown_from = now
            self.shootdown_ns += ns
            self.shootdown_until = max(self.shootdown_until, now + int(worked))
            sc.shootdowns = 0

    def _shootdownsDue(self) -> int:
        """The part of the owed interruptions that fell in the program's time since it
        last paid: in proportion to the turns' time passed, all of it once they ended."""
        now = self.clock.now
        owed = self.shootdown_ns
        until = self.shootdown_until
        if now >= until:
            self.shootdown_ns = 0
            return owed
        start = self.shootdown_from
        due = owed * (now - start) // (until - start)
        self.shootdown_ns = owed - due
        self.shootdown_from = now
        return due

    def _scavTurn(self, worked: float) -> None:
        """A turn of bgscavenge (worked ns) on more Ps: it runs on another P.

        It is a goroutine like the others: it holds the P it runs on for the
        whole turn (at least a millisecond when it has the work: ``run``
        yields only when preempted), and that P neither marks nor sweeps
        meanwhile. During a mark it waits for the P's fractional stint
        (``_scavengerP``). On one P it waits for a preemption (``_scavTurnOnP``).
        """
        now = self.clock.now
        if self.gcphase == _GCmark and self.gcBlackenEnabled:
            self.scav_pending += worked
        else:
            self.scav_until = max(now, self.scav_until) + int(worked)

    def _next_event(self) -> None:
        nxt = self.sysmon.preempt_at(self.slice_start)
        lim = self.limiter.lastUpdate + 10_000_001
        if lim < nxt:
            nxt = lim
        if self.last_gc_nanotime and self.controller.gcPercent >= 0:
            t = self.last_gc_nanotime + forcegcperiod + 1
            if t < nxt:
                nxt = t
        if self.procs > 1:  # on one P the scavenger waits for the preemption
            t = self.scavenger.next_event()
            if t < nxt:
                nxt = t
        self.next_event_ns = max(nxt, self.clock.now + 1)

    def _schedule(self) -> None:
        """A scheduling point of the running P (sysmon preempted the goroutine)."""
        self.slice_start = self.clock.now
        if self.gcphase == _GCmark and self.gcBlackenEnabled:
            # findRunnableGCWorker: the P's own fractional worker comes first, on
            # more Ps too (the others' workers run meanwhile: _runFractional).
            self._runFractional()
        elif self.procs == 1 and not self.h.isSweepDone():
            # bgsweep sweeps a batch, then yields: no other P is idle.
            for _ in range(sweepBatchSize):
                if sweepone(self.h) == -1:
                    break
                self.nbgsweep += 1
        self.runFinalizers()
        self.slice_start = self.clock.now

    def _runFractional(self) -> None:
        """The fractional worker on the running P (``gcDrain``, ``gcDrainFractional``).

        It asks ``pollFractionalWorkerExit`` -- has it had more than 1.2x its
        goal of the mark so far? -- after every root job (whole, see
        ``_setRootJobs``) and after every ``drainCheckThreshold`` units of heap
        scan work, and stops at the first poll that says yes, when the work
        runs out, or at sysmon's preemption (``gcDrainUntilPreempt``, checked
        between jobs and objects). A worker that stops with work left leaves
        it to the mutator's next assist, which may first spend the credit it
        steals from this worker.
        """
        ctl = self.controller
        goal = ctl.fractionalUtilizationGoal
        if goal <= 0 or self.work_remaining <= 0:
            return
        pp = self.h.curp
        assert pp is not None
        start = self.clock.now
        delta = start - ctl.markStartTime
        frac = pp.gcFractionalMarkTime
        if delta > 0 and frac / delta > goal:
            return
        g12 = 1.2 * goal
        stop = self.sysmon.preempt_at(start)  # the worker's own slice
        self._takeStacksReach()
        while True:
            units = self._takeRootJob()
            root = units >= 0
            if not root:
                units = float(drainCheckThreshold)
            # A worker that outlasts the work drains what is left itself,
            # exactly: its time converted back can miss it by a rounding error
            # (1e-10), which once left the mark open with nothing to do.
            units = min(units, self.work_remaining)
            if not root:
                units = self._to_object_end(units)
            ns = self._work_ns(units)
            preempted = False
            if not root and self.clock.now + ns > stop:
                units = self._to_object_end(self._work_units(float(max(stop - self.clock.now, 0))))
                ns = self._work_ns(units)
                preempted = True
            step = max(int(ns), 1)
            self.clock.now += step
            self._pay_own(units)
            ctl.bgScanCredit += int(units)
            if self.procs > 1:
                self._otherPs(step, mallocing=True)
            now = self.clock.now
            if self.work_remaining <= 0 or preempted or now >= stop:
                break
            if (frac + now - start) / (now - ctl.markStartTime) > g12:
                break  # pollFractionalWorkerExit
        spent = self.clock.now - start
        ctl.fractionalMarkTime += spent
        pp.gcFractionalMarkTime += spent
        if self.work_remaining <= 0:
            self.gcMarkDone()

    def _setRootJobs(self) -> None:
        """The cycle's root jobs (``gcPrepareMarkRoots``), in the order ``gcDrain`` takes them.

        The fixed jobs (finalizers, dead goroutines' stacks: next to no work),
        the data and then the BSS blocks (``rootBlockBytes`` each; the
        profile's ``globals_data`` is the .data part of its globals), the span
        roots (16 per arena: specials only, no scan work), the stacks. Jobs
        with no work are one entry each: a poll after each gives the same
        answer. The stacks, one job per goroutine in Go, are one here.
        """
        g, st, _ = self.work_split
        data = min(self.params.globals_data, g)
        ends = [0.0]
        at = 0
        for size in (data, g - data):
            left = size
            while left > 0:
                at += min(left, rootBlockBytes)
                left -= rootBlockBytes
                ends.append(float(at))
        ends.append(float(g))  # span roots
        if st:
            ends.append(float(g + st))
        self.root_ends = ends
        self.root_next = 0

    def _layOutHeap(self) -> None:
        """Fix the order of the cycle's heap work as its drains first reach it.

        Which objects come first depends on who took the root jobs. A mark
        worker (``gcDrain``) takes every root job left before any grey
        object, and then drains its queue last in, first out; an assist
        (``gcDrainN``) drains what each job greyed before it takes the next.
        So when an assist took the data job (the first with work), what the
        data and BSS segments reach comes first, before the program's objects
        (its globals' objects; simplified: all of them), and when a worker
        then took the stacks job, what the goroutines' stacks reach comes
        before them too. The parts are measured (docs/model.md, "Objects the
        model does not allocate"); the program's objects move back by them.
        Called by the drain that first pays or looks up heap work, which
        took the last root job.

        Where the assist goes on into the heap, the stacks' job is not taken
        yet: ``gcDrainN`` takes a root job only when it finds no grey object,
        and the data and BSS jobs greyed the program's objects. What the
        stacks reach waits at the heap's end, until a mark worker drains on
        this P (``_takeStacksReach``: ``gcDrain`` takes every root job left
        before any grey object) or the assists reach it there.
        """
        if self.heap_laid_out:
            return
        self.heap_laid_out = True
        if self.data_by_assist:
            first = self.runtime_heap_scan_first_assisted + self.program_heap_scan_first_assisted
            if self.assisting:
                self.stacks_reach_pending = self.program_heap_scan_stacks
            else:
                first += self.program_heap_scan_stacks
        else:
            first = self.runtime_heap_scan_first + self.program_heap_scan_first
        self.pieces.shift(first)

    def _takeStacksReach(self) -> None:
        """A mark worker drains on this P: if the stacks' job is still waiting, it
        takes it first, and what the stacks reach comes next in the heap's order.

        The model's snapshot order holds that part after the program's
        objects (``_layOutHeap``); it moves to where the drains are now, and
        the program's objects not yet scanned move back by it. A worker
        that comes when the drains are already past those objects finds it
        where it is. Measured: Go 1.27.3's churn twin at -k 100000 under a
        300 MiB limit, one P (``benchmarks/mark_timeline127.py``): where four
        assists drained the globals and half the ring and the fractional
        worker then ran, the last assist found 5,880 units left; with that
        part left at the end the model's found 18,592. Only this P's
        workers take it here: the other Ps' (``_otherPs``) leave it where
        it is (simplified).
        """
        units = self.stacks_reach_pending
        if not units:
            return
        self.stacks_reach_pending = 0
        g, st, hw = self.work_split
        at = self.work_total - self.work_remaining - g - st  # heap work done so far
        if at < hw - units:
            self.pieces.shift_from(int(at), units)

    def _takeRootJob(self) -> float:
        """The next root job's work, done whole (``markroot``); -1 when none is left."""
        ends = self.root_ends
        if self.root_next >= len(ends):
            return -1.0
        units = max(ends[self.root_next] - (self.work_total - self.work_remaining), 0.0)
        self.root_next += 1
        return units

    def idle(self, ns: int) -> None:
        """The program is idle for ns: idle Ps mark or sweep; sysmon runs at its deadlines."""
        start = self.clock.now
        end = start + ns
        self.slice_start = start
        while True:
            now = self.clock.now
            if self.gcphase == _GCmark and self.gcBlackenEnabled:
                need = int(self._work_ns(self.work_remaining) / self.procs) + 1
                step = min(end - now, need)
                if step <= 0:
                    break
                self._idleMark(step)
                continue
            if not self.h.isSweepDone():
                self._background_sweep(1 << 62)
            self.runFinalizers()
            if now >= end:
                break
            if self.idle_point is not None:
                end = self.idle_point(end)  # may fast-forward through identical cycles
                now = self.clock.now
            if self._skip_quiet_wakes(now, end):
                continue
            deadline = min(end, self._next_idle_wake(now), self.next_sample_ns)
            step = max(1, deadline - now)
            self.clock.now = now + step
            self.limiter.addIdleTime(step * self.procs)
            self.slice_start = self.clock.now
            self._sysmon(idle=True)
        self.slice_start = self.clock.now
        if self.sysmon.round_after(start) <= self.clock.now:
            self.sysmon.rephase(self.clock.now)  # it slept while every P was idle

    def _skip_quiet_wakes(self, now: int, end: int) -> bool:
        """Jump over sysmon's idle wakes before ``end`` that can do nothing.

        With no forced GC to come (none has run yet, or GOGC=off), sweeping
        done and the scavenger asleep past them, each of sysmon's 60-second
        idle wakes only closes an all-idle window of the GC CPU limiter,
        which changes nothing but its ``lastUpdate``. All but the last such
        wake before the period's end (or the timeline's next tick, or the
        scavenger's wake-up) are done at once: the clock moves to the last
        skipped wake, its idle time goes to the limiter and sysmon runs
        there, leaving the state stepping would. Returns whether it jumped.
        """
        if not self.skip_quiet_wakes or self.gcphase != _GCoff:
            return False
        if self.last_gc_nanotime and self.controller.gcPercent >= 0:
            return False  # forced GCs to come: the idle fast-forward's business
        wake = forcegcperiod // 2
        target = min(end, self.next_sample_ns, self.scavenger.next_event() - 1)
        wakes = (target - now) // wake - 1  # all but the last one
        if wakes < 1 or not self.h.isSweepDone():
            return False
        step = wakes * wake
        self.clock.now = now + step
        self.limiter.addIdleTime(step * self.procs)
        self.slice_start = self.clock.now
        self._sysmon(idle=True)
        return True

    def _next_idle_wake(self, now: int) -> int:
        """When sysmon next acts while every P is idle.

        With no goroutine to preempt, sysmon sleeps (proc.go: ``npidle ==
        gomaxprocs``) for up to ``forcegcperiod/2`` or until the next timer:
        the forced GC's deadline or the scavenger's wake-up. Its 10 ms
        preemption and limiter ticks do not run, and the limiter's window
        over the idle time is all idle either way, so an idle period costs
        its events, not its length over 10 ms.
        """
        nxt = now + forcegcperiod // 2
        if self.last_gc_nanotime and self.controller.gcPercent >= 0:
            t = self.last_gc_nanotime + forcegcperiod + 1
            if t < nxt:
                nxt = t
        t = self.scavenger.next_event()
        if t < nxt:
            nxt = t
        return max(nxt, now + 1)

    def _idleMark(self, step: int) -> None:
        """Every P runs an idle mark worker for step ns (or until the work is done)."""
        ctl = self.controller
        self.clock.now += step
        t = step * self.procs
        ctl.idleMarkTime += t
        self.limiter.addIdleTime(t)
        self._takeStacksReach()
        units = self._work_units(t)
        self._pay_work(units)
        ctl.bgScanCredit += int(units)
        if self.work_remaining <= 0:
            self.gcMarkDone()

    def _roots_left(self) -> float:
        """Root work (globals, stacks) still to pay: it is paid before the heap's."""
        g, st, _ = self.work_split
        return g + st - (self.work_total - self.work_remaining)

    def _work_ns(self, units: float) -> float:
        """The time of the next units of mark work (roots first, then the heap)."""
        root_left = self._roots_left()
        if root_left <= 0:
            return units * self.ns_per_work
        r = min(units, root_left)
        return r * self.cost.root_scan_ns_per_byte + (units - r) * self.ns_per_work

    def _work_units(self, ns: float) -> float:
        """How much mark work ns of a worker's or an assist's time does (roots first)."""
        root_left = self._roots_left()
        if root_left <= 0:
            return ns / self.ns_per_work
        per_root = self.cost.root_scan_ns_per_byte
        root_ns = root_left * per_root
        if ns <= root_ns:
            return ns / per_root if per_root > 0 else root_left
        return root_left + (ns - root_ns) / self.ns_per_work

    def _to_object_end(self, units: float) -> float:
        """units of mark work from here, ended where the root job or heap object they end
        in ends: a drain checks its goal between jobs and objects (``markroot`` does a
        job whole; runtime.common.scanpieces). Simplified: an assist takes root jobs
        while any are left, where ``gcDrainN`` takes one only when it finds no grey
        object -- in the snapshot's order the heap's objects come after the roots."""
        g, st, _ = self.work_split
        done = self.work_total - self.work_remaining
        roots = g + st
        target = done + units
        if target <= roots:
            ends = self.root_ends
            i = bisect_left(ends, target)
            end = ends[i] if i < len(ends) else float(roots)
        else:
            self._layOutHeap()
            end = self.pieces.round_up(target - roots) + roots
        return min(end - done, self.work_remaining)

    def _pay_work(self, units: float) -> None:
        """Mark work done: the pacer's scan-work counters grow (globals, stacks, heap)."""
        rem = self.work_remaining
        if rem <= 0:
            return
        if rem == self.work_total:  # the cycle's first drain takes the data job
            self.data_by_assist = self.assisting
        rem -= min(units, rem)
        if rem < WORK_RESIDUE:
            rem = 0.0  # a float rounding's leftover: no drain could ever take it
        self.work_remaining = rem
        ends = self.root_ends
        paid = self.work_total - rem
        while self.root_next < len(ends) and ends[self.root_next] <= paid and paid > 0:
            self.root_next += 1
        done = int(self.work_total - rem)
        g, s, hw = self.work_split
        if paid >= g + s and not self.heap_laid_out:
            self._layOutHeap()  # this drain took the last root job
        ctl = self.controller
        ctl.globalsScanWork = min(done, g)
        done -= ctl.globalsScanWork
        ctl.stackScanWork = min(done, s)
        done -= ctl.stackScanWork
        ctl.heapScanWork = min(done, hw)
        if self.shared_remaining > rem:
            self.shared_remaining = rem

    def _pay_own(self, units: float) -> None:
        """Mark work done on the running P: root jobs, its own cached heap work, then
        shared heap work (``_pay_work`` for the rest)."""
        self.shared_remaining = mgc.shared_after_own_drain(
            units, self.work_remaining, max(self._roots_left(), 0.0), self.shared_remaining
        )
        self._pay_work(units)

    def _pay_shared(self, units: float) -> None:
        """Mark work done by the other Ps: root jobs, shared heap work, then (their
        dedicated and fractional workers) the rest."""
        heap = units - min(units, max(self._roots_left(), 0.0))
        self.shared_remaining = max(self.shared_remaining - heap, 0.0)
        self._pay_work(units)

    # --- the mutator's side (mallocgc) ---------------------------------------------------

    def deductAssistCredit(self, size: int) -> None:
        self.gcAssistBytes -= size
        if self.gcAssistBytes < 0:
            self.gcAssistAlloc()

    def gcAssistAlloc(self) -> None:
        """Pay the running goroutine's assist debt with stolen credit or its own mark work.

        The assist's drain (``gcDrainN``) stops when sysmon asks the goroutine
        to yield (``gp.preempt``, when sysmon ends its slice): with debt
        left, it yields (``Gosched``: on one P the fractional worker runs) and
        tries again.
        """
        while True:
            if self._starting or self._in_mark_done or self.gcphase != _GCmark:
                return
            if self.limiter.limiting():
                return
            c = self.controller
            debtBytes = -self.gcAssistBytes
            scanWork = float64ToInt64(c.assistWorkPerByte * float(debtBytes))
            if scanWork < gcOverAssistWork:
                scanWork = gcOverAssistWork
                debtBytes = float64ToInt64(c.assistBytesPerWork * float(scanWork))
            bgScanCredit = c.bgScanCredit
            if bgScanCredit > 0:
                if bgScanCredit < scanWork:
                    stolen = bgScanCredit
                    self.gcAssistBytes += 1 + float64ToInt64(c.assistBytesPerWork * float(stolen))
                else:
                    stolen = scanWork
                    self.gcAssistBytes += debtBytes
                c.bgScanCredit -= stolen
                scanWork -= stolen
                if scanWork == 0:
                    return
            preempted = False
            beside = self.procs > 1 and not self.others_parked
            workDone = min(float(scanWork), max(self.work_remaining, 0.0))
            if workDone > 0:
                if beside:
                    workDone = self._assist_share(workDone)
                self.assisting = True  # gcDrainN's order (_layOutHeap)
                workDone = self._to_object_end(workDone)
                now = self.clock.now
                ns = int(self._work_ns(workDone))
                deadline = self.sysmon.preempt_at(self.slice_start)
                if now + ns > deadline:
                    workDone = self._to_object_end(self._work_units(max(deadline - now, 0)))
                    ns = int(self._work_ns(workDone))
                    preempted = True
                self.clock.now = now + ns
                c.assistTime += ns
                self.limiter.addAssistTime(ns)
                self._pay_own(workDone)
                self.assisting = False
                self.gcAssistBytes += 1 + float64ToInt64(c.assistBytesPerWork * workDone)
                if self.procs > 1:
                    self._otherPs(ns, mallocing=True)  # their credit is for later assists
            if self.work_remaining <= 0 and not beside:
                # Beside the other Ps' workers the assist stops when it finds no
                # work and one of them empties the queues; the world stops for
                # mark termination when this mallocgc returns (afterMalloc).
                self.gcMarkDone()
            if preempted and self.gcAssistBytes < 0 and self.gcphase == _GCmark:
                self._schedule()  # Gosched, then try again
                self._next_event()
                continue
            return

    def _assist_share(self, units: float) -> float:
        """The assist's part of units of mark work when other Ps drain beside it.

        On more Ps the other Ps' mark workers (dedicated, fractional, idle) take
        root jobs and shared heap work while the assist drains; its P's own
        cached work is the assist's alone. When together they would empty the
        work before the assist has paid its debt, the assist ends after its own
        work and its share of the rest (the mark is over; its debt goes with
        it); otherwise it does all its units and the workers do as much beside
        it, which they flush as credit for the next assists.
        """
        common = min(self.work_remaining, max(self._roots_left(), 0.0) + self.shared_remaining)
        own = self.work_remaining - common
        return min(units, own + common / self.procs)

    def heapTriggerTest(self) -> bool:
        """``gcTrigger{kind: gcTriggerHeap}.test()``."""
        if not self.enablegc or self.gcphase != _GCoff or self._starting:
            return False
        ctl = self.controller
        trigger, _ = ctl.trigger()
        return ctl.heapLive >= trigger

    def _timeTriggerTest(self) -> bool:
        """``gcTrigger{kind: gcTriggerTime}.test()``: two minutes since the last GC."""
        if not self.enablegc or self.gcphase != _GCoff or self._starting:
            return False
        if self.controller.gcPercent < 0:
            return False
        last = self.last_gc_nanotime
        return last != 0 and self.clock.now - last > forcegcperiod

    def _triggerTest(self, kind: gcTriggerKind, n: int) -> bool:
        if kind == gcTriggerKind.Heap:
            return self.heapTriggerTest()
        if kind == gcTriggerKind.Time:
            return self._timeTriggerTest()
        if not self.enablegc or self.gcphase != _GCoff or self._starting:
            return False
        return n - self.cycles_started > 0

    # --- the cycle -------------------------------------------------------------------------

    def gcStart(
        self, kind: gcTriggerKind = gcTriggerKind.Heap, n: int = 0, inflight: int = 0
    ) -> None:
        """``gcStart``: from _GCoff into concurrent mark (see the module doc)."""
        if self._starting or self._in_mark_done:
            return
        h = self.h
        while self._triggerTest(kind, n) and sweepone(h) != -1:
            self.npausesweep += 1
        if not self._triggerTest(kind, n):
            return
        self._starting = True
        try:
            self._gcStart(kind, inflight)
        finally:
            self._starting = False
        if self.work_remaining <= 0:
            self.gcMarkDone()

    def _gcStart(self, kind: gcTriggerKind, inflight: int) -> None:
        h = self.h
        ctl = self.controller
        st = self.stats
        self.userForced = kind == gcTriggerKind.Cycle
        for p in h.allp:
            c = _mcache(p)
            if c.flushGen != h.sweepgen:
                raise RuntimeThrow(f"p mcache not flushed: P {p.id} flushGen {c.flushGen}")
            if self.params.ptrbuf_bytes and not p.gcwPtrBuf:
                h.palloc.alloc(self.params.ptrbuf_bytes, 8, st.gcMiscSys, h._persistent())
                p.gcwPtrBuf = True
        self.gcBgMarkStartWorkers()
        # gcResetMarkState
        for g in self.program.goroutines:
            g.gcAssistBytes = 0
        self.gcAssistBytes = 0
        h.pageMarks.clear()
        h.lastPageMark = -1
        self.bytesMarked = 0
        trigger, _ = ctl.trigger()
        now = self.clock.now
        cyc = GCCycle(
            n=st.numgc + 1,
            mode=gcBackgroundMode,
            tSweepTerm=now,
            maxprocs=self.procs,
            userForced=self.userForced,
            kind=("heap", "time", "cycle")[int(kind)],
        )
        cyc.heap0 = ctl.heapLive
        cyc.trigger = trigger
        self.cur = cyc
        if self.on_sample is not None:
            self.on_sample("gc_start")
        # Stop the world: sweep termination.
        self.clock.now += int(self.cost.stw_pause_ns(self.procs, False, go18=False))
        finishsweep_m(h)
        self.cycles_started += 1
        ctl.maxStackScan = self.params.stack_size * (
            len(list(self.program.goroutines))
            + self.params.runtime_goroutines
            + self.bgMarkWorkerCount
        )
        ctl.startCycle(now, self.procs, kind)
        self.nDedicated = ctl.dedicatedMarkWorkersNeeded
        for p in h.allp:
            p.gcFractionalMarkTime = 0
        self.limiter.startGCTransition(True, now)
        self.setGCPhase(_GCmark)
        self._mark_snapshot(inflight)
        self.gcBlackenEnabled = 1
        h.gcBlackenEnabled = True
        # Start the world.
        cyc.tMark = self.clock.now
        self.others_wake_at = cyc.tMark + int(self.cost.worker_wake_ns)
        self.other_frac_time = 0.0
        cyc.heapGoal = ctl.heapGoal()
        cyc.sweepTermCpu = (cyc.tMark - cyc.tSweepTerm) * self.procs
        cyc.pause_ns = cyc.tMark - cyc.tSweepTerm
        self.limiter.finishGCTransition(cyc.tMark)

    def gcBgMarkStartWorkers(self) -> None:
        """The first cycle starts a mark worker per P: the runtime's own allocations."""
        if self.bgMarkWorkerCount >= self.procs:
            return
        m = self.mallocgc
        if not self.params.runtime_allocs or m is None:
            self.bgMarkWorkerCount = self.procs
            return
        h = self.h
        assert h.curp is not None
        c = _mcache(h.curp)
        self.runtimeObjects.append(m(self.params.worker_chan_bytes, None, True, c, RUNTIME_STACK))
        while self.bgMarkWorkerCount < self.procs:
            for size, scan in self.params.worker_allocs:
                typ = (FUNCVAL_TYPE if size == FUNCVAL_TYPE.size else G_TYPE) if scan else None
                if typ is not None and typ.size != size:
                    typ = Type(f"runtime.obj{size}", size, pointers=[0])
                self.runtimeObjects.append(m(size, typ, True, c, RUNTIME_STACK))
            self.bgMarkWorkerCount += 1

    def _stackScanBytes(self) -> int:
        """Stack bytes scanned: the runtime's goroutines and main's frames, plus the slots."""
        p = self.params
        total = p.stack_scan_base
        for i, g in enumerate(self.program.goroutines):
            total += 8 * len(g.stack)
            if i:
                total += p.stack_scan_per_goroutine
        return total

    def _mark_snapshot(self, inflight: int) -> None:
        """Trace the heap as it is at mark start and set the work to pay."""
        h = self.h
        graph = self.liveness != "lifetime"
        m = Marker(h, self.params.dense_span_scan, tracing=graph)
        spans = h.inuse_spans()
        extra = list(self.fin.roots()) + self.runtimeObjects
        extra.extend(p for p in (inflight, *self.pinned) if p)
        tiny = [_mcache(p).tiny for p in h.allp if _mcache(p).tiny]
        if graph:
            m.markRoots(tiny)  # gcMarkTinyAllocs
            m.markRoots(self.program.roots())  # globals, goroutine stacks
            m.markRoots(extra)
            m.markrootSpans(spans)
            m.drain()
        else:
            for p in tiny + extra:
                m.markLifetimeObject(p)
            m.markLifetime(spans)
            m.markrootSpans(spans)
            m.drain()
        m.finishSpans()
        res = m.result
        # Live objects the model does not allocate are scanned too (simplified:
        # their scan work only, no objects greyed). Go's drain reaches most of them
        # before the program's own heap objects (an instrumented runtime's drain
        # order, docs/model.md): that part goes first, the program's large objects
        # after it, so the drains' ends fall where Go's do.
        # Where they go depends on which drains take the root jobs: _layOutHeap.
        res.heapScanWork += self.runtime_heap_scan + self.program_heap_scan
        self.heap_laid_out = False
        self.stacks_reach_pending = 0
        res.stackScanWork = self._stackScanBytes()
        res.globalsScanWork = self.params.globals_scan
        self.bytesMarked += res.bytesMarked
        self.work_split = (res.globalsScanWork, res.stackScanWork, res.heapScanWork)
        self._setRootJobs()
        total = res.scanWork
        self.work_total = float(total)
        self.pieces = res.pieces
        self.work_remaining = float(total)
        # The other Ps' workers reach the shared heap work: of the unmodelled
        # objects, the other Ps' own and a program's beyond the part its drain
        # reaches first (other root jobs find them).
        self.shared_remaining = float(
            res.shared
            + self.runtime_heap_scan_shared
            + self.program_heap_scan
            - self.program_heap_scan_first
        )
        self.others_parked = False
        # The roots (data, BSS, stacks) are scanned by pointer mask at their own
        # price; the heap's price per unit carries the greying of every object
        # marked, and costs more once the heap is out of cache (mark_costs).
        heap = total - res.globalsScanWork - res.stackScanWork
        inuse = self.controller.heapInUse
        scan_ns, obj_ns = self.cost.mark_costs(inuse, go18=False)
        span = res.spanScanWork
        self.ns_per_work = (
            scan_ns * (heap - span) + self.cost.span_scan_ns(inuse) * span + res.objects * obj_ns
        ) / max(heap, 1)
        cyc = self.cur
        assert cyc is not None
        cyc.scanWork = total
        cyc.objects_marked = res.objects
        cyc.spanScanWork = res.spanScanWork

    def gcMarkDone(self) -> None:
        """All mark work is paid: stop the world and terminate the mark phase."""
        if self.gcphase != _GCmark or self._in_mark_done or self._starting:
            return
        self._in_mark_done = True
        try:
            cyc = self.cur
            assert cyc is not None
            now = self.clock.now
            cyc.tMarkTerm = now
            self.gcBlackenEnabled = 0
            self.h.gcBlackenEnabled = False
            self.limiter.startGCTransition(False, now)
            self.controller.endCycle(now, self.procs)
            self.gcMarkTermination()
        finally:
            self._in_mark_done = False

    def gcMarkTermination(self) -> None:
        h = self.h
        st = self.stats
        ctl = self.controller
        cyc = self.cur
        assert cyc is not None
        self.setGCPhase(_GCmarktermination)
        cyc.heap1 = ctl.heapLive
        self.clock.now += int(self.cost.stw_pause_ns(self.procs, True, go18=False))
        # gcMark: the work is all paid; flush scanAlloc; resetLive.
        self._pay_work(self.work_remaining)
        g, s, hw = self.work_split
        ctl.globalsScanWork, ctl.stackScanWork, ctl.heapScanWork = g, s, hw
        for p in h.allp:
            _mcache(p).scanAlloc = 0
        # heapMarked (and so the goal, the trigger and the assists' runway) holds
        # the runtime's own live objects too; bytesMarked stays the model's.
        ctl.resetLive(self.bytesMarked + self.params.runtime_heap_live + self.program_heap_live)
        cyc.heap2 = ctl.heapMarked
        cyc.bytesMarked = self.bytesMarked
        self.setGCPhase(_GCoff)
        self.gcSweep()
        st.lastHeapInUse = ctl.heapInUse
        self.gcControllerCommit()
        now = self.clock.now
        cyc.tEnd = now
        cyc.markTermCpu = (cyc.tEnd - cyc.tMarkTerm) * self.procs
        cyc.pause_ns += cyc.tEnd - cyc.tMarkTerm
        cyc.assistTime = ctl.assistTime
        cyc.bgMarkTime = ctl.dedicatedMarkTime + ctl.fractionalMarkTime
        cyc.idleMarkTime = ctl.idleMarkTime
        cyc.stackScan = ctl.lastStackScan
        cyc.globalsScan = ctl.globalsScan
        cyc.heapGoal = ctl.lastHeapGoal
        st.last_gc_unix = now
        self.last_gc_nanotime = now
        st.pause_ns[st.numgc % 256] = cyc.pause_ns
        st.pause_end[st.numgc % 256] = now
        st.pause_total_ns += cyc.pause_ns
        self.gcCpuTime += cyc.sweepTermCpu + cyc.markTermCpu + cyc.assistTime + cyc.bgMarkTime
        elapsed = (now - self.start_ns) * self.procs
        st.gc_cpu_fraction = self.gcCpuTime / elapsed if elapsed > 0 else 0.0
        h.scavenge.assistTime = 0
        h.scavenge.backgroundTime = 0
        if cyc.userForced:
            st.numforcedgc += 1
        st.numgc += 1
        h.pages.scavIndex.nextGen()
        self.limiter.finishGCTransition(now)
        self.mprof.mProf_NextCycle()
        valid = h.sweep.active.begin()
        self.mprof.mProf_Flush()
        # forEachP: flush every mcache; idle Ps flush their page caches too.
        for p in h.allp:
            _mcache(p).prepareForSweep()
            if p is not h.curp:
                p.pcache.flush(h.pages)
        if valid:
            h.sweep.active.end()
        self.cycles.append(cyc)
        self.cur = None
        cyc.gctrace = format_gctrace(cyc, self.start_ns, st.gc_cpu_fraction)
        if self.gctrace is not None:
            self.gctrace(cyc.gctrace)
        if self.on_sample is not None:
            self.on_sample("gc_end")
        if self.on_cycle is not None:
            self.on_cycle(cyc)
        self._next_event()

    def gcSweep(self) -> None:
        """``gcSweep``: a new sweep generation; the background sweeper is woken."""
        h = self.h
        h.sweepgen += 2
        h.sweep.active.reset()
        h.pagesSwept = 0
        h.sweepArenasPages = len(h.spans)
        h.reclaimIndex = 0
        h.reclaimCredit = 0
        h.sweep.centralIndex = 0
        h.sweep.parked = False

    def gcControllerCommit(self) -> None:
        """``gcControllerCommit``: goal and trigger, then pace the sweeper and the scavenger."""
        h = self.h
        ctl = self.controller
        trigger, goal = ctl.controllerCommit(h.isSweepDone(), self.gcphase != _GCoff)
        gcPaceSweeper(h, trigger)
        gcPaceScavenger(
            h.scavenge,
            ctl.memoryLimit,
            goal,
            ctl.lastHeapGoal,
            mappedReady=ctl.mappedReady,
            lastHeapInUse=self.stats.lastHeapInUse,
            heapRetained=ctl.heapRetained(),
            physPageSize=h.profile.phys_page_size,
        )

    # --- what programs call ------------------------------------------------------------

    def _waitOnMark(self, n: int) -> None:
        """``gcWaitOnMark``: block until mark phase n is over (workers get every P)."""
        nMarks = self.cycles_started
        if self.gcphase != _GCmark:
            nMarks += 1
        if nMarks > n:
            return
        if self.procs == 1:
            self._runFractional()
        while self.gcphase == _GCmark:
            need = int(self._work_ns(self.work_remaining) / self.procs) + 1
            self._idleMark(need)

    def runtime_GC(self) -> None:
        """runtime.GC(): finish any cycle, run a full one, sweep everything."""
        if self._starting or self._in_mark_done:
            raise RuntimeThrow("runtime.GC called during a collection")
        n = self.cycles_started
        self._waitOnMark(n)
        self.gcStart(gcTriggerKind.Cycle, n + 1)
        self._waitOnMark(n + 1)
        while self.cycles_started == n + 1 and sweepone(self.h) != -1:
            self.npausesweep += 1
        if self.cycles_started == n + 1 or (
            self.gcphase == _GCmark and self.cycles_started == n + 2
        ):
            self.mprof.mProf_PostSweep()
        self.runFinalizers()
        self.slice_start = self.clock.now
        self._next_event()

    def setGCPercent(self, value: int) -> int:
        """``debug.SetGCPercent``: commit the new goal; GOGC off waits for a running mark."""
        old = self.controller.setGCPercent(value)
        self.gcControllerCommit()
        if value < 0:
            self._waitOnMark(self.cycles_started)
        self._next_event()
        return old

    def setMemoryLimit(self, limit: int) -> int:
        """``debug.SetMemoryLimit``: a negative limit only reads it."""
        old = self.controller.setMemoryLimit(limit)
        if limit >= 0 and old != limit:
            self.gcControllerCommit()
        return old

    def freeOSMemory(self) -> int:
        """``debug.FreeOSMemory``: runtime.GC(), then release every free page."""
        self.runtime_GC()
        before = self.h.os.releases()
        released: int = self.h.pages.scavengeAll()
        self._ownRelease(self.h.os.releases().since(before))
        return released

    def runFinalizers(self) -> None:
        """The finalizer goroutine, then the cleanup goroutines, get the P (not re-entrantly)."""
        fin = self.fin
        if self._in_fin or self.gcphase != _GCoff:
            return
        cleanups = fin.cleanups
        if not fin.finq and not cleanups.queue:
            return
        self._in_fin = True
        try:
            if fin.finq:
                fin.runfinq()
            cleanups.run()
        finally:
            self._in_fin = False
