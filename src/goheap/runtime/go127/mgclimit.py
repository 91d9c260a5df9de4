"""The GC CPU limiter (Go 1.27 ``runtime/mgclimit.go``, ``gcCPULimiterState``).

What the Go code does
---------------------
A leaky bucket measured in CPU-nanoseconds.  GC time pours in, mutator time
drains out, one for one, so the bucket only rises while the GC takes more
than half of the CPU.  Its capacity is ``GOMAXPROCS * 1 s``
(``capacityPerProc``); while it is full the limiter is *enabled*
(``limiting``): mark assists are skipped and allocation stops scavenging for
the memory limit, trading heap growth for CPU (the way out of a memory-limit
death spiral).  Any net drain turns it off again.  GC time a full bucket
cannot take is added to ``overflow`` (reported by runtime/metrics).

``update(now)`` (from the scheduler at most every 10 ms, ``needUpdate``)
closes the window since the last update: the window is ``(now -
lastUpdate) * nprocs`` CPU-ns; GC time is the assist time pooled since then
(mark and scavenge assists) plus, while the GC is on, a flat 25 % of the
window for the background workers; idle time (Ps on the idle list and idle
mark workers) is taken out of the window, and what remains after the GC
time is mutator time.  GC phase changes go through ``startGCTransition``
(flush, switch ``gcEnabled``) and ``finishGCTransition`` (the stop-the-world
pause counts as GC time on every P).  ``resetCapacity`` follows GOMAXPROCS.
When the bucket fills, ``lastEnabledCycle`` becomes ``numgc + 1``
(``/gc/limiter/last-enabled:gc-cycle``).

In-flight per-P events (``limiterEvent``: a 3-bit type packed with a
timestamp) let an update account for assists and idle periods that have not
ended yet; ``stop`` adds a finished event to the limiter's pools.

What is simplified (no number changes)
--------------------------------------
* One thread: the try-lock is a flag.  As in Go, ``update`` while a GC
  transition holds the lock is dropped (the pooled time stays for the next
  update); ``startGCTransition`` and ``resetCapacity`` need the lock.
* Globals become constructor arguments: ``numgc`` (``memstats.numgc``) is a
  callable, and ``events`` returns the Ps' ``LimiterEvent`` objects to
  consume at each update (``None`` = Go's test copy, which consumes none).
  Time from idle events that Go adds to ``sched.idleTime`` is summed in
  ``schedIdleTime``.
* The unused ``idleMarkTimePool`` is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Final

from goheap.runtime.go127.mgcpacer import (
    MAX_UINT64,
    float64ToInt64,
    gcBackgroundUtilization,
    i64,
    u64,
)

__all__ = [
    "GCCPULimiterState",
    "LimiterEvent",
    "capacityPerProc",
    "gcCPULimiterUpdatePeriod",
    "limiterEventType",
    "makeLimiterEventStamp",
]

gcCPULimiterUpdatePeriod: Final = 10_000_000  # 10 ms
capacityPerProc: Final = 1_000_000_000  # 1 CPU-second per P


class limiterEventType(IntEnum):
    """What a P is doing that the limiter accounts for."""

    none = 0
    IdleMarkWork = 1
    MarkAssist = 2
    ScavengeAssist = 3
    Idle = 4


limiterEventBits: Final = 3
limiterEventTypeMask: Final = ((1 << limiterEventBits) - 1) << (64 - limiterEventBits)
limiterEventStampNone: Final = 0


def makeLimiterEventStamp(typ: limiterEventType, now: int) -> int:
    """Pack an event type into the top 3 bits above the timestamp's low 61 bits."""
    return u64((int(typ) << (64 - limiterEventBits)) | (u64(now) & ~limiterEventTypeMask))


def _stampType(stamp: int) -> limiterEventType:
    return limiterEventType(stamp >> (64 - limiterEventBits))


def _stampDuration(stamp: int, now: int) -> int:
    # The top bits of the start time are taken from now; a negative span
    # (stale now, or a wrap of the 61-bit clock) counts as zero.
    start = i64((u64(now) & limiterEventTypeMask) | (stamp & ~limiterEventTypeMask & MAX_UINT64))
    if now < start:
        return 0
    return now - start


class LimiterEvent:
    """``limiterEvent``: the event in flight on one P (one packed stamp)."""

    def __init__(self) -> None:
        self.stamp = limiterEventStampNone

    def start(self, typ: limiterEventType, now: int) -> bool:
        """Begin an event; False if one is already in flight (its time keeps counting)."""
        if _stampType(self.stamp) != limiterEventType.none:
            return False
        self.stamp = makeLimiterEventStamp(typ, now)
        return True

    def consume(self, now: int) -> tuple[limiterEventType, int]:
        """Take the in-flight event's time so far, restarting it at now."""
        typ = _stampType(self.stamp)
        if typ == limiterEventType.none:
            return typ, 0
        duration = _stampDuration(self.stamp, now)
        if duration == 0:
            return limiterEventType.none, 0
        self.stamp = makeLimiterEventStamp(typ, now)
        return typ, duration

    def stop(self, typ: limiterEventType, now: int, limiter: GCCPULimiterState) -> None:
        """End the event and hand its time to ``limiter``."""
        stamp = self.stamp
        if _stampType(stamp) != typ:
            raise AssertionError(
                f"limiterEvent.stop: found {_stampType(stamp)!r} in the slot, want {typ!r}"
            )
        self.stamp = limiterEventStampNone
        duration = _stampDuration(stamp, now)
        if duration == 0:
            return
        if typ == limiterEventType.Idle:
            limiter.schedIdleTime += duration
            limiter.addIdleTime(duration)
        elif typ == limiterEventType.IdleMarkWork:
            limiter.addIdleTime(duration)
        elif typ in (limiterEventType.MarkAssist, limiterEventType.ScavengeAssist):
            limiter.addAssistTime(duration)
        else:
            raise AssertionError(f"limiterEvent.stop: invalid event type {typ!r}")


class GCCPULimiterState:
    """``gcCPULimiterState``; the constructor does what Go's startup does: ``resetCapacity``."""

    def __init__(
        self,
        now: int,
        nprocs: int,
        numgc: Callable[[], int] = lambda: 0,
        events: Callable[[], Iterable[LimiterEvent]] | None = None,
    ) -> None:
        self._locked = False
        self.enabled = False
        self.gcEnabled = False
        self.transitioning = False
        self.fill = 0
        self.capacity = 0
        self.overflow = 0
        self.assistTimePool = 0
        self.idleTimePool = 0
        self.lastUpdate = 0
        self.lastEnabledCycle = 0
        self.nprocs = 0
        self.schedIdleTime = 0
        self._numgc = numgc
        self._events = events
        self.resetCapacity(now, nprocs)

    # -- lock -------------------------------------------------------------------

    def _tryLock(self) -> bool:
        if self._locked:
            return False
        self._locked = True
        return True

    def _unlock(self) -> None:
        if not self._locked:
            raise AssertionError("double unlock")
        self._locked = False

    # -- queries ------------------------------------------------------------------

    def limiting(self) -> bool:
        """True while the bucket is full: assists and limit-driven scavenging are skipped."""
        return self.enabled

    def needUpdate(self, now: int) -> bool:
        """More than 10 ms since the last update."""
        return now - self.lastUpdate > gcCPULimiterUpdatePeriod

    # -- inputs ---------------------------------------------------------------------

    def addAssistTime(self, t: int) -> None:
        """Mark-assist or scavenge-assist CPU time, counted at the next update."""
        self.assistTimePool += t

    def addIdleTime(self, t: int) -> None:
        """Idle P time or idle mark-worker time, removed from the next window."""
        self.idleTimePool += t

    def startGCTransition(self, enableGC: bool, now: int) -> None:
        """Stop-the-world start of a phase change (GC on at sweep termination, off at mark end)."""
        if not self._tryLock():
            raise AssertionError("failed to acquire lock to start a GC transition")
        if self.gcEnabled == enableGC:
            raise AssertionError("transitioning GC to the same state as before?")
        self._updateLocked(now)
        self.gcEnabled = enableGC
        self.transitioning = True

    def finishGCTransition(self, now: int) -> None:
        """End of that pause: the whole pause counts as GC time on every P."""
        if not self.transitioning:
            raise AssertionError("finishGCTransition called without starting one?")
        if now >= self.lastUpdate:
            self.accumulate(0, (now - self.lastUpdate) * self.nprocs)
        self.lastUpdate = now
        self.transitioning = False
        self._unlock()

    def update(self, now: int) -> None:
        """Close the window since the last update (dropped if a transition holds the lock)."""
        if not self._tryLock():
            return
        if self.transitioning:
            raise AssertionError("update during transition")
        self._updateLocked(now)
        self._unlock()

    def _updateLocked(self, now: int) -> None:
        lastUpdate = self.lastUpdate
        if now < lastUpdate:
            return
        windowTotalTime = i64((now - lastUpdate) * self.nprocs)
        self.lastUpdate = now

        assistTime = self.assistTimePool
        self.assistTimePool = 0
        idleTime = self.idleTimePool
        self.idleTimePool = 0

        if self._events is not None:
            for ev in self._events():
                typ, duration = ev.consume(now)
                if typ == limiterEventType.Idle:
                    self.schedIdleTime += duration
                    idleTime += duration
                elif typ == limiterEventType.IdleMarkWork:
                    idleTime += duration
                elif typ in (limiterEventType.MarkAssist, limiterEventType.ScavengeAssist):
                    assistTime += duration

        windowGCTime = assistTime
        if self.gcEnabled:
            windowGCTime += float64ToInt64(float(windowTotalTime) * gcBackgroundUtilization)
        # Idle time leaves the window only after the background share was taken.
        windowTotalTime -= idleTime
        self.accumulate(i64(windowTotalTime - windowGCTime), windowGCTime)

    def accumulate(self, mutatorTime: int, gcTime: int) -> None:
        """Pour ``gcTime`` in and drain ``mutatorTime`` out (CPU-ns)."""
        headroom = u64(self.capacity - self.fill)
        wasFull = headroom == 0
        change = i64(gcTime - mutatorTime)

        if change > 0 and headroom <= change:
            self.overflow = u64(self.overflow + change - headroom)
            self.fill = self.capacity
            if not wasFull:
                self.enabled = True
                self.lastEnabledCycle = (self._numgc() + 1) & 0xFFFFFFFF
            return

        if change < 0 and self.fill <= u64(-change):
            self.fill = 0
        else:
            # uint64 wrap: for a positive change this adds it.
            self.fill = u64(self.fill - u64(-change))
        if change != 0 and wasFull:
            self.enabled = False

    def resetCapacity(self, now: int, nprocs: int) -> None:
        """GOMAXPROCS changed (or startup): flush, then capacity = nprocs * 1 s."""
        if not self._tryLock():
            raise AssertionError("failed to acquire lock to reset capacity")
        self._updateLocked(now)
        self.nprocs = nprocs
        self.capacity = u64(nprocs * capacityPerProc)
        if self.fill > self.capacity:
            self.fill = self.capacity
            self.enabled = True
            self.lastEnabledCycle = (self._numgc() + 1) & 0xFFFFFFFF
        elif self.fill < self.capacity:
            self.enabled = False
        self._unlock()
