"""Idle time in closed form (goheap.profiles.fastforward) against the stepped path.

The fast-forward must leave every number where stepping every forced GC
would: MemStats, every cycle and its gctrace line, the census of the heap,
the clock and every scalar the runtime holds. Each case runs the same
program twice, once with the fast-forward off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goheap import Heap, Type
from goheap.cli import cli
from goheap.document import document, run_body
from goheap.heapcensus import breakdown, class_table, live_objects, span_map
from goheap.profiles.fastforward import TRACE_EVERY_LINE, play_timer, snapshot
from goheap.runner import RunOptions, Session, cycle_dict
from tests.jsonschema_check import schema_errors

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
        h.runtime.fastforward.min_periods = 64  # jump through short idle periods too
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


def _timeline_run(profile: str, fast: bool, idle: int) -> dict[str, Any]:
    """A CLI-style session (timeline attached): a little program, idle, a little more."""
    session = Session(RunOptions(profile=profile))
    h = session.heap
    h.runtime.fastforward.enabled = fast
    _program(h, 200, 20, 64)
    h.advance(idle)
    for _ in range(30):
        h.malloc(64)
    h.advance(HOUR)
    return session.results("idle", {})


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_a_timeline_run_is_fastforwarded_and_lists_what_it_left_out(profile: str) -> None:
    """The CLI's runs (a timeline on every cycle) jump too; JSON lists the jump as gctrace does."""
    idle = 10 * 24 * HOUR  # 7,200 forced GCs
    stepped = _timeline_run(profile, False, idle)
    fast = _timeline_run(profile, True, idle)
    assert fast["memstats"] == stepped["memstats"]
    assert fast["peak"] == stepped["peak"] and fast["spans"] == stepped["spans"]
    by_number = {c["number"]: c for c in stepped["gc"]}
    assert len(by_number) == stepped["memstats"]["NumGC"] > 7000
    assert "gc_fastforwarded" not in stepped
    (skip,) = fast["gc_fastforwarded"]
    listed = {c["number"] for c in fast["gc"]}
    assert listed | set(range(skip["first"], skip["last"] + 1)) == set(by_number)
    for c in fast["gc"]:
        assert c == by_number[c["number"]]
    # Each left-out cycle is the cycle it repeats, later by whole periods (docs/json.md).
    like, p = skip["like"], len(skip["like"])
    for n in (skip["first"], skip["first"] + 1, (skip["first"] + skip["last"]) // 2, skip["last"]):
        real, model = by_number[n], by_number[like[(n - like[0]) % p]]
        later = (n - like[0]) // p * skip["period_ns"]
        assert real["start_ns"] == model["start_ns"] + later
        assert real["end_ns"] == model["end_ns"] + later
        for key in ("heap_start", "heap_mark_end", "marked", "heap_goal", "pause_ns"):
            assert real[key] == model[key]
    # The timeline kept its samples after the jump, and ends where the run ends.
    assert fast["timeline"][-1]["NumGC"] == stepped["timeline"][-1]["NumGC"]
    assert not schema_errors(document("run", run_body(fast)))


def test_a_century_idle_in_a_replayed_trace_finishes(tmp_path: Path) -> None:
    """replay with a timeline: one adv event of 126 years is its events, not its length."""
    trace = tmp_path / "idle.ndjson"
    header = {"goheap_trace": 2, "profile": "go1.27", "procs": 1, "gogc": 100}
    events = [
        header,
        {"ev": "type", "tid": 0, "name": "T", "size": 64, "ptrs": [0]},
        {"ev": "alloc", "id": 0, "size": 64, "type": 0},
        {"ev": "gc"},
        {"ev": "adv", "ns": 4 * 10**18},
        {"ev": "end", "events": 4},
    ]
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    out = tmp_path / "out.json"
    res = CliRunner().invoke(cli, ["replay", str(trace), "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["memstats"]["NumGC"] > 33_000_000
    assert len(doc["gc"]) < 200 and doc["gc_fastforwarded"]
    assert not schema_errors(doc)
