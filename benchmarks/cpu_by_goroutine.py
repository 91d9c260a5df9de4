"""The Go twins' CPU by goroutine and by part: who spends what, at one P and at two.

At one P the program's goroutine does everything: it allocates, assists
the mark, sweeps and, at a preemption, lets the fractional worker, bgsweep
and the scavenger run. At two Ps the other P takes the mark workers,
bgsweep and the scavenger, and the program should run faster by that much.
This script shows where the time goes on the real runtime, per case
(``heavy_cases.py --list``): the twins profiled as ``program_work.py``
profiles them (a copy of tests/oracle whose report package starts a 1 kHz
CPU profile around the workload; the twins themselves untouched), several
runs pooled, each sample given

* to a goroutine by the outermost function on its stack: ``main.main`` the
  program's, ``runtime.bgsweep``, ``runtime.gcBgMarkWorker``,
  ``runtime.bgscavenge``, ``runtime.sysmon``, or "other" with that function
  (the scheduler's own: ``runtime.mcall``, ``runtime.morestack``, ...);
* to a part by ``goheap.calibrate.cpuprofile``'s categories (clearing,
  refill, sweeping, the GC, the write barrier, the program's own code; a
  sample of another goroutine that none takes is named by its leaf).

A sample stands for the runs' CPU (getrusage) over their samples. It
prints, per case, the CPU per run by goroutine and, under each, its parts
of at least 4 ms. Not a test::

    python benchmarks/cpu_by_goroutine.py churn10k churn10k-p2 --runs 8
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import heavy_cases  # sibling scripts, not a package
import program_work

from goheap.calibrate import cpuprofile
from goheap.pprof import profile_pb2
from goheap.validate.toolchain import find_go

#: The goroutine a sample is charged to: the first of these functions on its stack.
ROOTS = (
    ("main.main", "program"),
    ("runtime.bgsweep", "bgsweep"),
    ("runtime.gcBgMarkWorker", "mark worker"),
    ("runtime.bgscavenge", "scavenger"),
    ("runtime.sysmon", "sysmon"),
)
#: Parts under this many seconds a run are left out of the listing.
SHOWN_S = 0.004


def samples(path: Path, exe: Path, go: Path) -> Counter[tuple[str, str]]:
    """The profile's samples by (goroutine, part)."""
    prof = profile_pb2.Profile()
    prof.ParseFromString(cpuprofile._proto_bytes(path, exe, go))
    names = {f.id: prof.string_table[f.name] for f in prof.function}
    frames = {loc.id: [names[line.function_id] for line in loc.line] for loc in prof.location}
    out: Counter[tuple[str, str]] = Counter()
    for sample in prof.sample:
        inner_first = [n for loc in sample.location_id for n in frames.get(loc, ())]
        stack = set(inner_first)
        leaf = inner_first[0] if inner_first else "?"
        outer = inner_first[-1] if inner_first else "?"
        root = next((r for fn, r in ROOTS if fn in stack), f"other: {outer}")
        part = next((c for c, fns in cpuprofile.CATEGORIES if stack & fns), None)
        if part is None:
            if cpuprofile._is_program(leaf):
                part = cpuprofile.PROGRAM
            else:
                part = cpuprofile.REST if root == "program" else f"{cpuprofile.REST}: {leaf}"
        out[root, part] += sample.value[0] if sample.value else 1
    return out


def measure(exe: Path, go: Path, case: heavy_cases.Case, prof: Path, runs: int) -> list[str]:
    """The listing of one case: ``runs`` profiled runs pooled."""
    pooled: Counter[tuple[str, str]] = Counter()
    cpu, walls = 0.0, []
    for _ in range(runs):
        run = heavy_cases.run_real(
            exe, replace(case, env={**case.env, "GOHEAP_CPUPROFILE": str(prof)})
        )
        cpu += run["user_s"] + run["sys_s"]
        walls.append(run["wall_s"])
        pooled.update(samples(prof, exe, go))
    total = sum(pooled.values())
    per_sample = cpu / runs / total
    lines = [
        f"{case.name}: {runs} runs, CPU {cpu / runs:.3f} s a run,"
        f" wall {statistics.median(walls):.3f} s (median), {total} samples"
    ]
    by_root: Counter[str] = Counter()
    for (root, _), n in pooled.items():
        by_root[root] += n
    for root, n in by_root.most_common():
        lines.append(f"  {root:28} {n * per_sample:6.3f} s")
        parts = sorted(((k[1], v) for k, v in pooled.items() if k[0] == root), key=lambda x: -x[1])
        shown = [(p, v * per_sample) for p, v in parts if v * per_sample >= SHOWN_S]
        lines += [f"      {p:24} {s:6.3f} s" for p, s in shown]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = heavy_cases.case_parser(__doc__, 8, "profiled runs pooled per case")
    ap.add_argument("--runtime", default="go1.27", choices=("go1.27", "go1.8"))
    ap.add_argument("--go18", help="a Go 1.8 go binary (DEST/go/bin/go), for --runtime go1.8")
    a = ap.parse_args(argv)
    cases = heavy_cases.cases_named(ap, a.cases)
    if a.runtime == "go1.8" and not a.go18:
        ap.error("--runtime go1.8 needs --go18")
    go = Path(a.go18) if a.runtime == "go1.8" else find_go(None)
    with tempfile.TemporaryDirectory(prefix="cpu-by-goroutine-") as d:
        twins = program_work.profiled_twins(Path(d) / "oracle")
        dirs = heavy_cases.build_real(
            None if a.runtime == "go1.8" else str(go), a.go18, Path(d) / "bin", twins
        )
        for case in cases:
            exe = dirs[a.runtime] / case.workload
            print("\n".join(measure(exe, go, case, Path(d) / "cpu.prof", a.runs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
