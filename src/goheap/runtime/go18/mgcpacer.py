"""The Go 1.8 GC pacer (mgc.go ``gcControllerState``).

Go 1.8 has no mgcpacer.go: its pacer is part of mgc.go. Later versions
moved it into mgcpacer.go, and the module takes that name so that both
versions' pacers sit at the same place (``go127/mgcpacer.py``).

The pacer decides when a cycle starts (``gc_trigger``), what heap size it
aims to finish at (``next_gc``), how hard allocating goroutines must assist
(``assistWorkPerByte``), and, after each cycle, how to move the trigger so
the next cycle finishes on goal (``endCycle``'s trigger-ratio feedback).

- ``setGCPercent``: ``heapminimum = 4 MiB * GOGC/100``; the trigger ratio is
  capped at GOGC/100 (initially 7/8).
- ``startCycle``: for the first cycle and tiny heaps, pretend
  ``heap_marked = gc_trigger / (1 + triggerRatio)``; ``next_gc =
  heap_marked * (1 + GOGC/100)``, at least ``heap_live + 1 MiB``.
- ``revise``: ``assistWorkPerByte = (heap_scan - scanWork) / (next_gc -
  heap_live)`` (floors 1000 and 1).
- ``endCycle``: ``error = h_g - h_t - u_a/u_g * (h_a - h_t)``;
  ``h_t += 0.5 * error``, clamped to ``[0, 0.95 h_g]``.
- at mark termination (``set_trigger_after_mark``): ``gc_trigger =
  heap_marked * (1 + h_t)``, at least ``heapminimum`` and at least
  ``heap_live + 1 MiB * GOGC/100``; ``next_gc = heap_marked * (1 +
  GOGC/100)``, at least ``gc_trigger``.

All integer steps use Go's uint64 arithmetic (``x*gcpercent/100``).
"""

from __future__ import annotations

from typing import Final

from goheap.runtime.go18.mstats import MAX_UINT64, MStats

defaultHeapMinimum: Final = 4 << 20
sweepMinHeapDistance: Final = 1 << 20
gcGoalUtilization: Final = 0.25
triggerGain: Final = 0.5


class GCControllerState:
    """gcController: the pacer state of one heap."""

    def __init__(self, stats: MStats, gogc: int, procs: int) -> None:
        self.stats = stats
        self.procs = procs
        self.scanWork = 0
        self.bgScanCredit = 0
        self.assistTime = 0
        self.dedicatedMarkTime = 0
        self.fractionalMarkTime = 0
        self.idleMarkTime = 0
        self.markStartTime = 0
        self.dedicatedMarkWorkersNeeded = 0
        self.fractionalMarkWorkersNeeded = 0
        self.fractionalUtilizationGoal = 0.0
        self.assistWorkPerByte = 0.0
        self.assistBytesPerWork = 0.0
        self.triggerRatio = 7 / 8
        self.gcpercent = 100
        self.heapminimum = defaultHeapMinimum
        # gcinit
        self.setGCPercent(gogc)
        stats.gc_trigger = self.heapminimum
        if self.gcpercent < 0:
            stats.next_gc = MAX_UINT64
        else:
            stats.next_gc = int(
                stats.gc_trigger / (1 + self.triggerRatio) * (1 + self.gcpercent / 100)
            )

    def setGCPercent(self, gogc: int) -> int:
        out = self.gcpercent
        if gogc < 0:
            gogc = -1
        self.gcpercent = gogc
        # uint64 arithmetic, as Go (GOGC=off gives a huge minimum: never reached).
        self.heapminimum = (defaultHeapMinimum * (gogc % (1 << 64)) % (1 << 64)) // 100
        if self.triggerRatio > gogc / 100:
            self.triggerRatio = gogc / 100
        return out

    def startCycle(self, now: int) -> None:
        st = self.stats
        self.scanWork = 0
        self.bgScanCredit = 0
        self.assistTime = 0
        self.dedicatedMarkTime = 0
        self.fractionalMarkTime = 0
        self.idleMarkTime = 0
        if st.gc_trigger <= self.heapminimum:
            st.heap_marked = int(st.gc_trigger / (1 + self.triggerRatio))
        st.next_gc = st.heap_marked + st.heap_marked * self.gcpercent // 100
        if self.gcpercent < 0:
            st.next_gc = MAX_UINT64
        if st.next_gc < st.heap_live + 1024 * 1024:
            st.next_gc = st.heap_live + 1024 * 1024
        total = self.procs * gcGoalUtilization
        self.dedicatedMarkWorkersNeeded = int(total)
        self.fractionalUtilizationGoal = total - self.dedicatedMarkWorkersNeeded
        self.fractionalMarkWorkersNeeded = 1 if self.fractionalUtilizationGoal > 0 else 0
        self.markStartTime = now
        self.revise()

    def revise(self) -> None:
        st = self.stats
        scanWorkExpected = st.heap_scan - self.scanWork
        if scanWorkExpected < 1000:
            scanWorkExpected = 1000
        heapDistance = st.next_gc - st.heap_live
        if heapDistance <= 0:
            heapDistance = 1
        self.assistWorkPerByte = scanWorkExpected / heapDistance
        self.assistBytesPerWork = heapDistance / scanWorkExpected

    def endCycle(self, now: int) -> None:
        st = self.stats
        goalGrowthRatio = self.gcpercent / 100
        actualGrowthRatio = st.heap_live / st.heap_marked - 1 if st.heap_marked else 0.0
        assistDuration = now - self.markStartTime
        utilization = gcGoalUtilization
        if assistDuration > 0:
            utilization += self.assistTime / (assistDuration * self.procs)
        triggerError = (
            goalGrowthRatio
            - self.triggerRatio
            - utilization / gcGoalUtilization * (actualGrowthRatio - self.triggerRatio)
        )
        self.triggerRatio += triggerGain * triggerError
        if self.triggerRatio < 0:
            self.triggerRatio = 0.0
        elif self.triggerRatio > goalGrowthRatio * 0.95:
            self.triggerRatio = goalGrowthRatio * 0.95

    def set_trigger_after_mark(self, bytesMarked: int) -> None:
        """The pacer part of gcMark (mark termination)."""
        st = self.stats
        st.heap_marked = bytesMarked
        st.gc_trigger = int(st.heap_marked * (1 + self.triggerRatio))
        if st.gc_trigger < self.heapminimum:
            st.gc_trigger = self.heapminimum
        st.heap_live = bytesMarked
        st.heap_scan = self.scanWork
        # uint64(gcpercent): GOGC=off makes this huge, as in Go.
        minTrigger = (
            st.heap_live + (sweepMinHeapDistance * (self.gcpercent % (1 << 64)) % (1 << 64)) // 100
        )
        if st.gc_trigger < minTrigger:
            st.gc_trigger = minTrigger
        st.next_gc = st.heap_marked + st.heap_marked * self.gcpercent // 100
        if self.gcpercent < 0:
            st.next_gc = MAX_UINT64
        if st.next_gc < st.gc_trigger:
            st.next_gc = st.gc_trigger
