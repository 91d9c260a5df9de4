"""Instructions per allocation of the compiled build: a speed figure that load cannot move.

On a shared virtual machine the CPU time of one run moves by 30% from one
minute to the next (issue 12's measurements), which hides the 1-5% that
most speed changes are worth. This counts the instructions the simulator
executes instead, under valgrind's callgrind: binarytrees at ``--depth``
(default 12) on each profile, counting only while the compiled workload
runs (``--toggle-collect`` on its C function), so start-up and imports are
left out. The same tree gives the same count to within a few hundred
thousand in billions (dict and set order moves with the hash seed).

Valgrind cannot reserve the heap's 512 GiB of address space, so the child
caps every anonymous mapping at 32 GiB; binarytrees at these depths uses a
few MB of it. The cap changes no simulated number.

Needs valgrind (Debian's ``valgrind`` package) and the compiled build
(``python -m goheap.build``); the pure build has no C function to count
from. About 25 s per profile at depth 12, 2 min at depth 14.

    python benchmarks/bench_instructions.py                   # both profiles, depth 12
    python benchmarks/bench_instructions.py --depth 14 --profile go1.27

Compare two trees by running it with each on PYTHONPATH. This is a
benchmark: it prints figures and never asserts anything about speed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

PROFILES = ("go1.8", "go1.27")
#: The compiled workload's C function: counting runs while it is on the stack.
WORKLOAD_SYMBOL = "CPyDef_binarytrees___run_binarytrees"

# The child: every anonymous mapping capped (valgrind maps no 512 GiB), then the workload.
CHILD = """
import mmap, sys
_mmap = mmap.mmap
def _capped(fd, size, *args, **kwargs):
    return _mmap(fd, min(size, 1 << 35), *args, **kwargs)
mmap.mmap = _capped
from goheap.runner import RunOptions, Session
from goheap.workloads import get_workload
session = Session(RunOptions(profile=sys.argv[1], procs=1, gogc=100))
w = get_workload("binarytrees")
w.run(session.heap, {**w.defaults(), "depth": int(sys.argv[2])})
print(session.heap.memstats().Mallocs)
"""


def count(profile: str, depth: int) -> tuple[int, int]:
    """(instructions while the workload ran, allocations) of one run under callgrind."""
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        "--collect-atstart=no",
        f"--toggle-collect={WORKLOAD_SYMBOL}",
        sys.executable,
        "-c",
        CHILD,
        profile,
        str(depth),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or m is None:
        tail = r.stderr.strip().splitlines()[-3:]
        raise SystemExit(f"bench_instructions.py: the {profile} run failed: {' / '.join(tail)}")
    return int(m.group(1)), int(r.stdout.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=12, help="binarytrees depth (default 12)")
    ap.add_argument(
        "--profile", choices=PROFILES, action="append", help="only this profile (repeatable)"
    )
    args = ap.parse_args()
    if not 1 <= args.depth <= 18:
        print("bench_instructions.py: --depth must be from 1 to 18", file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None:
        print("bench_instructions.py: needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    import goheap.heap

    if not goheap.heap.__file__ or goheap.heap.__file__.endswith(".py"):
        print(
            "bench_instructions.py: needs the compiled build (python -m goheap.build)",
            file=sys.stderr,
        )
        return 2
    print(f"binarytrees depth={args.depth}, compiled, callgrind (workload only)")
    print("profile | allocs | instructions | per allocation")
    for profile in args.profile or PROFILES:
        n, allocs = count(profile, args.depth)
        print(f"{profile} | {allocs:,} | {n:,} | {n / allocs:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
