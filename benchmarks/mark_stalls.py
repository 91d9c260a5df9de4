"""Why some of Go 1.27's marks at two Ps last ten times the others: the stalls.

At GOMAXPROCS=2 with one allocating goroutine, most of the churn twin's
marks take about half a millisecond, a few take 3-8 ms with almost no GC
CPU (gctrace: 7.4 ms of clock, 0.3 ms of assists, 0.04 of workers), and
those set the run's peak heap. This script builds a Go program over copies
of the runtime's ``proc.go``, ``mgc.go`` and ``mgcmark.go`` that print,
while a mark runs:

* ``W`` / ``WE``: a mark worker starts (its P and mode: 1 dedicated,
  2 fractional, 3 idle) and stops (``gcBgMarkWorker``);
* ``A``: an assist's drain ends (``gcAssistAlloc1``): the scan work it did,
  the goroutine's ``gcAssistBytes`` after it, the assist ratio's bytes per
  unit of work;
* ``S``: an assist steals background credit (``bgScanCredit``): the units
  stolen, ``gcAssistBytes`` after, the ratio;
* ``MD`` / ``F``: a ``gcMarkDone`` attempt, and each P's flush in its
  ``forEachP`` (whether it flushed work);
* ``OFF`` / ``ON`` / ``PARK``: goroutine 1 leaves its P, runs again, is
  suspended for a stack scan (as ``offcpu_in_marks.py``);

and prints, per run, how long the marks took and the longest ones' events.
What it showed (Go 1.27.3, churn k=10,000, 2026-12-08, benchmarks/RESULTS.md):
an assist finds the mark complete (``gcEndWork``), ``gcMarkDone``'s flush
turns up work cached on the Ps, and the flushed work waits in the global
queue: the other P's thread is asleep and nothing wakes it
(``enlistWorker``'s ``wakep`` is commented out, golang.org/issue/19112).
The goroutine's next assist steals the background credit at the assist
ratio of a mark whose expected work is nearly done (hundreds of bytes a
unit of work), which buys it 25-30 MB of allocation before it assists
again and finishes the mark. Not a test::

    python benchmarks/mark_stalls.py tests/oracle/churn -- -k=10000 -steps=2000000
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from drain_order import MARK_BOUNDS, replace_once, run_instrumented  # sibling scripts
from offcpu_in_marks import PATCHES as OFFCPU_PATCHES

#: The runtime files the overlay replaces.
FILES = ("proc.go", "mgc.go", "mgcmark.go")

_ASSIST_DONE = "\tgp.gcAssistBytes += 1 + int64(assistBytesPerWork*float64(workDone))\n"
_STEAL = "\t\tgcController.bgScanCredit.Add(-stolen)\n"
_WORKER_START = "\t\tstartTime := nanotime()\n\t\tpp.gcMarkWorkerStartTime = startTime\n"
_MARK_DONE = "top:\n\t// Re-check transition condition under transition lock.\n"
_FLUSHED = "\t\tif pp.gcw.flushedWork {\n"

#: (file, anchor, replacement): each anchor found exactly once in Go 1.27's file.
PATCHES = (
    *(p for p in OFFCPU_PATCHES if p[0] == "proc.go"),
    (
        "mgc.go",
        _WORKER_START,
        _WORKER_START + '\t\tprint("W ", startTime/1000, " ", pp.id, " ", '
        'int(pp.gcMarkWorkerMode), "\\n")\n',
    ),
    (
        "mgc.go",
        "\t\tduration := now - startTime\n",
        '\t\tduration := now - startTime\n\t\tprint("WE ", now/1000, " ", pp.id, "\\n")\n',
    ),
    (
        "mgc.go",
        _MARK_DONE,
        _MARK_DONE.replace("top:\n", 'top:\n\tprint("MD ", nanotime()/1000, "\\n")\n'),
    ),
    (
        "mgc.go",
        _FLUSHED,
        '\t\tprint("F ", nanotime()/1000, " ", pp.id, " ", pp.gcw.flushedWork, "\\n")\n' + _FLUSHED,
    ),
    (
        "mgcmark.go",
        _ASSIST_DONE,
        _ASSIST_DONE + '\tif gcphase == _GCmark {\n\t\tprint("A ", nanotime()/1000, " ", workDone, '
        '" ", gp.gcAssistBytes, " ", int64(assistBytesPerWork), "\\n")\n\t}\n',
    ),
    (
        "mgcmark.go",
        _STEAL,
        _STEAL + '\t\tprint("S ", nanotime()/1000, " ", stolen, " ", gp.gcAssistBytes, " ", '
        'int64(assistBytesPerWork), "\\n")\n',
    ),
    *MARK_BOUNDS,
)

EVENTS = ("W", "WE", "MD", "F", "A", "S", "OFF", "ON", "PARK")


def patched(name: str, text: str) -> str:
    """The runtime file with the prints; SystemExit when an anchor is gone."""
    return replace_once("mark_stalls", name, text, PATCHES)


def marks_of(stderr: str) -> list[dict]:
    """The run's marks: start and end (us) and the events between."""
    marks: list[dict] = []
    cur: dict | None = None
    for line in stderr.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "GCSTART":
            cur = {"start": int(f[1]), "events": []}
            marks.append(cur)
        elif f[0] == "GCTERM" and cur is not None:
            cur["end"] = int(f[1])
            cur = None
        elif cur is not None and f[0] in EVENTS:
            cur["events"].append((f[0], int(f[1]), f[2:]))
    return [m for m in marks if "end" in m]


def summary(stderr: str, longest: int = 3) -> str:
    """One run: the marks' times, and the longest marks event by event."""
    marks = marks_of(stderr)
    if not marks:
        return "no marks"
    took = [m["end"] - m["start"] for m in marks]
    lines = [
        f"marks {len(marks)}: median {statistics.median(took):.0f} us, longest {max(took)} us,"
        f" {sum(t > 2000 for t in took)} over 2 ms"
    ]
    for m in sorted(marks, key=lambda m: m["start"] - m["end"])[:longest]:
        lines.append(f"-- a mark of {m['end'] - m['start']} us (us from its start)")
        for kind, at, rest in m["events"]:
            lines.append(f"   {kind:4} {at - m['start']:+7d}  {' '.join(rest)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_instrumented(__doc__, 2, FILES, patched, summary, argv)


if __name__ == "__main__":
    sys.exit(main())
