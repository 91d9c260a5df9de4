"""What the collector records and prints the same way in every version (mgc.go).

``GCCycle`` is one collection as gctrace and the reports show it; a version
may extend it with its own columns. ``format_gctrace`` prints the
``GODEBUG=gctrace=1`` line, whose layout later versions keep and extend.
The gcMode constants have the same values in Go 1.8 and Go 1.27.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

gcBackgroundMode: Final = 0


gcForceMode: Final = 1


gcForceBlockMode: Final = 2


@dataclass(slots=True)
class GCCycle:
    """One collection, as gctrace and the reports show it (slots: a run keeps every cycle)."""

    n: int
    mode: int
    tSweepTerm: int
    tMark: int = 0
    tMarkTerm: int = 0
    tEnd: int = 0
    heap0: int = 0
    heap1: int = 0
    heap2: int = 0
    heapGoal: int = 0
    trigger: int = 0
    sweepTermCpu: int = 0
    assistTime: int = 0
    bgMarkTime: int = 0
    idleMarkTime: int = 0
    markTermCpu: int = 0
    maxprocs: int = 1
    pause_ns: int = 0
    bytesMarked: int = 0
    scanWork: int = 0
    objects_marked: int = 0
    gctrace: str = ""  # the cycle's gctrace line, exactly as Go 1.8 prints it

    @property
    def forced(self) -> bool:
        return self.mode != gcBackgroundMode


def itoaDiv(val: int, dec: int) -> str:
    """Go's itoaDiv: val with a decimal point dec digits from the right."""
    s = str(val)
    if dec <= 0:
        return s
    s = s.rjust(dec + 1, "0")
    return s[:-dec] + "." + s[-dec:]


def fmtNSAsMS(ns: int) -> str:
    if ns >= 10_000_000:
        return itoaDiv(ns // 1_000_000, 0)
    x = ns // 1000
    if x == 0:
        return "0"
    dec = 3
    while x >= 100:
        x //= 10
        dec -= 1
    return itoaDiv(x, dec)


def format_gctrace(c: GCCycle, start_ns: int, cpu_fraction: float, extra: str = "") -> str:
    """The gctrace=1 line, exactly as Go 1.8 prints it.

    ``extra`` goes between the goal and the P count: later Go versions print
    their stacks and globals columns there.
    """
    util = int(cpu_fraction * 100)
    clock = "+".join(
        fmtNSAsMS(b - a)
        for a, b in ((c.tSweepTerm, c.tMark), (c.tMark, c.tMarkTerm), (c.tMarkTerm, c.tEnd))
    )
    cpu = (
        f"{fmtNSAsMS(c.sweepTermCpu)}+{fmtNSAsMS(c.assistTime)}/{fmtNSAsMS(c.bgMarkTime)}"
        f"/{fmtNSAsMS(c.idleMarkTime)}+{fmtNSAsMS(c.markTermCpu)}"
    )
    line = (
        f"gc {c.n} @{itoaDiv((c.tSweepTerm - start_ns) // 1_000_000, 3)}s {util}%: "
        f"{clock} ms clock, {cpu} ms cpu, "
        f"{c.heap0 >> 20}->{c.heap1 >> 20}->{c.heap2 >> 20} MB, {c.heapGoal >> 20} MB goal, "
        f"{extra}{c.maxprocs} P"
    )
    if c.forced:
        line += " (forced)"
    return line
