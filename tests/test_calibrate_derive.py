"""goheap.calibrate.derive: probe output -> CostModel fields, on a recorded real run.

The fixture (tests/data/calibrate/README.md) is one ``goheap calibrate --quick
--go18`` run on the development machine against live Go 1.8 and Go 1.27.3. The
expected figures are worked out here by hand from its rows (the numbers below
are the probes' own output), not read back from the derivation.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from goheap.calibrate.derive import (
    RULES,
    coldness,
    derive,
    fit_line,
    fit_llc,
    solve_cold,
    span_figures,
)
from goheap.costs import cost_fields, field_names, load_calibration
from goheap.document import dumps
from goheap.runtime.common.clock import CostModel
from tests.jsonschema_check import schema_errors

FIXTURE = Path(__file__).parent / "data" / "calibrate" / "quick-go18-go127.json"
LLC = 32 << 20  # the fixture machine's L3, as sysfs reported it


def three(x: float) -> float:
    """Three significant digits, as the derivation keeps."""
    return float(f"{x:.3g}")


@pytest.fixture
def raw() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())["probes"]


def measured(raw: dict[str, Any]) -> dict[str, Any]:
    _, rows = derive(raw)
    return {r.field: r.measured for r in rows}


def test_every_rule_names_a_costmodel_field() -> None:
    assert {r.field for r in RULES} <= set(field_names())


def test_fit_line_is_exact_on_a_line() -> None:
    base, slope = fit_line(
        [(64, 25 + 0.12 * 64), (1024, 25 + 0.12 * 1024), (32768, 25 + 0.12 * 32768)]
    )
    assert base == pytest.approx(25.0) and slope == pytest.approx(0.12)


def test_fit_line_weighs_each_point_by_its_relative_error() -> None:
    pts = [(64.0, 40.0), (1024.0, 150.0), (32768.0, 3000.0)]
    # numpy's weights multiply the residuals: 1/y is least relative squares.
    slope, base = np.polyfit([x for x, _ in pts], [y for _, y in pts], 1, w=[1 / y for _, y in pts])
    got = fit_line(pts)
    assert got == (pytest.approx(base), pytest.approx(slope))


def test_solve_cold_inverts_the_clocks_interpolation() -> None:
    # What the clock charges per byte at a 256 MiB heap, with hot 0.1 and cold 0.3:
    # the solution gives back 0.3.
    cost = CostModel(small_ns_per_byte_hot=0.1, small_ns_per_byte_cold=0.3)
    heap = 256 << 20
    per_byte = (cost.clear_ns(4096, False, heap) - cost.clear_ns(1024, False, heap)) / 3072
    assert solve_cold(0.1, per_byte, cost.coldness(heap)) == pytest.approx(0.3)
    assert solve_cold(0.1, 0.2, 0.1) is None  # barely out of cache: not solved


def test_recorded_run_machine_figures(raw: dict[str, Any]) -> None:
    got = measured(raw)
    assert got["llc_bytes"] == LLC
    # touch: system CPU per page, go1.8 1811.7 ns, go1.27 1649.6 ns
    assert got["page_fault_ns"] == three((1811.7 + 1649.6) / 2)
    # window: Go 1.8's mark CPU per background cycle (gctrace median 0.027 ms)
    assert got["roots_ns_go18"] == 27000
    # window: STW clock parts' medians, go1.8 0 ms, go1.27 0.002 ms
    assert got["stw_ns"] == three((0 + 2000) / 2)


#: The allocation path's fields the alloc probe's CPU profiles give.
PROFILED = (
    "small_base_ns_go18", "small_base_ns_go127", "small_ns_per_byte_hot",
    "small_ns_per_byte_cold", "refill_ns_hot", "large_base_ns_go18", "large_base_ns_go127",
    "large_ns_per_byte_hot", "large_ns_per_byte_cold",
)  # fmt: skip


def test_recorded_run_allocation_figures(raw: dict[str, Any]) -> None:
    model, rows = derive(raw)
    by = {r.field: r for r in rows}
    # 8-byte objects, 4 MiB live: go1.8 14.3 ns, go1.27 15.99 ns
    assert by["tiny_ns"].measured == three((14.3 + 15.99) / 2)
    # The record predates the probe's CPU profiles: nothing splits its time.
    for name in PROFILED:
        assert by[name].measured is None and "CPU profiles" in by[name].how
        assert getattr(model, name) == getattr(CostModel(), name)


PROFILED_FIXTURE = FIXTURE.parent / "full-profiled-go18-go127.json"


@pytest.fixture
def profiled() -> dict[str, Any]:
    return json.loads(PROFILED_FIXTURE.read_text())["probes"]


def _part(row: dict[str, Any], category: str) -> float:
    """ns per allocation a profile category's share of the loop's CPU gives."""
    prof = row["profile"]
    return prof.get(category, 0) / sum(prof.values()) * row["cpu_ns_per_alloc"]


def test_profiled_run_one_point_by_hand(profiled: dict[str, Any]) -> None:
    # Go 1.27.3, 4 MiB live, 1024-byte objects: 178.93 ns a loop step, its samples
    # clear 60, gc 39, refill 36, rest 87, sweep 12 (234): clearing 60/234 of it,
    # per byte; the refill 36/234 of it a step, 8 objects to a 8 KiB span.
    (row,) = [r for r in profiled["runtimes"]["go1.27"]["alloc"]
              if r["live"] == 4 << 20 and r["size"] == 1024]  # fmt: skip
    assert row["profile"] == {"clear": 60, "gc": 39, "refill": 36, "rest": 87, "sweep": 12}
    assert _part(row, "clear") / 1024 == pytest.approx(60 / 234 * 178.93 / 1024)
    assert _part(row, "refill") * 8 == pytest.approx(36 / 234 * 178.93 * 8)


def test_profiled_run_allocation_figures(profiled: dict[str, Any]) -> None:
    got = measured(profiled)
    hot, cold = 4 << 20, 256 << 20
    small = {"go1.8": (64, 256, 1024, 4096, 16384, 32768), "go1.27": (64, 256, 1024, 4096, 16384)}
    large = {
        "go1.8": (40960, 65536, 262144, 1048576),
        "go1.27": (32768, 40960, 65536, 262144, 1048576),
    }  # 32 KiB: Go 1.27's large path
    per_byte: dict[str, list[float]] = {"small.hot": [], "small.cold": [], "large.hot": [],
                                        "large.cold": []}  # fmt: skip
    bases: dict[str, float] = {}
    refills = []
    for name, rt in profiled["runtimes"].items():
        rows = {(r["live"], r["size"]): r for r in rt["alloc"]}
        for path, sizes in (("small", small[name]), ("large", large[name])):
            h = float(np.median([_part(rows[hot, z], "clear") / z for z in sizes]))
            c = float(np.median([_part(rows[cold, z], "clear") / z for z in sizes]))
            heap = float(np.median([rows[cold, z]["heap_inuse"] for z in sizes]))
            per_byte[f"{path}.hot"].append(h)
            per_byte[f"{path}.cold"].append(h + (c - h) / (1 - LLC / heap))
            pts = [(z, _part(rows[hot, z], "rest")) for z in sizes if _part(rows[hot, z], "rest")]
            _, base = np.polyfit(*zip(*pts, strict=True), 1, w=[1 / y for _, y in pts])
            bases[f"{path}_base_ns_{name.replace('.', '')}"] = base
        per_span = {64: 128, 256: 32, 1024: 8, 4096: 2, 16384: 1, 32768: 1}
        refills.append(
            float(np.median([_part(rows[hot, z], "refill") * per_span[z] for z in small[name]]))
        )
    assert got["small_ns_per_byte_hot"] == three(np.mean(per_byte["small.hot"]))
    assert got["small_ns_per_byte_cold"] == three(np.mean(per_byte["small.cold"]))
    assert got["large_ns_per_byte_hot"] == three(np.mean(per_byte["large.hot"]))
    assert got["large_ns_per_byte_cold"] == three(np.mean(per_byte["large.cold"]))
    # The path's base is each runtime's own (Go 1.8's costs twice Go 1.27's).
    for name, base in bases.items():
        assert got[name] == three(base), name
    assert got["refill_ns_hot"] == three(np.mean(refills))
    # The built-in per-byte, refill and large figures are this record's (refill and
    # sweeping out of cache aside: those are the churn twin's); the small bases are the
    # split record's.
    for name in PROFILED:
        if name not in SPLIT:
            assert got[name] == getattr(CostModel(), name), name


#: The built-in fields the split record (the write barrier and the probe's loop apart)
#: gives; its large bases are not taken (three full runs spread 221-827 ns).
SPLIT = ("tiny_ns", "small_base_ns_go18", "small_base_ns_go127")
SPLIT_FIXTURE = FIXTURE.parent / "full-split-go18-go127.json"
#: The figures the built-in costs take from session 24's record (allocating black apart).
BLACK = (*SPLIT, "alloc_black_ns_go18", "alloc_black_ns_go127", "span_scan_ns_per_byte",
         "span_scan_ns_per_byte_cold")  # fmt: skip
BLACK_FIXTURE = FIXTURE.parent / "full-black-go18-go127.json"


@pytest.fixture
def split() -> dict[str, Any]:
    return json.loads(SPLIT_FIXTURE.read_text())["probes"]


def test_split_run_leaves_the_barrier_and_the_loop_out(split: dict[str, Any]) -> None:
    got = measured(split)
    rts = split["runtimes"]
    # 8-byte objects, 4 MiB live: Go 1.8 20.39 ns a loop step, samples barrier 32,
    # clear 3, gc 61, program 33, refill 2, rest 144, sweep 2 (277); Go 1.27 16.56 ns,
    # barrier 25, gc 45, program 34, refill 7, rest 112, sweep 4 (227): the tiny
    # allocation's own time is what is not the GC, the barrier or the loop.
    (t18,) = [r for r in rts["go1.8"]["alloc"] if r["live"] == 4 << 20 and r["size"] == 8]
    (t127,) = [r for r in rts["go1.27"]["alloc"] if r["live"] == 4 << 20 and r["size"] == 8]
    assert t18["profile"]["program"] == 33 and t127["profile"]["barrier"] == 25
    assert got["tiny_ns"] == three((20.39 * 151 / 277 + 16.56 * 123 / 227) / 2)
    # The bases: the intercept of the rest alone (the barrier's and the loop's samples
    # are not in it), as in the record without them.
    hot = 4 << 20
    small = {"go1.8": (64, 256, 1024, 4096, 16384, 32768), "go1.27": (64, 256, 1024, 4096, 16384)}
    for name, rt in rts.items():
        rows = {(r["live"], r["size"]): r for r in rt["alloc"]}
        pts = [(z, _part(rows[hot, z], "rest")) for z in small[name]]
        _, base = np.polyfit(*zip(*pts, strict=True), 1, w=[1 / y for _, y in pts])
        assert got[f"small_base_ns_{name.replace('.', '')}"] == three(base)
        with_them = [(z, y + _part(rows[hot, z], "barrier") + _part(rows[hot, z], "program"))
                     for z, y in pts]  # fmt: skip
        assert three(fit_line(with_them)[0]) > three(base)
    # The built-in figures were this record's until allocating black was split off too.
    assert [got[name] for name in SPLIT] == [10.0, 25.5, 17.7]


def test_black_run_charges_allocating_black_apart() -> None:
    """Session 24's record: gcmarknewobject's samples are their own category, priced
    per allocation made in a mark (gcpacertrace's share), and out of the bases."""
    doc = json.loads(BLACK_FIXTURE.read_text())
    assert schema_errors(doc) == []
    got = measured(doc["probes"])
    rts = doc["probes"]["runtimes"]
    for name in ("go1.8", "go1.27"):
        # the smallest size past the tiny one, in the 4 MiB ring
        (row,) = [r for r in rts[name]["alloc"] if r["live"] == 4 << 20 and r["size"] == 64]
        prof = row["profile"]
        black = prof["black"] * row["cpu_ns_per_alloc"] / sum(prof.values())
        assert got[f"alloc_black_ns_{name.replace('.', '')}"] == three(black / row["in_marks"])
    # Go 1.27, 64 B: 24 of 327 samples at 35.65 ns a step, 29.03 % of them in marks
    assert got["alloc_black_ns_go127"] == three(24 / 327 * 35.65 / 0.2903)
    # the tiny figure leaves the black samples out as it does the GC's: 8 B, Go 1.8
    # 19.91 ns, rest 135 + clear 2 + refill 1 + sweep 6 of 277; Go 1.27 16.88 ns,
    # 106 + 7 + 8 of 242 (its 11 black samples out)
    assert got["tiny_ns"] == three((19.91 * 144 / 277 + 16.88 * 121 / 242) / 2)
    # span scans: (34.72 - 10.31) ns over 496 bytes at 4 MiB
    assert got["span_scan_ns_per_byte"] == three((34.72 - 10.31) / 496)
    # The built-in figures are this record's.
    for name in BLACK:
        assert got[name] == getattr(CostModel(), name), name


def test_recorded_run_mark_figures(raw: dict[str, Any]) -> None:
    _, rows = derive(raw)
    got = {r.field: r for r in rows}
    # 100,000 objects (7 MiB heap): go1.8 11.0 ns, go1.27 8.9 ns per object
    assert got["mark_ns_per_object"].measured == three((11.0 + 8.9) / 2)
    # The in-order ring's 2,000,000 objects (144 MiB) no longer price marking out of
    # cache: it pays no miss there (session 25: a shuffled one pays three to ten times).
    for name in ("mark_ns_per_object_cold_go18", "mark_ns_per_object_cold_go127"):
        assert got[name].measured is None and "churn twin" in got[name].how


def test_fit_llc_recovers_the_clocks_interpolation() -> None:
    """Points on the clock's own curve give back its cache size (to the grid's 2 %)."""
    mib = 1 << 20
    for llc in (32 * mib, 180 * mib):
        heaps = [llc * f for f in (0.125, 0.25, 0.5, 1, 2, 4)]
        points = [(h, 20.0 + (110.0 - 20.0) * coldness(llc, h)) for h in heaps]
        fit = fit_llc(points)
        assert fit is not None and fit.llc == pytest.approx(llc, rel=0.022)
        assert fit.hot == pytest.approx(20.0, rel=0.03) and fit.cold == pytest.approx(110, rel=0.03)
    # Never out of cache (flat), or too few points: no size.
    assert fit_llc([(h * mib, 20.0) for h in (8, 16, 32, 64)]) is None
    assert fit_llc([(64 * mib, 20.0), (512 * mib, 90.0)]) is None


def test_llc_is_fitted_to_the_shuffled_series(raw: dict[str, Any]) -> None:
    """The shuffled series as Go 1.27.3 marked it at GOMAXPROCS=1 on the Xeon VM whose
    sysfs reports a 480 MiB L3 (session 26, by hand: the probe's clock per object,
    two runs' mean): flat to 137 MiB, rising to 109 ns at 1.9 GiB."""
    mib = 1 << 20
    series = [(34, 20.0), (69, 22.2), (137, 25.9), (206, 35.5), (343, 61.0), (481, 75.8),
              (961, 96.3), (1923, 109.4)]  # fmt: skip
    raw["llc_sysfs"] = 480 * mib
    raw["runtimes"]["go1.27"]["mark_shuffled"] = [
        {"k": h * mib // 72, "ns_per_object": ns, "heap_inuse": h * mib} for h, ns in series
    ]
    _, rows = derive(raw)
    (row,) = [r for r in rows if r.field == "mark_llc_bytes"]
    # Where the series bends: past 137 MiB, well short of the 480 MiB sysfs reports.
    assert 150 * mib < row.measured < 220 * mib
    assert "go1.27" in row.how and "sysfs: 480 MiB" in row.how
    # The record has no clearing series: the allocation stream's cache is sysfs's.
    (row,) = [r for r in rows if r.field == "llc_bytes"]
    assert row.measured == 480 * mib and "no alloc_clear series" in row.how


def test_llc_is_fitted_to_the_clearing_series(raw: dict[str, Any]) -> None:
    """The clearing series as Go 1.27.3's alloc probe ran it on the same Xeon VM (session
    26, one run a point): 16 KiB objects, (live MiB, HeapInuse MiB, CPU ns an allocation,
    clearing's profile samples, all samples). Clearing costs 0.023 ns a byte at a 22 MiB
    heap and 0.06-0.08 from 80 MiB on: it turns cold far below the mark's cache."""
    mib = 1 << 20
    series = [(8, 22, 1388.09, 22, 81), (32, 80, 2271.04, 59, 136), (64, 155, 2308.85, 71, 140),
              (128, 282, 2390.54, 59, 145), (192, 801, 2265.97, 76, 135),
              (256, 493, 2472.01, 67, 150), (384, 835, 2577.59, 78, 155),
              (768, 1376, 2480.21, 79, 149)]  # fmt: skip
    raw["llc_sysfs"] = 480 * mib
    raw["runtimes"]["go1.27"]["alloc_clear"] = [
        {"live": live * mib, "size": 16384, "heap_inuse": heap * mib, "cpu_ns_per_alloc": cpu,
         "profile": {"clear": clear, "rest": total - clear}}
        for live, heap, cpu, clear, total in series
    ]  # fmt: skip
    _, rows = derive(raw)
    (row,) = [r for r in rows if r.field == "llc_bytes"]
    # clearing per byte: 1388.09 * 22/81 / 16384 = 0.023 at 22 MiB, 0.060 at 80 MiB
    assert 16 * mib < row.measured < 40 * mib
    assert "16 KiB" in row.how and "go1.27" in row.how


def test_span_scan_price_is_the_extra_time_per_extra_byte() -> None:
    """Go 1.27's span-scan price: (512 B object - 16 B object) / 496 bytes, per heap."""

    def row(words: int, live: int, ns: float, heap: int) -> dict[str, Any]:
        return {
            "words": words,
            "k": live // (8 * words + 8),
            "ns_per_object": ns,
            "heap_inuse": heap,
        }

    hot, cold = 4 << 20, 256 << 20
    rows = [row(2, hot, 10.2, 5 << 20), row(64, hot, 33.2, 5 << 20),
            row(2, cold, 10.7, 270 << 20), row(64, cold, 44.7, 270 << 20)]  # fmt: skip
    got = span_figures({"runtimes": {"go1.27": {"mark_span": rows}}}, LLC)
    assert got["span.hot"].value == pytest.approx(23.0 / 496)
    cold_slope = 34.0 / 496
    assert got["span.cold"].value == pytest.approx(
        23.0 / 496 + (cold_slope - 23.0 / 496) / (1 - LLC / (270 << 20))
    )
    # a record without the probe, or without go1.27, measures neither
    for raw in ({"runtimes": {"go1.27": {}}}, {"runtimes": {"go1.8": {}}}):
        assert all(f.value is None for f in span_figures(raw, LLC).values())


def test_unmeasured_fields_keep_their_defaults(raw: dict[str, Any]) -> None:
    model, rows = derive(raw)
    kept = {r.field for r in rows if r.measured is None}
    assert kept == {
        "write_barrier_old_ns_go18",  # read off the churn and binarytrees twins
        "write_barrier_new_ns_go18",
        "write_barrier_old_ns_go127",
        "write_barrier_new_ns_go127",
        "scan_ns_per_byte",
        "scan_ns_per_byte_cold",
        # the in-order and the shuffled mark ring bracket a program's heap: the churn twin
        "mark_ns_per_object_cold_go18",
        "mark_ns_per_object_cold_go127",
        # allocating black: benchmarks/alloc_black.py reads it off the twins
        "alloc_black_ns_go18",
        "alloc_black_ns_go127",
        # the recorded run predates the span probe (mark -words)
        "span_scan_ns_per_byte",
        "span_scan_ns_per_byte_cold",
        "sweep_ns_per_span",  # read off the churn twin's CPU profile, with
        "sweep_ns_per_object",
        "refill_ns_cold",
        *PROFILED,  # the recorded run predates the alloc probe's CPU profiles,
        "scavenge_ns_per_page",  # the scavenge probe
        "usleep_slack_ns",  # ... and the sysmon probe
        "usleep_slack_per_ns",
        # go18/freshspan measured these; calibrate does not run it
        "fresh_span_ns_go18",
        "fresh_page_ns_go18",
        "fresh_span_ns_go127",
        "fresh_page_ns_go127",
        # measured from the twins at two Ps (runtime/trace, gctrace), not by calibrate
        "worker_wake_ns",
        "stw_sweep_term_mp_ns_go127",
        "stw_mark_term_mp_ns_go127",
        "stw_sweep_term_mp_ns_go18",
        "stw_mark_term_mp_ns_go18",
        # a release's call and its TLB shootdowns: benchmarks/madvise_sibling.py
        "scavenge_ns_per_call",
        "tlb_shootdown_ns",
        "tlb_shootdown_victim_ns",
    }
    (row,) = [r for r in rows if r.field == "scavenge_ns_per_page"]
    assert "before the scavenge probe" in row.how
    (row,) = [r for r in rows if r.field == "usleep_slack_ns"]
    assert "before the sysmon probe" in row.how
    for name in kept:
        assert getattr(model, name) == getattr(CostModel(), name)
    assert all(r.how for r in rows)


def test_scavenge_figure_is_the_runtimes_mean(raw: dict[str, Any]) -> None:
    # As the probe prints it here: Go 1.8 253 ns, Go 1.27 273 ns per 4 KiB page released.
    with_probe = copy.deepcopy(raw)
    for name, ns in (("go1.8", 253.0), ("go1.27", 273.0)):
        with_probe["runtimes"][name]["scavenge"] = {"mib": 256, "ns_per_page": ns}
    assert measured(with_probe)["scavenge_ns_per_page"] == three((253.0 + 273.0) / 2)


def test_sysmon_figures_put_a_line_through_the_short_sleep_and_the_round(
    raw: dict[str, Any],
) -> None:
    """The sysmon probe as it printed on the development machine (10 quiet runs
    of each runtime, medians): preempted every 20,338,291 (Go 1.27.3) and
    20,301,812 ns (Go 1.8), so a 10 ms round took half that; nanosleep(20 us)
    returned 79,718 and 79,939 ns late."""
    with_probe = copy.deepcopy(raw)
    for name, round_ns, late in (
        ("go1.27", 10_169_145.5, 79_718.0),
        ("go1.8", 10_150_906.0, 79_939.0),
    ):
        with_probe["runtimes"][name]["sysmon"] = {
            "round_ns": round_ns, "periods": 260, "sleep_us": 20, "late_ns": late
        }  # fmt: skip
    got = measured(with_probe)
    # late by 79,828.5 ns at 20 us and by 160,025.75 ns at 10 ms (the means):
    # 80,197.25 ns more over 9,980,000 ns more asked
    per_ns = 80_197.25 / 9_980_000
    assert got["usleep_slack_per_ns"] == three(per_ns) == 0.00804
    assert got["usleep_slack_ns"] == three(79_828.5 - 20_000 * per_ns) == 79_700
    # The built-in figures are this record's.
    assert (got["usleep_slack_ns"], got["usleep_slack_per_ns"]) == (
        CostModel().usleep_slack_ns,
        CostModel().usleep_slack_per_ns,
    )
    model, _ = derive(with_probe)
    assert abs(model.sysmon(0, 0).round_ns - 10_160_026) < 1_000  # the round, to rounding


def test_worker_wake_is_the_sysmon_probes_wake_at_two_ps(raw: dict[str, Any]) -> None:
    """The sysmon probe's -wake medians (the Intel machine of session 25, quiet,
    1,000 wakes, the middle of three runs: 47,965 ns with Go 1.27.3, 47,874 with
    Go 1.8) give ``worker_wake_ns`` their mean; a record without them keeps the
    default and says why."""
    model, rows = derive(raw)
    kept = {r.field: r for r in rows}["worker_wake_ns"]
    assert kept.measured is None and "-wake" in kept.how
    assert model.worker_wake_ns == CostModel().worker_wake_ns
    with_wake = copy.deepcopy(raw)
    for name, ns in (("go1.27", 47_965.0), ("go1.8", 47_874.0)):
        row = {"round_ns": 10_169_145.5, "periods": 260, "sleep_us": 20, "late_ns": 79_718.0}
        with_wake["runtimes"][name].setdefault("sysmon", row)["wake_ns"] = ns
    model, rows = derive(with_wake)
    row = {r.field: r for r in rows}["worker_wake_ns"]
    assert row.measured == three((47_965 + 47_874) / 2) == 47_900
    assert model.worker_wake_ns == 47_900 and "GOMAXPROCS=2" in row.how


def test_without_go18_its_own_figures_are_kept(raw: dict[str, Any]) -> None:
    only = copy.deepcopy(raw)
    del only["runtimes"]["go1.8"]
    model, rows = derive(only)
    by = {r.field: r for r in rows}
    for name in ("roots_ns_go18",):
        assert by[name].measured is None and "--go18" in by[name].how
        assert getattr(model, name) == getattr(CostModel(), name)
    assert by["mark_ns_per_object"].measured == 8.9
    assert by["page_fault_ns"].measured == three(1649.6)
    assert by["stw_ns"].measured == 2000


def test_without_a_cache_size_the_default_is_kept(raw: dict[str, Any]) -> None:
    raw["llc_sysfs"] = None
    model, rows = derive(raw)
    for name in ("llc_bytes", "mark_llc_bytes"):
        (row,) = [r for r in rows if r.field == name]
        assert row.measured is None and "sysfs" in row.how and getattr(model, name) == LLC


def test_a_derived_calibration_round_trips_through_its_file(
    raw: dict[str, Any], tmp_path: Path
) -> None:
    model, _ = derive(raw)
    doc = json.loads(FIXTURE.read_text())
    doc["costs"] = cost_fields(model)
    path = tmp_path / "cal.json"
    path.write_text(dumps(doc))
    assert load_calibration(path).model == model


def test_the_full_recorded_run() -> None:
    doc = json.loads((FIXTURE.parent / "full-go18-go127.json").read_text())
    assert schema_errors(doc) == [] and doc["quick"] is False
    got = measured(doc["probes"])
    # as the quick run's, and the scavenge figure: both records predate its probe;
    # the four fresh-span figures come from a probe calibrate does not run, the
    # five two-P figures from the twins (worker_wake_ns, stw_*_mp_ns_*)
    # (and the sysmon probe's two), the allocation path's ten (sweeping and the
    # refill out of cache from the churn twin, the rest from the probe's CPU profiles)
    # and the write barrier's four (the twins' profiles), and a release's call and its
    # two TLB shootdown figures (benchmarks/madvise_sibling.py), allocating black (the
    # twins, two) and the span probe's two, which it predates; write_ns is gone;
    # and the two cold mark figures (the churn twin)
    assert [v is None for v in got.values()].count(True) == 39
    # touch: go1.8 1735.4 ns, go1.27 1599.2 ns per page; Go 1.8's window: 0.023 ms per cycle
    assert got["page_fault_ns"] == three((1735.4 + 1599.2) / 2)
    assert got["roots_ns_go18"] == 23000
    # mark at 10,000 and 100,000 objects (<= 7 MiB): go1.8 13.0, 10.0; go1.27 13.0, 10.01
    assert got["mark_ns_per_object"] == three(((13.0 + 10.0) / 2 + (13.0 + 10.01) / 2) / 2)
