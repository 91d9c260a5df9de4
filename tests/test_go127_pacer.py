"""The go1.27 pacer (goheap.runtime.go127.mgcpacer) against Go's own TestGcPacer.

``TestGcPacer`` (runtime/mgcpacer_test.go) drives a test copy of the pacer
through simulated GC cycles: each cycle draws its inputs from deterministic
streams, lets scan work and allocation proceed in 500 µs steps at the
utilisation the assist ratio implies, and ends the cycle with the bytes
marked.  The harness below does the same; every cycle's logged numbers must
equal the real test's log (``gcpacer_expected.json``, go1.27.3 linux/amd64),
and each scenario's own assertions must hold.  The pseudo-random and sine
streams are replayed from ``pacerstreams.json`` (Go's ``math/rand`` and
``math.Sin`` outputs), so nothing here depends on Python's generators.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from goheap.runtime.go127.mgcpacer import (
    MAX_INT64,
    MAX_UINT64,
    GCControllerState,
    defaultHeapMinimum,
    fdiv,
    float64ToInt64,
    float64ToUint64,
    gcBackgroundUtilization,
    gcGoalUtilization,
    gcTriggerKind,
    i64,
    memoryLimitHeapGoalHeadroomPercent,
    memoryLimitMinHeapGoalHeadroom,
    u64,
)
from goheap.runtime.go127.mgcscavenge import ScavengeGoals, gcPaceScavenger

DATA = Path(__file__).parent / "oracle" / "probe" / "data"


@cache
def _streams() -> dict:
    return json.loads((DATA / "pacerstreams.json").read_text())


@cache
def _expected() -> dict[str, list[dict]]:
    return json.loads((DATA / "gcpacer_expected.json").read_text())["scenarios"]


# --- input streams (the test's float64Stream combinators) -----------------------------


class Stream:
    """An endless sequence of float64, one value per GC cycle."""

    def __init__(self, step: Callable[[], float]) -> None:
        self._step = step

    def __call__(self) -> float:
        return self._step()

    def delay(self, n: int) -> Stream:
        """n zeroes first; the inner stream is not advanced meanwhile."""
        left = [n]

        def step() -> float:
            if left[0] > 0:
                left[0] -= 1
                return 0.0
            return self()

        return Stream(step)

    def offset(self, amt: float) -> Stream:
        return Stream(lambda: self() + amt)

    def sum(self, *others: Stream) -> Stream:
        def step() -> float:
            total = self()
            for o in others:
                total += o()
            return total

        return Stream(step)

    def quantize(self, mult: float) -> Stream:
        def step() -> float:
            r = self() / mult
            return (math.ceil(r) if r < 0 else math.floor(r)) * mult

        return Stream(step)

    def min(self, lo: float) -> Stream:
        # math.Max(lo, v): v wins ties only by value, and NaN never occurs here.
        return Stream(lambda: max(lo, self()))

    def limit(self, lo: float, hi: float) -> Stream:
        def step() -> float:
            v = self()
            return lo if v < lo else hi if v > hi else v

        return Stream(step)


def constant(c: float) -> Stream:
    return Stream(lambda: c)


def unit(amp: float) -> Stream:
    """amp once, then zeroes."""
    done = [False]

    def step() -> float:
        if done[0]:
            return 0.0
        done[0] = True
        return amp

    return Stream(step)


def ramp(height: float, length: int) -> Stream:
    """0 up to height over length steps, then height."""
    k = [0]

    def step() -> float:
        h = height * float(k[0]) / float(length)
        if k[0] < length:
            k[0] += 1
        return h

    return Stream(step)


def oscillate(amp: float, phase: float, period: int) -> Stream:
    """sin(2πk/period + phase) * amp, using Go's math.Sin values when recorded."""
    table = _streams()["sin"].get(str(period)) if phase == 0 else None
    k = [0]

    def step() -> float:
        i = k[0]
        k[0] = 0 if i + 1 == period else i + 1
        s = table[i] if table is not None else math.sin(float(i) / float(period) * 2 * math.pi)
        return s * amp

    return Stream(step)


def random(amp: float, seed: int) -> Stream:
    """((Float64() - 0.5) * 2) * amp over Go's rand.NewSource(seed)."""
    values = _streams()["float64"][str(seed)]
    k = [0]

    def step() -> float:
        v = values[k[0]]
        k[0] += 1
        return ((v - 0.5) * 2) * amp

    return Stream(step)


# --- the simulation ----------------------------------------------------------------

initialHeapBytes = 256 << 10
revisePeriod = 500_000  # ns
rateConv = 1024 * float(revisePeriod) / float(1_000_000)  # bytes per (KiB/ms) per period
minRate = 0.0001


@dataclass
class CycleResult:
    cycle: int
    heapLive: int  # heapMarked at the start of the cycle
    heapTrigger: int
    heapGoal: int
    heapPeak: int
    heapScannable: int
    gcUtilization: float

    def goalRatio(self) -> float:
        return float(self.heapPeak) / float(self.heapGoal)

    def runway(self) -> float:
        return float(u64(self.heapGoal - self.heapTrigger))

    def triggerRatio(self) -> float:
        return float(u64(self.heapTrigger - self.heapLive)) / float(
            u64(self.heapGoal - self.heapLive)
        )


Checker = Callable[[list[CycleResult], list[str]], None]


@dataclass
class ExecTest:
    name: str
    gcPercent: int
    memoryLimit: int
    globalsBytes: int
    nCores: int
    allocRate: Stream
    scanRate: Stream
    growthRate: Stream
    scannableFrac: Stream
    stackBytes: Stream
    length: int
    checker: Checker
    _wrapped: dict = field(default_factory=dict)

    def next(self) -> tuple[float, float, float, float, int]:
        if not self._wrapped:
            self._wrapped = {
                "alloc": self.allocRate.min(minRate),
                "scan": self.scanRate.min(minRate),
                "growth": self.growthRate.min(minRate),
                "frac": self.scannableFrac.limit(0, 1),
                "stack": self.stackBytes.quantize(2048).min(0),
            }
        w = self._wrapped
        return (
            w["alloc"](),
            w["scan"](),
            w["growth"](),
            w["frac"](),
            float64ToUint64(w["stack"]()),
        )


def _in_range(errs: list[str], name: str, a: float, lo: float, hi: float) -> None:
    if a < lo or a > hi:
        errs.append(f"{name} not in range ({lo:f}, {hi:f}): {a:f}")


def _in_eps(errs: list[str], name: str, a: float, b: float, eps: float) -> None:
    _in_range(errs, name, a, b - eps, b + eps)


def applyMemoryLimitHeapGoalHeadroom(goal: int) -> int:
    headroom = max(goal // 100 * memoryLimitHeapGoalHeadroomPercent, memoryLimitMinHeapGoalHeadroom)
    if goal < headroom or goal - headroom < headroom:
        return headroom
    return goal - headroom


def _general_checks(results: list[CycleResult], errs: list[str]) -> None:
    n = len(results)
    if n == 1 and results[0].cycle != 1:
        errs.append("first cycle has incorrect number")
    if n > 1 and results[-1].cycle != results[-2].cycle + 1:
        errs.append("cycle numbers out of order")
    u = results[-1].gcUtilization
    if u < 0 or u > 1:
        errs.append(f"GC utilization not within acceptable bounds: {u}")
    if results[-1].heapScannable < 0:
        errs.append("heapScannable is negative")


def start_cycle(c: GCControllerState, stack: int, globals_: int, frac: float, procs: int) -> None:
    """export_test.go GCController.StartCycle."""
    trig, _ = c.trigger()
    trig = max(trig, c.heapMarked)
    c.maxStackScan = stack
    c.globalsScan = globals_
    c.heapLive = trig
    c.heapScan = u64(c.heapScan + float64ToInt64(float(trig - c.heapMarked) * frac))
    c.startCycle(0, procs, gcTriggerKind.Heap)


def revise(c: GCControllerState, dLive: int, dScan: int, heapW: int, stackW: int, glW: int) -> None:
    """export_test.go GCController.Revise."""
    c.heapLive = u64(c.heapLive + dLive)
    c.heapScan = u64(c.heapScan + dScan)
    c.heapScanWork += heapW
    c.stackScanWork += stackW
    c.globalsScanWork += glW
    c.revise()


def end_cycle(
    c: GCControllerState, bytesMarked: int, assistTime: int, elapsed: int, procs: int
) -> None:
    """export_test.go GCController.EndCycle."""
    c.assistTime = assistTime
    c.endCycle(elapsed, procs)
    c.resetLive(bytesMarked)
    c.commit(False)


def run(e: ExecTest) -> tuple[list[CycleResult], list[str]]:
    """Run one scenario; returns its per-cycle results and every failed assertion."""
    c = GCControllerState(e.gcPercent, e.memoryLimit)
    errs: list[str] = []
    results: list[CycleResult] = []
    blackLast = 0
    procs = float(e.nCores)
    for i in range(e.length):
        alloc, scan, growth, frac, stack = e.next()
        start_cycle(c, stack, e.globalsBytes, frac, e.nCores)

        if i == 0:
            nextHeapMarked = initialHeapBytes
        else:
            nextHeapMarked = float64ToInt64(float(i64(c.heapMarked) - blackLast) * growth)
        left = [e.globalsBytes, stack, float64ToInt64(float(nextHeapMarked) * frac)]

        gcDuration = 0
        assistTime = 0
        black = 0
        while left[0] + left[1] + left[2] > 0:
            a = c.assistWorkPerByte
            u = a * alloc / (a * alloc + scan)
            u = max(u, gcBackgroundUtilization)
            bytesScanned = float64ToInt64(scan * rateConv * procs * u)
            bytesAllocated = float64ToInt64(alloc * rateConv * procs * (1 - u))

            # Globals first, then stacks, then heap.
            done = [0, 0, 0]
            work = bytesScanned
            for k in range(3):
                if left[k] == 0:
                    continue
                if left[k] > work:
                    done[k] += work
                    left[k] -= work
                    work = 0
                    break
                done[k] += left[k]
                work -= left[k]
                left[k] = 0

            elapsed = revisePeriod
            allocated = bytesAllocated
            scanned = done[0] + done[1] + done[2]
            if scanned < bytesScanned:
                elapsed = float64ToInt64(
                    float(scanned) * float(revisePeriod) / (scan * rateConv * procs * u)
                )
                allocated = float64ToInt64(
                    alloc * rateConv * float(elapsed) / float(revisePeriod) * procs * (1 - u)
                )
            revise(
                c,
                allocated,
                float64ToInt64(float(allocated) * frac),
                done[2],
                done[1],
                done[0],
            )
            assistTime += float64ToInt64(float(elapsed) * procs * (u - gcBackgroundUtilization))
            gcDuration += elapsed
            black += allocated

        result = CycleResult(
            cycle=i + 1,
            heapLive=c.heapMarked,
            heapScannable=float64ToInt64(float(i64(c.heapMarked) - blackLast) * frac),
            heapTrigger=c.triggered,
            heapPeak=c.heapLive,
            heapGoal=c.heapGoal(),
            gcUtilization=float(assistTime) / (float(gcDuration) * procs) + gcBackgroundUtilization,
        )
        results.append(result)
        before = len(errs)
        _general_checks(results, errs)
        e.checker(results, errs)
        errs[before:] = [f"GC {i + 1}: {m}" for m in errs[before:]]

        end_cycle(c, u64(nextHeapMarked + black), assistTime, gcDuration, e.nCores)
        blackLast = black
    return results, errs


# --- the scenarios -----------------------------------------------------------------


def _steady(c: list[CycleResult], errs: list[str]) -> None:
    n = len(c)
    if n >= 25:
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, gcGoalUtilization, 0.005)
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[-2].gcUtilization, 0.005)
        _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.95, 1.05)


def _step(c: list[CycleResult], errs: list[str]) -> None:
    n = len(c)
    if 25 <= n < 50 or n >= 75:
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[-2].gcUtilization, 0.005)
        _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.95, 1.05)


def _high_gogc(c: list[CycleResult], errs: list[str]) -> None:
    n = len(c)
    if n > 12:
        hi = 15 if n == 26 else 1.05
        _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.90, hi)
        _in_eps(
            errs, "GC utilization", c[-1].gcUtilization, gcGoalUtilization, gcGoalUtilization + 0.03
        )
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[-2].gcUtilization, 0.03)


def _osc(c: list[CycleResult], errs: list[str]) -> None:
    if len(c) > 12:
        _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.95, 1.05)
        _in_range(errs, "GC utilization", c[-1].gcUtilization, 0.25, 0.3)


def _jitter(c: list[CycleResult], errs: list[str]) -> None:
    if len(c) > 12:
        _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.95, 1.025)
        _in_range(errs, "GC utilization", c[-1].gcUtilization, 0.25, 0.275)


def _heavy_jitter(c: list[CycleResult], errs: list[str]) -> None:
    if len(c) > 13:
        _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.95, 1.05)
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[-2].gcUtilization, 0.05)
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[11].gcUtilization, 0.05)


def _settled_utilization(c: list[CycleResult], errs: list[str]) -> None:
    if len(c) > 25:
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, gcGoalUtilization, 0.005)
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[-2].gcUtilization, 0.05)
        _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[11].gcUtilization, 0.05)


def _slow_alloc(after: int) -> Checker:
    def check(c: list[CycleResult], errs: list[str]) -> None:
        if len(c) > after:
            _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.925, 1.025)
            _in_range(errs, "trigger ratio", c[-1].triggerRatio(), 0.925, 0.975)
        _settled_utilization(c, errs)

    return check


def _large_slow_alloc(c: list[CycleResult], errs: list[str]) -> None:
    if len(c) > 13:
        _in_range(errs, "goal ratio", c[-1].goalRatio(), 0.95, 1.05)
        _in_range(
            errs,
            "runway",
            c[-1].runway(),
            defaultHeapMinimum - (64 << 10),
            defaultHeapMinimum + (64 << 10),
        )
    _settled_utilization(c, errs)


LIMIT = 512 << 20
LIMIT_GOAL = applyMemoryLimitHeapGoalHeadroom(LIMIT)


def _steady_limit(c: list[CycleResult], errs: list[str]) -> None:
    if c[-1].heapPeak >= LIMIT_GOAL:
        errs.append(f"peak heap size reaches heap limit: {c[-1].heapPeak}")
    _steady(c, errs)


def _steady_limit_nogc(c: list[CycleResult], errs: list[str]) -> None:
    if c[-1].heapGoal != LIMIT_GOAL:
        errs.append(f"heap goal is not the heap limit: {c[-1].heapGoal}")
    _steady(c, errs)


def _exceed(nogc: bool) -> Checker:
    def check(c: list[CycleResult], errs: list[str]) -> None:
        n = len(c)
        if nogc and n < 10 and c[-1].heapGoal != LIMIT_GOAL:
            errs.append(f"heap goal is not the heap limit: {c[-1].heapGoal}")
        if n > 12 and c[-1].heapGoal != c[-1].heapLive:
            errs.append(
                f"heap goal is not equal to live heap: {c[-1].heapGoal} != {c[-1].heapLive}"
            )
        if n >= 25:
            _in_eps(errs, "GC utilization", c[-1].gcUtilization, 1.0, 0.005)
            _in_eps(errs, "GC utilization", c[-1].gcUtilization, c[-2].gcUtilization, 0.005)

    return check


def _maintain(nogc: bool) -> Checker:
    def check(c: list[CycleResult], errs: list[str]) -> None:
        if (nogc or len(c) > 12) and c[-1].heapGoal != LIMIT_GOAL:
            errs.append(f"heap goal is not the heap limit: {c[-1].heapGoal}")
        _steady(c, errs)

    return check


def _growth() -> Stream:
    return constant(2.0).sum(ramp(-1.0, 12))


def _make(name: str) -> ExecTest:
    """A fresh ExecTest (streams are stateful) for the named TestGcPacer scenario."""
    common: dict = {
        "gcPercent": 100,
        "memoryLimit": MAX_INT64,
        "globalsBytes": 32 << 10,
        "nCores": 8,
        "scanRate": constant(1024.0),
        "growthRate": _growth(),
        "scannableFrac": constant(1.0),
        "stackBytes": constant(8192),
        "length": 50,
    }
    slow = {
        "allocRate": constant(1.0),
        "scanRate": constant(2048.0),
        "scannableFrac": constant(0.01),
    }
    specs: dict[str, dict] = {
        "Steady": {"allocRate": constant(33.0), "checker": _steady},
        "SteadyBigStacks": {
            "allocRate": constant(132.0),
            "stackBytes": constant(2048).sum(ramp(128 << 20, 8)),
            "checker": _steady,
        },
        "SteadyBigGlobals": {
            "allocRate": constant(132.0),
            "globalsBytes": 128 << 20,
            "checker": _steady,
        },
        "StepAlloc": {
            "allocRate": constant(33.0).sum(ramp(66.0, 1).delay(50)),
            "length": 100,
            "checker": _step,
        },
        "HeavyStepAlloc": {
            "allocRate": constant(33).sum(ramp(330, 1).delay(50)),
            "length": 100,
            "checker": _step,
        },
        "StepScannableFrac": {
            "allocRate": constant(128.0),
            "scannableFrac": constant(0.2).sum(unit(0.5).delay(50)),
            "length": 100,
            "checker": _step,
        },
        "HighGOGC": {
            "gcPercent": 1500,
            "allocRate": random(7, 0x53).offset(165),
            "growthRate": constant(2.0).sum(ramp(-1.0, 12), random(0.01, 0x1), unit(14).delay(25)),
            "checker": _high_gogc,
        },
        "OscAlloc": {"allocRate": oscillate(13, 0, 8).offset(67), "checker": _osc},
        "JitterAlloc": {
            "allocRate": random(13, 0xF).offset(132),
            "growthRate": constant(2.0).sum(ramp(-1.0, 12), random(0.01, 0xE)),
            "checker": _jitter,
        },
        "HeavyJitterAlloc": {
            "allocRate": random(33.0, 0x0).offset(330),
            "growthRate": constant(2.0).sum(ramp(-1.0, 12), random(0.01, 0x152)),
            "checker": _heavy_jitter,
        },
        "SmallHeapSlowAlloc": {
            **slow,
            "growthRate": constant(2.0).sum(ramp(-1.0, 3)),
            "checker": _slow_alloc(4),
        },
        "MediumHeapSlowAlloc": {
            **slow,
            "growthRate": constant(2.0).sum(ramp(-1.0, 8)),
            "checker": _slow_alloc(9),
        },
        "LargeHeapSlowAlloc": {
            **slow,
            "growthRate": constant(4.0).sum(ramp(-3.0, 12)),
            "checker": _large_slow_alloc,
        },
        "SteadyMemoryLimit": {
            "memoryLimit": LIMIT,
            "allocRate": constant(33.0),
            "checker": _steady_limit,
        },
        "SteadyMemoryLimitNoGCPercent": {
            "gcPercent": -1,
            "memoryLimit": LIMIT,
            "allocRate": constant(33.0),
            "checker": _steady_limit_nogc,
        },
        "ExceedMemoryLimit": {
            "memoryLimit": LIMIT,
            "allocRate": constant(33.0),
            "growthRate": constant(3.5).sum(ramp(-2.5, 12)),
            "checker": _exceed(nogc=False),
        },
        "ExceedMemoryLimitNoGCPercent": {
            "gcPercent": -1,
            "memoryLimit": LIMIT,
            "allocRate": constant(33.0),
            "growthRate": constant(3.5).sum(ramp(-2.5, 12)),
            "checker": _exceed(nogc=True),
        },
        "MaintainMemoryLimit": {
            "memoryLimit": LIMIT,
            "allocRate": constant(33.0),
            "growthRate": constant(3.0).sum(ramp(-2.0, 12)),
            "checker": _maintain(nogc=False),
        },
        "MaintainMemoryLimitNoGCPercent": {
            "gcPercent": -1,
            "memoryLimit": LIMIT,
            "allocRate": constant(33.0),
            "growthRate": constant(3.0).sum(ramp(-2.0, 12)),
            "checker": _maintain(nogc=True),
        },
    }
    return ExecTest(name=name, **{**common, **specs[name]})


SCENARIOS = [
    "Steady",
    "SteadyBigStacks",
    "SteadyBigGlobals",
    "StepAlloc",
    "HeavyStepAlloc",
    "StepScannableFrac",
    "HighGOGC",
    "OscAlloc",
    "JitterAlloc",
    "HeavyJitterAlloc",
    "SmallHeapSlowAlloc",
    "MediumHeapSlowAlloc",
    "LargeHeapSlowAlloc",
    "SteadyMemoryLimit",
    "SteadyMemoryLimitNoGCPercent",
    "ExceedMemoryLimit",
    "ExceedMemoryLimitNoGCPercent",
    "MaintainMemoryLimit",
    "MaintainMemoryLimitNoGCPercent",
]


@cache
def _run(name: str) -> tuple[list[CycleResult], list[str]]:
    return run(_make(name))


def test_scenarios_cover_the_expected_log() -> None:
    assert sorted(SCENARIOS) == sorted(_expected())
    assert sum(len(v) for v in _expected().values()) == 1100


@pytest.mark.parametrize("name", SCENARIOS)
def test_gc_pacer_matches_go_log(name: str) -> None:
    """Every cycle's heapMarked, triggered, peak heapLive, goal and util% as Go logged them."""
    results, _ = _run(name)
    expected = _expected()[name]
    assert len(results) == len(expected)
    for r, want in zip(results, expected, strict=True):
        got = {
            "cycle": r.cycle,
            "util_pct": f"{r.gcUtilization * 100:.1f}",
            "heapMarked": r.heapLive,
            "triggered": r.heapTrigger,
            "heapLive": r.heapPeak,
            "goal": r.heapGoal,
        }
        assert got == {**want, "util_pct": f"{want['util_pct']:.1f}"}, f"{name} GC {r.cycle}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_gc_pacer_scenario_checks(name: str) -> None:
    """The scenario's own assertions from TestGcPacer (goal ratio, utilisation, ...)."""
    _, errs = _run(name)
    assert errs == []


def test_checker_detects_a_bad_cycle() -> None:
    """The ported checks are live: a cycle far off its goal is reported."""
    bad = CycleResult(
        cycle=30,
        heapLive=1,
        heapTrigger=2,
        heapGoal=100,
        heapPeak=200,
        heapScannable=0,
        gcUtilization=0.6,
    )
    good = CycleResult(29, 1, 2, 100, 100, 0, 0.25)
    errs: list[str] = []
    _steady([good] * 28 + [good, bad], errs)
    assert any("goal ratio" in m for m in errs)
    assert any("GC utilization" in m for m in errs)


# --- TestIdleMarkWorkerCount ----------------------------------------------------------


def test_idle_mark_worker_count() -> None:
    workers = 10
    c = GCControllerState(100, MAX_INT64)
    c.setMaxIdleMarkWorkers(workers)
    for _ in range(workers):
        assert c.needIdleMarkWorker()
        assert c.addIdleMarkWorker()
    assert not c.needIdleMarkWorker()
    assert not c.addIdleMarkWorker()
    for _ in range(workers):
        c.removeIdleMarkWorker()
        assert c.needIdleMarkWorker()
    for _ in range(workers - 1):
        assert c.addIdleMarkWorker()
    for _ in range(10):
        assert c.addIdleMarkWorker()
        assert not c.addIdleMarkWorker()
        c.removeIdleMarkWorker()
    # The maximum may drop below the running count.
    c.setMaxIdleMarkWorkers(0)
    assert not c.needIdleMarkWorker()
    assert not c.addIdleMarkWorker()
    for _ in range(workers - 1):
        c.removeIdleMarkWorker()
    assert not c.needIdleMarkWorker()
    assert not c.addIdleMarkWorker()
    c.setMaxIdleMarkWorkers(1)
    assert c.needIdleMarkWorker()
    assert c.addIdleMarkWorker()


def test_remove_idle_worker_below_zero_throws() -> None:
    c = GCControllerState()
    with pytest.raises(AssertionError):
        c.removeIdleMarkWorker()


# --- smaller pieces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("procs", "dedicated", "fractional", "maxIdle"),
    [
        (1, 0, 0.25, 1),
        (2, 0, 0.25, 2),
        (3, 0, 0.25, 3),
        (4, 1, 0.0, 3),
        (5, 1, 0.0, 4),  # 1/1.25 - 1 = -0.2: within 30 %
        (6, 1, 0.5 / 6, 5),  # 2/1.5 - 1 = 0.33: one fewer, plus a fractional worker
        (7, 2, 0.0, 5),
        (8, 2, 0.0, 6),
        (16, 4, 0.0, 12),
    ],
)
def test_start_cycle_workers(procs: int, dedicated: int, fractional: float, maxIdle: int) -> None:
    c = GCControllerState()
    c.startCycle(0, procs)
    assert c.dedicatedMarkWorkersNeeded == dedicated
    assert c.fractionalUtilizationGoal == pytest.approx(fractional, abs=1e-15)
    assert c.idleMarkWorkers >> 32 == maxIdle
    assert c.triggered == c.heapLive


def test_periodic_cycle_idle_workers() -> None:
    c = GCControllerState()
    c.startCycle(0, 8, gcTriggerKind.Time)
    assert c.idleMarkWorkers >> 32 == 0
    c.startCycle(0, 1, gcTriggerKind.Time)  # no dedicated worker: keep one idle worker
    assert c.idleMarkWorkers >> 32 == 1
    c.startCycle(0, 3, gcTriggerKind.Heap, gcstoptheworld=1)
    assert c.dedicatedMarkWorkersNeeded == 3
    assert c.fractionalUtilizationGoal == 0.0


def test_init_goal_and_trigger() -> None:
    c = GCControllerState(100, MAX_INT64)
    assert c.heapMinimum == 4 << 20
    assert c.heapGoal() == 4 << 20
    # No runway yet: trigger at the 61/64 bound (goal - 4 MiB = 0 is lower).
    assert c.trigger() == ((4 << 20) // 64 * 61, 4 << 20)
    c = GCControllerState(200, MAX_INT64)
    assert c.heapMinimum == 8 << 20
    assert c.heapGoal() == 8 << 20


def test_gogc_off() -> None:
    c = GCControllerState(-1, MAX_INT64)
    assert c.gcPercent == -1
    # uint64(-1) * 4 MiB wraps, as Go's does.
    assert c.heapMinimum == u64((4 << 20) * MAX_UINT64) // 100
    assert c.gcPercentHeapGoal == MAX_UINT64
    # With no limit either the goal is the (huge) memory-limit goal.
    limit_goal = MAX_INT64 - (MAX_INT64 // 100 * 3)
    assert c.heapGoal() == limit_goal


def test_commit_goal_formula() -> None:
    c = GCControllerState(100, MAX_INT64)
    c.heapMarked = 10 << 20
    c.heapLive = 10 << 20
    c.lastStackScan = 64 << 10
    c.globalsScan = 165002
    c.commit(False)
    assert c.gcPercentHeapGoal == (10 << 20) + ((10 << 20) + (64 << 10) + 165002)
    assert c.sweepDistMinTrigger == (10 << 20) + (1 << 20)
    # GOGC=50: integer division of the product.
    c.setGCPercent(50)
    c.commit(True)
    assert c.gcPercentHeapGoal == (10 << 20) + ((10 << 20) + (64 << 10) + 165002) * 50 // 100
    assert c.heapMinimum == 2 << 20


def test_runway_from_cons_mark() -> None:
    c = GCControllerState()
    c.consMark = 0.5
    c.lastHeapScan = 1000
    c.lastStackScan = 24
    c.globalsScan = 0
    c.commit(True)
    assert c.runway == int(0.5 * 0.75 / 0.25 * 1024.0)


def test_trigger_bounds() -> None:
    c = GCControllerState()
    c.heapMarked = 100 << 20
    c.heapLive = 100 << 20
    c.commit(True)
    goal = c.heapGoal()
    assert goal == (200 << 20) + ((100 << 20) * 0)  # globals/stacks zero
    # No runway: the upper bound max(61/64 of the way, goal - 4 MiB) applies.
    assert c.trigger() == (goal - (4 << 20), goal)
    # Huge runway: the lower bound 45/64.
    c.runway = 1 << 40
    assert c.trigger() == ((goal - c.heapMarked) // 64 * 45 + c.heapMarked, goal)
    # A runway in between is used as is.
    c.runway = 20 << 20
    assert c.trigger() == (goal - (20 << 20), goal)


def test_goal_min_runway_past_trigger() -> None:
    c = GCControllerState()
    c.heapLive = (4 << 20) - 1000
    c.startCycle(0, 4)
    assert c.triggered == (4 << 20) - 1000
    assert c.heapGoal() == c.triggered + (64 << 10)


def test_memory_limit_goal_with_non_heap_memory() -> None:
    c = GCControllerState(-1, 64 << 20)
    c.mappedReady = 40 << 20
    c.heapFree = 8 << 20
    c.totalAlloc = 50 << 20
    c.totalFree = 30 << 20  # heapAlloc 20 MiB, so 12 MiB non-heap
    goal = (64 << 20) - (12 << 20)
    headroom = max(goal // 100 * 3, 1 << 20)
    assert c.memoryLimitHeapGoal() == goal - headroom
    assert c.heapGoal() == goal - headroom
    # Over the limit: the overage comes off too.
    c.mappedReady = 70 << 20
    c.heapFree = 20 << 20
    c.totalAlloc = 50 << 20
    c.totalFree = 10 << 20  # heapAlloc 40 MiB, non-heap 10 MiB, overage 6 MiB
    goal = (64 << 20) - (10 << 20) - (6 << 20)
    assert c.memoryLimitHeapGoal() == goal - max(goal // 100 * 3, 1 << 20)
    # Non-heap alone exceeds the limit: heapMarked.
    c.heapMarked = 5 << 20
    c.heapFree = 0
    c.totalFree = 50 << 20  # non-heap 70 MiB
    assert c.memoryLimitHeapGoal() == 5 << 20
    # Small limits: the goal is the 1 MiB headroom.
    c = GCControllerState(100, 1 << 20)
    assert c.memoryLimitHeapGoal() == 1 << 20
    # Inconsistent stats raise instead of spinning.
    c.heapFree = 10
    with pytest.raises(RuntimeError):
        c.memoryLimitHeapGoal()


def test_memory_limit_regime_ignores_sweep_distance() -> None:
    c = GCControllerState(100, 6 << 20)
    c.heapMarked = 4 << 20
    c.heapLive = 7 << 20
    c.commit(False)
    assert c.gcPercentHeapGoal == 8 << 20
    assert c.sweepDistMinTrigger == 8 << 20
    goal, minTrigger = c.heapGoalInternal()
    assert goal == (6 << 20) - (1 << 20)
    assert minTrigger == 0
    # trigger: heapMarked is the lower bound, no sweep distance.
    assert c.trigger() == ((1 << 20) // 64 * 61 + (4 << 20), goal)


def test_revise_assist_ratio() -> None:
    c = GCControllerState()
    c.lastHeapScan = 1 << 20
    c.globalsScan = 0
    c.heapScan = 2 << 20
    c.heapLive = 3 << 20
    c.startCycle(0, 4)  # triggered at 3 MiB, goal 4 MiB
    assert c.heapGoal() == 4 << 20
    assert c.assistWorkPerByte == float(1 << 20) / float(1 << 20)
    # More work than expected: the goal is extrapolated to the worst case.
    c.heapScanWork = (1 << 20) + 1
    c.revise()
    ext = int(float(1 << 20) / float(1 << 20) * float(2 << 20)) + (3 << 20)
    assert ext == 5 << 20
    assert c.assistWorkPerByte == float((2 << 20) - ((1 << 20) + 1)) / float(ext - (3 << 20))
    # Nearly all the worst-case work done: the remaining work floors at 1000.
    c.heapScanWork = (2 << 20) - 10
    c.revise()
    assert c.assistWorkPerByte == 1000 / float(ext - (3 << 20))
    c.heapScanWork = (1 << 20) + 1
    # Past the extrapolated goal: 10 % overshoot, remaining work from the worst case.
    c.heapLive = ext + 1
    c.revise()
    overshoot = int(float(ext) * 1.1)
    remaining = (2 << 20) - ((1 << 20) + 1)
    assert c.assistWorkPerByte == float(remaining) / float(overshoot - (ext + 1))
    assert c.assistBytesPerWork == float(overshoot - (ext + 1)) / float(remaining)


def test_end_cycle_cons_mark_window() -> None:
    c = GCControllerState()
    values = []
    for k, live in enumerate([2000, 1500, 1200, 1100, 1050, 1010]):
        c.heapLive = 1000
        c.startCycle(0, 4)
        c.heapLive = live
        c.heapScanWork = 1000
        c.assistTime = 0
        c.endCycle(1000, 4)
        current = float(live - 1000) * 0.25 / (1000.0 * 0.75)
        values.append(current)
        assert c.lastConsMark[-1] == current
        assert c.consMark == max(values[max(0, k - 4) :])
        assert c.lastHeapGoal == 4 << 20
    # No allocation during the cycle: nothing changes.
    before = (c.consMark, list(c.lastConsMark))
    c.heapLive = 1000
    c.startCycle(0, 4)
    c.endCycle(1000, 4)
    assert (c.consMark, c.lastConsMark) == before


def test_reset_live_and_update() -> None:
    c = GCControllerState()
    c.update(1000, 800, gcBlackenEnabled=False)
    assert (c.heapLive, c.heapScan) == (1000, 800)
    c.startCycle(0, 4)
    c.update(500, 400, gcBlackenEnabled=True)  # heapScan is fixed during the cycle
    assert (c.heapLive, c.heapScan) == (1500, 800)
    c.heapScanWork, c.stackScanWork = 700, 300
    c.resetLive(1200)
    assert (c.heapMarked, c.heapLive, c.heapScan, c.lastHeapScan, c.lastStackScan) == (
        1200,
        1200,
        700,
        700,
        300,
    )
    assert c.triggered == MAX_UINT64


def test_add_globals() -> None:
    c = GCControllerState()
    c.addGlobals(165002)
    assert c.globalsScan == 165002


def test_controller_commit() -> None:
    c = GCControllerState()
    c.heapMarked = c.heapLive = 10 << 20
    trig, goal = c.controllerCommit(isSweepDone=False, marking=False)
    assert goal == 20 << 20
    assert (trig, goal) == c.trigger()
    assert c.setMemoryLimit(-1) == MAX_INT64  # read only
    assert c.setMemoryLimit(12 << 20) == MAX_INT64
    trig, goal = c.controllerCommit(isSweepDone=True, marking=False)
    assert goal == (12 << 20) - (1 << 20)


def test_go_conversions() -> None:
    assert float64ToInt64(-1.9) == -1
    assert float64ToInt64(math.inf) == -(1 << 63)
    assert float64ToInt64(math.nan) == -(1 << 63)
    assert float64ToUint64(2.0**63) == 1 << 63
    assert float64ToUint64(2.0**64) == 1 << 63
    assert float64ToUint64(1e19) == 10**19
    assert float64ToUint64(-1.0) == MAX_UINT64
    assert i64(MAX_UINT64) == -1 and u64(-1) == MAX_UINT64
    assert fdiv(1.0, 0.0) == math.inf and fdiv(-1.0, 0.0) == -math.inf
    assert math.isnan(fdiv(0.0, 0.0))


# --- scavenger goals (mgcscavenge.go gcPaceScavenger) -------------------------------------


def test_scavenge_goals_before_first_cycle() -> None:
    g = ScavengeGoals()
    gcPaceScavenger(
        g, MAX_INT64, 4 << 20, 0, mappedReady=8 << 20, lastHeapInUse=0, heapRetained=8 << 20
    )
    assert g.gcPercentGoal == MAX_UINT64
    assert g.memoryLimitGoal == MAX_UINT64
    assert g.shouldStop(heapRetained=1 << 40, mappedReady=1 << 40)


def test_scavenge_gc_percent_goal() -> None:
    g = ScavengeGoals()
    # Goal moved 8 -> 10 MiB; 6 MiB in use at the last mark termination.
    inuse = 6 << 20
    expect = int(float(inuse) * (float(10 << 20) / float(8 << 20)))
    expect += expect // 10
    expect = (expect + 4095) // 4096 * 4096
    gcPaceScavenger(
        g, MAX_INT64, 10 << 20, 8 << 20, mappedReady=0, lastHeapInUse=inuse, heapRetained=16 << 20
    )
    assert g.gcPercentGoal == expect == 8650752
    assert not g.shouldStop(heapRetained=16 << 20, mappedReady=0)
    assert g.shouldStop(heapRetained=expect, mappedReady=0)
    # Within one physical page of the goal counts as met.
    gcPaceScavenger(
        g,
        MAX_INT64,
        10 << 20,
        8 << 20,
        mappedReady=0,
        lastHeapInUse=inuse,
        heapRetained=expect + 4095,
    )
    assert g.gcPercentGoal == MAX_UINT64
    gcPaceScavenger(
        g,
        MAX_INT64,
        10 << 20,
        8 << 20,
        mappedReady=0,
        lastHeapInUse=inuse,
        heapRetained=expect + 4096,
    )
    assert g.gcPercentGoal == expect


def test_scavenge_memory_limit_goal() -> None:
    g = ScavengeGoals()
    limit = 100 << 20
    kw = {"lastHeapInUse": 0, "heapRetained": 0}
    gcPaceScavenger(g, limit, 0, 0, mappedReady=95 << 20, **kw)
    assert g.memoryLimitGoal == MAX_UINT64  # 95 MiB is exactly the 95 % goal
    gcPaceScavenger(g, limit, 0, 0, mappedReady=(95 << 20) + 1, **kw)
    assert g.memoryLimitGoal == int(float(limit) * 0.95) == 95 << 20
    assert not g.shouldStop(heapRetained=0, mappedReady=(95 << 20) + 1)
    assert g.shouldStop(heapRetained=0, mappedReady=95 << 20)


def test_scavenge_goals_from_the_pacer() -> None:
    """The wiring gcControllerCommit does: pacer goal -> scavenger goals."""
    c = GCControllerState(100, 64 << 20)
    c.heapMarked = c.heapLive = 10 << 20
    c.endCycle(0, 1)  # records lastHeapGoal (4 MiB: heapMarked not yet committed)
    assert c.lastHeapGoal == 4 << 20
    c.heapInUse, c.heapFree = 12 << 20, 20 << 20
    c.mappedReady = 62 << 20
    c.totalAlloc = 12 << 20
    _, goal = c.controllerCommit(isSweepDone=False, marking=False)
    g = ScavengeGoals()
    gcPaceScavenger(
        g,
        c.memoryLimit,
        goal,
        c.lastHeapGoal,
        mappedReady=c.mappedReady,
        lastHeapInUse=4 << 20,
        heapRetained=c.heapRetained(),
    )
    assert goal == 20 << 20
    assert g.memoryLimitGoal == int(float(64 << 20) * 0.95)
    # 4 MiB in use when the goal was 4 MiB; the goal is 20 MiB now: keep 22 MiB.
    assert g.gcPercentGoal == 22 << 20 == int(float(4 << 20) * 5.0) * 11 // 10
    assert not g.shouldStop(c.heapRetained(), c.mappedReady)  # 32 MiB retained
