"""`goheap validate --heavy`: the heavy cases, their settings, and their report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from goheap.errors import GoheapError
from goheap.outputs import announcing
from goheap.validate.cases import Settings
from goheap.validate.compare import compare_case
from goheap.validate.heavy import HEAVY, TUNED, group_summary, heavy_cases, select_heavy
from goheap.validate.quiet import QuietGate
from goheap.validate.real import BUSY_KEY, IDLE_KEY, LOAD_KEY, collect_real
from goheap.validate.render import markdown, markers, print_table, refresh_doc
from goheap.validate.toolchain import Programs, Toolchain
from tests.go_oracle import fresh_cache_dir
from tests.jsonschema_check import schema_errors
from tests.test_validate import FAKE_ORACLE, fake_program, figs

MIB = 1 << 20


def test_the_heavy_set_covers_what_issue_11_names() -> None:
    by = {c.name: c for c in HEAVY}
    churn = [c for c in HEAVY if c.workload == "churn" and c.params["k"] == 100_000]
    assert {c.settings.gogc for c in churn} >= {"50", "100", "200", "400", "off"}
    # The churn keeps about 218 MB live at k=100,000: one limit far below, one above.
    limits = {c.settings.memlimit for c in churn if c.settings.gogc == "off"}
    assert limits == {32 * MIB, 400 * MIB}
    for workload in ("churn", "large", "binarytrees"):
        procs = {c.settings.gomaxprocs for c in HEAVY if c.workload == workload}
        assert procs == {1, 2}, workload
    assert by["large8"].params == {"window": 8, "steps": 10_000}
    # The cases a cost or a prototype came from; every other one is held out.
    # (churn10k-p2, large8-p2, binarytrees16-p2: the two-P pauses and wake-up)
    assert {"churn10k", "churn100k-gogc100", "large8"} | {
        "churn10k-p2",
        "large8-p2",
        "binarytrees16-p2",
    } == TUNED


def test_go18_runs_every_case_but_the_memory_limits() -> None:
    names18 = {c.name for c in select_heavy([], "go1.8")}
    names127 = {c.name for c in select_heavy([], "go1.27")}
    assert names127 == {c.name for c in HEAVY}
    assert names127 - names18 == {
        "churn100k-off-limit32m",
        "churn100k-off-limit400m",
        "churn100k-gogc100-limit300m",
    }


def test_heavy_selection_mistakes_are_one_line() -> None:
    with pytest.raises(GoheapError, match=r"unknown heavy case 'churn1m'; the heavy cases are: "):
        select_heavy(["churn1m"], "go1.27")
    with pytest.raises(GoheapError, match=r"sets GOMEMLIMIT, which go1\.8 does not have"):
        select_heavy(["churn100k-off-limit32m"], "go1.8")


def test_heavy_cases_carry_their_settings_and_group() -> None:
    big, window = heavy_cases(["churn100k-gogc100-p2", "large8-gogc200"], "go1.27")
    assert big.label == "churn100k-gogc100-p2" and big.held_out is True
    assert big.settings == Settings("100", None, 2)
    assert big.go_flags[:2] == ("-k=100000", "-steps=2000000")
    assert window.settings == Settings("200", None, 1)
    assert window.go_flags[-1] == "-sample=1"  # large's twin reads the heap at every allocation
    (tuned,) = heavy_cases(["large8"], "go1.27")
    assert tuned.held_out is False
    assert Settings("off", 32 * MIB, 2).text() == "GOGC=off GOMEMLIMIT=32MiB GOMAXPROCS=2"


def test_real_runs_get_the_cases_settings_and_the_load(tmp_path: Path) -> None:
    tc = Toolchain(Path("/nonexistent/go"), "go1.99", tmp_path, "linux", "amd64")
    fake_program(tmp_path / "bin", "retain", FAKE_ORACLE)
    progs = Programs(tmp_path / "bin", "cafe", built=True)
    (case,) = heavy_cases(["churn100k-off-limit400m"], "go1.27")
    case = type(case)("retain", {}, (), case.name, case.settings, case.held_out)
    told: list[str] = []
    with announcing(told.append):  # as in the CLI, which says "goheap: wrote PATH" for each
        gate = QuietGate(0, measure=lambda: 0.5)  # busy: half a CPU idle, no time to wait
        heard: list[str] = []
        runs = collect_real(
            tc,
            progs,
            case,
            1,
            case.settings or Settings(),
            tmp_path / "cache",
            gate=gate,
            tell=heard.append,
        )
    assert told == [] and list((tmp_path / "cache").rglob("*.json"))  # cached, not announced
    (doc,) = runs.docs
    assert doc["env"]["GOGC"] == "off" and doc["env"]["GOMEMLIMIT"] == str(400 * MIB)
    assert doc["env"]["GOMAXPROCS"] == "1"
    assert isinstance(doc[LOAD_KEY], float)
    assert doc[IDLE_KEY] == 0.5 and doc[BUSY_KEY] is True  # one P wants 0.75 CPU idle
    assert heard == []  # no budget: no wait to tell of


def _heavy_report() -> dict[str, Any]:
    # held out: NumGC 11 inside 10..12; peak 150 against 100..110 (median 105): a miss.
    held = compare_case(
        "churn",
        [figs(NumGC=10, **{"peak.HeapInuse": 100}), figs(NumGC=12, **{"peak.HeapInuse": 110})],
        figs(NumGC=11, **{"peak.HeapInuse": 150}),
    )
    tuned = compare_case("large", [figs(), figs()], figs())
    cases = [
        {
            "workload": "churn",
            "params": {"k": 100000},
            "name": "churn100k-gogc50",
            "held_out": True,
            "settings": {"gogc": "50", "memlimit": None, "gomaxprocs": 1},
            "real": {"load": [0.5, 1.5]},
            "rows": [r.to_dict() for r in held],
        },
        {
            "workload": "large",
            "params": {"window": 8},
            "name": "large8-limit",
            "held_out": False,
            "settings": {"gogc": "off", "memlimit": 32 * MIB, "gomaxprocs": 2},
            "real": {"load": [None, None]},
            "rows": [r.to_dict() for r in tuned],
        },
    ]
    return {
        "go": {"version": "go1.99", "target": "linux/amd64"},
        "cpus": 2,
        "profile": "go1.27",
        "gogc": None,
        "memlimit": None,
        "runs": 2,
        "quick": False,
        "widen": 0.05,
        "heavy": True,
        "cases": cases,
        "summary": {"ok": 1, "miss": 1, "unavailable": 0},
        "groups": group_summary(cases),
    }


def test_held_out_and_tuned_cases_are_counted_apart() -> None:
    groups = _heavy_report()["groups"]
    n_spread = 4  # NumGC, peak HeapInuse, HeapSys, NextGC
    held = groups["held_out"]
    assert held["cells"] == n_spread and held["ok"] == n_spread - 1
    assert held["mean_miss"] == pytest.approx(round((150 - 105) / 105 / n_spread, 4))
    assert groups["tuned"] == {"cells": n_spread, "ok": n_spread, "mean_miss": 0.0}


def test_heavy_table_and_markdown_name_the_case_its_group_and_settings() -> None:
    report = _heavy_report()
    console = Console(record=True, width=160)
    print_table(report, console)
    text = console.export_text()
    assert "churn100k-gogc50" in text and "(held out)" in text and "(tuned on)" in text
    assert "GOMEMLIMIT=32MiB" in text and "GOMAXPROCS=2" in text
    assert "load 0.5–1.5 on 2 CPUs" in text
    assert "held out: 3/4 spread figures inside, mean miss 10.7%" in text
    md = markdown(report)
    begin, end = markers("go1.27", heavy=True)
    assert md.startswith(begin) and md.rstrip().endswith(end)
    assert "--heavy --profile go1.27" in begin
    assert "| **churn100k-gogc50** (held out): churn `k=100000` " in md
    assert "`GOGC=50 GOMEMLIMIT=off GOMAXPROCS=1` | Mallocs |" in md
    assert "tuned on: 4/4 spread figures inside, mean miss 0.0%." in md
    # The workloads' own section is left alone when the heavy one is refreshed.
    plain_begin, plain_end = markers("go1.27")
    doc = f"{plain_begin}\nkeep\n{plain_end}\n\n{begin}\nold\n{end}\n"
    new = refresh_doc(doc, report)
    assert "keep" in new and "old" not in new and refresh_doc(new, report) == new


def test_heavy_mistakes_on_the_command_line(expect_one_line_errors: Any) -> None:
    cases = [
        (["--heavy", "--quick"], "--quick: not with --heavy"),
        (["--heavy", "--gogc", "50"], "--gogc: not with --heavy"),
        (["--heavy", "--memlimit", "1GiB"], "--memlimit: not with --heavy"),
        (["--heavy", "churn"], "unknown heavy case 'churn'"),
        (["--heavy", "--profile", "go1.8", "churn100k-off-limit32m"], "which go1.8 does not"),
    ]
    expect_one_line_errors("validate", cases)


@pytest.mark.gotoolchain
def test_one_heavy_case_end_to_end(
    goheap: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], go_toolchain: Path
) -> None:
    go = go_toolchain
    out = tmp_path / "heavy.json"
    args = ["validate", "--heavy", "large8-gogc200", "--runs", "2", "--go", str(go)]
    cache = fresh_cache_dir(tmp_path / "c")
    assert goheap([*args, "--cache-dir", str(cache), "--json", str(out)]) == 0
    assert "large8-gogc200" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert schema_errors(report) == [] and report["heavy"] is True
    (case,) = report["cases"]
    assert case["settings"] == {"gogc": "200", "memlimit": None, "gomaxprocs": 1}
    assert case["held_out"] is True and len(case["real"]["load"]) == 2
    by = {r["metric"]: r for r in case["rows"]}
    # 10,000 objects of one large size, and GOGC=200 reached the real program: its goal
    # after the last cycle is three times the marked heap (the window's 8 objects and more).
    assert by["Mallocs"]["status"] == "ok" and by["TotalAlloc"]["verdict"] == "exact"
    window_bytes = case["sim"]["figures"]["gc.HeapAlloc"]
    assert min(by["NextGC"]["real_values"]) >= 3 * window_bytes
    assert report["groups"]["held_out"]["cells"] == 4


def test_list_shows_the_cases_without_go(
    goheap: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no Go needed to list
    monkeypatch.setenv("COLUMNS", "160")
    assert goheap(["validate", "--heavy", "--list", "--profile", "go1.8"]) == 0
    out = capsys.readouterr().out
    assert "heavy cases for go1.8" in out and "large8 (tuned on)" in out
    assert "churn100k-gogc100-p2 (held out)" in out
    assert "GOGC=100 GOMEMLIMIT=off GOMAXPROCS=2" in out
    assert "limit32m" not in out  # go1.8 has no memory limit
    assert goheap(["validate", "--list", "--quick", "--gogc", "50", "churn"]) == 0
    out = capsys.readouterr().out
    assert "k=1000 steps=30000" in out and "GOGC=50 GOMEMLIMIT=off GOMAXPROCS=1" in out
