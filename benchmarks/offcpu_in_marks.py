"""How long the program's goroutine is off its CPU while Go 1.27 marks.

At one P the program runs through a mark but for its assists. At two Ps
the runtime takes its P from it now and then: ``forEachP`` (``gcMarkDone``'s
flush of every P's buffers) preempts it, and the other P's stack-scan job
suspends it (``suspendG``); its P's ``schedule`` then runs
``findRunnableGCWorker`` first, a mark worker, before the goroutine runs
again. This script builds a Go program (a twin's directory) with
``go build -overlay`` over copies of the runtime's ``proc.go`` and
``mgc.go`` that print, for goroutine 1 (the program's ``main``) while a mark
runs:

* ``OFF``: it leaves its P (``goschedImpl``: preempted or yielding), and
  the P; ``PARK``: it is suspended for a stack scan (``preemptPark``);
* ``ON``: it runs again (``execute``), and on which P;
* ``GCSTART`` / ``GCTERM``: a background mark's start and termination;

runs it with the GOMAXPROCS asked and prints per run: the marks and their
time, how often the goroutine left its CPU in them (and how often for a
stack scan), for how long in all and as a share of the marks' time, how
often it came back on the same P, and the median and longest time off.
The prints run only at those switches, so they cost little. Not a test::

    python benchmarks/offcpu_in_marks.py --procs 2 tests/oracle/binarytrees -- -depth 16
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from drain_order import MARK_BOUNDS, replace_once, run_instrumented  # a sibling script

#: The runtime files the overlay replaces.
FILES = ("proc.go", "mgc.go")

IN_MARK = "if gp.goid == 1 && gcphase == _GCmark {\n"
#: (file, anchor, replacement): each anchor found exactly once in Go 1.27's file.
PATCHES = (
    (
        "proc.go",
        "\tdropg()\n\tif preempted && sched.gcwaiting.Load() {\n",
        f'\tdropg()\n\t{IN_MARK}\t\tprint("OFF ", nanotime()/1000, " ", pp.id, "\\n")\n\t}}\n'
        "\tif preempted && sched.gcwaiting.Load() {\n",
    ),
    (
        "proc.go",
        "func preemptPark(gp *g) {\n\tstatus := readgstatus(gp)\n",
        f'func preemptPark(gp *g) {{\n\t{IN_MARK}\t\tprint("PARK ", nanotime()/1000, "\\n")\n\t}}\n'
        "\tstatus := readgstatus(gp)\n",
    ),
    (
        "proc.go",
        "func execute(gp *g, inheritTime bool) {\n\tmp := getg().m\n",
        "func execute(gp *g, inheritTime bool) {\n\tmp := getg().m\n"
        f'\t{IN_MARK}\t\tprint("ON ", nanotime()/1000, " ", mp.p.ptr().id, "\\n")\n\t}}\n',
    ),
    *MARK_BOUNDS,
)


def patched(name: str, text: str) -> str:
    """The runtime file with the prints; SystemExit when an anchor is gone."""
    return replace_once("offcpu_in_marks", name, text, PATCHES)


def summary(stderr: str) -> str:
    """One run's marks, and the goroutine's time off its CPU in them."""
    marks: list[list[int]] = []
    away: list[tuple[int, bool, bool]] = []  # (us off, suspended, back on the same P)
    left: tuple[int, bool, int] | None = None
    for line in stderr.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "GCSTART":
            marks.append([int(f[1]), 0])
        elif f[0] == "GCTERM" and marks:
            marks[-1][1] = int(f[1])
        elif f[0] == "OFF":
            left = (int(f[1]), False, int(f[2]))
        elif f[0] == "PARK":
            left = (int(f[1]), True, -1)
        elif f[0] == "ON" and left is not None:
            away.append((int(f[1]) - left[0], left[1], int(f[2]) == left[2]))
            left = None
    mark_us = sum(end - start for start, end in marks if end)
    off_us = sum(a[0] for a in away)
    same = sum(1 for a in away if a[2])
    preempted = sum(1 for a in away if not a[1])
    times = [a[0] for a in away] or [0]
    return (
        f"marks {len(marks)}, {mark_us / 1e3:.1f} ms; off its CPU {len(away)} times"
        f" ({len(away) - preempted} for a stack scan), {off_us / 1e3:.2f} ms ="
        f" {off_us / max(mark_us, 1):.1%} of the marks; back on the same P {same} of"
        f" {preempted}; off {statistics.median(times):.0f} us median, {max(times)} us longest"
    )


def main(argv: list[str] | None = None) -> int:
    return run_instrumented(__doc__, 2, FILES, patched, summary, argv)


if __name__ == "__main__":
    sys.exit(main())
