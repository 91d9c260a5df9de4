"""Idle time: what a long h.advance costs (issue 15: idle must cost its events).

After one GC, sysmon starts a forced GC every 2 minutes of idle time; each
profile runs those and nothing else. Once the heap is settled, the forced
GCs change nothing but counters and goheap fast-forwards them in closed
form (goheap.profiles.fastforward). Prints, per profile and idle length,
the wall time, the GCs run and how many fast-forwards were made; with
``--stepped`` also the wall time with fast-forwarding off (same numbers,
checked):

    python benchmarks/bench_idle.py --hours 24 --hours 1279200 --stepped-up-to 48
"""

from __future__ import annotations

import argparse
import time

from goheap import Heap


def idle_run(profile: str, hours: float, fast: bool) -> tuple[float, int, int, object]:
    """Wall seconds to advance an idle heap by `hours`, NumGC, fast-forwards, MemStats."""
    with Heap(profile=profile) as h:
        objs = [h.malloc(64) for _ in range(1000)]
        h.set_global("keep", objs[0])
        h.gc()
        h.runtime.fastforward.enabled = fast
        t0 = time.perf_counter()
        h.advance(int(hours * 3600 * 10**9))
        wall = time.perf_counter() - t0
        ms = h.read_memstats()
        return wall, ms.NumGC, h.runtime.fastforward.jumps, ms.to_dict()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, action="append", help="idle length (repeatable)")
    ap.add_argument(
        "--stepped-up-to",
        type=float,
        default=48.0,
        help="also time the stepped path for idle lengths up to this many hours",
    )
    args = ap.parse_args()
    for hours in args.hours or [1.0, 24.0, 24.0 * 365, 24.0 * 365 * 146]:
        for profile in ("go1.8", "go1.27"):
            wall, numgc, jumps, ms = idle_run(profile, hours, True)
            line = f"{profile:7s} idle {hours:10.1f} h: {wall:7.3f} s wall, NumGC {numgc}, "
            line += f"{jumps} fast-forward(s)"
            if hours <= args.stepped_up_to:
                swall, _, _, sms = idle_run(profile, hours, False)
                same = "same MemStats" if sms == ms else "MEMSTATS DIFFER"
                line += f"; stepped {swall:7.3f} s, {same}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
