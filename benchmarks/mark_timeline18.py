"""What each background mark of a live Go 1.8 spends its time on, event by event.

Builds a Go 1.8 program against a copy of a Go 1.8 GOROOT whose runtime prints,
timestamped in microseconds from the mark's start (``markStartTime``):

* ``ASSIST``: each assist's drain ends (``gcAssistAlloc1``): work done, work
  asked, root jobs taken so far of all;
* ``STEAL``: an assist takes background credit (``gcAssistAlloc``);
* ``PARK``: an assist found no work and parks until credit comes;
* ``W``: a background worker's stint ends: its P, mode (0 dedicated, 1
  fractional, 2 idle), start and duration;
* ``MARK2``: ``gcMarkDone``'s transition from mark 1 to mark 2;
* ``TERM``: its transition to mark termination.

It runs the program with the GOMAXPROCS asked and prints, per background
cycle, the events and a summary: the first assist's work, how long the mark
ran on after the mark-2 transition (the tail), the workers' time. The prints
cost a few microseconds each, a few per cycle: the cycle's shape stands, its
times are a little longer. Not a test: it needs Go 1.8 and prints figures::

    python benchmarks/mark_timeline18.py --procs 2 ~/.cache/goheap/go1.8/go \\
        tests/oracle/go18/churn -- -k 10000 -steps 600000

Nothing of Go's is kept here: the copy is patched at build time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

from drain_order import build_go18, insert_prints, run_traced  # benchmarks/: shared

SINCE = "(nanotime()-gcController.markStartTime)/1000"

# (file, anchor, text inserted after the anchor): each anchor once in Go 1.8.
PATCHES = (
    (
        "mgcmark.go",
        "\tworkDone := gcDrainN(gcw, scanWork)\n",
        f'\tprint("ASSIST ", {SINCE}, " ", workDone, " ", scanWork, " ",'
        ' work.markrootNext, " ", work.markrootJobs, "\\n")\n',
    ),
    (
        "mgcmark.go",
        "\t\tatomic.Xaddint64(&gcController.bgScanCredit, -stolen)\n",
        f'\t\tprint("STEAL ", {SINCE}, " ", stolen, "\\n")\n',
    ),
    (
        "mgc.go",
        "\t\t// Transition from mark 1 to mark 2.\n",
        f'\t\tprint("MARK2 ", {SINCE}, "\\n")\n',
    ),
    (
        "mgc.go",
        "\t\t// Transition to mark termination.\n",
        f'\t\tprint("TERM ", {SINCE}, "\\n")\n',
    ),
    (
        "mgc.go",
        "\t\tduration := nanotime() - startTime\n",
        '\t\tprint("W ", (startTime-gcController.markStartTime)/1000, " ", duration/1000,'
        ' " ", _p_.id, " ", int(_p_.gcMarkWorkerMode), "\\n")\n',
    ),
)
PARK_PRINT = f'\t\tprint("PARK ", {SINCE}, "\\n")\n'


def patch(name: str, text: str) -> str:
    """Go 1.8's runtime file `name` with the timeline's prints; SystemExit if an anchor is gone."""
    return insert_prints("mark_timeline18", name, text, PATCHES, PARK_PRINT)


def read_timeline(stderr: str) -> list[dict[str, object]]:
    """Per background cycle: its gctrace line, events (kind, numbers) and summary figures.

    The events before a gctrace line are that cycle's (gctrace prints at the
    end of mark termination)."""
    cycles: list[dict[str, object]] = []
    events: list[tuple[str, list[int]]] = []
    for line in stderr.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("ASSIST", "STEAL", "PARK", "W", "MARK2", "TERM"):
            try:
                events.append((kind, [int(x) for x in rest.split()]))
            except ValueError:
                continue
        elif line.startswith("gc "):
            if "(forced)" not in line:
                cycles.append(summarize(line, events))
            events = []
    return cycles


def summarize(gctrace: str, events: list[tuple[str, list[int]]]) -> dict[str, object]:
    """The figures of one cycle's events."""
    first = {kind: nums for kind, nums in reversed(events)}  # each kind's first event
    assists = [nums[1] for kind, nums in events if kind == "ASSIST"]
    mark2 = first.get("MARK2", [None])[0]
    term = first.get("TERM", [None])[0]
    return {
        "gctrace": gctrace,
        "events": events,
        "first_assist": assists[0] if assists else None,
        "assists": len(assists),
        "parks": sum(kind == "PARK" for kind, _ in events),
        "worker_us": sum(nums[1] for kind, nums in events if kind == "W"),
        "mark2_us": mark2,
        "term_us": term,
        "tail_us": term - mark2 if mark2 is not None and term is not None else None,
    }


def report(cycles: list[dict[str, object]], show: int) -> None:
    for c in cycles[len(cycles) - show :] if show > 0 else ():
        print(c["gctrace"])
        for kind, nums in c["events"]:  # type: ignore[attr-defined]
            print(f"  {kind:6} {' '.join(map(str, nums))}")
    tails = [c["tail_us"] for c in cycles if c["tail_us"] is not None]
    firsts = [c["first_assist"] for c in cycles if c["first_assist"] is not None]
    workers = [c["worker_us"] for c in cycles]
    print(f"\n{len(cycles)} background cycles")
    if tails:
        long = sum(t > 1000 for t in tails)  # type: ignore[operator]
        print(f"  mark 2 -> termination: median {statistics.median(tails)} us, > 1 ms in {long}")
    if firsts:
        print(f"  first assist's work: median {statistics.median(firsts)} units")
    print(f"  workers' time per cycle: median {statistics.median(workers)} us")
    parked = sum(bool(c["parks"]) for c in cycles)
    print(f"  cycles in which an assist parked: {parked}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("goroot", type=Path, help="a Go 1.8 GOROOT (copied, then patched)")
    ap.add_argument("package", type=Path, help="the Go program's directory (a Go 1.8 twin)")
    ap.add_argument("args", nargs="*", help="its arguments (after --)")
    ap.add_argument("--procs", type=int, default=2, help="GOMAXPROCS")
    ap.add_argument("--show", type=int, default=3, help="late cycles to print event by event")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        exe = tmp / "prog"
        patches = {name: partial(patch, name) for name in ("mgc.go", "mgcmark.go")}
        build_go18(a.goroot, a.package.resolve(), exe, tmp, patches)
        stderr = run_traced(exe, a.args, a.procs)
    cycles = read_timeline(stderr)
    if not cycles:
        sys.exit("mark_timeline18: no background cycle ran")
    report(cycles, a.show)


if __name__ == "__main__":
    main()
