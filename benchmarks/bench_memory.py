"""The simulator's own memory against the heap it simulates (issue 12's memory target).

Issue 12 asks that goheap hold at most 1.2 x the simulated HeapSys + 200 MB
of resident memory. Each case runs ``goheap run`` in a Python process of its
own (so its peak RSS is its own) and prints the simulated heap's peak
HeapSys, the process's peak RSS (``ru_maxrss``), their ratio, and the
target with whether the run is inside it:

    python benchmarks/bench_memory.py                 # every case
    python benchmarks/bench_memory.py --case churn100k-gogc400

The peak HeapSys is the model's running maximum (``peak.HeapSys`` of the
run's JSON). RSS includes the interpreter and goheap's imports (the "start"
column: the same process before its run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

#: name -> goheap run arguments
CASES: dict[str, list[str]] = {
    "churn100k-gogc400": [
        "churn", "--param", "k=100000", "--param", "steps=400000", "--gogc", "400",
    ],
    "churn100k-gogc400-go1.8": [
        "churn", "--param", "k=100000", "--param", "steps=400000", "--gogc", "400",
        "--profile", "go1.8",
    ],
    "binarytrees18": ["binarytrees", "--param", "depth=18"],
    "large8": ["large", "--param", "window=8", "--param", "steps=2000"],
}  # fmt: skip

#: What the child process runs: goheap run in-process, then its own peak RSS.
CHILD = """
import contextlib, io, json, resource, sys
from goheap.cli import main
start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = main(["run", *sys.argv[1:], "--json", "-"])
if status:
    sys.exit(status)  # goheap said why on stderr
doc = json.loads(out.getvalue())
print(json.dumps({
    "start_kb": start_kb,
    "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "heap_sys": doc["peak"]["HeapSys"],
    "wall_s": doc["sim"]["wall_s"],
}))
"""

MB = 1 << 20
#: issue 12: at most this times the simulated HeapSys, plus FIXED_MB.
RATIO = 1.2
FIXED_MB = 200


def run_case(args: list[str]) -> dict[str, float]:
    """One case in a process of its own: its figures, or a one-line error."""
    p = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False
    )
    if p.returncode != 0:
        lines = p.stderr.strip().splitlines() or [f"exit status {p.returncode}"]
        raise SystemExit(f"bench_memory: goheap run {' '.join(args)}: {lines[-1]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", choices=sorted(CASES), help="only these cases")
    opts = ap.parse_args()
    names = opts.case or list(CASES)
    print("| case | peak HeapSys MB | start RSS MB | peak RSS MB | RSS / HeapSys | target MB | |")
    print("|---|--:|--:|--:|--:|--:|---|")
    for name in names:
        r = run_case(CASES[name])
        heap = r["heap_sys"] / MB
        start = r["start_kb"] / 1024
        peak = r["peak_kb"] / 1024
        target = RATIO * heap + FIXED_MB
        verdict = "inside" if peak <= target else "over"
        print(
            f"| {name} | {heap:,.0f} | {start:,.0f} | {peak:,.0f} | {peak / heap:.2f} |"
            f" {target:,.0f} | {verdict} |"
        )


if __name__ == "__main__":
    main()
