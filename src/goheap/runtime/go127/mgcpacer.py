"""The modern GC pacer (Go 1.27 ``runtime/mgcpacer.go``, ``gcControllerState``).

What the Go code does
---------------------
The pacer answers three questions for the collector:

* **Goal** — how big may the heap get before the cycle that is about to run
  must have finished?  ``commit`` (run at mark termination and whenever
  GOGC/GOMEMLIMIT change) fixes the GOGC goal
  ``heapMarked + (heapMarked + lastStackScan + globalsScan) * GOGC/100``
  (never below ``heapMinimum`` = 4 MiB * GOGC/100).  ``heapGoalInternal``
  then takes the lower of that and the memory-limit goal
  (``memoryLimitHeapGoal``: the limit minus non-heap memory, minus any
  overage, minus 3 % / at least 1 MiB headroom, never below heapMarked).
  Outside the memory-limited regime the goal is pushed up to the sweep
  distance (``heapLive + 1 MiB`` at commit when sweeping is unfinished) and,
  during a cycle, to at least 64 KiB beyond where the cycle triggered.
* **Trigger** — when should the next cycle start?  ``commit`` also turns the
  cons/mark estimate into a ``runway`` (bytes the mutator will allocate while
  the GC does the expected scan work at 25 % CPU); ``trigger`` is
  ``goal - runway`` clamped to ``[heapMarked + 45/64 of the distance to the
  goal, max(heapMarked + 61/64 of it, goal - 4 MiB)]``.
* **Assist ratio** — during the mark phase ``revise`` (called whenever
  heapLive or the scan work changes) spreads the remaining expected scan work
  over the remaining heap distance: ``assistWorkPerByte`` and its inverse
  ``assistBytesPerWork``.  When the cycle does more scan work than expected
  it extrapolates the goal towards the worst case (all scannable memory
  live), capped at ``(1 + GOGC/100) * goal``; past the goal it allows 10 %
  overshoot.

At the end of a cycle ``endCycle`` measures the cons/mark ratio (bytes
allocated per unit of scan work, corrected for the CPU split between the
mutator and the GC) and keeps the largest of it and the last four
measurements; ``resetLive`` makes the marked bytes the new live heap.
``startCycle`` chooses the number of dedicated mark workers (25 % of
GOMAXPROCS rounded, with a fractional worker when the rounding error exceeds
30 %) and the idle-worker limit, packed into one 64-bit word as in Go.

What is simplified (no number changes)
--------------------------------------
* Go's atomics are plain attributes; there is one thread.
* Per-P state (``p.gcAssistTime``, ``p.gcFractionalMarkTime``,
  ``p.maxStackScanDelta``) belongs to the caller's P objects: ``startCycle``
  does not clear it (the heap must, at the same moment), and
  ``addScannableStack`` takes any object with a ``maxStackScanDelta``
  attribute.
* ``gcBlackenEnabled`` (a global in Go) is an argument of ``update``.
* tracing / ``gcpacertrace`` printing is left out.
* ``endCycle`` records ``lastHeapGoal`` on this controller.  In Go it writes
  the global ``gcController``, which is the same object except for the test
  copies (where the value is never read).
* ``memoryLimitHeapGoal`` spins in Go until ``heapFree + heapAlloc <=
  mappedReady`` (a transient race); here that state is an accounting error
  and raises.
* ``gcControllerCommit`` is ``controllerCommit``: it does commit and revise
  and returns (trigger, goal); pacing the sweeper and the scavenger with
  them is the caller's job (see ``mgcscavenge.gcPaceScavenger``).

Go's integer and float conversions are reproduced exactly: uint64 and int64
arithmetic wraps (``u64`` / ``i64``), ``float64 -> int64/uint64`` truncates
toward zero with amd64's behaviour on overflow and NaN, and float division
by zero gives ±Inf/NaN instead of raising.  No FMA contraction (amd64 v1).
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Final

__all__ = [
    "MAX_INT64",
    "MAX_UINT64",
    "GCControllerState",
    "defaultHeapMinimum",
    "fdiv",
    "float64ToInt64",
    "float64ToUint64",
    "gcBackgroundUtilization",
    "gcGoalUtilization",
    "gcTriggerKind",
    "i64",
    "maxTriggerRatioNum",
    "memoryLimitHeapGoalHeadroomPercent",
    "memoryLimitMinHeapGoalHeadroom",
    "minTriggerRatioNum",
    "sweepMinHeapDistance",
    "triggerRatioDen",
    "u64",
]

# --- Go integer / float semantics -------------------------------------------

MAX_UINT64: Final = (1 << 64) - 1
MAX_INT64: Final = (1 << 63) - 1
#: Below this a GOGC goal is always under an unlimited GOMEMLIMIT's goal.
_NO_LIMIT_GOAL_FLOOR: Final = 1 << 62
_MIN_INT64: Final = -(1 << 63)
_TWO63: Final = float(1 << 63)


def u64(x: int) -> int:
    """``x`` as a Go uint64 (two's-complement wrap)."""
    return x & MAX_UINT64


def i64(x: int) -> int:
    """``x`` as a Go int64 (two's-complement wrap); also ``int64(u)`` for a uint64 ``u``."""
    x &= MAX_UINT64
    return x - (1 << 64) if x >> 63 else x


def _cvttsd2si(f: float) -> int:
    # amd64 CVTTSD2SI: truncate toward zero; NaN and out-of-range give MinInt64.
    if math.isnan(f) or f >= _TWO63 or f < -_TWO63:
        return _MIN_INT64
    return int(f)


def float64ToInt64(f: float) -> int:
    """Go's ``int64(f)`` on amd64."""
    return _cvttsd2si(f)


def float64ToUint64(f: float) -> int:
    """Go's ``uint64(f)`` on amd64 (the compiler's two-branch sequence)."""
    if f < _TWO63:
        return u64(_cvttsd2si(f))
    return u64(_cvttsd2si(f - _TWO63) | (1 << 63))


def fdiv(a: float, b: float) -> float:
    """IEEE float64 division as Go does it: division by zero gives ±Inf or NaN."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    negative = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
    return -math.inf if negative else math.inf


# --- constants ----------------------------------------------------------------

gcBackgroundUtilization: Final = 0.25
gcGoalUtilization: Final = gcBackgroundUtilization
gcCreditSlack: Final = 2000
gcAssistTimeSlack: Final = 5000
gcOverAssistWork: Final = 64 << 10
defaultHeapMinimum: Final = 4 << 20  # 512 KiB only under GOEXPERIMENT=heapminimum512kib
memoryLimitMinHeapGoalHeadroom: Final = 1 << 20
memoryLimitHeapGoalHeadroomPercent: Final = 3
sweepMinHeapDistance: Final = 1 << 20  # mgc.go
triggerRatioDen: Final = 64
minTriggerRatioNum: Final = 45
maxTriggerRatioNum: Final = 61
minRunway: Final = 64 << 10  # heapGoalInternal's minimum distance beyond the trigger point
maxOvershoot: Final = 1.1  # revise: allowance once heapLive is past the goal
maxUtilError: Final = 0.3  # startCycle: tolerated dedicated-worker rounding error


class gcTriggerKind(IntEnum):
    """Why a cycle started (mgc.go ``gcTriggerKind``)."""

    Heap = 0
    Time = 1
    Cycle = 2


# --- the controller -------------------------------------------------------------


class GCControllerState:
    """``gcControllerState``: the pacer of one heap.

    Construct with ``GCControllerState(gcPercent, memoryLimit)``, which runs
    Go's ``init`` (readGOGC: "off" is -1; readGOMEMLIMIT: unset is MaxInt64).
    """

    def __init__(self, gcPercent: int = 100, memoryLimit: int = MAX_INT64) -> None:
        # Parameters (Go's zero values until init sets them).
        self.gcPercent = 0
        self.memoryLimit = 0
        self.heapMinimum = defaultHeapMinimum
        # Pacing computed at commit.
        self.runway = 0
        self.consMark = 0.0
        self.lastConsMark = [0.0, 0.0, 0.0, 0.0]
        self.gcPercentHeapGoal = 0
        self.sweepDistMinTrigger = 0
        self.triggered = MAX_UINT64
        self.lastHeapGoal = 0
        # Heap and scan sizes.
        self.heapLive = 0
        self.heapScan = 0
        self.lastHeapScan = 0
        self.lastStackScan = 0
        self.maxStackScan = 0
        self.globalsScan = 0
        self.heapMarked = 0
        # Per-cycle work and time.
        self.heapScanWork = 0
        self.stackScanWork = 0
        self.globalsScanWork = 0
        self.bgScanCredit = 0
        self.assistTime = 0
        self.dedicatedMarkTime = 0
        self.fractionalMarkTime = 0
        self.idleMarkTime = 0
        self.markStartTime = 0
        self.dedicatedMarkWorkersNeeded = 0
        self.idleMarkWorkers = 0  # two int32 packed: max << 32 | running
        self.assistWorkPerByte = 0.0
        self.assistBytesPerWork = 0.0
        self.fractionalUtilizationGoal = 0.0
        # Memory statistics the memory-limit goal and the scavenger read; the
        # heap keeps them current (all uint64 byte counts).
        self.heapInUse = 0
        self.heapReleased = 0
        self.heapFree = 0
        self.totalAlloc = 0
        self.totalFree = 0
        self.mappedReady = 0
        # init
        self.triggered = MAX_UINT64
        self.setGCPercent(gcPercent)
        self.setMemoryLimit(memoryLimit)
        self.commit(True)  # no sweep phase before the first cycle

    # -- parameters --------------------------------------------------------------

    def setGCPercent(self, inp: int) -> int:
        """Set GOGC (negative means off); returns the old value. ``commit`` must follow."""
        out = self.gcPercent
        if inp < 0:
            inp = -1
        # uint64(in): for -1 this wraps to a huge product, as in Go (the goal
        # is ^0 then anyway).
        self.heapMinimum = u64(defaultHeapMinimum * u64(inp)) // 100
        self.gcPercent = inp
        return out

    def setMemoryLimit(self, inp: int) -> int:
        """Set GOMEMLIMIT (a negative value only reads it); returns the old value."""
        out = self.memoryLimit
        if inp >= 0:
            self.memoryLimit = inp
        return out

    @property
    def gcpercent(self) -> int:
        """GOGC under Go 1.8's attribute name (read by code shared between profiles)."""
        return self.gcPercent

    # -- commit / goal / trigger ---------------------------------------------------

    def commit(self, isSweepDone: bool) -> None:
        """Recompute the GOGC goal, the sweep-distance bound and the runway."""
        if isSweepDone:
            self.sweepDistMinTrigger = 0
        else:
            self.sweepDistMinTrigger = u64(self.heapLive + sweepMinHeapDistance)

        goal = MAX_UINT64
        if self.gcPercent >= 0:
            base = u64(self.heapMarked + self.lastStackScan + self.globalsScan)
            goal = u64(self.heapMarked + u64(base * self.gcPercent) // 100)
        goal = max(goal, self.heapMinimum)
        self.gcPercentHeapGoal = goal

        expected = u64(self.lastHeapScan + self.lastStackScan + self.globalsScan)
        weighted = self.consMark * (1 - gcGoalUtilization) / gcGoalUtilization
        self.runway = float64ToUint64(weighted * float(expected))

    def controllerCommit(self, isSweepDone: bool, marking: bool) -> tuple[int, int]:
        """``gcControllerCommit`` minus the sweeper/scavenger pacing: returns (trigger, goal).

        ``marking`` is ``gcphase != _GCoff``.  The caller then paces the
        sweeper with the trigger and calls ``gcPaceScavenger(memoryLimit,
        goal, lastHeapGoal, ...)``.
        """
        self.commit(isSweepDone)
        if marking:
            self.revise()
        return self.trigger()

    def heapGoal(self) -> int:
        """The current heap goal (MemStats.NextGC, /gc/heap/goal:bytes)."""
        return self.heapGoalInternal()[0]

    def heapGoalInternal(self) -> tuple[int, int]:
        """(goal, minTrigger); minTrigger is the sweep-distance bound or 0 if memory-limited."""
        goal = self.gcPercentHeapGoal
        minTrigger = 0
        if self.memoryLimit == MAX_INT64 and goal < _NO_LIMIT_GOAL_FLOOR:
            # No limit: its goal is above 2^62 (the limit less at most the arena's
            # 2^39 bytes, less 5%), so it cannot be the lower one. (Go computes it
            # anyway; this is the trigger test of every span refill.)
            mlGoal = goal
        else:
            mlGoal = self.memoryLimitHeapGoal()
        if mlGoal < goal:
            goal = mlGoal
        else:
            sweepDist = self.sweepDistMinTrigger
            goal = max(goal, sweepDist)
            minTrigger = sweepDist
            if self.triggered != MAX_UINT64 and goal < u64(self.triggered + minRunway):
                goal = u64(self.triggered + minRunway)
        return goal, minTrigger

    def heapAlloc(self) -> int:
        """Heap object bytes in use: ``totalAlloc - totalFree``."""
        return u64(self.totalAlloc - self.totalFree)

    def memoryLimitHeapGoal(self) -> int:
        """The heap goal implied by the memory limit."""
        heapFree = self.heapFree
        heapAlloc = self.heapAlloc()
        mappedReady = self.mappedReady
        if u64(heapFree + heapAlloc) > mappedReady:
            raise RuntimeError(
                f"memoryLimitHeapGoal: heapFree {heapFree} + heapAlloc {heapAlloc} "
                f"> mappedReady {mappedReady}"
            )
        limit = u64(self.memoryLimit)
        nonHeap = u64(mappedReady - heapFree - heapAlloc)
        overage = mappedReady - limit if mappedReady > limit else 0
        if u64(nonHeap + overage) >= limit:
            return self.heapMarked
        goal = u64(limit - (nonHeap + overage))
        headroom = max(
            goal // 100 * memoryLimitHeapGoalHeadroomPercent, memoryLimitMinHeapGoalHeadroom
        )
        goal = headroom if goal < headroom or goal - headroom < headroom else goal - headroom
        return max(goal, self.heapMarked)

    def trigger(self) -> tuple[int, int]:
        """(trigger, goal): a heap-triggered cycle starts once ``heapLive >= trigger``."""
        goal, minTrigger = self.heapGoalInternal()
        marked = self.heapMarked
        if marked >= goal:
            return goal, goal
        minTrigger = max(minTrigger, marked)
        span = (goal - marked) // triggerRatioDen
        minTrigger = max(minTrigger, span * minTriggerRatioNum + marked)
        maxTrigger = span * maxTriggerRatioNum + marked
        if goal > defaultHeapMinimum and goal - defaultHeapMinimum > maxTrigger:
            maxTrigger = goal - defaultHeapMinimum
        maxTrigger = max(maxTrigger, minTrigger)
        trig = minTrigger if self.runway > goal else goal - self.runway
        trig = min(max(trig, minTrigger), maxTrigger)
        if trig > goal:
            raise AssertionError(f"produced a trigger greater than the heap goal: {trig} > {goal}")
        return trig, goal

    # -- the cycle ----------------------------------------------------------------

    def startCycle(
        self,
        markStartTime: int,
        procs: int,
        triggerKind: gcTriggerKind = gcTriggerKind.Heap,
        gcstoptheworld: int = 0,
    ) -> None:
        """Reset the cycle's counters, choose workers, set ``triggered = heapLive``, revise."""
        self.heapScanWork = 0
        self.stackScanWork = 0
        self.globalsScanWork = 0
        self.bgScanCredit = 0
        self.assistTime = 0
        self.dedicatedMarkTime = 0
        self.fractionalMarkTime = 0
        self.idleMarkTime = 0
        self.markStartTime = markStartTime
        self.triggered = self.heapLive

        total = float(procs) * gcBackgroundUtilization
        dedicated = float64ToInt64(total + 0.5)
        utilError = fdiv(float(dedicated), total) - 1
        if utilError < -maxUtilError or utilError > maxUtilError:
            if float(dedicated) > total:
                dedicated -= 1
            self.fractionalUtilizationGoal = fdiv(total - float(dedicated), float(procs))
        else:
            self.fractionalUtilizationGoal = 0.0
        if gcstoptheworld > 0:
            dedicated = procs
            self.fractionalUtilizationGoal = 0.0

        if triggerKind == gcTriggerKind.Time:
            self.setMaxIdleMarkWorkers(0 if dedicated > 0 else 1)
        else:
            self.setMaxIdleMarkWorkers(procs - dedicated)
        self.dedicatedMarkWorkersNeeded = dedicated
        self.revise()

    def revise(self) -> None:
        """Recompute the assist ratio from heapLive, heapScan and the scan work done."""
        gcPercent = self.gcPercent if self.gcPercent >= 0 else 100000
        live = self.heapLive
        scan = self.heapScan
        work = i64(self.heapScanWork + self.stackScanWork + self.globalsScanWork)

        heapGoal = i64(self.heapGoal())
        trig = i64(self.triggered)
        scanWorkExpected = i64(self.lastHeapScan + self.lastStackScan + self.globalsScan)
        maxScanWork = i64(scan + self.maxStackScan + self.globalsScan)
        if work > scanWorkExpected:
            ratio = fdiv(float(i64(heapGoal - trig)), float(scanWorkExpected))
            extHeapGoal = i64(float64ToInt64(ratio * float(maxScanWork)) + trig)
            scanWorkExpected = maxScanWork
            hardGoal = float64ToInt64((1.0 + float(gcPercent) / 100.0) * float(heapGoal))
            heapGoal = min(extHeapGoal, hardGoal)
        if i64(live) > heapGoal:
            heapGoal = float64ToInt64(float(heapGoal) * maxOvershoot)
            scanWorkExpected = maxScanWork

        scanWorkRemaining = max(i64(scanWorkExpected - work), 1000)
        heapRemaining = i64(heapGoal - i64(live))
        if heapRemaining <= 0:
            heapRemaining = 1
        self.assistWorkPerByte = float(scanWorkRemaining) / float(heapRemaining)
        self.assistBytesPerWork = float(heapRemaining) / float(scanWorkRemaining)

    def endCycle(self, now: int, procs: int) -> None:
        """Measure this cycle's cons/mark ratio (``gcMarkDone``, before mark termination)."""
        self.lastHeapGoal = self.heapGoal()
        assistDuration = i64(now - self.markStartTime)
        utilization = gcBackgroundUtilization
        if assistDuration > 0:
            utilization += fdiv(float(self.assistTime), float(i64(assistDuration * procs)))
        if self.heapLive <= self.triggered:
            return
        idleUtilization = 0.0
        if assistDuration > 0:
            idleUtilization = fdiv(float(self.idleMarkTime), float(i64(assistDuration * procs)))
        scanWork = i64(self.heapScanWork + self.stackScanWork + self.globalsScanWork)
        allocated = float(u64(self.heapLive - self.triggered))
        current = fdiv(
            allocated * (utilization + idleUtilization), float(scanWork) * (1 - utilization)
        )
        consMark = current
        for old in self.lastConsMark:
            if old > consMark:
                consMark = old
        self.consMark = consMark
        self.lastConsMark = [*self.lastConsMark[1:], current]

    def resetLive(self, bytesMarked: int) -> None:
        """After marking: the marked bytes become heapLive/heapMarked; scan sizes are kept."""
        self.heapMarked = bytesMarked
        self.heapLive = bytesMarked
        self.heapScan = u64(self.heapScanWork)
        self.lastHeapScan = u64(self.heapScanWork)
        self.lastStackScan = u64(self.stackScanWork)
        self.triggered = MAX_UINT64

    # -- inputs from the heap ---------------------------------------------------------

    def update(self, dHeapLive: int, dHeapScan: int, gcBlackenEnabled: bool) -> None:
        """heapLive changed by ``dHeapLive`` (span refill/flush, large alloc).

        heapScan only moves outside a cycle (it is fixed at the start of one);
        during marking the assist ratio is revised instead.
        """
        if dHeapLive != 0:
            self.heapLive = u64(self.heapLive + dHeapLive)
        if not gcBlackenEnabled:
            if dHeapScan != 0:
                self.heapScan = u64(self.heapScan + dHeapScan)
        else:
            self.revise()

    def addGlobals(self, amount: int) -> None:
        """Scannable data+bss bytes of a loaded module."""
        self.globalsScan = u64(self.globalsScan + amount)

    def heapRetained(self) -> int:
        """Estimated heap RSS: ``heapInUse + heapFree`` (mgcscavenge.go)."""
        return u64(self.heapInUse + self.heapFree)

    # -- idle mark workers (two int32 in one uint64) -------------------------------------

    @staticmethod
    def _unpackIdle(word: int) -> tuple[int, int]:
        n = word & 0xFFFFFFFF
        mx = word >> 32
        n = n - (1 << 32) if n >> 31 else n
        mx = mx - (1 << 32) if mx >> 31 else mx
        return n, mx

    @staticmethod
    def _packIdle(n: int, mx: int) -> int:
        return ((mx & 0xFFFFFFFF) << 32) | (n & 0xFFFFFFFF)

    def addIdleMarkWorker(self) -> bool:
        """Try to become an idle mark worker; False if the limit is reached."""
        n, mx = self._unpackIdle(self.idleMarkWorkers)
        if n >= mx:
            return False
        if n < 0:
            raise AssertionError(f"negative idle mark workers: n={n} max={mx}")
        self.idleMarkWorkers = self._packIdle(n + 1, mx)
        return True

    def needIdleMarkWorker(self) -> bool:
        """Whether another idle mark worker is wanted (a hint)."""
        n, mx = self._unpackIdle(self.idleMarkWorkers)
        return n < mx

    def removeIdleMarkWorker(self) -> None:
        """An idle mark worker stopped."""
        n, mx = self._unpackIdle(self.idleMarkWorkers)
        if n - 1 < 0:
            raise AssertionError(f"negative idle mark workers: n={n} max={mx}")
        self.idleMarkWorkers = self._packIdle(n - 1, mx)

    def setMaxIdleMarkWorkers(self, mx: int) -> None:
        """Set the idle-worker limit (the running count may stay above it)."""
        n, _ = self._unpackIdle(self.idleMarkWorkers)
        if n < 0:
            raise AssertionError(f"negative idle mark workers: n={n} max={mx}")
        self.idleMarkWorkers = self._packIdle(n, mx)
