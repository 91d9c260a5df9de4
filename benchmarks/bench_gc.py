"""Where the simulation's time goes with GC on: marking, sweeping, the rest.

Runs binarytrees (graph mode, GOGC=100, go1.8) and prints simulated
allocations per second, the wall time spent marking (GC._mark_snapshot:
the whole trace of a cycle) and sweeping (every sweep_span call: the
background sweeper, proportional sweep, mcentral and reclaim), and the
ratio to real Go's ~25 ns per allocation.

    python benchmarks/bench_gc.py [--depth 14] [--depth 16] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import goheap.runtime.go18 as runtime_pkg
from goheap.runner import run_workload
from goheap.runtime.go18 import mgc, mgcsweep

GO_NS_PER_ALLOC = 25.0


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t
                self.calls += 1

        return timed


def instrument() -> tuple[Timer, Timer]:
    """Wrap marking and sweeping everywhere they are called from."""
    import importlib
    import pkgutil

    mark, sweep = Timer(), Timer()
    mgc.GC._mark_snapshot = mark.wrap(mgc.GC._mark_snapshot)  # type: ignore[method-assign]
    timed_sweep = sweep.wrap(mgcsweep.sweep_span)
    for info in pkgutil.iter_modules(runtime_pkg.__path__):
        mod = importlib.import_module(f"goheap.runtime.go18.{info.name}")
        if getattr(mod, "sweep_span", None) is mgcsweep.sweep_span:
            mod.sweep_span = timed_sweep  # type: ignore[attr-defined]
    return mark, sweep


def bench(depth: int, mark: Timer, sweep: Timer) -> dict[str, Any]:
    mark.seconds = sweep.seconds = 0.0
    mark.calls = sweep.calls = 0
    t = time.perf_counter()
    r = run_workload("binarytrees", [f"depth={depth}"], profile="go1.8", gogc=100)
    wall = time.perf_counter() - t
    allocs = r["memstats"]["Mallocs"]
    return {
        "workload": f"binarytrees depth={depth}",
        "allocs": allocs,
        "numgc": r["memstats"]["NumGC"],
        "wall_s": round(wall, 2),
        "allocs_per_s": round(allocs / wall),
        "ns_per_alloc": round(wall / allocs * 1e9),
        "x_go": round(wall / allocs * 1e9 / GO_NS_PER_ALLOC),
        "mark_s": round(mark.seconds, 2),
        "mark_cycles": mark.calls,
        "sweep_s": round(sweep.seconds, 2),
        "spans_swept": sweep.calls,
        "other_s": round(wall - mark.seconds - sweep.seconds, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, action="append", help="tree depth (repeatable)")
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args()
    mark, sweep = instrument()
    rows = [bench(d, mark, sweep) for d in (args.depth or [14])]
    cols = list(rows[0])
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in cols))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
