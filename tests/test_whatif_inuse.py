"""The what-if's live set and rate from a profile's in-use objects (``goheap.pprof.liveset``).

Go's heap profile shows the heap as of the most recently completed cycle
(mprof.go: allocations recorded before a cycle's mark termination, less the
frees of that cycle's sweep), so a profile written without a GC first
counts one cycle's marked heap: the live objects and what was allocated
while that cycle marked. Real runs measured it (benchmarks/RESULTS.md: in-use
over the run's ``/gc/heap/live``, 0.93-1.06). ``--inuse marked`` (the
default) takes that floating garbage out: read from the profile's young
sites when it has some (and the allocation rate inferred from it when the
profile gives none), else simulated at the profiled GOGC; ``--inuse live``
keeps the in-use objects as they stand (a profile written after
``runtime.GC()``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from click.testing import CliRunner

from goheap.cli import cli
from goheap.errors import GoheapError
from goheap.pprof import liveset
from goheap.pprof.analyze import Analysis, analyze
from goheap.pprof.liveset import (
    BUDGET_CYCLES,
    INUSE_LIVE,
    INUSE_MARKED,
    MIN_YOUNG_SHARE,
    RATE_RUNS,
    estimate_live,
    floating_from_sites,
    infer_rate,
    read_live_set,
    take_out_bytes,
)
from goheap.pprof.model import Frame, HeapProfile, HeapSample
from goheap.pprof.whatif import (
    RATE_INFERRED,
    Setting,
    build_workload,
    run_setting,
    run_whatif,
)
from goheap.pprof.writer import write_heap_profile

MIB = 1 << 20
RATE = 2 * 1024 * MIB  # fast enough that a cycle's marking sees real allocation
CYCLES = 3  # steady cycles where the defaults' 12 are not the point


@pytest.fixture(autouse=True)
def _short_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate fit's runs, as short as the rest here (the arithmetic is the same)."""
    monkeypatch.setattr(liveset, "RATE_CYCLES", CYCLES)


def smp(fn: str, size: int, inuse: int, alloc: int) -> HeapSample:
    stack = (Frame(fn, "/src/main.go", 1), Frame("main.main", "/src/main.go", 9))
    return HeapSample(stack, alloc, alloc * size, inuse, inuse * size, size)


def marked_profile() -> HeapProfile:
    """16 MiB of cache entries and request buffers, a tenth of them in use: none young."""
    return HeapProfile(
        samples=[
            smp("main.cache", 8192, 2048, 2048),
            smp("main.req", 1024, 6000, 60_000),
            smp("main.buf", 2048, 6000, 60_000),
        ],
        period=1,
        source="marked.pb.gz",
    )


def service_profile(req_inuse: int = 300, buf_inuse: int = 600) -> HeapProfile:
    """The same cache, with request buffers that die within a cycle: young sites."""
    return HeapProfile(
        samples=[
            smp("main.cache", 8192, 2048, 2048),
            smp("main.req", 1024, req_inuse, 60_000),
            smp("main.buf", 2048, buf_inuse, 60_000),
        ],
        period=1,
        source="service.pb.gz",
    )


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return analyze(marked_profile(), "go1.27")


@pytest.fixture(scope="module")
def service() -> Analysis:
    return analyze(service_profile(), "go1.27")


def test_young_sites_give_the_bytes_allocated_while_the_cycle_marked(service: Analysis) -> None:
    allocated = 2048 * 8192 + 60_000 * 1024 + 60_000 * 2048
    young = floating_from_sites(service)
    assert young is not None and young.sites == 2
    # Their in-use bytes over their share of all bytes allocated.
    assert young.share == pytest.approx(60_000 * 3072 / allocated)
    assert young.floating == pytest.approx((300 * 1024 + 600 * 2048) / young.share)
    # The cache is no young site: its share of the in-use bytes is 92%, of the allocated 8%.
    assert floating_from_sites(analyze(marked_profile(), "go1.27")) is None
    # Nothing of theirs in use (a profile written after runtime.GC()): they say nothing.
    assert floating_from_sites(analyze(service_profile(0, 0), "go1.27")) is None


def test_young_sites_must_allocate_a_share_worth_reading() -> None:
    small = HeapProfile(
        samples=[
            smp("main.cache", 8192, 2048, 2048),
            smp("main.req", 64, 10, 2_000),  # 0.8% of the bytes allocated
        ],
        period=1,
        source="small.pb.gz",
    )
    assert MIN_YOUNG_SHARE > 64 * 2000 / (64 * 2000 + 8192 * 2048)
    assert floating_from_sites(analyze(small, "go1.27")) is None


def test_the_rate_is_fitted_through_the_origin(service: Analysis) -> None:
    work = build_workload(service, None, alloc_rate=100 * MIB, cycles=CYCLES)
    young = floating_from_sites(service)
    assert young is not None
    rate, points = infer_rate(work, Setting(100), young.floating)
    assert len(points) == RATE_RUNS and points[0][0] == 100 * MIB
    for k in range(1, RATE_RUNS + 1):  # each next rate: where the fit so far meets the target
        seen = points[:k]
        slope = sum(r * f for r, f in seen) / sum(r * r for r, _ in seen)
        want = points[k][0] if k < RATE_RUNS else rate
        assert want == pytest.approx(young.floating / slope)
    # Each point is what a run of RATE_CYCLES (here CYCLES) steady cycles at that rate floats.
    r0 = run_setting(dataclasses.replace(work, cycles=CYCLES), Setting(100))
    assert points[0][1] == pytest.approx(
        r0["predicted"]["marked"] - r0["live_bytes"] / r0["live_scale"]
    )


def test_read_live_set_takes_the_young_sites_when_there_are_some(
    service: Analysis, analysis: Analysis
) -> None:
    work = build_workload(service, None, alloc_rate=100 * MIB, cycles=CYCLES)
    young = floating_from_sites(service)
    assert young is not None
    kept, e = read_live_set(service, work, INUSE_MARKED, Setting(100), infer=False)
    assert (e.source, e.young_sites, e.rate_fit) == ("sites", 2, ())
    assert e.measured == round(young.floating) and kept.alloc_rate == 100 * MIB
    # Taken from the stream's sizes, as far as the profile holds them; the cache stays.
    assert 0 < e.floating <= e.measured
    assert dict(kept.live)[8192] == dict(work.live)[8192]
    inferred, e2 = read_live_set(service, work, INUSE_MARKED, Setting(100), infer=True)
    assert len(e2.rate_fit) == RATE_RUNS and inferred.alloc_rate != 100 * MIB
    other = build_workload(analysis, None, alloc_rate=100 * MIB, cycles=CYCLES)
    _, e3 = read_live_set(analysis, other, INUSE_MARKED, Setting(100), infer=True)
    assert e3.source == "simulated" and e3.rate_fit == ()
    _, e4 = read_live_set(analysis, other, INUSE_LIVE, Setting(100), infer=True)
    assert (e4.source, e4.floating, e4.profiled) == ("as is", 0, None)


def test_an_assumed_rate_is_inferred_and_a_given_one_is_kept(service: Analysis) -> None:
    w = run_whatif(service, [Setting(100)], cycles=2, jobs=1)
    e = w.live_estimate
    assert e is not None and e.source == "sites" and len(e.rate_fit) == RATE_RUNS
    assert w.workload.alloc_rate is not None and w.workload.alloc_rate > 0
    assert any(RATE_INFERRED in n for n in w.notes)
    assert not any(line.startswith("The profile has no duration") for line in w.limits)
    given = run_whatif(service, [Setting(100)], cycles=2, jobs=1, alloc_rate=300 * MIB)
    assert given.live_estimate is not None and given.live_estimate.rate_fit == ()
    assert given.workload.alloc_rate == 300 * MIB


def test_take_out_bytes_follows_the_mix_and_never_goes_below_zero() -> None:
    live = ((1024, 10), (2048, 10), (8192, 5))
    mix = ((1024, 1), (2048, 1))
    # 12,352 bytes in a 1:1 mix of 1 and 2 KiB, each with its 8-byte index slot: four of each.
    assert take_out_bytes(live, mix, 4 * (3072 + 16)) == ((1024, 6), (2048, 6), (8192, 5))
    # More than the live set holds of those sizes: they go, the 8 KiB objects stay.
    assert take_out_bytes(live, mix, 10**9) == ((8192, 5),)
    assert take_out_bytes(live, mix, 0) == live
    assert take_out_bytes(live, (), 4096) == live


def test_the_floating_garbage_measured_is_what_is_taken_out(analysis: Analysis) -> None:
    work = build_workload(analysis, None, alloc_rate=RATE, cycles=CYCLES)
    kept, e = estimate_live(work, Setting(100))
    assert e.inuse == INUSE_MARKED and e.profiled == Setting(100)
    assert e.inuse_bytes == 2048 * 8192 + 6000 * 1024 + 6000 * 2048
    # What the same run marks beyond its live set, per steady cycle (the run is deterministic).
    row = run_setting(work, Setting(100))
    marked = row["predicted"]["marked"]
    assert marked is not None and row["cycles"] == e.cycles > 0
    assert e.measured == round(marked - row["live_bytes"] / row["live_scale"]) > 0
    # Taken out of the stream's sizes only, within a rounding of one object per size.
    assert abs(e.floating - e.measured) <= 2048 + 1024
    # The live set keeps the profile's bytes, less what was taken (the index within a slot).
    assert abs(e.live_bytes - (e.inuse_bytes - e.floating)) <= 8192 + 8
    assert e.live_bytes == kept.live_bytes == kept.index_bytes + sum(s * n for s, n in kept.live)
    assert dict(kept.live)[8192] == dict(work.live)[8192]
    assert dict(kept.live)[1024] < dict(work.live)[1024]
    assert dict(kept.live)[2048] < dict(work.live)[2048]


def test_inuse_live_keeps_the_profile_as_it_stands(analysis: Analysis) -> None:
    as_is = run_whatif(
        analysis, [Setting(100)], alloc_rate=RATE, inuse=INUSE_LIVE, jobs=1, cycles=CYCLES
    )
    marked = run_whatif(analysis, [Setting(100)], alloc_rate=RATE, jobs=1, cycles=CYCLES)
    inuse = 2048 * 8192 + 6000 * 1024 + 6000 * 2048
    # The profile's bytes, the index's among them (within one object's rounding).
    assert as_is.workload.inuse_bytes == inuse
    assert abs(as_is.workload.live_bytes - inuse) <= 8192 + 8
    assert as_is.live_estimate is not None and as_is.live_estimate.floating == 0
    e = marked.live_estimate
    assert e is not None and e.inuse == INUSE_MARKED and 0 < e.floating < inuse
    assert marked.workload.live_bytes == e.live_bytes
    # The smaller live set marks less in the steady cycles (the goal at the end is one
    # cycle's, which the floating garbage of where its mark fell can tip either way).
    assert marked.runs[0]["predicted"]["marked"] < as_is.runs[0]["predicted"]["marked"]
    assert any("marked heap" in n for n in marked.notes)
    assert any("as they stand" in n for n in as_is.notes)


def test_the_profiled_gogc_is_where_the_floating_garbage_is_measured(
    analysis: Analysis,
) -> None:
    work = build_workload(analysis, None, alloc_rate=RATE, cycles=CYCLES)
    _, at100 = estimate_live(work, Setting(100))
    # GOGC=200, not 400: a cycle allocates about GOGC/100 live sets, and a run at 400
    # took four to five times one at 100; 200 floats a figure of its own as well.
    _, at200 = estimate_live(work, Setting(200))
    assert (at100.profiled, at200.profiled) == (Setting(100), Setting(200))
    # Each is what the workload's own run at that GOGC marked beyond its live set.
    r = run_setting(work, Setting(200))
    assert at200.measured == round(r["predicted"]["marked"] - r["live_bytes"] / r["live_scale"])
    assert at200.measured != at100.measured


def test_a_bad_inuse_is_one_clear_error(analysis: Analysis) -> None:
    with pytest.raises(GoheapError, match="--inuse 'both'"):
        run_whatif(analysis, [Setting(100)], inuse="both")


def _analyze(tmp_path: Any, *args: str) -> Any:
    path = tmp_path / "marked.pb.gz"
    if not path.exists():
        write_heap_profile(marked_profile(), path)
    return CliRunner().invoke(cli, ["analyze", str(path), *args])


def test_the_command_takes_inuse_and_profile_gogc(tmp_path: Any) -> None:
    out = tmp_path / "a.json"
    res = _analyze(
        tmp_path, "--gogc", "100", "--inuse", "live", "--cycles", "3", "--json", str(out), "-j", "1"
    )
    assert res.exit_code == 0, res.output
    e = json.loads(out.read_text())["whatif"]["live_estimate"]
    assert e["inuse"] == "live" and e["floating"] == 0 and e["profiled"] is None
    assert "live set: 33.6 MiB: the profile's in-use objects as they stand" in res.output
    res = _analyze(
        tmp_path,
        *("--gogc", "100", "--profile-gogc", "200", "--cycles", "3"),
        *("--json", str(out), "-f", "-j", "1"),
    )
    assert res.exit_code == 0, res.output
    e = json.loads(out.read_text())["whatif"]["live_estimate"]
    assert e["inuse"] == "marked" and e["profiled"] == "GOGC=200"
    assert "33.6 MiB in use (a marked heap) less" in " ".join(res.output.split())


def test_the_estimate_runs_its_cycles_not_the_budget(analysis: Analysis) -> None:
    """Under --budget the estimate runs a few steady cycles, not the budget's allocations."""
    work = build_workload(analysis, budget=50_000_000, alloc_rate=RATE)
    _, e = estimate_live(work, Setting(100))
    assert e.source == "simulated" and e.cycles == BUDGET_CYCLES


def test_no_rate_is_inferred_where_nothing_floats(service: Analysis) -> None:
    """Profiled under GOGC=off no cycle runs: the rate stays the workload's, and says so."""
    work = build_workload(service, None, alloc_rate=100 * MIB, cycles=CYCLES)
    young = floating_from_sites(service)
    assert young is not None
    rate, points = infer_rate(work, Setting(-1), young.floating)
    assert (rate, points) == (100 * MIB, ())
    w = run_whatif(service, [Setting(100)], cycles=2, jobs=1, profiled=Setting(-1))
    assert w.live_estimate is not None and w.live_estimate.rate_fit == ()
    assert any(line.startswith("The profile has no duration") for line in w.limits)
