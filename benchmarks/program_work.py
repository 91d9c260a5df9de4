"""The Go twins' own CPU: what each workload's program spends outside the runtime.

The clock charges the runtime's work (allocation paths, clearing, the
collector, the write barrier) and, through ``Heap.compute``, the program's
own: a workload's loop, its random sizes, its tree walks. This script
measures the second on the real runtimes. It copies the twins
(tests/oracle) to a temporary directory and adds a CPU profile to their
report package there (``PROFILE_GO``: from the end of the report's start
to the beginning of its finish, at 1 kHz, into ``$GOHEAP_CPUPROFILE``): the
twins themselves stay as they are, so ``goheap validate``'s cached real runs,
keyed by the twins' sources, stay valid. It runs each case several times on
a quiet machine and reads every profile with ``goheap.calibrate.cpuprofile``:
a sample whose innermost function is the program's (package main, or the
twins' report package: its per-allocation tick is the twin's code too) is
the program's. A sample stands for the run's CPU time (getrusage) over its
samples: the profiling timer asks for 1 kHz, but the kernel's tick may
deliver fewer (250 Hz here), so the samples' count alone would not do.

It prints, per runtime, case and program function, the CPU per run and per
step (churn and large: per allocation; binarytrees: per node, the node count
of ``binarytrees.nodes_allocated``), medians over the runs. The workloads'
``PROGRAM_NS`` tables hold these figures (benchmarks/RESULTS.md has the run).

    python benchmarks/program_work.py --go18 ~/.cache/goheap/go1.8/go/bin/go --runs 6
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heavy_cases import ORACLE, Case, build_real, cases_named, run_real

from goheap.calibrate.cpuprofile import PROGRAM, where
from goheap.validate.toolchain import find_go
from goheap.workloads.binarytrees import nodes_allocated

#: The cases measured: calibration cases of ``goheap validate --heavy`` (tuned on),
#: one per workload shape.
DEFAULT_CASES = ("churn100k-gogc100", "churn10k", "large8", "binarytrees16-p2")


#: The profile's start and stop, a file added to the report package (``{package}``,
#: ``{fail}``: the package's name and its error function).
PROFILE_GO = """package {package}

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// goheapStartProfile profiles the workload at 1 kHz into $GOHEAP_CPUPROFILE. The
// rate is set first, so StartCPUProfile's own 100 Hz is refused (the runtime says so
// on stderr).
func goheapStartProfile() {{
	f, err := os.Create(os.Getenv("GOHEAP_CPUPROFILE"))
	if err != nil {{
		{fail}("%v", err)
	}}
	runtime.SetCPUProfileRate(1000)
	if err := pprof.StartCPUProfile(f); err != nil {{
		{fail}("%v", err)
	}}
}}

func goheapStopProfile() {{ pprof.StopCPUProfile() }}
"""

#: Where the report packages start and stop the profile: (file, anchor, the anchor
#: with the call), each anchor found exactly once.
HOOKS = (
    ("internal/report/report.go", "\truntime.ReadMemStats(&r.base)\n\treturn r\n",
     "\truntime.ReadMemStats(&r.base)\n\tgoheapStartProfile()\n\treturn r\n"),
    ("internal/report/report.go", "func (r *Run) Finish(result func() any) {\n",
     "func (r *Run) Finish(result func() any) {\n\tgoheapStopProfile()\n"),
    ("go18/report/report.go", "\tr.started = time.Now()\n\treturn r\n",
     "\tgoheapStartProfile()\n\tr.started = time.Now()\n\treturn r\n"),
    ("go18/report/report.go", "\tr.out.WallNs = int64(time.Since(r.started))\n",
     "\tgoheapStopProfile()\n\tr.out.WallNs = int64(time.Since(r.started))\n"),
)  # fmt: skip


def profiled_twins(dest: Path) -> Path:
    """A copy of tests/oracle at ``dest`` whose twins profile their workload."""
    shutil.copytree(ORACLE, dest, symlinks=True)
    for name, anchor, hooked in HOOKS:
        path = dest / name
        text = path.read_text()
        if text.count(anchor) != 1:
            raise SystemExit(f"program_work: {name} no longer has {anchor.strip()!r} once")
        path.write_text(text.replace(anchor, hooked))
    (dest / "internal/report/profile.go").write_text(
        PROFILE_GO.format(package="report", fail="Fail")
    )
    (dest / "go18/report/profile.go").write_text(PROFILE_GO.format(package="main", fail="fail"))
    for twin in (dest / "go18").iterdir():  # each Go 1.8 twin links the report's files
        if (twin / "report.go").is_symlink():
            (twin / "profile.go").symlink_to("../report/profile.go")
    return dest


def steps(workload: str, params: dict[str, int]) -> int:
    """The steps a run makes: allocations of churn and large, nodes of binarytrees."""
    if workload == "binarytrees":
        return nodes_allocated(params["depth"])
    return params["steps"]


def profile_run(exe: Path, go: Path, case: Case, prof: Path) -> tuple[Counter, float, float]:
    """One profiled run, as heavy_cases runs the case: samples by (category, function),
    the run's CPU seconds and the load average before it."""
    run = run_real(exe, replace(case, env={**case.env, "GOHEAP_CPUPROFILE": str(prof)}))
    return where(prof, exe, go), run["user_s"] + run["sys_s"], run["load"]


def measure(exe: Path, go: Path, case: Case, prof: Path, runs: int) -> list[str]:
    """Table rows (after the case's name) of ``runs`` profiled runs pooled: every
    category, then the program's functions. A sample stands for the runs' CPU over
    their samples; the +- is the binomial standard error of the samples' share."""
    parts: Counter = Counter()
    loads, cpu = [], 0.0
    for _ in range(runs):
        samples, secs, load = profile_run(exe, go, case, prof)
        loads.append(load)
        cpu += secs
        for (cat, fn), n in samples.items():
            parts[cat] += n
            if cat == PROGRAM:
                parts[f"  {fn}"] += n
    total = sum(n for k, n in parts.items() if not k.startswith(" "))
    n_steps = steps(case.workload, case.params)
    out = []
    for key, n in sorted(parts.items(), key=lambda kv: (kv[0].startswith(" "), -kv[1])):
        share = n / total
        per_run = share * cpu / runs
        err = (share * (1 - share) / total) ** 0.5 * cpu / runs
        out.append(
            f"{key.strip() if key.startswith(' ') else key} | {n} | {per_run:.4f} "
            f"| {per_run * 1e9 / n_steps:.2f} +- {err * 1e9 / n_steps:.2f} "
            f"| {min(loads):.2f}-{max(loads):.2f} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", default=list(DEFAULT_CASES))
    ap.add_argument("--go18", help="a Go 1.8 go binary (DEST/go/bin/go)")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--runtimes", default="go1.8,go1.27")
    args = ap.parse_args(argv)
    cases = cases_named(ap, args.cases)
    runtimes = args.runtimes.split(",")
    go = find_go()
    with tempfile.TemporaryDirectory(prefix="goheap-program-") as tmp:
        dirs = build_real(
            str(go) if "go1.27" in runtimes else None,
            args.go18 if "go1.8" in runtimes else None,
            Path(tmp),
            oracle=profiled_twins(Path(tmp) / "oracle"),
        )
        prof = Path(tmp) / "cpu.prof"
        print("| runtime | case | where | samples | CPU s/run | ns/step | loads |")
        print("|---|---|---|--:|--:|--:|---|")
        for rt in runtimes:
            if rt not in dirs:
                print(f"{rt}: not built (go1.8 needs --go18)", file=sys.stderr)
                continue
            for case in cases:
                name = case.name
                if rt in case.runtimes:
                    rows = measure(dirs[rt] / case.workload, go, case, prof, args.runs)
                    for row in rows:
                        print(f"| {rt} | {name} | {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
