"""benchmarks/bench_whatif.py's generated section of docs/fidelity.md, and its counts."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.benchmark_scripts import load_benchmark

DOC = Path(__file__).resolve().parent.parent / "docs" / "fidelity.md"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_whatif")


def fig(gcs: float, peak: float) -> dict[str, Any]:
    return {"gcs_per_gib": gcs, "peak_HeapInuse": peak, "peak_HeapSys": peak, "NextGC": peak}


def result() -> dict[str, Any]:
    """Two settings, three real runs each, two profiles of one variant."""
    real = [fig(10.0, 100.0), fig(11.0, 110.0), fig(12.0, 120.0)]  # medians 11 and 110
    return {
        "size": "heavy",
        "cycles": 12,
        "go_version": "go1.27.3",
        "params": {"capacity": 65536, "requests": 1_600_000, "seed": 1},
        "runs": 3,
        "profiles": 2,
        "variants": ["mpr1"],
        "settings": [
            {
                "label": "GOGC=50",
                "real": real,
                "predicted": {"mpr1": [fig(11.5, 100.0), fig(9.8, 125.0)]},
            },
            {
                "label": "GOGC=100",
                "real": real,
                "predicted": {"mpr1": [fig(12.0, 120.0), fig(11.0, None)]},
            },
        ],
    }


def test_within_counts_each_profile_against_the_real_median(bench: ModuleType) -> None:
    r = result()
    # Profile 0: 11.5 (+4.5%), 100 (-9.1%), 12 (+9.1%), 120 (+9.1%): all four within 10%.
    assert bench.within(r, "mpr1", 0) == 4
    # Profile 1: 9.8 (-10.9%), 125 (+13.6%), 11.0 (0%), no peak: one.
    assert bench.within(r, "mpr1", 1) == 1
    assert bench.within_summary(r).endswith("per profile: mpr1 4, 1 of 4")


def test_the_section_is_replaced_between_its_markers(bench: ModuleType) -> None:
    r = result()
    begin, end = bench.doc_markers(r)
    assert begin.startswith("<!-- bench_whatif.py --heavy: begin") and end.endswith("end -->")
    text = f"before\n{begin}\nold table\n{end}\nafter\n"
    new = bench.replace_section(text, begin, end, bench.doc_body(r))
    assert new.startswith("before\n" + begin) and new.endswith(end + "\nafter\n")
    assert "old table" not in new and "| GOGC=50 | GCs/GiB | 10.0–12.0 |" in new
    assert "-capacity=65536 -requests=1600000" in new and "seed" not in new
    # Refreshing again gives the same document.
    assert bench.replace_section(new, begin, end, bench.doc_body(r)) == new
    # An older --json without "size" is named by its capacity.
    assert bench.size_of({k: v for k, v in r.items() if k != "size"}) == "heavy"


def test_fidelity_md_has_the_heavy_section(bench: ModuleType) -> None:
    begin, end = bench.doc_markers(result())
    text = DOC.read_text()
    assert text.index(begin) < text.index(end)
