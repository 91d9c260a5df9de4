"""Go 1.27's background scavenger turn by turn: what it releases, in how many calls, how long.

Builds a Go program (a twin's directory) with ``go build -overlay`` over
copies of the runtime's ``mgcscavenge.go`` and ``mgc.go`` that print

* ``SCAV``: a turn of ``bgscavenge`` (``scavenger.run``): when it began
  (nanotime, us), its wall time, the time it measured as worked, the KiB it
  released, its ``sysUnused`` calls (one madvise each), the GC phase when
  it began and ended, and its P;
* ``GCSTART`` / ``GCTERM``: a background mark's start (``gcStart`` returns)
  and its termination (``work.tMarkTerm``), nanotime in us;

runs it with the GOMAXPROCS asked, and prints per run: the turns (and how
many began inside a mark), their wall and worked time, what they released
in how many calls, the time per call and per 4 KiB page, and how much of
the marks' time a turn overlapped. A release made while another thread of
the process runs costs more (the kernel flushes that CPU's TLB: an IPI):
the churn twin (-k 10000) pays 2.7 us a call at one P and 8-9 at two
(benchmarks/RESULTS.md, session 23). The prints cost a little; the
program's copy of the runtime is patched at build time only. Not a test::

    python benchmarks/scavenger_turns.py --procs 2 tests/oracle/large -- -window=8 -steps=10000
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from drain_order import MARK_BOUNDS, replace_once, run_instrumented  # a sibling script

#: The runtime files the overlay replaces.
FILES = ("mgcscavenge.go", "mgc.go")

#: (file, anchor, replacement): each anchor found exactly once in Go 1.27's file.
PATCHES = (
    (
        "mgcscavenge.go",
        "\t\treleased, workTime := scavenger.run()\n",
        "\t\tgoheapT0, goheapC0, goheapPh0 := nanotime(), goheapScavCalls, gcphase\n"
        "\t\treleased, workTime := scavenger.run()\n"
        '\t\tprint("SCAV ", goheapT0/1000, " ", (nanotime()-goheapT0)/1000, " ",'
        ' int64(workTime)/1000, " ", released/1024, " ", goheapScavCalls-goheapC0, " ",'
        ' goheapPh0, " ", gcphase, " ", getg().m.p.ptr().id, "\\n")\n',
    ),
    (
        "mgcscavenge.go",
        "\t\t\t\tsysUnused(unsafe.Pointer(addr), uintptr(npages)*pageSize)\n",
        "\t\t\t\tsysUnused(unsafe.Pointer(addr), uintptr(npages)*pageSize)\n"
        "\t\t\t\tgoheapScavCalls++\n",
    ),
    *MARK_BOUNDS,
)
#: The counter the patch adds (a runtime global; the scavenger's lock guards its updates).
COUNTER = "\n// goheapScavCalls counts sysUnused calls (benchmarks/scavenger_turns.py).\n"
COUNTER += "var goheapScavCalls int64\n"


def patched(name: str, text: str) -> str:
    """The runtime file with the prints; SystemExit when an anchor is gone."""
    text = replace_once("scavenger_turns", name, text, PATCHES)
    return text + COUNTER if name == "mgcscavenge.go" else text


def summary(stderr: str) -> str:
    """One run's turns against its marks."""
    turns, starts, terms = [], [], []
    for line in stderr.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "SCAV":
            turns.append([int(x) for x in rest.split()])
        elif kind == "GCSTART":
            starts.append(int(rest))
        elif kind == "GCTERM":
            terms.append(int(rest))
    marks = list(zip(starts, terms, strict=False))
    overlap = sum(
        max(0, min(end, t0 + wall) - max(start, t0))
        for t0, wall, *_ in turns
        for start, end in marks
    )
    wall = sum(t[1] for t in turns)
    worked = sum(t[2] for t in turns)
    kib = sum(t[3] for t in turns)
    calls = sum(t[4] for t in turns)
    in_mark = sum(1 for t in turns if t[5] != 0)
    mark_ms = sum(end - start for start, end in marks) / 1e3
    per_call = worked * 1e3 / calls if calls else float("nan")
    per_page = worked * 1e3 / (kib / 4) if kib else float("nan")
    return (
        f"turns {len(turns)} ({in_mark} began in a mark): wall {wall / 1e3:.1f} ms, worked"
        f" {worked / 1e3:.1f} ms, released {kib / 1024:.0f} MiB in {calls} calls:"
        f" {per_call:.0f} ns a call, {per_page:.0f} ns a 4 KiB page; marks {len(marks)},"
        f" {mark_ms:.1f} ms, {overlap / 1e3:.1f} ms of it with a turn running"
    )


def main(argv: list[str] | None = None) -> int:
    return run_instrumented(__doc__, 1, FILES, patched, summary, argv)


if __name__ == "__main__":
    sys.exit(main())
