"""Idle time: what a long h.advance costs (issue 15: idle must cost its events).

After one GC, sysmon starts a forced GC every 2 minutes of idle time; each
profile runs those and nothing else. Prints, per profile and idle length,
the wall time and the GCs run:

    python benchmarks/bench_idle.py --hours 1 --hours 24
"""

from __future__ import annotations

import argparse
import time

from goheap import Heap


def idle_run(profile: str, hours: float) -> tuple[float, int]:
    """Wall seconds to advance an idle heap by `hours`, and NumGC at the end."""
    with Heap(profile=profile) as h:
        for _ in range(1000):
            h.malloc(64)
        h.gc()
        t0 = time.perf_counter()
        h.advance(int(hours * 3600 * 10**9))
        return time.perf_counter() - t0, h.read_memstats().NumGC


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, action="append", help="idle length (repeatable)")
    args = ap.parse_args()
    for hours in args.hours or [1.0, 24.0]:
        for profile in ("go1.8", "go1.27"):
            wall, numgc = idle_run(profile, hours)
            print(f"{profile:7s} idle {hours:6.1f} h: {wall:7.3f} s wall, NumGC {numgc}")


if __name__ == "__main__":
    main()
