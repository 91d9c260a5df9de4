"""The GC cycle (mgc.go) on a virtual clock, with Go 1.8's phases and pacing.

A cycle, as ``GC`` runs it:

1. **start** (``gcStart``): sweep what is left of the last cycle, record
   ``heap0``, stop the world (sweep termination: ``finishsweep_m``, a new
   gcBits epoch); in background mode start the pacer's cycle, enter
   ``_GCmark``, grey the P's tiny blocks and enable assists. Then the
   snapshot trace runs (mgcmark.py) and its scan work becomes the work to
   pay for.
2. **concurrent mark** (``_GCmark``): the mutator keeps allocating, black.
   The background worker pays mark work with its 25% CPU share of virtual
   time; allocating goroutines pay with assists (``assistWorkPerByte``).
3. **mark termination**: when the work is paid (``gcMarkDone``): the
   trigger feedback (``endCycle``), the world stops, the mcaches are
   flushed, ``heap_marked``/``gc_trigger``/``next_gc`` are set, and
   ``gcSweep`` bumps ``sweepgen`` by 2 and sets the proportional sweep
   ratio (or, for ``runtime.GC()``, sweeps everything at once).

STW collections (``runtime.GC()``, ``debug.FreeOSMemory``) do all marking
inside mark termination, as Go 1.8's gcForceBlockMode does.

The cost model (``CostModel``) is what turns work into virtual time. Its
figures are documented estimates for a modern x86 core, not measurements
of Go; they shape times (pauses, gctrace clock/cpu, GCCPUFraction, when
marking ends relative to allocation) but no byte count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.common.clock import NEVER_NS, WORK_RESIDUE, CostModel
from goheap.runtime.common.mgc import (
    CycleLog,
    GCCycle,
    format_gctrace,
    gcBackgroundMode,
    gcForceBlockMode,
    shared_after_own_drain,
)
from goheap.runtime.common.scanpieces import ScanPieces
from goheap.runtime.common.sysmon import forcePreemptNS
from goheap.runtime.common.wordmem import setbit
from goheap.runtime.go18.malloc import GCHooks
from goheap.runtime.go18.mgcmark import Marker
from goheap.runtime.go18.mgcsweep import sweepone

if TYPE_CHECKING:
    from goheap.runtime.go18.mfinal import Finalizers
    from goheap.runtime.go18.mheap import MHeap
    from goheap.runtime.go18.mprof import MProf
    from goheap.runtime.go18.mspan import MSpan

_GCoff: Final = 0
_GCmark: Final = 1
_GCmarktermination: Final = 2


forcegcperiod: Final = 2 * 60 * 1_000_000_000
scavengelimit: Final = 5 * 60 * 1_000_000_000
gcOverAssistWork: Final = 64 << 10


class GC(GCHooks):
    """The collector of one heap: phases, pacing, marking, sweeping, timing."""

    def __init__(
        self,
        h: MHeap,
        mprof: MProf,
        finalizers: Finalizers,
        roots: Callable[[], Iterable[int]],
        *,
        procs: int,
        liveness: str,
        cost: CostModel,
        gctrace: Callable[[str], None] | None = None,
        runtime_heap_scan: int = 0,
        runtime_heap_scan_first: int = 0,
        runtime_heap_scan_shared: int = 0,
        runtime_heap_live: int = 0,
        sysmon_phase: int = 0,
    ) -> None:
        self.h = h
        self.runtime_heap_scan = runtime_heap_scan
        # Of it, the objects of the other Ps (found by their root jobs): shared work.
        self.runtime_heap_scan_shared = runtime_heap_scan_shared
        self.program_heap_scan = 0
        # The runtime's unmodelled objects' live bytes (these Ps) and a
        # program's (set_program_heap_live): in heap_marked and heap_live.
        self.runtime_heap_live = runtime_heap_live
        self.program_heap_live = 0
        self.runtime_heap_scan_first = runtime_heap_scan_first
        self.program_heap_scan_first = 0
        self.program_heap_scan_first_assisted = 0  # not used: Go 1.27's order
        self.program_heap_scan_stacks = 0
        self.stats = h.stats
        self.clock = h.clock
        self.mprof = mprof
        self.fin = finalizers
        self.roots = roots
        self.procs = procs
        self.liveness = liveness
        self.cost = cost
        self.controller = h.controller
        self.go18 = True
        self.gcphase = _GCoff
        self.writeBarrier = False
        self.writeBarrierPointers = 0
        self.gcBlackenEnabled = 0
        self.cycles = CycleLog()
        self.cur: GCCycle | None = None
        self.work_remaining = 0.0  # scan work units still to pay this cycle
        # Of work_remaining, what the other Ps' workers can take (MarkResult.shared);
        # the rest waits in the caches of the P whose drain found it.
        self.shared_remaining = 0.0
        # The other Ps' workers found no work this cycle and sleep (_otherPs).
        self.others_parked = False
        self.pieces = ScanPieces()  # where the cycle's large objects lie in its scan work
        self.roots_ns = 0.0  # root marking time still to spend this cycle (no scan work)
        self.ns_per_work = cost.scan_ns_per_byte  # virtual ns per unit, this cycle
        self.alloc_scanWork = 0  # scan work of objects allocated black this cycle
        self.bytesMarked = 0
        self.gcAssistBytes = 0  # the running goroutine's assist credit
        self.totaltime = 0  # work.totaltime: GC CPU, cumulative
        self.start_ns = self.clock.now  # runtimeInitTime
        self.last_scavenge = self.clock.now
        self._last_gc_mono = 0  # clock time of the last GC's end (sysmon's lastgc)
        self.last_bgsweep = self.clock.now
        # Idle time with nothing to do is jumped over (tests compare it with stepping).
        self.skip_quiet_wakes = True
        self.slice_start = self.clock.now  # when the mutator was last scheduled (one P)
        self.sysmon = cost.sysmon(self.clock.now, sysmon_phase)  # when sysmon preempts it
        self.nbgsweep = 0
        self.npausesweep = 0
        self.gctrace = gctrace  # GODEBUG=gctrace=1: told each cycle's line
        self.on_cycle: Callable[[GCCycle], None] | None = None
        # Told the idle period's end at each quiet point of an idle period;
        # may fast-forward the heap through identical cycles (profiles.fastforward)
        # and returns the period's end then.
        self.idle_point: Callable[[int], int] | None = None
        # A timeline sampler (goheap.timeline): called with "tick" when the
        # clock passes next_sample_ns, and with "gc_start"/"gc_end".
        self.on_sample = None
        self.next_sample_ns = NEVER_NS
        self.sample_jumps = False  # on_sample accepts idle fast-forwards
        self.in_gc = False
        self.inflight = 0
        self.alloc_size = -1  # no allocation to charge (alloc_tiny, alloc_large: its kind)
        self.alloc_tiny = False
        self.alloc_large = False
        self.alloc_black = False
        self.mem = h.mem
        self.others_from = 0  # when the other Ps' mark workers start (worker_wake_ns)
        # The runtime's own objects, allocated before main, are live heap already.
        self.stats.heap_live += runtime_heap_live

    def set_program_heap_live(self, n: int) -> None:
        """The program's unmodelled objects are live heap now, and marked from the next cycle."""
        self.stats.heap_live += n - self.program_heap_live
        self.program_heap_live = n

    # --- time ---

    def heapInuse(self) -> int:
        return self.stats.heap_inuse

    def sweepCost(self, s: MSpan) -> None:
        """Charge the virtual clock for sweeping s."""
        self.clock.now += int(
            self.cost.sweep_ns_per_span + self.cost.sweep_ns_per_object * s.nelems
        )

    def mutator_ran(self, ns: float) -> None:
        """The mutator used ns of CPU: advance the clock and run background work."""
        if ns <= 0:
            return
        self._advance(ns)
        self._preemption_point()

    def malloc_ran(self, ns: float) -> None:
        """mallocgc's own time: the clock runs and the other Ps' workers work, but
        nothing preempts the goroutine and the world cannot stop until mallocgc
        returns (Go 1.8 sets ``mp.mallocing`` for the whole allocation, a large
        object's clearing included): see ``afterMalloc``."""
        if ns > 0:  # _advance(ns), on the per-allocation path without the call
            self.clock.now += int(ns)
            if self.procs > 1 and self.gcphase == _GCmark:
                self._otherPs(ns)

    def afterMalloc(self, x: int) -> None:
        """The goroutine's next call after mallocgc: what waited for it runs now (x, in
        the caller's frame only, is kept by a cycle started here)."""
        if self.procs == 1 and self._quiet(self.clock.now):
            self.inflight = 0
            return
        self.inflight = x
        try:
            self._preemption_point()
        finally:
            self.inflight = 0

    def _quiet(self, now: int) -> bool:
        """One P: nothing at this preemption point can act now (its tests, cheapest first).

        Each test is the first one of what ``_preemption_point`` would run:
        sysmon's preemption, bgsweep's next span, a sample, the forced GC, the
        scavenger. Where bgsweep has nothing to sweep, its clock follows as
        ``_background_sweep`` keeps it. This saves that chain of calls on
        nearly every allocation.
        """
        if (
            now - self.slice_start > forcePreemptNS
            or now >= self.next_sample_ns
            or now - self._last_gc_mono > forcegcperiod
            or now - self.last_scavenge > scavengelimit // 2
        ):
            return False
        if self.gcphase != _GCmark:
            if self.h.sweepdone:
                self.last_bgsweep = now
            elif now - self.last_bgsweep > forcePreemptNS:
                return False
        return True

    def _advance(self, ns: float) -> None:
        """ns of the mutator's time pass; on more Ps the mark workers work meanwhile."""
        self.clock.now += int(ns)
        if self.procs > 1 and self.gcphase == _GCmark:
            self._otherPs(ns)

    def _otherPs(self, wall: float) -> None:
        """The other Ps' mark workers during wall ns of the running goroutine's time.

        The dedicated workers, the fractional one for its share of a P, and on
        what is left idle mark workers (findrunnable runs gcBgMarkWorker in
        gcMarkWorkerIdleMode on a P with nothing else to do; the workloads'
        mutator is one goroutine). They mark the roots first. Every mode
        drains with gcDrainFlushBgCredit: all their work is credit for assists.
        They run only once their threads are up after the world restarted
        (``CostModel.worker_wake_ns``), and only on the shared work
        (``MarkResult.shared``): what the running goroutine's drains found is
        in its P's cache, out of their reach. When they find none left their
        drain returns, they park, and their Ps sleep for the rest of the
        cycle: Go 1.8 wakes no idle P for mark work (``enlistWorker``'s
        ``wakep`` is commented out, golang.org/issue/19112). The running P's
        work then waits for its own drains: the goroutine's assists, or the
        fractional worker when sysmon preempts it (``_schedule``).
        """
        if self.others_parked:
            return
        now = self.clock.now
        start = max(now - wall, self.others_from)  # not before their threads woke
        if start >= now:
            return
        wall = now - start
        c = self.controller
        dedicated = c.dedicatedMarkWorkersNeeded
        frac = c.fractionalUtilizationGoal
        idle = max(0.0, self.procs - 1 - dedicated - frac)
        capacity = wall * (dedicated + frac + idle)
        shared = self.shared_remaining  # never above the work left (_pay_work)
        need = self.roots_ns + shared * self.ns_per_work
        if need <= capacity:
            self.others_parked = True  # they run out within this time
        used = min(capacity, need)
        if used <= 0:
            return
        share = used / capacity
        c.dedicatedMarkTime += int(wall * dedicated * share)
        c.fractionalMarkTime += int(wall * frac * share)
        c.idleMarkTime += int(wall * idle * share)
        roots = min(self.roots_ns, used)
        self.roots_ns -= roots
        work = shared if need <= capacity else min((used - roots) / self.ns_per_work, shared)
        c.bgScanCredit += int(work)
        self.shared_remaining -= work
        self._pay_work(work)

    def _preemption_point(self) -> None:
        """Where the mutator can be preempted: the scheduler and sysmon run."""
        if self.procs == 1:
            # One P: the mark worker and bgsweep only get it at a scheduling
            # point, when sysmon preempts the mutator (_schedule).
            # (sysmon never preempts within forcePreemptNS of the schedule: the
            # cheap test first, on this per-allocation path.)
            now = self.clock.now
            if now - self.slice_start > forcePreemptNS and now >= self.sysmon.preempt_at(
                self.slice_start
            ):
                self._schedule()
            if self.gcphase != _GCmark:
                self._background_sweep()
        else:
            # More Ps: sysmon preempts the goroutine just the same, and its P's
            # schedule() may run the fractional worker (_schedule).
            now = self.clock.now
            if now - self.slice_start > forcePreemptNS and now >= self.sysmon.preempt_at(
                self.slice_start
            ):
                self._schedule()
            if self.gcphase == _GCmark:
                if self._mark_drained():
                    self.gcMarkDone()
            else:
                self._background_sweep()
        self._sysmon()

    def _mark_drained(self) -> bool:
        """Every unit of the cycle's mark work is paid (mark 1's completion point)."""
        return self.work_remaining <= 0 and self.roots_ns <= 0 and not self.in_gc

    def _schedule(self) -> None:
        """sysmon preempted the mutator on the only P: schedule() picks what runs next.

        Go 1.8 (mgc.go findRunnableGCWorker, gcBgMarkWorker): on one P there
        is no dedicated worker (int(1*0.25) = 0) but one fractional worker,
        which runs only here -- there is no other scheduling point in an
        allocation loop -- and only while fractionalMarkTime / (now -
        markStartTime) <= 0.25. It then drains (gcDrainUntilPreempt) until
        the work runs out or sysmon preempts it (``runtime.common.sysmon``). So a
        mark on one P is mostly paid by assists, not by a continuous share.
        With more Ps the same happens on the running goroutine's P (the
        fractional goal is then ``fractionalUtilizationGoal``: 0.5 with two Ps),
        and that worker drains the P's own cached work too, which the other
        Ps' workers cannot reach (``_otherPs``).
        """
        now = self.clock.now
        self.slice_start = now
        if self.gcphase != _GCmark or not self.gcBlackenEnabled or self.in_gc:
            return
        c = self.controller
        elapsed = now - c.markStartTime
        if elapsed > 0 and c.fractionalMarkTime / elapsed > c.fractionalUtilizationGoal:
            return
        self._payRoots(assist=False)
        # gcDrain(gcDrainUntilPreempt): the worker drains until the work runs
        # out or sysmon preempts it. A slice that outlasts the work pays the
        # work left itself, not its time converted back: t / ns_per_work can
        # miss it by a rounding error (1e-10), and the mark then stayed open
        # with nothing to do until the next slice, where Go's worker that
        # empties the queue calls gcMarkDone at once (gcBgMarkWorker).
        left = max(self.work_remaining, 0.0)
        need = left * self.ns_per_work
        slice_ns = float(self.sysmon.preempt_at(self.clock.now) - self.clock.now)
        t = min(need, slice_ns)
        if t > 0:
            self.clock.now += int(t)
            c.fractionalMarkTime += int(t)
            units = left if need <= slice_ns else t / self.ns_per_work
            c.bgScanCredit += int(units)
            self._pay_own(units)
        self.slice_start = self.clock.now
        if self.work_remaining <= 0:
            self.gcMarkDone()

    def _payRoots(self, *, assist: bool) -> None:
        """Mark the roots: time spent by the first assist or worker, no scan work earned.

        Go 1.8's root jobs (mgcmark.go markroot: data/BSS via markrootBlock,
        finalizer and span specials, goroutine stacks) use scanblock, which
        does not count gcw.scanWork, so they neither pay the cycle's scan
        work nor earn assist credit; gcDrainN takes them when it has no
        grey objects. endCycle still sees their time (as assist time it
        raises u_a/u_g and lowers the next trigger).
        """
        ns = self.roots_ns
        if ns <= 0:
            return
        share = self._others_beside()
        if share:  # the other Ps' workers take root jobs beside it
            ns /= self.procs
        self.roots_ns -= ns
        self.clock.now += int(ns)
        if assist:
            self.controller.assistTime += int(ns)
        else:
            self.controller.fractionalMarkTime += int(ns)
        if share:
            self._otherPs(ns)

    def idle(self, ns: int) -> None:
        """The mutator is idle for ns: every P runs idle mark workers or bgsweep."""
        start = self.clock.now
        while ns > 0:
            if self.gcphase == _GCmark and not self.in_gc:
                left = max(self.work_remaining, 0.0) * self.ns_per_work + self.roots_ns
                need = int(left / self.procs)
                step = min(ns, need)
                if step == 0:
                    # Less than a nanosecond of work left: it is done now.
                    self.roots_ns = 0.0
                    self._pay_work(self.work_remaining)
                    self.gcMarkDone()
                    continue
                self.clock.now += step
                self.controller.idleMarkTime += step * self.procs
                roots = min(self.roots_ns, float(step * self.procs))
                self.roots_ns -= roots
                self._pay_work((step * self.procs - roots) / self.ns_per_work)
                ns -= step
                if self.work_remaining <= 0 and self.roots_ns <= 0:
                    self.gcMarkDone()
                continue
            # Idle Ps sweep whatever is left, then time simply passes.
            while not self.h.sweepdone and sweepone(self.h) != -1:
                self.nbgsweep += 1
            skipped = self._skip_quiet_wakes(ns)
            if skipped:
                ns -= skipped
                continue
            self.last_bgsweep = self.clock.now
            if self.idle_point is not None:
                # The work sweeping and the GCs do is not idle time: the idle
                # period's end moves with it, so the hook is told where it is.
                ns = self.idle_point(self.clock.now + ns) - self.clock.now
            # Let sysmon act at its deadlines inside the idle period.
            now = self.clock.now
            end = now + ns
            candidates = [end, self.last_scavenge + scavengelimit // 2 + 1]
            if self.stats.last_gc and self.controller.gcpercent >= 0:
                candidates.append(self._last_gc_mono + forcegcperiod + 1)
            deadline = min(c for c in candidates if c > now)
            step = max(1, min(ns, deadline - self.clock.now))
            self.clock.now += step
            ns -= step
            self._sysmon()
        # The goroutine runs again from here: a new slice. sysmon slept if
        # every P was idle through one of its rounds.
        if self.sysmon.round_after(start) <= self.clock.now:
            self.sysmon.rephase(self.clock.now)
        self.slice_start = self.clock.now

    def _to_object_end(self, units: float) -> float:
        """units of mark work from here, ended where the object they end in ends
        (a drain checks its goal between objects: runtime.common.scanpieces)."""
        cyc = self.cur
        assert cyc is not None  # only drains of a mark in progress ask
        done = cyc.scanWork - self.work_remaining
        end = self.pieces.round_up(done + units)
        return min(end - done, self.work_remaining)

    def _pay_work(self, units: float) -> None:
        """Mark work done: gcController.scanWork grows as it is paid, as in Go."""
        remaining = self.work_remaining
        if remaining > 0:
            self.controller.scanWork += int(min(units, remaining) + 0.5)
        self.work_remaining = remaining - units
        if 0 < self.work_remaining < WORK_RESIDUE:
            self.work_remaining = 0.0  # a float rounding's leftover: no drain could take it
        if self.shared_remaining > self.work_remaining:
            self.shared_remaining = max(self.work_remaining, 0.0)

    def _own_remaining(self) -> float:
        """The work left in the running goroutine's P's caches: all but the shared."""
        return max(self.work_remaining - self.shared_remaining, 0.0)

    def _pay_own(self, units: float) -> None:
        """Mark work done by the running goroutine's P: its own cached work first,
        then shared work (``_pay_work`` for the rest)."""
        self.shared_remaining = shared_after_own_drain(
            units, self.work_remaining, 0.0, self.shared_remaining
        )
        self._pay_work(units)

    def _others_marking(self) -> bool:
        """Other Ps' mark workers take part in this cycle: there are other Ps, and
        they have not yet found the shared work gone (they may still be waking)."""
        return self.procs > 1 and not self.others_parked

    def _others_beside(self) -> bool:
        """The other Ps' mark workers are running beside the goroutine now."""
        return (
            self.gcphase == _GCmark
            and self._others_marking()
            and self.clock.now >= self.others_from
        )

    def _background_sweep(self) -> None:
        """bgsweep: on an idle P it sweeps continuously; with one P, a span per time slice."""
        h = self.h
        if h.sweepdone:
            self.last_bgsweep = self.clock.now
            return
        now = self.clock.now
        if self.procs > 1:
            budget = float((now - self.last_bgsweep) * (self.procs - 1))
            per_span = self.cost.sweep_ns_per_span
            while budget >= per_span and not h.sweepdone:
                before = self.clock.now
                if sweepone(h) == -1:
                    break
                self.nbgsweep += 1
                spent = self.clock.now - before
                self.clock.now = before  # it ran on another P
                budget -= max(spent, per_span)
        else:
            if now - self.last_bgsweep <= forcePreemptNS:
                return  # the next preemption round is further off (cheap test first)
            while now >= self.sysmon.preempt_at(self.last_bgsweep) and not h.sweepdone:
                self.last_bgsweep = self.sysmon.preempt_at(self.last_bgsweep)
                if sweepone(h) == -1:
                    break
                self.nbgsweep += 1
            return
        self.last_bgsweep = now

    def _skip_quiet_wakes(self, ns: int) -> int:
        """Jump over sysmon's wakes in the next ns that can do nothing; the ns skipped.

        With no forced GC to come (none has run yet, or GOGC=off) and every
        free span released, sysmon's 2.5-minute scavenger wakes change
        nothing but ``last_scavenge``; an idle heap never collects again. The
        wakes up to the last one before the period's end (or the timeline's
        next tick, which a wake would take) are skipped in one step, leaving
        the state stepping them would: the clock and ``last_scavenge`` at the
        last skipped wake. The rest is stepped.
        """
        if not self.skip_quiet_wakes or self.gcphase != _GCoff or self.in_gc:
            return 0
        if self.stats.last_gc != 0 and self.controller.gcpercent >= 0:
            return 0  # forced GCs to come: the idle fast-forward's business
        period = scavengelimit // 2 + 1  # a wake comes as soon as it is overdue
        now = self.clock.now
        target = min(now + ns, self.next_sample_ns - 1)
        wakes = (target - self.last_scavenge) // period - 1  # all but the last one
        if wakes < 1 or not self.h.all_free_released():
            return 0
        t = self.last_scavenge + wakes * period
        if t <= now:
            return 0
        self.clock.now = t
        self.last_scavenge = t
        return t - now

    def _sysmon(self) -> None:
        """sysmon's periodic work: the 2-minute forced GC and the scavenger."""
        now = self.clock.now
        if now >= self.next_sample_ns and self.on_sample is not None:
            self.on_sample("tick")
        st = self.stats
        if (
            self.gcphase == _GCoff
            and not self.in_gc
            and st.last_gc != 0
            and now - self._last_gc_mono > forcegcperiod
            and self.controller.gcpercent >= 0
        ):
            self.gcStart(gcBackgroundMode, forceTrigger=True)
        if now - self.last_scavenge > scavengelimit // 2:
            self.last_scavenge = now
            self.h.scavenge(now, scavengelimit)

    # --- GCHooks (mallocgc) ---

    def assistAlloc(self, size: int) -> None:
        self.gcAssistBytes -= size
        if self.gcAssistBytes < 0:
            self.gcAssistAlloc()

    def assistRounding(self, extra: int) -> None:
        self.gcAssistBytes -= extra

    def gcAssistAlloc(self) -> None:
        """Pay the allocating goroutine's debt with stolen credit or its own mark work.

        The assist's drain (``gcDrainN``) stops when sysmon asks the goroutine
        to yield (``gp.preempt``); with debt left it yields (``Gosched``: on
        one P the fractional worker may run) and tries again.
        """
        while True:
            c = self.controller
            debt = -self.gcAssistBytes
            scanWork = int(c.assistWorkPerByte * debt)
            if scanWork < gcOverAssistWork:
                scanWork = gcOverAssistWork
                debt = int(c.assistBytesPerWork * scanWork)
            bgScanCredit = c.bgScanCredit
            stolen = 0
            if bgScanCredit > 0:
                if bgScanCredit < scanWork:
                    stolen = bgScanCredit
                    self.gcAssistBytes += 1 + int(c.assistBytesPerWork * stolen)
                else:
                    stolen = scanWork
                    self.gcAssistBytes += debt
                c.bgScanCredit -= stolen
                scanWork -= stolen
                if scanWork == 0:
                    return
            self._payRoots(assist=True)
            preempted = False
            beside = self._others_marking()
            workDone = min(float(scanWork), max(self.work_remaining, 0.0))
            if workDone > 0:
                if beside:
                    # The other Ps' workers drain the shared work beside the assist
                    # (those still waking take root jobs as they come): when together
                    # they would empty it before its debt is paid, the assist ends
                    # after its own work and its share of that (see go127
                    # GC._assist_share).
                    own = self._own_remaining()
                    workDone = min(workDone, own + self.shared_remaining / self.procs)
                workDone = self._to_object_end(workDone)
                ns = workDone * self.ns_per_work
                left = self.sysmon.preempt_at(self.slice_start) - self.clock.now
                if ns > left:
                    workDone = self._to_object_end(max(left, 0) / self.ns_per_work)
                    ns = workDone * self.ns_per_work
                    preempted = True
                self.clock.now += int(ns)
                c.assistTime += int(ns)
                self._pay_own(workDone)
                self.gcAssistBytes += 1 + int(c.assistBytesPerWork * workDone)
                if self.procs > 1:
                    self._otherPs(ns)  # their credit is for later assists
            if self.work_remaining <= 0 and not self.in_gc and not beside:
                # With the other Ps' workers draining beside it, the assist stops
                # when it finds no work and one of them empties the queue; its
                # gcMarkDone must stop the world, which waits for this mallocgc
                # to return (afterMalloc's preemption point ends the mark).
                self.gcMarkDone()
            if preempted and self.gcAssistBytes < 0 and self.gcphase == _GCmark:
                self._schedule()  # Gosched, then try again
                continue
            return

    def gcmarknewobject(self, x: int, size: int, scanSize: int) -> None:
        """Allocate black: set the mark bit; count the bytes and scan work."""
        self.alloc_black = True  # its time is charged with the allocation (chargeAlloc)
        s = self.h.spans[(x - self.h.arena_start) >> 13]
        assert s is not None
        idx = s.objIndex(x) if s.sizeclass else 0
        s.gcmarkBits = setbit(s.gcmarkBits, idx)
        self.bytesMarked += size
        self.controller.scanWork += scanSize
        self.alloc_scanWork += scanSize

    def gcShouldStart(self, forceTrigger: bool) -> bool:
        st = self.stats
        return (
            self.gcphase == _GCoff
            and not self.in_gc
            and (forceTrigger or st.heap_live >= st.gc_trigger)
            and st.enablegc
            and self.controller.gcpercent >= 0
        )

    def gcStartBackground(self, x: int) -> None:
        # x is the object mallocgc is about to return: live in its frame.
        self.inflight = x
        try:
            self.gcStart(gcBackgroundMode, forceTrigger=False)
        finally:
            self.inflight = 0

    # --- the cycle ---

    def gcStart(self, mode: int, forceTrigger: bool = False) -> None:
        h = self.h
        st = self.stats
        while (mode != gcBackgroundMode or self.gcShouldStart(forceTrigger)) and sweepone(h) != -1:
            self.nbgsweep += 1
        if mode == gcBackgroundMode and not self.gcShouldStart(forceTrigger):
            return
        self.in_gc = True
        now = self.clock.now
        cyc = GCCycle(n=st.numgc + 1, mode=mode, tSweepTerm=now, maxprocs=self.procs)
        cyc.heap0 = st.heap_live
        cyc.trigger = st.gc_trigger
        self.cur = cyc
        if self.on_sample is not None:
            self.on_sample("gc_start")
        # gcResetMarkState
        self.bytesMarked = 0
        self.alloc_scanWork = 0
        self.gcAssistBytes = 0
        # STW: sweep termination.
        self.clock.now += int(self.cost.stw_pause_ns(self.procs, False, go18=True))
        while sweepone(h) != -1:
            self.npausesweep += 1
        h.gcbits.nextMarkBitArenaEpoch()
        if mode == gcBackgroundMode:
            self.controller.startCycle(now)
            cyc.heapGoal = st.next_gc
            self.setGCPhase(_GCmark)
            self._mark_snapshot()
            self.gcBlackenEnabled = 1
            h.gcBlackenEnabled = 1
            self.in_gc = False
            cyc.tMark = self.clock.now
            # The other Ps' workers start once their threads wake (worker_wake_ns).
            self.others_from = cyc.tMark + int(self.cost.worker_wake_ns)
            cyc.sweepTermCpu = (cyc.tMark - cyc.tSweepTerm) * self.procs
            cyc.pause_ns = cyc.tMark - cyc.tSweepTerm
            if self.work_remaining <= 0 and self.roots_ns <= 0:
                self.gcMarkDone()
        else:
            cyc.tMark = cyc.tMarkTerm = self.clock.now
            cyc.sweepTermCpu = (cyc.tMark - cyc.tSweepTerm) * self.procs
            cyc.pause_ns = cyc.tMark - cyc.tSweepTerm
            cyc.heapGoal = cyc.heap0
            if mode != gcBackgroundMode:
                st.numforcedgc += 1
            self.setGCPhase(_GCmark)  # briefly, for marking the snapshot
            self._mark_snapshot()
            self.gcMarkTermination(stw_mark=True)

    def _mark_snapshot(self) -> None:
        """Trace the heap as it is now (see mgcmark.py) and set the work to pay."""
        h = self.h
        m = Marker(h)
        # gcMarkTinyAllocs (background mode only): each P's tiny block is
        # greyed. An STW collection flushes the mcaches before it marks, so
        # the tiny blocks are simply dropped.
        stw = self.cur is not None and self.cur.mode != gcBackgroundMode
        for p in h.allp:
            if stw or p.mcache is None:
                continue
            if p.mcache.tiny:
                if self.liveness == "lifetime":
                    m.mark_lifetime_object(p.mcache.tiny)
                else:
                    m.shade(p.mcache.tiny)
        if self.liveness == "lifetime":
            for p_ in self.fin.roots():
                m.mark_lifetime_object(p_)
            m.mark_lifetime()
        else:
            m.mark_roots(self.roots())
            m.mark_roots(self.fin.roots())
            if self.inflight:
                m.shade(self.inflight)
            m.drain()
        m.markrootSpans()
        m.drain()
        res = m.result
        # Live objects the model does not allocate are scanned too (simplified:
        # their scan work only, no objects greyed); the part Go's drain reaches
        # before the program's objects goes first (docs/model.md).
        res.scanWork += self.runtime_heap_scan + self.program_heap_scan
        res.pieces.shift(self.runtime_heap_scan_first + self.program_heap_scan_first)
        self.bytesMarked += res.bytesMarked
        assert self.cur is not None
        self.cur.scanWork = res.scanWork
        self.cur.objects_marked = res.objects
        # The work to pay is Go's unit, scan work (bytes scanned): what assists
        # and background credit count. Greying objects costs time too; it is
        # spread over the cycle's scan work as a higher price per unit, so
        # that assists still finish marking by the heap goal as Go's do.
        self.work_remaining = float(res.scanWork)
        # What other Ps' workers can take (MarkResult.shared): of the unmodelled
        # objects, the other Ps' own and a program's beyond the part its drain
        # reaches first (other root jobs find them); the runtime's others lie in
        # the cache of the drain that found the program's objects.
        unmodelled = (
            self.runtime_heap_scan_shared + self.program_heap_scan - self.program_heap_scan_first
        )
        self.shared_remaining = min(float(res.shared + unmodelled), self.work_remaining)
        self.others_parked = False
        self.pieces = res.pieces
        # Root marking: time without scan work, in background cycles (an STW
        # cycle's roots are inside its measured pause).
        self.roots_ns = 0.0 if stw else self.cost.roots_ns_go18
        # Marking costs more once the heap is out of cache (CostModel.mark_costs).
        scan_ns, obj_ns = self.cost.mark_costs(self.stats.heap_inuse, go18=True)
        self.ns_per_work = scan_ns + res.objects * obj_ns / max(res.scanWork, 1)

    def gcMarkDone(self) -> None:
        """All mark work is paid: leave concurrent mark, run mark termination."""
        if self.gcphase != _GCmark or self.in_gc:
            return
        self.in_gc = True
        self.gcBlackenEnabled = 0
        self.h.gcBlackenEnabled = 0
        self.controller.endCycle(self.clock.now)
        self.gcMarkTermination(stw_mark=False)

    def gcMarkTermination(self, *, stw_mark: bool) -> None:
        h = self.h
        st = self.stats
        cyc = self.cur
        assert cyc is not None
        self.gcBlackenEnabled = 0
        h.gcBlackenEnabled = 0
        self.setGCPhase(_GCmarktermination)
        self.roots_ns = 0.0
        cyc.heap1 = st.heap_live
        cyc.tMarkTerm = self.clock.now if not stw_mark else cyc.tMarkTerm
        start_term = self.clock.now
        self.clock.now += int(self.cost.stw_pause_ns(self.procs, True, go18=True))
        if stw_mark:
            # The whole mark runs inside this pause, on stwprocs helpers.
            self.clock.now += int(self.work_remaining * self.ns_per_work / self.procs)
            self._pay_work(self.work_remaining)
        # gcMark: flush every mcache (the tiny blocks go too), purge the stats.
        for p in h.allp:
            if p.mcache is not None:
                p.mcache.releaseAll()
        h.purge_all_cachedstats()
        # All the work is paid now: the cycle's scan work, exactly (paying it in
        # float slices may have rounded the running count).
        self.controller.scanWork = cyc.scanWork + self.alloc_scanWork
        marked = self.bytesMarked + self.runtime_heap_live + self.program_heap_live
        self.controller.set_trigger_after_mark(marked)
        cyc.heap2 = marked
        cyc.bytesMarked = self.bytesMarked
        self.setGCPhase(_GCoff)
        self.gcSweep(cyc.mode)
        # Stats.
        now = self.clock.now
        cyc.tEnd = now
        cyc.markTermCpu = (cyc.tEnd - start_term) * self.procs
        c = self.controller
        cyc.assistTime = c.assistTime
        cyc.bgMarkTime = c.dedicatedMarkTime + c.fractionalMarkTime
        cyc.idleMarkTime = c.idleMarkTime
        pause = cyc.pause_ns + (cyc.tEnd - start_term)
        if stw_mark:
            pause = cyc.tEnd - cyc.tSweepTerm
        cyc.pause_ns = pause
        st.last_gc = now
        self._last_gc_mono = now
        st.pause_ns[st.numgc % 256] = pause
        st.pause_end[st.numgc % 256] = now
        st.pause_total_ns += pause
        self.totaltime += cyc.sweepTermCpu + cyc.assistTime + cyc.bgMarkTime + cyc.markTermCpu
        elapsed = (now - self.start_ns) * self.procs
        st.gc_cpu_fraction = self.totaltime / elapsed if elapsed > 0 else 0.0
        st.numgc += 1
        if cyc.mode == gcBackgroundMode:
            self.mprof.mProf_GC()
        self.cycles.append(cyc)
        self.cur = None
        self.in_gc = False
        self.last_bgsweep = now
        cyc.gctrace = format_gctrace(cyc, self.start_ns, st.gc_cpu_fraction)
        if self.gctrace is not None:
            self.gctrace(cyc.gctrace)
        if self.on_sample is not None:
            self.on_sample("gc_end")
        if self.on_cycle is not None:
            self.on_cycle(cyc)
        if self.fin.fingwake:
            self.fin.runfinq()

    def gcSweep(self, mode: int) -> None:
        """sweepgen += 2; set up proportional sweep, or sweep it all (forced)."""
        h = self.h
        st = self.stats
        h.sweepgen += 2
        h.sweepdone = 0
        if len(h.sweepSpans[(h.sweepgen // 2) % 2]) != 0:
            raise RuntimeThrow("non-empty swept list")
        h.pagesSwept = 0
        if mode == gcForceBlockMode:
            h.sweepPagesPerByte = 0.0
            while sweepone(h) != -1:
                self.npausesweep += 1
            self.mprof.mProf_GC()
            self.mprof.mProf_GC()
            return
        heapDistance = st.gc_trigger - st.heap_live - (1 << 20)
        if heapDistance < 8192:
            heapDistance = 8192
        h.sweepPagesPerByte = h.pagesInUse / heapDistance
        h.spanBytesAlloc = 0

    def runtime_GC(self) -> None:
        """runtime.GC(): a full STW collection with a full STW sweep."""
        if self.in_gc:
            raise RuntimeThrow("runtime.GC called during a collection")
        if self.gcphase == _GCmark:
            # Go 1.8 waits for the cycle in progress to finish first.
            self.clock.now += int(max(self.work_remaining, 0.0) * self.ns_per_work + self.roots_ns)
            self.roots_ns = 0.0
            self._pay_work(self.work_remaining)
            self.gcMarkDone()
        self.gcStart(gcForceBlockMode)
