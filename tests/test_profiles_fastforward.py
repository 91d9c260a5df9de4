"""Idle time in closed form (goheap.profiles.fastforward) against the stepped path.

The fast-forward must leave every number where stepping every forced GC
would: MemStats, every cycle and its gctrace line, the census of the heap,
the clock and every scalar the runtime holds. Each case runs the same
program twice, once with the fast-forward off.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goheap import Heap, Type
from goheap.heapcensus import breakdown, class_table, live_objects, span_map
from goheap.profiles.fastforward import TRACE_EVERY_LINE, play_timer, snapshot
from goheap.runner import cycle_dict

HOUR = 3600 * 10**9
FORCEGCPERIOD = 2 * 60 * 10**9  # runtime/proc.go
NODE = Type("Node", size=16, pointers=[0, 8])


def _program(h: Heap, nobj: int, keep: int, size: int) -> None:
    """Allocate nobj objects, keep a linked chain of the first keep, collect once."""
    prev = 0
    for i in range(nobj):
        x = h.new(NODE) if i < keep else h.malloc(size)
        if i < keep:
            h.write_pointer(x, 0, prev)
            prev = x
            h.set_global("head", x)
    h.gc()


def _result(h: Heap, lines: list[str]) -> dict[str, Any]:
    """Everything a run shows, and every scalar the runtime holds."""
    live = live_objects(h)
    ff = h.runtime.fastforward
    state = snapshot(h.runtime, {id(ff)}, ff.excluded).values
    return {
        "memstats": h.read_memstats().to_dict(),
        "gc": [cycle_dict(c) for c in h.cycles],
        "peak": h.runtime.peaks(),
        "classes": class_table(h, live),
        "breakdown": breakdown(h, live),
        "spans": span_map(h),
        "clock": h.clock.now,
        "gctrace": list(lines),
        "state": state,
    }


def _run(profile: str, fast: bool, plan: dict[str, Any]) -> tuple[dict[str, Any], int]:
    lines: list[str] = []
    with Heap(profile=profile, procs=plan["procs"], gctrace=lines.append) as h:
        h.runtime.fastforward.enabled = fast
        _program(h, plan["nobj"], plan["keep"], plan["size"])
        h.advance(plan["idle"])
        after_idle = _result(h, lines)
        # Then the program wakes up: what the idle time left must behave the same.
        for _ in range(plan["more"]):
            h.malloc(plan["size"])
        h.advance(plan["tail"])
        h.check()
        return {"idle": after_idle, "after": _result(h, lines)}, h.runtime.fastforward.jumps


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    for phase in ("idle", "after"):
        for key in a[phase]:
            if key == "state":
                sa, sb = a[phase][key], b[phase][key]
                diff = sorted(k for k in sa.keys() | sb.keys() if sa.get(k) != sb.get(k))
                assert not diff, f"{phase}: runtime state differs at {diff[:5]}"
            else:
                assert a[phase][key] == b[phase][key], f"{phase}: {key} differs"


plans = st.fixed_dictionaries(
    {
        "procs": st.sampled_from([1, 2]),
        "nobj": st.integers(0, 400),
        "keep": st.integers(0, 50),
        "size": st.sampled_from([8, 64, 1000, 40000]),
        "idle": st.sampled_from([3, 5, 9, 13, 26]).map(lambda h: h * HOUR)
        | st.integers(2 * HOUR, 30 * HOUR),
        "more": st.integers(0, 200),
        "tail": st.integers(0, 3 * HOUR),
    }
)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(plan=plans)
def test_fastforward_equals_stepping(profile: str, plan: dict[str, Any]) -> None:
    stepped, _ = _run(profile, False, plan)
    fast, _ = _run(profile, True, plan)
    _assert_same(stepped, fast)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_a_day_idle_is_fastforwarded(profile: str) -> None:
    plan = {"procs": 1, "nobj": 300, "keep": 20, "size": 64, "idle": 30 * HOUR, "more": 50}
    plan["tail"] = HOUR
    stepped, jumps_stepped = _run(profile, False, plan)
    fast, jumps = _run(profile, True, plan)
    assert jumps_stepped == 0 and jumps >= 1
    _assert_same(stepped, fast)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_centuries_keep_go_counters(profile: str) -> None:
    """146 years idle: every cycle counted, sysmon's 2-minute rule between each two."""
    lines: list[str] = []
    with Heap(profile=profile, gctrace=lines.append) as h:
        _program(h, 100, 10, 64)
        h.advance(146 * 365 * 24 * HOUR)
        h.check()
        ms = h.read_memstats()
        cycles = h.cycles
        assert h.runtime.fastforward.jumps >= 1
        assert len(cycles) == ms.NumGC > 38_000_000
        assert cycles[-1].n == ms.NumGC
        assert ms.PauseNs[(ms.NumGC - 1) % 256] == cycles[-1].pause_ns
        assert ms.PauseEnd[(ms.NumGC - 1) % 256] == cycles[-1].tEnd
        assert ms.PauseEnd[(ms.NumGC - 256) % 256] == cycles[-256].tEnd
        assert ms.LastGC == cycles[-1].tEnd
        assert ms.PauseTotalNs == _pause_sum(cycles)
        # sysmon forces a GC once forcegcperiod has passed since the last one ended.
        for i in (10, 1000, 5_000_000, len(cycles) - 2):
            assert cycles[i + 1].tSweepTerm - cycles[i].tEnd == FORCEGCPERIOD + 1
            assert cycles[i + 1].n == cycles[i].n + 1
        # gctrace: a long run prints its first line, one summary, its last.
        assert len(lines) < 10_000
        assert any("fast-forwarded" in line for line in lines)
        assert lines[-1] == cycles[-1].gctrace


def _pause_sum(cycles: Any) -> int:
    """The sum of every cycle's pause, a fast-forwarded run counted by its repetitions."""
    total = 0
    for part in cycles._parts:
        if hasattr(part, "templates"):
            per = len(part.templates)
            reps, rest = divmod(part.count, per)
            total += reps * sum(t.pause_ns for t in part.templates)
            total += sum(t.pause_ns for t in part.templates[:rest])
        else:
            total += part.pause_ns
    return total


def test_gctrace_prints_each_cycle_of_a_short_run() -> None:
    plan = {"procs": 1, "nobj": 10, "keep": 2, "size": 64, "idle": 30 * HOUR, "more": 0}
    plan["tail"] = 0
    fast, jumps = _run("go1.8", True, plan)
    assert jumps >= 1
    assert len(fast["idle"]["gc"]) <= TRACE_EVERY_LINE  # 30 h: a short run
    assert fast["idle"]["gctrace"] == [c["gctrace"] for c in fast["idle"]["gc"]]


def _timer_by_events(
    last: int, every: int, x0: int, x_end: int, span: int, grid: list[tuple[int, int]]
) -> int:
    """Go 1.8's idle loop, event by event: sysmon wakes at each deadline after now."""
    now = x0
    gcs = [
        (x0 + r * span + s, x0 + r * span + q) for r in range(x_end // span + 2) for s, q in grid
    ]
    gcs = [(s, q) for s, q in gcs if s <= x_end]
    i = 0
    while True:
        nxt_gc = gcs[i][0] if i < len(gcs) else None
        due = last + every
        cands = [t for t in (due, nxt_gc) if t is not None and t > now]
        if not cands:
            return last
        t = min(cands)
        if t > x_end:
            return last
        # sysmon at t: the GC first (if due), then the timer (if overdue).
        if t - last >= every:
            last = t
        if nxt_gc == t:
            now = gcs[i][1]  # the GC runs to its quiet point; sysmon sleeps meanwhile
            i += 1
        else:
            now = t


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    every=st.integers(2, 60),
    span=st.integers(4, 50),
    data=st.data(),
)
def test_play_timer_matches_the_idle_loop(every: int, span: int, data: st.DataObject) -> None:
    p = data.draw(st.sampled_from([1, 2]))
    cuts = sorted(
        data.draw(
            st.lists(st.integers(1, span - 1), min_size=2 * p - 1, max_size=2 * p - 1, unique=True)
        )
    )
    bounds = [*cuts, span]
    grid = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(p)]
    x0 = 1000
    last = x0 - data.draw(st.integers(0, every + span))
    x_end = x0 + data.draw(st.integers(0, 40 * span))
    expected = _timer_by_events(last, every, x0, x_end, span, grid)
    assert play_timer(last, every, x0, x_end, span, grid) == expected
