"""What the collector records and prints the same way in every version (mgc.go).

``GCCycle`` is one collection as gctrace and the reports show it; a version
may extend it with its own columns. ``format_gctrace`` prints the
``GODEBUG=gctrace=1`` line, whose layout later versions keep and extend.
The gcMode constants have the same values in Go 1.8 and Go 1.27.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

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


def shared_after_own_drain(units: float, remaining: float, roots: float, shared: float) -> float:
    """The shared heap work left once the running P's drain has done ``units`` of mark work.

    Of the ``remaining`` work, ``roots`` is root jobs and ``shared`` heap work
    other Ps' workers can reach; the rest is in the running P's caches. Its
    drain takes the root jobs first, then its own cached work, and only then
    shared work (both profiles' ``_pay_own``; Go 1.8's model has no root jobs).
    """
    heap = units - min(units, roots)
    own = max(remaining - roots - shared, 0.0)
    if heap > own:
        return max(shared - (heap - own), 0.0)
    return shared


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


#: Formats one cycle's gctrace line from the cycle and GCCPUFraction at its end.
TraceFormat = Callable[[GCCycle, float], str]


class CycleRun:
    """``count`` cycles repeating the ``period`` cycles before them (an idle fast-forward).

    Cycle i of the run (0-based) is ``templates[i % period]`` moved on by
    ``i // period + 1`` repetitions: its number by ``period`` per repetition,
    its four instants by ``span_ns``. Its gctrace line is formatted afresh,
    with the collector's CPU time at its end (``cpu[i % period]`` plus
    ``cpu_step`` per repetition) over the time since ``start_ns``, as the
    collector computes GCCPUFraction at every cycle's end.
    """

    def __init__(
        self,
        templates: list[GCCycle],
        count: int,
        span_ns: int,
        cpu: list[int],
        cpu_step: int,
        start_ns: int,
        fmt: TraceFormat,
    ) -> None:
        self.templates = templates
        self.count = count
        self.span_ns = span_ns
        self.cpu = cpu
        self.cpu_step = cpu_step
        self.start_ns = start_ns
        self.fmt = fmt

    def cpu_fraction(self, i: int) -> float:
        """GCCPUFraction at the end of cycle i of the run (as mark termination computes it)."""
        period = len(self.templates)
        reps = i // period + 1
        t = self.templates[i % period]
        elapsed = (t.tEnd + reps * self.span_ns - self.start_ns) * t.maxprocs
        total = self.cpu[i % period] + reps * self.cpu_step
        return total / elapsed if elapsed > 0 else 0.0

    def cycle(self, i: int) -> GCCycle:
        """Cycle i of the run, built on demand."""
        period = len(self.templates)
        reps = i // period + 1
        t = self.templates[i % period]
        shift = reps * self.span_ns
        c = dataclasses.replace(
            t,
            n=t.n + reps * period,
            tSweepTerm=t.tSweepTerm + shift,
            tMark=t.tMark + shift,
            tMarkTerm=t.tMarkTerm + shift,
            tEnd=t.tEnd + shift,
        )
        c.gctrace = self.fmt(c, self.cpu_fraction(i))
        return c


class CycleLog:
    """Every collection of a heap in order: a list, with fast-forwarded runs held whole.

    It reads as a list of ``GCCycle`` (len, index, slice, iterate, ==); a
    run of identical idle cycles (``add_run``) costs its size, not its
    count, and each of its cycles is built when read.
    """

    def __init__(self) -> None:
        # Each part: a concrete cycle, or a run of repeated ones.
        self._parts: list[GCCycle | CycleRun] = []
        self._starts: list[int] = []  # index of each part's first cycle
        self._len = 0

    def append(self, c: GCCycle) -> None:
        self._parts.append(c)
        self._starts.append(self._len)
        self._len += 1

    def add_run(self, run: CycleRun) -> None:
        if run.count <= 0:
            return
        self._parts.append(run)
        self._starts.append(self._len)
        self._len += run.count

    def __len__(self) -> int:
        return self._len

    def _at(self, i: int) -> GCCycle:
        j = bisect.bisect_right(self._starts, i) - 1
        part = self._parts[j]
        if isinstance(part, CycleRun):
            return part.cycle(i - self._starts[j])
        return part

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self._at(k) for k in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("cycle index out of range")
        return self._at(i)

    def __iter__(self) -> Iterator[GCCycle]:
        for part in self._parts:
            if isinstance(part, CycleRun):
                for k in range(part.count):
                    yield part.cycle(k)
            else:
                yield part

    def __bool__(self) -> bool:
        return self._len > 0

    def listing(self, limit: int) -> tuple[list[GCCycle], list[tuple[int, int, list[int], int]]]:
        """The cycles to list one by one, and the fast-forwarded stretches left out.

        A run of more than ``limit`` cycles is listed by its first and last
        cycle; the ones between are left out as (first number, last number,
        the numbers of the cycles they repeat, the period's length in ns),
        as gctrace prints them.
        """
        shown: list[GCCycle] = []
        left_out: list[tuple[int, int, list[int], int]] = []
        for part in self._parts:
            if not isinstance(part, CycleRun):
                shown.append(part)
            elif part.count <= limit:
                shown.extend(part.cycle(k) for k in range(part.count))
            else:
                first, last = part.cycle(0), part.cycle(part.count - 1)
                shown.append(first)
                like = [t.n for t in part.templates]
                left_out.append((first.n + 1, last.n - 1, like, part.span_ns))
                shown.append(last)
        return shown, left_out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CycleLog):
            return list(self) == list(other)
        if isinstance(other, list):
            return len(other) == self._len and list(self) == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"CycleLog({self._len} cycles, {len(self._parts)} parts)"
