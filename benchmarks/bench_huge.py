"""Huge objects: what one enormous allocation and its GC cost (issue 15 item 2).

Work must follow the size of the input, not a number in it: one allocation
of 2^38 bytes is one event. Go does work in proportion to a huge span's
pages (its ``h_spans`` entries, its heap bitmap: Go 1.8 clears a quarter
byte per word) and scans a pointerful object whole; the model should cost
no more than that in memory, and seconds rather than minutes in time.

Each case runs in its own process (so its peak RSS is its own) and prints
CPU seconds and the growth of the peak RSS over an empty heap:

    python benchmarks/bench_huge.py                    # every case, both profiles
    python benchmarks/bench_huge.py --case noscan-256GiB --profile go1.8
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from goheap import Heap, Type

#: name -> (bytes, pointerful, GCs after)
CASES: dict[str, tuple[int, bool, int]] = {
    "noscan-64GiB": (64 << 30, False, 0),
    "noscan-256GiB": (256 << 30, False, 0),
    "ptrs-1GiB+2gc": (1 << 30, True, 2),
    "ptrs-16GiB": (16 << 30, True, 0),
}


def run_case(profile: str, case: str) -> dict[str, float]:
    """Allocate the case's object (rooted), run its GCs; CPU s and peak-RSS growth (MB)."""
    size, pointerful, gcs = CASES[case]
    with Heap(profile=profile, gogc="off") as h:
        base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.process_time()
        if pointerful:
            ptr = Type("*T", size=8, pointers=[0])
            x = h.make(ptr, size // 8)
            h.write_pointer(x, size - 8, h.new(Type("T", size=16, pointers=[0])))
        else:
            x = h.malloc(size)
        h.set_global("x", x)
        for _ in range(gcs):
            h.gc()
        cpu = time.process_time() - t0
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_kib
    return {"cpu_s": round(cpu, 2), "rss_mb": round(grown / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", action="append", choices=("go1.8", "go1.27"))
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_case(*args.child)))
        return
    print(f"{'case':<16} {'profile':<7} {'CPU s':>7} {'peak RSS +MB':>13}")
    for case in args.case or list(CASES):
        for profile in args.profile or ["go1.8", "go1.27"]:
            out = subprocess.run(
                [sys.executable, __file__, "--child", profile, case],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout)
            print(f"{case:<16} {profile:<7} {r['cpu_s']:>7} {r['rss_mb']:>13}")


if __name__ == "__main__":
    main()
