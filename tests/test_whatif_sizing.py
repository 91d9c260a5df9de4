"""The what-if sized per setting: enough steady cycles for each figure, their spread, its limits.

``goheap analyze PROFILE --gogc ...`` without ``--budget`` sizes each
setting's stream by the goal arithmetic and stops once ``--cycles`` steady
cycles have run; these tests hold the arithmetic (Go's goal: the marked heap
x (1 + GOGC/100), at least heapminimum = 4 MiB x GOGC/100, or GOMEMLIMIT),
the stopping rule, the growth when cycles come late, the scaling that bounds
the cost, the progress, gctrace and executor plumbing, and the report.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

import goheap.pprof.whatif as whatif
from goheap.cli import cli
from goheap.pprof import command
from goheap.pprof.analyze import Analysis, analyze
from goheap.pprof.model import Frame, HeapProfile, HeapSample
from goheap.pprof.whatif import (
    GIB,
    WARMUP_CYCLES,
    Setting,
    build_workload,
    cycle_bytes,
    plan_setting,
    run_setting,
    run_whatif,
    steady_figures,
)

MIB = 1 << 20


def smp(fn: str, size: int, inuse: int, alloc: int) -> HeapSample:
    stack = (Frame(fn, "/src/main.go", 1), Frame("main.main", "/src/main.go", 9))
    return HeapSample(stack, alloc, alloc * size, inuse, inuse * size, size)


def service(period: int = 1) -> HeapProfile:
    """8 MiB live in 8 KiB objects; 40,000 requests of 1 and 2 KiB freed."""
    return HeapProfile(
        samples=[
            smp("main.cache", 8192, 1024, 1024),
            smp("main.req", 1024, 0, 20_000),
            smp("main.buf", 2048, 0, 20_000),
        ],
        period=period,
        source="service.pb.gz",
    )


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return analyze(service(), "go1.27")


def test_cycle_bytes_is_the_goal_arithmetic() -> None:
    assert cycle_bytes(100 * MIB, 100, None) == 100 * MIB  # goal 2 x live
    assert cycle_bytes(100 * MIB, 50, None) == 50 * MIB
    assert cycle_bytes(MIB, 100, None) == 3 * MIB  # heapminimum 4 MiB
    assert cycle_bytes(MIB, 200, None) == 7 * MIB  # heapminimum 8 MiB at GOGC=200
    assert cycle_bytes(100 * MIB, 100, 150 * MIB) == 50 * MIB  # the limit is lower
    assert cycle_bytes(100 * MIB, -1, 150 * MIB) == 50 * MIB
    assert cycle_bytes(100 * MIB, -1, 80 * MIB) == 2 * MIB  # below live: back to back
    assert cycle_bytes(100 * MIB, -1, None) is None  # no goal


def test_steady_figures_half_split() -> None:
    def w(b: int, peak: int) -> dict[str, int]:
        return {
            "bytes": b,
            "marked": peak // 2,
            "peak_HeapAlloc": peak - 1,
            "peak_HeapInuse": peak,
            "peak_HeapSys": peak + 1,
        }

    warm = [w(1, 10**9)] * WARMUP_CYCLES  # left out, however large
    fig = steady_figures([*warm, w(GIB, 10), w(GIB, 30), w(GIB // 2, 20), w(GIB // 2, 50)], None)
    assert fig is not None
    assert fig["cycles"] == 4
    assert fig["gcs_per_gib"] == pytest.approx(4 / 3)
    assert fig["gcs_per_gib_err"] == pytest.approx((2.0 - 1.0) / 2)  # halves: 1 and 2 per GiB
    assert (fig["peak_HeapInuse"], fig["peak_HeapInuse_err"]) == (50, (50 - 30) / 2)
    assert (fig["peak_HeapSys"], fig["peak_HeapAlloc"]) == (51, 49)
    assert fig["marked"] == (5 + 15 + 10 + 25) / 4  # the steady cycles' mean
    assert steady_figures([*warm, w(GIB, 1)], None) is None  # one window: no figure
    assert steady_figures([*warm, *[w(GIB, 1)] * 9], 5)["cycles"] == 5  # type: ignore[index]


def test_sized_settings_each_run_their_cycles(analysis: Analysis) -> None:
    w = run_whatif(analysis, [Setting(50), Setting(100), Setting(200)], cycles=3, jobs=1)
    assert w.workload.budget is None and w.workload.stream == ()
    for r in w.runs:
        assert r["cycles"] == r["cycles_wanted"] == 3
        assert len(r["cycle_bytes"]) == 3
        p = r["predicted"]
        assert p["gcs_per_gib"] == pytest.approx(3 * GIB / sum(r["cycle_bytes"]))
        assert p["gcs_per_gib_err"] is not None and p["peak_HeapInuse_err"] is not None
        # It stopped at the cycle it waited for, well inside its planned stream.
        plan = plan_setting(w.workload, Setting(r["gogc"]))
        assert r["stream_objects"] < sum(n for _, n in plan.stream)
        assert r["stream_gcs"] >= WARMUP_CYCLES + 3 + 1
    per_gib = [r["predicted"]["gcs_per_gib"] for r in w.runs]
    peaks = [r["predicted"]["peak_HeapInuse"] for r in w.runs]
    assert per_gib[0] > per_gib[1] > per_gib[2]
    assert peaks[0] < peaks[1] < peaks[2]
    # Each cycle allocates about what the goal arithmetic says (8 MiB live: 4, 8, 16 MiB).
    for r, want in zip(w.runs, (4 * MIB, 8 * MIB, 16 * MIB), strict=True):
        mean = sum(r["cycle_bytes"]) / len(r["cycle_bytes"])
        assert 0.9 * want < mean < 1.3 * want, (r["label"], mean)
    # An exact profile, no scaling, every cycle run: only the assumed rate limits it.
    assert [line[:27] for line in w.limits] == ["The profile has no duration"]


def test_a_stream_short_of_cycles_grows(analysis: Analysis, monkeypatch) -> None:
    monkeypatch.setattr(whatif, "PLAN_MARGIN", 0.3)  # plan for a third of the bytes needed
    work = build_workload(analysis, None, cycles=3)
    plan = plan_setting(work, Setting(100))
    r = run_setting(work, Setting(100))
    assert r["cycles"] == 3
    assert r["stream_objects"] > sum(n for _, n in plan.stream)  # a second block ran


def test_too_few_cycles_is_the_first_limit(analysis: Analysis, monkeypatch) -> None:
    monkeypatch.setattr(whatif, "PLAN_MARGIN", 0.05)
    monkeypatch.setattr(whatif, "GROW_BLOCKS", 1)
    w = run_whatif(analysis, [Setting(100)], cycles=3, jobs=1)
    assert w.runs[0]["cycles"] < 3
    assert w.limits[0].startswith("Fewer steady cycles than the 3 wanted (GOGC=100 ")


def test_costly_settings_scale_their_live_set(analysis: Analysis, monkeypatch) -> None:
    monkeypatch.setattr(whatif, "SETTING_ALLOCS", 12_000)
    monkeypatch.setattr(whatif, "MIN_SCALED_LIVE", 2 * MIB)
    work = build_workload(analysis, None, cycles=2)
    cheap, costly = plan_setting(work, Setting(25)), plan_setting(work, Setting(400))
    assert cheap.scale == 1.0
    assert costly.scale == pytest.approx(0.25, abs=0.01)  # 2 MiB of 8: the floor
    limited = plan_setting(work, Setting(400, 64 * MIB))
    assert limited.memlimit == int(64 * MIB * limited.scale)
    w = run_whatif(analysis, [Setting(400)], cycles=2, jobs=1)
    r = w.runs[0]
    assert r["live_scale"] == costly.scale and r["cycles"] == 2
    assert r["predicted"]["peak_HeapInuse"] == round(r["peak"]["HeapInuse"] / r["live_scale"])
    assert any(line.startswith("Live set scaled (GOGC=400 x0.25) ") for line in w.limits)


def test_no_goal_runs_no_cycles_and_says_so(analysis: Analysis) -> None:
    w = run_whatif(analysis, [Setting(-1)], jobs=1)
    r = w.runs[0]
    assert r["cycles_wanted"] == 0 and r["memstats"]["NumGC"] == 0
    assert w.limits[0].startswith("GOGC=off: no collection runs")


def test_a_limit_near_the_live_set_is_a_limit(analysis: Analysis) -> None:
    w = run_whatif(analysis, [Setting(100, 9 * MIB), Setting(100, 16 * MIB)], cycles=2)
    assert w.limits[0] == (
        "GOGC=100 GOMEMLIMIT=9MiB: the limit is within 25% of the profile's live set "
        "(8.0 MiB, estimated: see the live set line), so the answer hangs on that figure."
    )
    assert len(w.limits) == 2 and w.limits[1].startswith("The profile has no duration, so ")


def test_an_assumed_rate_is_a_limit_and_a_given_one_is_not(analysis: Analysis) -> None:
    assumed = run_whatif(analysis, [Setting(100)], cycles=2, jobs=1)
    assert assumed.limits == [
        "The profile has no duration, so 100.0 MiB/s of mutator CPU is assumed. A program "
        "that allocates faster allocates more while each cycle marks (garbage that floats to "
        "the next cycle), and both its live set (estimated from that) and its heap follow: "
        "give the program's rate with --alloc-rate, or a delta profile "
        "(/debug/pprof/heap?seconds=N) that carries it."
    ]
    given = run_whatif(analysis, [Setting(100)], cycles=2, jobs=1, alloc_rate=500 * MIB)
    assert given.limits == []


def test_sampling_error_is_a_limit() -> None:
    w = run_whatif(analyze(service(period=512 * 1024), "go1.27"), [Setting(100)], cycles=2)
    assert any(re.search(r"known to about ±\d+% \(1 s\.e\.\)", line) for line in w.limits)


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_counts_every_setting_cycles(analysis: Analysis, jobs: int) -> None:
    """Serial and from worker processes (through a queue): each cycle start, in order."""
    seen: list[tuple[int, int, int]] = []
    settings = [Setting(50), Setting(200)]
    run_whatif(analysis, settings, cycles=2, jobs=jobs, progress=lambda *m: seen.append(m))
    wanted = WARMUP_CYCLES + 2 + 1
    for i in (0, 1):
        mine = [m for m in seen if m[0] == i]
        assert [m[1] for m in mine] == list(range(1, wanted + 1)), mine
        assert {m[2] for m in mine} == {wanted}


def test_gctrace_keeps_every_cycle_line(analysis: Analysis) -> None:
    work = build_workload(analysis, None, cycles=2)
    r = run_setting(work, Setting(100), gctrace=True)
    lines = r["gctrace"]
    assert len(lines) == r["memstats"]["NumGC"]
    assert all(re.match(rf"gc {n} @\d+\.\d+s \d+%: ", ln) for n, ln in enumerate(lines, 1))
    assert "gctrace" not in run_setting(work, Setting(100))


@pytest.fixture
def cli_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "load_profile", lambda path, timeout=None: service())


def test_cli_gctrace_goes_to_stderr_only(cli_profile: None) -> None:
    args = ["analyze", "x", "--gogc", "50,100", "--cycles", "2", "-j", "1", "--gctrace"]
    r = CliRunner().invoke(cli, [*args, "--json", "-"])
    assert r.exit_code == 0, r.output
    assert "gctrace" not in json.loads(r.stdout)["whatif"]["runs"][0]
    heads = [ln for ln in r.stderr.splitlines() if ln.startswith("goheap: gctrace")]
    assert heads == ["goheap: gctrace GOGC=50:", "goheap: gctrace GOGC=100:"]
    assert sum(1 for ln in r.stderr.splitlines() if ln.startswith("gc ")) == sum(
        x["memstats"]["NumGC"] for x in json.loads(r.stdout)["whatif"]["runs"]
    )


def test_cli_limits_come_before_the_figures(cli_profile: None) -> None:
    args = ["analyze", "x", "--gogc", "100,off", "--cycles", "2", "-j", "1"]
    r = CliRunner().invoke(cli, args, terminal_width=160)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "sized for 2 steady GC cycles" in r.stderr
    limit, table = out.index("limit: GOGC=off: no collection"), out.index("what-if (synthetic")
    assert limit < table < out.index("notes on what the profile records")
    row = next(ln for ln in out.splitlines() if ln.startswith("GOGC=100 "))
    assert re.search(r"MiB ±[\d.]+% .* 2 +[\d.]+ ±[\d.]+$", row), row


def _bare(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in runs:
        r.pop("wall_s")
    return runs


def test_executors_give_the_serial_answer(analysis: Analysis) -> None:
    settings = [Setting(50), Setting(100)]
    serial = _bare(run_whatif(analysis, settings, cycles=2, executor="serial").runs)
    assert _bare(run_whatif(analysis, settings, cycles=2, jobs=2).runs) == serial


def test_dask_runs_the_whatif_on_a_local_cluster(analysis: Analysis, monkeypatch) -> None:
    distributed = pytest.importorskip("dask.distributed")
    settings = [Setting(50), Setting(100)]
    serial = _bare(run_whatif(analysis, settings, cycles=2, executor="serial").runs)
    with distributed.LocalCluster(n_workers=1, processes=True, dashboard_address=None) as c:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", c.scheduler_address)
        runs = run_whatif(analysis, settings, cycles=2, executor="dask").runs
    assert _bare(runs) == serial


def test_ray_runs_the_whatif_on_a_local_instance(analysis: Analysis, monkeypatch) -> None:
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    settings = [Setting(50), Setting(100)]
    serial = _bare(run_whatif(analysis, settings, cycles=2, executor="serial").runs)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        runs = run_whatif(analysis, settings, cycles=2, executor="ray").runs
    finally:
        ray.shutdown()
    assert _bare(runs) == serial
