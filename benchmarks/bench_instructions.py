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

**Replay mode** (``--replay N``): the instructions of reading and of
replaying ``bench_replay.py``'s N-event churn trace, in each encoding. The
trace is written once; each child imports goheap and builds the heap
first, then counts only inside one ``functools.reduce`` that runs the
measured code (``--toggle-collect=functools_reduce``; imports run inside
``exec``, so that is no marker): ``parse`` opens the trace and decodes
every record as replay does (``TraceReader.batches()``; ``records()`` in
a tree without them), ``records`` reads a list per record
(``TraceReader.records()``), ``replay``
opens it and replays it into a go1.8 lifetime heap (``Replayer.replay``).
Either build can be counted this way (``GOHEAP_PURE=1`` too); about a
minute per 200,000 events compiled.

    python benchmarks/bench_instructions.py --replay 200000

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
import tempfile
from pathlib import Path

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

# The replay mode's child: argv = (trace file, "parse", "records", "replay" or "nothing").
REPLAY_CHILD = """
import mmap, sys
_mmap = mmap.mmap
def _capped(fd, size, *args, **kwargs):
    return _mmap(fd, min(size, 1 << 35), *args, **kwargs)
mmap.mmap = _capped
from functools import reduce
from goheap import Heap
from goheap.trace import Replayer, open_trace
path, what = sys.argv[1], sys.argv[2]
heap = Heap(profile="go1.8", liveness="lifetime")
def parse():
    reader = open_trace(path)
    if not hasattr(reader, "batches"):  # an older tree
        return records()
    n = 0
    for b in reader.batches():
        n += b.n
    return n
def records():
    n = 0
    for _ in open_trace(path).records():
        n += 1
    return n
def replay():
    return Replayer(heap).replay(open_trace(path))
def nothing():
    return 1
steps = {"parse": parse, "records": records, "replay": replay, "nothing": nothing}
print(reduce(lambda _, f: f(), [steps[what]], 0))
"""


def callgrind(args: list[str], toggle: str, what: str) -> tuple[int, str]:
    """(instructions counted while `toggle` was on the stack, the child's stdout)."""
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        "--collect-atstart=no",
        f"--toggle-collect={toggle}",
        sys.executable,
        "-c",
        *args,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or m is None:
        tail = r.stderr.strip().splitlines()[-3:]
        raise SystemExit(f"bench_instructions.py: the {what} run failed: {' / '.join(tail)}")
    return int(m.group(1)), r.stdout


def count(profile: str, depth: int) -> tuple[int, int]:
    """(instructions while the workload ran, allocations) of one run under callgrind."""
    n, out = callgrind([CHILD, profile, str(depth)], WORKLOAD_SYMBOL, profile)
    return n, int(out.split()[-1])


def count_replay(events: int) -> int:
    """Print the parse and replay instructions of an `events`-event churn trace per encoding."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_replay import write_trace

    import goheap.trace.reader

    build = "pure" if goheap.trace.reader.__file__.endswith(".py") else "compiled"
    print(f"replay of a {events:,}-event churn trace, {build}, callgrind")
    print("encoding | step | records | instructions | per record")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("binary", "ndjson"):
            path = os.path.join(tmp, f"trace.{fmt}")
            write_trace(Path(path), fmt, events, 1000)
            for what in ("parse", "records", "replay"):
                n, out = callgrind([REPLAY_CHILD, path, what], "functools_reduce", f"{fmt} {what}")
                recs = int(out.split()[-1])
                print(f"{fmt} | {what} | {recs:,} | {n:,} | {n / recs:,.0f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=12, help="binarytrees depth (default 12)")
    ap.add_argument(
        "--profile", choices=PROFILES, action="append", help="only this profile (repeatable)"
    )
    ap.add_argument(
        "--replay", type=int, default=0, metavar="N", help="count trace replay of N events instead"
    )
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("bench_instructions.py: needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.replay:
        return count_replay(args.replay)
    if not 1 <= args.depth <= 18:
        print("bench_instructions.py: --depth must be from 1 to 18", file=sys.stderr)
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
