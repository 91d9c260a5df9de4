"""The background scavenger of Go 1.27 (``mgcscavenge.go``): goals, pacing, ``bgscavenge``.

What the Go code does
---------------------
``bgscavenge`` parks after start-up. It is woken at every sweep
termination (``finishsweep_m`` -> ``scavenger.wake``) and, after the last
sweeper marks sweeping drained (``scavenger.ready``), by sysmon. Each turn
(``scavengerState.run``) releases 64 KiB quanta
(``pages.scavenge(quantum, nil, false)``: the highest free, unscavenged
pages of chunks the scavenge index allows, dense chunks left alone for a
cycle) until it has worked 1 ms, the goals are met (``shouldStop``: retained
heap below the GOGC retention goal and mapped memory below 95 % of the
memory limit), or nothing is left; a turn that released nothing parks,
otherwise it sleeps ``worked / sleepRatio`` (a PI controller steers the
scavenger's CPU share to 1 %). A wake ends a sleep early. The goals and the
controller follow.

*Goals* (``gcPaceScavenger``, run from ``gcControllerCommit`` after every GC
and every GOGC/GOMEMLIMIT change) say how much memory the background
scavenger should leave mapped:

* memory limit: ``memoryLimitGoal = memoryLimit * 0.95``
  (``reduceExtraPercent = 5``), compared with ``mappedReady``;
* GOGC: the heap's in-use pages at the last mark termination
  (``lastHeapInUse``) scaled by how much the goal moved (``heapGoal /
  lastHeapGoal``), plus ``retainExtraPercent = 10`` %, rounded up to a
  physical page; compared with ``heapRetained = heapInUse + heapFree``.

A goal that is already met is stored as ``^0`` ("no work"), as is the GOGC
goal before the first cycle has ended (``lastHeapGoal == 0``).  The
background scavenger runs while either goal is unmet (``shouldStop``).

*Rate* (``scavengerState``): each ``run`` releases 64 KiB quanta until it
has worked 1 ms (or the goals are met, or nothing is left), then ``sleep``
sleeps ``worked / sleepRatio``.  A PI controller (``piController``: kp
0.3375, ti 3.2e6, tt 1e9, output in [0.001, 1000], starting ratio 0.001)
adjusts ``sleepRatio`` so that the scavenger's share of CPU time
``worked / ((slept + worked) * GOMAXPROCS)`` approaches ``scavengePercent``
= 1 %.  If the controller overflows it is reset and the ratio held at 0.001
for a 5 s cool-down.  When the scavenger cannot measure its time it assumes
10 µs per physical page released.

Not here: *which* pages are released (``scavengeIndex``, ``scavengeOne``,
``pageAlloc.scavenge``) belongs to the page-allocator modules; this module
takes a ``scavenge(nbytes) -> (released, ns)`` callable for it.

What the model simplifies
-------------------------
The scavenger is a goroutine like the others (``GC._sysmon``): with more
Ps its turn holds another P (``GC._scavTurn``); on one P, once woken, it
waits in the run queue until sysmon preempts the goroutine that holds the
P, and the mutator waits out its turn (``GC._scavTurnOnP``); while every
P is idle it runs when due. Its working time is ``CostModel.release_ns`` of
the ``sysUnused`` calls it makes: per call, per resident page unmapped and,
with more Ps, per call the TLB shootdown on the CPU the program runs on,
which costs the program's goroutine time too (``GC._sysmon``). Measured: Go
measures its own time, and assumes 10 µs per page only when it cannot. The
timer is a deadline that sysmon (``GC._sysmon``) checks.

* The ``scavenge`` global is the ``ScavengeGoals`` object; the globals
  ``gcPaceScavenger`` reads (``mappedReady``, ``memstats.lastHeapInUse``,
  ``heapRetained()``, ``physPageSize``) are arguments.
* No goroutine or timer: ``sleep`` takes a ``sleeper(ns) -> slept_ns``
  callable (Go's ``sleepStub``); an event-driven caller can instead use
  ``beginSleep`` / ``finishSleep`` around its own clock.  ``parked`` is set
  by ``park`` and cleared by ``wake``; in Go a timer sleep also counts as
  parked so that a ``wake`` can end it early — the caller models that by
  reporting a shorter ``slept``.
* ``faketime`` (one quantum per run) is left out.
* ``scavengeCostRatio`` is 0 except on darwin/ios (0.7); it is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from goheap.runtime.common.clock import NEVER_NS, CostModel
from goheap.runtime.go127.mgcpacer import MAX_UINT64, float64ToInt64, float64ToUint64, u64

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap

__all__ = [
    "BgScavenger",
    "ScavengeGoals",
    "ScavengerState",
    "approxWorkedNSPerPhysicalPage",
    "gcPaceScavenger",
    "heapRetained",
    "minScavWorkTime",
    "piController",
    "reduceExtraPercent",
    "retainExtraPercent",
    "scavengePercent",
    "scavengeQuantum",
    "startingScavSleepRatio",
]

scavengePercent: Final = 1
retainExtraPercent: Final = 10
reduceExtraPercent: Final = 5
startingScavSleepRatio: Final = 0.001
minScavWorkTime: Final = 1e6  # ns
scavengeQuantum: Final = 64 << 10
approxWorkedNSPerPhysicalPage: Final = 10e3
controllerCooldownNS: Final = 5_000_000_000
defaultPhysPageSize: Final = 4096

# (100 - reduceExtraPercent) / 100, evaluated exactly as Go's constant arithmetic does.
_memoryLimitGoalFraction: Final = 0.95


def heapRetained(heapInUse: int, heapFree: int) -> int:
    """Estimated heap RSS: in-use spans plus free, unreleased pages."""
    return u64(heapInUse + heapFree)


class ScavengeGoals:
    """Go's ``scavenge`` global: the two goals and the scavenging time of this cycle."""

    def __init__(self) -> None:
        self.gcPercentGoal = MAX_UINT64
        self.memoryLimitGoal = MAX_UINT64
        self.assistTime = 0  # ns of allocation-time scavenging this cycle
        self.backgroundTime = 0  # ns of background scavenging this cycle

    def shouldStop(self, heapRetained: int, mappedReady: int) -> bool:
        """The background scavenger's stop condition: both goals are met."""
        return heapRetained <= self.gcPercentGoal and mappedReady <= self.memoryLimitGoal


def gcPaceScavenger(
    goals: ScavengeGoals,
    memoryLimit: int,
    heapGoal: int,
    lastHeapGoal: int,
    *,
    mappedReady: int,
    lastHeapInUse: int,
    heapRetained: int,
    physPageSize: int = defaultPhysPageSize,
) -> None:
    """Recompute both scavenging goals into ``goals``.

    ``heapGoal`` is the pacer's current goal (the second value of
    ``trigger()``), ``lastHeapGoal`` the goal the last cycle ran against
    (``GCControllerState.lastHeapGoal``), ``lastHeapInUse`` heapInUse at the
    last mark termination, ``heapRetained`` heapInUse + heapFree now.
    """
    limitGoal = float64ToUint64(float(memoryLimit) * _memoryLimitGoalFraction)
    goals.memoryLimitGoal = MAX_UINT64 if mappedReady <= limitGoal else limitGoal

    if lastHeapGoal == 0:
        goals.gcPercentGoal = MAX_UINT64
        return
    goalRatio = float(heapGoal) / float(lastHeapGoal)
    goal = float64ToUint64(float(lastHeapInUse) * goalRatio)
    goal = u64(goal + goal // (100 // retainExtraPercent))
    goal = u64(goal + physPageSize - 1) & ~(physPageSize - 1) & MAX_UINT64
    if heapRetained <= goal or heapRetained - goal < physPageSize:
        goals.gcPercentGoal = MAX_UINT64
    else:
        goals.gcPercentGoal = goal


class piController:
    """A proportional-integral controller with anti-windup (``piController``)."""

    def __init__(self, kp: float, ti: float, tt: float, min: float, max: float) -> None:
        self.kp = kp
        self.ti = ti
        self.tt = tt
        self.min = min
        self.max = max
        self.errIntegral = 0.0
        self.errOverflow = False
        self.inputOverflow = False

    def next(self, input: float, setpoint: float, period: float) -> tuple[float, bool]:
        """Feed one sample taken ``period`` after the last; returns (output, ok)."""
        prop = self.kp * (setpoint - input)
        rawOutput = prop + self.errIntegral
        if math.isinf(rawOutput) or math.isnan(rawOutput):
            self.reset()
            self.inputOverflow = True
            return self.min, False
        output = rawOutput
        if output < self.min:
            output = self.min
        elif output > self.max:
            output = self.max
        if self.ti != 0 and self.tt != 0:
            self.errIntegral += (self.kp * period / self.ti) * (setpoint - input) + (
                period / self.tt
            ) * (output - rawOutput)
            if math.isinf(self.errIntegral) or math.isnan(self.errIntegral):
                self.reset()
                self.errOverflow = True
                return self.min, False
        return output, True

    def reset(self) -> None:
        """Clear the integral (the error flags stay)."""
        self.errIntegral = 0.0


class ScavengerState:
    """``scavengerState``: the background scavenger's work/sleep loop (``init`` included).

    ``scavenge(nbytes) -> (released, ns)`` releases up to nbytes (the page
    allocator's ``scavenge(n, nil, false)``; ns 0 if unmeasured);
    ``shouldStop()`` is normally ``goals.shouldStop(heapRetained, mappedReady)``;
    ``gomaxprocs()`` the current GOMAXPROCS.
    """

    def __init__(
        self,
        scavenge: Callable[[int], tuple[int, int]],
        shouldStop: Callable[[], bool],
        gomaxprocs: Callable[[], int],
        *,
        physPageSize: int = defaultPhysPageSize,
        scavengeCostRatio: float = 0.0,
    ) -> None:
        self.scavenge = scavenge
        self.shouldStop = shouldStop
        self.gomaxprocs = gomaxprocs
        self.physPageSize = physPageSize
        self.scavengeCostRatio = scavengeCostRatio
        self.parked = False
        self.sysmonWake = False
        self.printControllerReset = False
        self.targetCPUFraction = 0.0  # unused by Go too
        self.sleepController = piController(kp=0.3375, ti=3.2e6, tt=1e9, min=0.001, max=1000.0)
        self.sleepRatio = startingScavSleepRatio
        self.controllerCooldown = 0
        self.releasedBg = 0  # pageAlloc.scav.releasedBg, added by bgscavengeStep

    # -- park / wake ----------------------------------------------------------------

    def park(self) -> None:
        """Nothing to do: wait for a wake."""
        self.parked = True

    def ready(self) -> None:
        """Ask sysmon to wake the scavenger (after sweeping finishes)."""
        self.sysmonWake = True

    def wake(self) -> None:
        """Unpark now (GC start, sysmon, timer)."""
        if self.parked:
            self.sysmonWake = False
            self.parked = False

    # -- work ----------------------------------------------------------------------

    def run(self) -> tuple[int, float]:
        """Release quanta until 1 ms of work, a stop, or exhaustion: (released, worked ns)."""
        released = 0
        worked = 0.0
        while worked < minScavWorkTime:
            if self.shouldStop():
                break
            r, duration = self.scavenge(scavengeQuantum)
            if duration == 0:
                worked += approxWorkedNSPerPhysicalPage * float(r // self.physPageSize)
            else:
                worked += float(duration)
            released += r
            if r < scavengeQuantum:
                break
        if 0 < released < self.physPageSize:
            raise AssertionError("released less than one physical page of memory")
        return released, worked

    def beginSleep(self, worked: float) -> tuple[float, int]:
        """First half of ``sleep``: (worked as the controller counts it, ns to sleep)."""
        if worked < minScavWorkTime:
            worked = minScavWorkTime
        worked *= 1 + self.scavengeCostRatio
        return worked, float64ToInt64(worked / self.sleepRatio)

    def finishSleep(self, worked: float, slept: int) -> None:
        """Second half of ``sleep``: feed the CPU share of this work+sleep to the controller."""
        if self.controllerCooldown > 0:
            t = slept + float64ToInt64(worked)
            if t > self.controllerCooldown:
                self.controllerCooldown = 0
            else:
                self.controllerCooldown -= t
            return
        idealFraction = float(scavengePercent) / 100.0
        cpuFraction = worked / ((float(slept) + worked) * float(self.gomaxprocs()))
        ratio, ok = self.sleepController.next(cpuFraction, idealFraction, float(slept) + worked)
        self.sleepRatio = ratio
        if not ok:
            self.sleepRatio = startingScavSleepRatio
            self.controllerCooldown = controllerCooldownNS
            self.printControllerReset = True

    def sleep(self, worked: float, sleeper: Callable[[int], int]) -> int:
        """Sleep after ``worked`` ns of work; ``sleeper(ns)`` returns the ns slept."""
        worked, sleepTime = self.beginSleep(worked)
        slept = sleeper(sleepTime)
        self.finishSleep(worked, slept)
        return slept

    def bgscavengeStep(self, sleeper: Callable[[int], int]) -> int:
        """One turn of ``bgscavenge``'s loop: run, then park (nothing released) or sleep."""
        released, worked = self.run()
        if released == 0:
            self.park()
            return 0
        self.releasedBg += released
        self.sleep(worked, sleeper)
        return released


_NEVER: Final = NEVER_NS


class BgScavenger:
    """The ``bgscavenge`` goroutine: parked, runnable, or asleep until a deadline."""

    def __init__(self, h: MHeap, cost: CostModel, procs: int) -> None:
        self.h = h
        self.cost = cost
        # Whether the program runs on another P while it releases (GC._sysmon says).
        self.beside = procs > 1
        # Calls since the collector last charged the program for them: each
        # unmapped a resident page while the program ran on another CPU.
        self.shootdowns = 0
        self.shootdownsTotal = 0  # such calls since the start
        self.releaseTime = 0  # ns of release work since the start (release_ns)
        self.state = ScavengerState(
            self._scavenge,
            self._shouldStop,
            lambda: procs,
            physPageSize=h.profile.phys_page_size,
        )
        self.state.park()  # bgscavenge parks right after start-up
        self.runnable = False
        self.sleeping = False
        self.sleep_start = 0
        self.wake_at = _NEVER
        self.worked = 0.0
        self.turns = 0

    def _scavenge(self, n: int) -> tuple[int, int]:
        h = self.h
        before = h.os.releases()
        released = h.pages.scavenge(n, None, False)
        r = h.os.releases().since(before)
        ns = int(self.cost.release_ns(r.calls, r.resident_calls, r.resident_pages, self.beside))
        if self.beside:
            self.shootdowns += r.resident_calls
            self.shootdownsTotal += r.resident_calls
        self.releaseTime += ns
        h.scavenge.backgroundTime += ns
        return released, ns

    def _shouldStop(self) -> bool:
        ctl = self.h.controller
        return self.h.scavenge.shouldStop(ctl.heapRetained(), ctl.mappedReady)

    def ready(self) -> None:
        """Sweeping is done: ask sysmon to wake the scavenger."""
        self.state.ready()

    def wake(self, now: int) -> None:
        """``scavengerState.wake``: unpark, ending a sleep early."""
        st = self.state
        if not st.parked:
            return
        st.wake()
        if self.sleeping:
            self.sleeping = False
            self.wake_at = _NEVER
            st.finishSleep(self.worked, max(now - self.sleep_start, 0))
        self.runnable = True

    def next_event(self) -> int:
        if self.runnable or self.state.sysmonWake:
            return 0
        return self.wake_at

    def poll(self, now: int) -> float:
        """sysmon's look at the scavenger: wake it if asked, run it while it has work.
        Returns the ns the turn worked (0: no turn)."""
        st = self.state
        if st.sysmonWake:
            self.wake(now)
        if self.sleeping and now >= self.wake_at:
            self.wake(now)
        if not self.runnable:
            return 0.0
        self.runnable = False
        released, worked = st.run()
        self.turns += 1
        if released == 0:
            st.park()
            return 0.0
        ran = worked
        st.releasedBg += released
        self.h.pages.releasedBg += released
        worked, sleepTime = st.beginSleep(worked)
        self.worked = worked
        st.parked = True  # asleep on its timer: a wake ends the sleep
        self.sleeping = True
        # The turn ran on another P (GC._scavTurn), or on the only one (GC._scavTurnOnP).
        self.sleep_start = now + int(worked)
        self.wake_at = self.sleep_start + sleepTime
        return ran
