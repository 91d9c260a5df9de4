"""Is the machine quiet enough to time a Go program? Idle CPUs, measured, and a short wait.

A real run's timing figures (NumGC, peaks) are the runtime's own only when
each of its Ps has a CPU to itself. With two Ps on a two-CPU machine, any
other busy process makes the run's mark workers, sysmon and scavenger wait
for the OS scheduler, and the cycles change shape: measured here, the
large-object window with GOMAXPROCS=2 ran 114-259 cycles with peaks of
0.7-3.1 GB at a 1-minute load of 2-4, against 839-881 cycles and 116-222 MB
on a quiet machine (docs/fidelity.md, "Quiet runs").

The 1-minute load average lags by a minute (a simulation that just ended
still counts), so this measures the CPUs' idle time over a short window
(psutil's ``cpu_percent``) right before each run, waits a little for
enough idle CPUs (:class:`QuietGate`), and otherwise runs anyway and says
so: the report marks such runs, it does not hide them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

#: How long each look at the CPUs lasts.
WINDOW_S = 0.25
#: How long one validation waits in all for a quiet machine; then runs go at once,
#: marked busy.
WAIT_S = 30.0
#: A P counts as having its CPU when that much of one is idle (the rest is noise:
#: the validation's own process, the kernel).
SLACK = 0.25


@dataclass(frozen=True)
class Quiet:
    """What the CPUs looked like just before a run."""

    idle_cpus: float  # CPUs' worth of idle time over the last window
    waited_s: float  # how long the run waited for them
    busy: bool  # fewer idle CPUs than the run's Ps (less SLACK) even after the wait


def idle_cpus(window_s: float = WINDOW_S) -> float:
    """How many CPUs' worth of time was idle over the next ``window_s`` seconds."""
    busy_percent = psutil.cpu_percent(interval=window_s)
    cpus = psutil.cpu_count() or 1
    return round(cpus * (100.0 - busy_percent) / 100.0, 2)


def enough(idle: float, procs: int) -> bool:
    """Whether ``idle`` CPUs give each of ``procs`` Ps (at most every CPU) one of its own."""
    cpus = psutil.cpu_count() or 1
    return idle >= min(procs, cpus) - SLACK


class QuietGate:
    """Waits before each real run for a CPU per P, out of one budget for a whole validation.

    A machine that stays busy costs at most ``budget_s`` of waiting in all
    (then every run goes at once and is marked busy), not a wait per run.
    """

    def __init__(
        self,
        budget_s: float = WAIT_S,
        *,
        measure: Callable[[], float] = idle_cpus,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget_s = budget_s
        self.measure = measure
        self.clock = clock

    def before_run(self, procs: int, tell: Callable[[str], None] = lambda s: None) -> Quiet:
        """Wait (out of what is left of the budget) for ``procs`` idle CPUs; what was found."""
        idle = self.measure()
        start = self.clock()
        if not enough(idle, procs) and self.budget_s > 0:
            tell(f"waiting up to {self.budget_s:.0f} s for {procs} idle CPU(s) (now {idle:.2f})")
            while not enough(idle, procs) and self.clock() - start < self.budget_s:
                idle = self.measure()
            self.budget_s = max(0.0, self.budget_s - (self.clock() - start))
        return Quiet(idle, round(self.clock() - start, 2), not enough(idle, procs))
