"""benchmarks/heavy_table.py: the heavy cases' table for docs/fidelity.md."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmark_scripts import load_benchmark


def _module() -> ModuleType:
    return load_benchmark("heavy_table")


def _doc(case: str, side: str, value: object) -> dict[str, object]:
    return {"cases": {case: {"go1.8": {side: value}}}}


def _figs(numgc: int, peak: int) -> dict[str, int]:
    return {"NumGC": numgc, "peak": peak, "NextGC": peak, "HeapSys": peak}


def test_cells_follow_validates_spread_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = [_figs(100, 50_000_000), _figs(110, 60_000_000), _figs(120, 70_000_000)]
    files = {
        "real": _doc("churn10k", "real", real),
        "before": _doc("churn10k", "model", _figs(126, 80_000_000)),  # 126 <= 120*1.05
        "after": _doc("churn10k", "model", _figs(127, 30_000_000)),
    }
    for name, doc in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    args = [str(tmp_path / f"{n}.json") for n in ("real", "before", "after")]
    assert _module().main(args) == 0
    out = capsys.readouterr().out
    # before: NumGC 126 inside 100-120 widened by 5%; peak 80 MB is +33% of the 60 MB median.
    # after: NumGC 127 is +15% of the median 110; 30 MB is -50% of 60 MB.
    assert (
        "| churn10k | go1.8 | 100–120 | 126 ✓ | 127 (+15%) | 50–70 | 80 (+33%) | 30 (-50%) |" in out
    )
    assert "Tuned on" in out.split("| churn10k")[0]  # churn10k is a tuned-on case
    assert "In spread: before 1/4, after 0/4 cells" in out


def test_unreadable_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _module().main(["/nonexistent/real.json", "b.json", "a.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the runs" in err
