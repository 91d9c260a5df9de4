"""The go1.27 CPU-rate controls: the GC CPU limiter and the scavenger's sleep controller.

``test_gc_cpu_limiter`` follows Go's TestGCCPULimiter (runtime/mgclimit_test.go)
step by step with a mock clock and GOMAXPROCS 14; the next tests cover what
that test leaves out (per-P in-flight events, the transition lock,
lastEnabledCycle).  ``test_scavenger`` is Go's TestScavenger
(mgcscavenge_test.go) with the same stubs, run synchronously; the PI
controller tests include FuzzPIController's seed cases.
"""

from __future__ import annotations

import math
import random
import struct

import pytest

from goheap.runtime.go127.mgclimit import (
    GCCPULimiterState,
    LimiterEvent,
    capacityPerProc,
    gcCPULimiterUpdatePeriod,
    limiterEventType,
    makeLimiterEventStamp,
)
from goheap.runtime.go127.mgcpacer import gcBackgroundUtilization, u64
from goheap.runtime.go127.mgcscavenge import (
    ScavengerState,
    minScavWorkTime,
    piController,
    scavengePercent,
    scavengeQuantum,
    startingScavSleepRatio,
)

MS = 1_000_000
US = 1_000
SECOND = 1_000_000_000
HOUR = 3600 * SECOND


def test_gc_cpu_limiter() -> None:
    procs = 14
    ticks = [0]

    def advance(d: int) -> int:
        ticks[0] += d
        return ticks[0]

    def assistTime(d: int, frac: float) -> int:
        # int64(frac * float64(d) * procs)
        return int(frac * float(d) * procs)

    lim = GCCPULimiterState(ticks[0], procs)
    baseOverflow = 0
    for _ in range(2):  # twice: no state may leak from one round to the next
        assert lim.capacity == procs * capacityPerProc
        assert lim.fill == 0

        # Mutator time alone never fills the bucket.
        lim.update(advance(10 * MS))
        lim.update(advance(1 * SECOND))
        lim.update(advance(1 * HOUR))
        assert lim.fill == 0

        # needUpdate.
        assert not lim.needUpdate(advance(gcCPULimiterUpdatePeriod // 2))
        assert lim.needUpdate(advance(gcCPULimiterUpdatePeriod))
        lim.update(advance(0))
        assert not lim.needUpdate(advance(0))

        # The stop-the-world pause of a GC transition counts as GC time on all Ps.
        lim.startGCTransition(True, advance(109 * MS))
        lim.finishGCTransition(advance(2 * MS + 1 * US))
        assert lim.fill == (2 * MS + 1 * US) * procs

        # With the GC on and no assists the bucket drains at (1 - 2*0.25) per CPU-ns;
        # drain it to exactly procs CPU-ns.
        factor = 1 / (1 - 2 * gcBackgroundUtilization)
        fill = (2 * MS + 1 * US) * procs
        lim.update(advance(int(factor * float(fill - procs) / procs)))
        assert lim.fill == procs

        lim.update(advance(2 * procs * capacityPerProc))
        assert lim.fill == 0

        # 50 % GC work: the bucket does not move.
        lim.addAssistTime(assistTime(10 * MS, 0.5 - gcBackgroundUtilization))
        lim.update(advance(10 * MS))
        assert lim.fill == 0

        # 100 % GC work for 1 ms.
        lim.addAssistTime(assistTime(1 * MS, 1.0 - gcBackgroundUtilization))
        lim.update(advance(1 * MS))
        assert lim.fill == procs * MS
        assert not lim.limiting()

        # Exactly full.
        lim.addAssistTime(assistTime(capacityPerProc - MS, 1.0 - gcBackgroundUtilization))
        lim.update(advance(capacityPerProc - MS))
        assert lim.fill == lim.capacity
        assert lim.limiting()
        assert lim.overflow == baseOverflow

        # A change of exactly zero keeps it on without overflow.
        lim.addAssistTime(assistTime(1 * SECOND, 0.5 - gcBackgroundUtilization))
        lim.update(advance(1 * SECOND))
        assert lim.fill == lim.capacity
        assert lim.limiting()
        assert lim.overflow == baseOverflow

        # Drain by half.
        lim.addAssistTime(assistTime(capacityPerProc, 0))
        lim.update(advance(capacityPerProc))
        assert lim.fill == lim.capacity // 2
        assert not lim.limiting()

        # Overfill.
        lim.addAssistTime(assistTime(capacityPerProc, 1.0 - gcBackgroundUtilization))
        lim.update(advance(capacityPerProc))
        assert lim.fill == lim.capacity
        assert lim.limiting()
        assert lim.overflow == capacityPerProc * procs // 2 + baseOverflow

        # Ending the cycle flushes the assists left over.
        lim.addAssistTime(assistTime(1 * MS, 1.0 - gcBackgroundUtilization))
        lim.startGCTransition(False, advance(1 * MS))
        assert lim.fill == lim.capacity
        assert lim.limiting()
        assert lim.overflow == (capacityPerProc // 2 + MS) * procs + baseOverflow

        # The pause adds to the (full) bucket.
        lim.finishGCTransition(advance(5 * MS))
        assert lim.fill == lim.capacity
        assert lim.limiting()
        assert lim.overflow == (capacityPerProc // 2 + 6 * MS) * procs + baseOverflow

        # More Ps: more capacity, limiting stops, overflow unchanged.
        expectFill = lim.capacity
        lim.resetCapacity(advance(0), procs + 10)
        assert lim.fill == expectFill
        assert not lim.limiting()
        assert lim.overflow == (capacityPerProc // 2 + 6 * MS) * procs + baseOverflow

        # Fewer Ps: the fill is cut to the new capacity and limiting starts, no overflow.
        lim.resetCapacity(advance(0), procs - 10)
        assert lim.fill == lim.capacity
        assert lim.limiting()
        assert lim.overflow == (capacityPerProc // 2 + 6 * MS) * procs + baseOverflow

        # Back to empty for the next round.
        lim.resetCapacity(advance(capacityPerProc * procs), procs)
        baseOverflow += (capacityPerProc // 2 + 6 * MS) * procs


def test_last_enabled_cycle() -> None:
    numgc = [7]
    lim = GCCPULimiterState(0, 2, numgc=lambda: numgc[0])
    lim.startGCTransition(True, 0)
    lim.finishGCTransition(0)
    lim.addAssistTime(int(2 * SECOND * (1 - gcBackgroundUtilization)) * 2)
    lim.update(2 * SECOND)
    assert lim.limiting()
    assert lim.lastEnabledCycle == 8
    # Staying full does not move it.
    numgc[0] = 9
    lim.addAssistTime(4 * SECOND)
    lim.update(3 * SECOND)
    assert lim.lastEnabledCycle == 8
    # Any drain turns limiting off.
    lim.update(3 * SECOND + 1000)
    assert not lim.limiting()


def test_update_during_transition_is_dropped() -> None:
    lim = GCCPULimiterState(0, 4)
    lim.startGCTransition(True, 100)
    lim.addAssistTime(1000)
    lim.update(200)  # lock held by the transition: nothing happens
    assert lim.lastUpdate == 100
    assert lim.assistTimePool == 1000
    lim.finishGCTransition(300)
    assert lim.fill == 200 * 4
    # The pooled assist time counts at the next update.  In an empty window it
    # counts twice, as in Go: mutator time = window - GC time goes negative.
    lim.update(300)
    assert lim.fill == 200 * 4 + 2 * 1000
    # Misuse is fatal in Go (throw).
    with pytest.raises(AssertionError):
        lim.finishGCTransition(400)
    with pytest.raises(AssertionError):
        lim.startGCTransition(True, 400)  # already on


def test_idle_time_leaves_the_window() -> None:
    lim = GCCPULimiterState(0, 4)
    lim.startGCTransition(True, 0)
    lim.finishGCTransition(0)
    # 1 ms on 4 Ps with the GC on: 1 ms background, 3 ms mutator; 3 ms idle makes it
    # 1 ms GC vs 0 ms mutator.
    lim.addIdleTime(3 * MS)
    lim.update(1 * MS)
    assert lim.fill == 1 * MS


def test_limiter_events() -> None:
    evs = [LimiterEvent(), LimiterEvent()]
    lim = GCCPULimiterState(0, 2, events=lambda: evs)
    lim.startGCTransition(True, 0)
    lim.finishGCTransition(0)
    assert evs[0].start(limiterEventType.MarkAssist, 0)
    assert not evs[0].start(limiterEventType.Idle, 0)  # one event at a time
    assert evs[1].start(limiterEventType.Idle, 0)
    # 1 ms on 2 Ps: the in-flight assist (1 ms) and idle (1 ms) are consumed.
    lim.update(1 * MS)
    # GC: 1 ms assist + 0.5 ms background; total 2 ms - 1 ms idle; mutator -0.5 ms.
    assert lim.fill == 2 * MS
    assert lim.schedIdleTime == 1 * MS
    # Stopping hands the rest over to the pools.
    evs[0].stop(limiterEventType.MarkAssist, 3 * MS // 2, lim)
    evs[1].stop(limiterEventType.Idle, 3 * MS // 2, lim)
    assert lim.assistTimePool == MS // 2
    assert lim.idleTimePool == MS // 2
    assert lim.schedIdleTime == 3 * MS // 2
    with pytest.raises(AssertionError):
        evs[0].stop(limiterEventType.MarkAssist, 2 * MS, lim)
    # Packing: the type sits in the top three bits, the clock in the rest.
    stamp = makeLimiterEventStamp(limiterEventType.Idle, 12345)
    assert stamp >> 61 == 4 and stamp & ((1 << 61) - 1) == 12345
    assert u64(stamp) == stamp


def test_accumulate_small_gain_adds() -> None:
    lim = GCCPULimiterState(0, 1)
    lim.accumulate(100, 600)
    assert lim.fill == 500
    lim.accumulate(700, 100)
    assert lim.fill == 0
    assert not lim.limiting()


# --- the scavenger's CPU-rate controller (mgcscavenge.go scavengerState/piController) ----


def test_scavenger() -> None:
    """Go's TestScavenger with its stubs: 1 % CPU, every byte of work done, stops on request."""
    phys = 4096

    def workedTime(nbytes: int) -> int:
        return (nbytes + 4095) // 4096 * 10 * US

    totalWork = (64 << 20) - 3 * phys
    state = {"slept": 0, "worked": 0, "available": 0, "stopAt": 0}

    def sleeper(ns: int) -> int:
        state["slept"] += ns
        return ns

    def scavenge(nbytes: int) -> tuple[int, int]:
        nbytes = min(nbytes, state["available"])
        t = workedTime(nbytes)
        if nbytes != 0:
            state["available"] -= nbytes
            state["worked"] += t
        return nbytes, t

    s = ScavengerState(
        scavenge,
        shouldStop=lambda: state["available"] <= state["stopAt"],
        gomaxprocs=lambda: 1,
    )
    s.park()

    def wake_and_wait() -> None:
        s.wake()
        steps = 0
        while not s.parked:
            s.bgscavengeStep(sleeper)
            steps += 1
            assert steps < 100_000

    def verify(expWork: int) -> None:
        assert s.releasedBg == expWork
        cpu = state["worked"] / (state["worked"] + state["slept"])
        ideal = scavengePercent / 100.0
        assert ideal - 0.005 <= cpu <= ideal + 0.005

    state["available"] = totalWork
    wake_and_wait()
    verify(totalWork)
    # Nothing to do: straight back to sleep.
    wake_and_wait()
    verify(totalWork)
    # Same amount again.
    state["available"] = totalWork
    wake_and_wait()
    verify(2 * totalWork)
    # Stop early.
    state["available"] = totalWork
    stoppingPoint = (1 << 20) - 3 * phys
    state["stopAt"] = stoppingPoint
    wake_and_wait()
    verify(2 * totalWork + (totalWork - stoppingPoint))


def test_scavenger_run_details() -> None:
    calls: list[int] = []

    def scavenge(nbytes: int) -> tuple[int, int]:
        calls.append(nbytes)
        return nbytes, 0  # unmeasured: 10 µs per physical page

    s = ScavengerState(scavenge, shouldStop=lambda: False, gomaxprocs=lambda: 4)
    released, worked = s.run()
    # 16 pages * 10 µs = 160 µs per quantum: 7 quanta reach 1 ms.
    assert calls == [scavengeQuantum] * 7
    assert (released, worked) == (7 * scavengeQuantum, 7 * 160e3)
    # A short run counts as 1 ms; sleep = worked / ratio.
    w, ns = s.beginSleep(0.5e6)
    assert (w, ns) == (minScavWorkTime, int(1e6 / startingScavSleepRatio))
    # darwin's cost ratio stretches the sleep.
    s2 = ScavengerState(scavenge, lambda: False, lambda: 1, scavengeCostRatio=0.7)
    assert s2.beginSleep(2e6) == (2e6 * 1.7, int(2e6 * 1.7 / startingScavSleepRatio))
    # The controller raises the ratio when the scavenger used too little CPU.
    s.finishSleep(1e6, ns)
    assert s.sleepRatio > startingScavSleepRatio
    # Less than a physical page released is fatal.
    bad = ScavengerState(lambda n: (100, 5), lambda: False, lambda: 1)
    with pytest.raises(AssertionError):
        bad.run()
    # Sysmon wake-ups.
    s.park()
    s.ready()
    assert s.sysmonWake
    s.wake()
    assert not s.parked and not s.sysmonWake


def test_scavenger_controller_failure_cooldown() -> None:
    s = ScavengerState(lambda n: (0, 0), lambda: True, lambda: 1)
    s.sleepController.errIntegral = math.inf
    s.finishSleep(1e6, 1000)
    assert s.sleepRatio == startingScavSleepRatio
    assert s.controllerCooldown == 5_000_000_000
    assert s.printControllerReset
    s.finishSleep(1e6, 1_000_000_000)  # cooling down: the controller is not consulted
    assert s.controllerCooldown == 5_000_000_000 - 1_001_000_000
    s.finishSleep(1e6, 10_000_000_000)
    assert s.controllerCooldown == 0


def test_pi_controller_steps() -> None:
    c = piController(kp=0.5, ti=2.0, tt=4.0, min=-1.0, max=1.0)
    out, ok = c.next(0.0, 1.0, 1.0)
    # prop 0.5, integral 0: output 0.5; integral += 0.5*1/2*1 + 1/4*0
    assert (out, ok) == (0.5, True)
    assert c.errIntegral == 0.25
    out, ok = c.next(0.0, 4.0, 1.0)
    # raw 2.0 + 0.25 clamps to 1; anti-windup: += 0.25*4 + 0.25*(1 - 2.25)
    assert (out, ok) == (1.0, True)
    assert c.errIntegral == 0.25 + 1.0 + 0.25 * (1.0 - 2.25)
    out, ok = c.next(math.inf, 0.0, 1.0)
    assert (out, ok) == (-1.0, False)
    assert c.inputOverflow and c.errIntegral == 0.0


@pytest.mark.parametrize(
    ("kp", "ti", "tt", "lo", "hi", "setpoint"),
    [(0.3375, 3.2e6, 1e9, 0.001, 1000.0, 0.01), (0.9, 4.0, 1000.0, -1000.0, 1000.0, 0.84)],
)
def test_pi_controller_never_returns_nan_or_inf(
    kp: float, ti: float, tt: float, lo: float, hi: float, setpoint: float
) -> None:
    """FuzzPIController's seed cases: arbitrary float64 bit patterns as input."""
    rng = random.Random(800)
    p = piController(kp, ti, tt, lo, hi)
    for _ in range(100):
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        state, _ = p.next(x, setpoint, 1.0)
        assert not math.isinf(state) and not math.isnan(state)
