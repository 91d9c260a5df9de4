"""What allocating black costs Go 1.27: gcmarknewobject per allocation made in a mark.

While a mark runs, mallocgc marks each new object itself
(``gcmarknewobject``: the object's mark bit and, for Green Tea's small
objects, its scan bit, both atomically, and its page's mark). The alloc
probe's CPU profile puts those samples in the allocation's "rest", averaged
over allocations in and out of marks; the clock charges them apart
(``CostModel.alloc_black_ns_go127``), on allocations made in a mark.

This script profiles Go 1.27 twins as ``program_work.py`` does (1 kHz, the
twins untouched), with ``GODEBUG=gctrace=1,gcpacertrace=1``; pooled over
the runs it counts the CPU of the samples with ``runtime.gcmarknewobject``
on their stack (a sample stands for the run's CPU over its samples) and the
allocations made in marks: each background mark's heapLive growth
(gcpacertrace's "in A B -> B B"), over the run's mean object size
(TotalAlloc / Mallocs). It prints both and their ratio, per case and
pooled. Not a test::

    python benchmarks/alloc_black.py binarytrees16 churn10k --runs 6
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import heavy_cases  # sibling scripts, not a package
import program_work

from goheap.calibrate import cpuprofile
from goheap.pprof import profile_pb2
from goheap.validate.toolchain import find_go

#: The function whose samples are allocating black.
MARK_NEW = "runtime.gcmarknewobject"


def black_share(path: Path, exe: Path, go: Path) -> float:
    """The share of the profile's samples with gcmarknewobject on their stack."""
    prof = profile_pb2.Profile()
    prof.ParseFromString(cpuprofile._proto_bytes(path, exe, go))
    names = {f.id: prof.string_table[f.name] for f in prof.function}
    ids = {
        loc.id for loc in prof.location if any(names[ln.function_id] == MARK_NEW for ln in loc.line)
    }
    total = black = 0
    for sample in prof.sample:
        n = sample.value[0] if sample.value else 1
        total += n
        if ids.intersection(sample.location_id):
            black += n
    return black / total if total else 0.0


def measure(
    exe: Path, go: Path, case: heavy_cases.Case, prof: Path, runs: int
) -> tuple[float, float]:
    """(seconds of gcmarknewobject, allocations made in marks), summed over the runs."""
    env = {**case.env, "GOHEAP_CPUPROFILE": str(prof), "GODEBUG": "gctrace=1,gcpacertrace=1"}
    black_s = allocs = 0.0
    for _ in range(runs):
        run = heavy_cases.run_real(exe, replace(case, env=env))
        black_s += black_share(prof, exe, go) * (run["user_s"] + run["sys_s"])
        in_mark = sum(b - a for a, b in run["pacer"])
        allocs += in_mark / (run["TotalAlloc"] / run["Mallocs"])
    return black_s, allocs


def main(argv: list[str] | None = None) -> int:
    ap = heavy_cases.case_parser(__doc__, 6, "profiled runs per case")
    a = ap.parse_args(argv)
    cases = heavy_cases.cases_named(ap, a.cases)
    go = find_go(None)
    pooled_s = pooled_n = 0.0
    with tempfile.TemporaryDirectory(prefix="alloc-black-") as d:
        twins = program_work.profiled_twins(Path(d) / "oracle")
        dirs = heavy_cases.build_real(str(go), None, Path(d) / "bin", twins)
        print(
            f"{'case':24} {'gcmarknewobject ms/run':>22} {'allocs in marks/run':>20} {'ns each':>8}"
        )
        for case in cases:
            exe = dirs["go1.27"] / case.workload
            s, n = measure(exe, go, case, Path(d) / "cpu.prof", a.runs)
            pooled_s += s
            pooled_n += n
            print(
                f"{case.name:24} {s / a.runs * 1e3:22.1f} {n / a.runs:20,.0f} {s / n * 1e9:8.2f}",
                flush=True,
            )
    print(f"{'pooled':24} {'':22} {'':20} {pooled_s / pooled_n * 1e9:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
