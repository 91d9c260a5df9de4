"""The mutator's time, real Go beside the model's virtual clock, per heavy case.

How fast the program allocates between collections decides when sysmon
preempts, how many assists a mark sees and how far the heap runs ahead:
the clock's costs of the mutator (``CostModel``: base, clearing, first
touch, fresh spans, refills, sweeping, the write barrier) must add up to
the real program's time. This script checks that sum on whole runs (the
churn 100k GOGC 100 and binarytrees runs are where the sweeping, refill
and barrier figures were read off; the other cases are not):

* real: the Go twin (GOMAXPROCS=1, as ``heavy_cases.py`` runs it), its
  user and system CPU (getrusage of the child) and its GC's CPU (the sum of
  gctrace's cpu columns); the mutator's CPU is user + system less the GC's
  (the whole process's: its exit unmaps the heap, about 0.3 us a page
  faulted in, which no simulated figure holds);
* model: the same case simulated (``heavy_cases.run_model``), its virtual
  time from the warm-up GC to the end and its GC's CPU (the model's
  gctrace); the mutator's time is the rest.

It prints, per case and runtime, the real medians, the model's figures and
the model's mutator time over the real one, and beside each side the
program's allocation rate outside and inside marks in its steady cycles
(``steady_rates``): how the time splits around the marks decides how far
the heap grows while one runs, and so the next trigger. Not a test: it prints figures::

    python benchmarks/mutator_time.py                        # the one-P heavy cases, go1.27
    python benchmarks/mutator_time.py --costs cal.json churn100k-gogc100
    python benchmarks/mutator_time.py --go18 ~/.cache/goheap/go1.8/go/bin/go --runtimes go1.8
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import heavy_cases  # a sibling script, not a package


def gc_cpu_s(gctrace: list[dict[str, Any]]) -> float:
    """The GC's CPU over a run: gctrace's cpu columns (ms), summed, in seconds."""
    return sum(g["p1"] + g["assist"] + g["bg"] + g["idle"] + g["p3"] for g in gctrace) / 1e3


def steady_rates(gctrace: list[dict[str, Any]]) -> tuple[float, float]:
    """The program's allocation rate outside marks and inside them, MB per ms of the
    mutator's time, over the run's second half of background cycles (one P).

    Outside: the heap's growth from a cycle's marked heap to the next one's
    start, over the clock between them (gctrace's ``@`` has millisecond
    resolution: summed over the cycles, not per cycle). Inside: a mark's
    growth over its clock less its GC CPU (assists, workers). NaN where the
    run has too few cycles.
    """
    cycles = [g for g in gctrace if not g.get("forced")]
    steady = cycles[len(cycles) // 2 :]
    grown_off = t_off = grown_in = t_in = 0.0
    for a, b in itertools.pairwise(steady):
        end_ms = a["at"] * 1e3 + a["c1"] + a["c2"] + a["c3"]
        grown_off += b["h0"] - a["h2"]
        t_off += b["at"] * 1e3 - end_ms
        grown_in += a["h1"] - a["h0"]
        t_in += a["c2"] - a["assist"] - a["bg"] - a["idle"]
    nan = float("nan")
    return (grown_off / t_off if t_off > 0 else nan, grown_in / t_in if t_in > 0 else nan)


def real_figures(exe: Path, case: heavy_cases.Case, runs: int) -> dict[str, float]:
    """Medians over the runs: user, system, GC and mutator CPU, seconds; the steady
    allocation rates outside and inside marks (``steady_rates``)."""
    rows = []
    for _ in range(runs):
        r = heavy_cases.run_real(exe, case)
        gc = gc_cpu_s(r["gctrace"])
        rows.append(
            (
                r["user_s"],
                r["sys_s"],
                gc,
                r["user_s"] + r["sys_s"] - gc,
                *steady_rates(r["gctrace"]),
            )
        )
    med = [statistics.median(col) for col in zip(*rows, strict=True)]
    names = ("user", "sys", "gc", "mutator", "rate_off", "rate_in")
    return dict(zip(names, med, strict=True))


def model_figures(case: heavy_cases.Case, profile: str, costs: str | None) -> dict[str, float]:
    """The model's virtual time, its GC's CPU and the mutator's time, seconds, and its
    steady allocation rates (``steady_rates``)."""
    m = heavy_cases.run_model(case, profile, costs)
    gc = gc_cpu_s(m["gctrace"])
    off, inside = steady_rates(m["gctrace"])
    return {
        "virtual": m["virtual_s"],
        "gc": gc,
        "mutator": m["virtual_s"] - gc,
        "rate_off": off,
        "rate_in": inside,
    }


def rates(figures: dict[str, float]) -> str:
    """``off / in`` MB/ms, 11 characters."""
    return f"{figures['rate_off']:5.2f}/{figures['rate_in']:5.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", help="heavy case names (default: every one-P case)")
    ap.add_argument("--runs", type=int, default=3, help="real runs per case (medians)")
    ap.add_argument("--runtimes", default="go1.27")
    ap.add_argument("--go18", help="Go 1.8's go binary, for --runtimes go1.8")
    ap.add_argument("--costs", help="a calibration file for the model's clock")
    a = ap.parse_args(argv)
    cases = heavy_cases.cases_named(ap, a.cases) or [c for c in heavy_cases.CASES if c.procs == 1]
    runtimes = [r for r in a.runtimes.split(",") if r]
    dirs = heavy_cases.build_real(None, a.go18, Path(tempfile.mkdtemp(prefix="mutator-")))
    print(f"costs: {a.costs or 'built in'}; real: medians of {a.runs} runs, seconds")
    print("MB/ms: allocation rate outside / inside marks, second half of the cycles (one P)")
    print(
        f"{'case':28} {'runtime':7} {'user':>6} {'sys':>6} {'GC':>6} {'mutator':>7}"
        f" {'MB/ms':>11} | {'model':>6} {'GC':>6} {'mutator':>7} {'ratio':>6} {'MB/ms':>11}"
    )
    for case in cases:
        for rt in runtimes:
            if rt not in case.runtimes or rt not in dirs:
                continue
            real = real_figures(dirs[rt] / case.workload, case, a.runs)
            model = model_figures(case, rt, a.costs)
            ratio = model["mutator"] / real["mutator"] if real["mutator"] > 0 else float("nan")
            print(
                f"{case.name:28} {rt:7} {real['user']:6.3f} {real['sys']:6.3f} {real['gc']:6.3f}"
                f" {real['mutator']:7.3f} {rates(real)} | {model['virtual']:6.3f}"
                f" {model['gc']:6.3f} {model['mutator']:7.3f} {ratio:6.2f} {rates(model)}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
