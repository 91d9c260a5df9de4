"""goheap.validate.quiet: a real run waits for a CPU per P, out of one budget, and says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil

from goheap.validate.cases import Case, Settings
from goheap.validate.quiet import SLACK, QuietGate, enough, idle_cpus
from goheap.validate.real import BUSY_KEY, IDLE_KEY, collect_real
from goheap.validate.render import case_words
from goheap.validate.toolchain import Programs, Toolchain
from tests.test_validate import FAKE_ORACLE, fake_program


class FakeCPUs:
    """Idle-CPU readings in turn; each reading takes `step` seconds of a fake clock."""

    def __init__(self, readings: list[float], step: float = 1.0) -> None:
        self.readings: Iterator[float] = iter(readings)
        self.last = readings[-1]
        self.now = 0.0
        self.step = step

    def measure(self) -> float:
        self.now += self.step
        self.last = next(self.readings, self.last)
        return self.last

    def clock(self) -> float:
        return self.now


def test_a_p_needs_most_of_a_cpu_and_no_more_cpus_than_there_are() -> None:
    cpus = psutil.cpu_count() or 1
    assert enough(1 - SLACK, 1) and not enough(1 - SLACK - 0.01, 1)
    assert enough(cpus - SLACK, cpus + 3)  # more Ps than CPUs: every CPU idle is enough


def test_a_quiet_machine_runs_at_once() -> None:
    cpus = FakeCPUs([1.9])
    told: list[str] = []
    q = QuietGate(30, measure=cpus.measure, clock=cpus.clock).before_run(1, told.append)
    assert (q.idle_cpus, q.busy) == (1.9, False) and told == []


def test_a_busy_machine_is_waited_for_until_it_quiets() -> None:
    cpus = FakeCPUs([0.3, 0.4, 0.5, 0.9])
    told: list[str] = []
    gate = QuietGate(30, measure=cpus.measure, clock=cpus.clock)
    q = gate.before_run(1, told.append)
    assert (q.idle_cpus, q.busy, q.waited_s) == (0.9, False, 3.0)
    assert told == ["waiting up to 30 s for 1 idle CPU(s) (now 0.30)"]
    assert gate.budget_s == 27.0


def test_one_budget_for_the_validation_then_runs_go_at_once_marked_busy() -> None:
    cpus = FakeCPUs([0.2], step=2.0)
    gate = QuietGate(10, measure=cpus.measure, clock=cpus.clock)
    first = gate.before_run(2)
    assert first.busy and first.waited_s == 10.0 and gate.budget_s == 0.0
    told: list[str] = []
    second = gate.before_run(2, told.append)
    assert second.busy and second.waited_s == 0.0 and told == []


def test_idle_cpus_is_measured_and_bounded() -> None:
    idle = idle_cpus(0.05)
    assert 0.0 <= idle <= (psutil.cpu_count() or 1)


def test_the_table_marks_a_case_with_busy_runs() -> None:
    case = {"workload": "churn", "params": {"k": 10}, "real": {"runs": 5, "busy": 2}}
    assert case_words(case) == ["churn", "k=10", "[busy: 2/5 runs]"]
    case["real"]["busy"] = 0
    assert case_words(case) == ["churn", "k=10"]


def test_a_real_run_tells_how_long_it_waited(tmp_path: Path) -> None:
    tc = Toolchain(Path("/nonexistent/go"), "go1.99", tmp_path, "linux", "amd64")
    fake_program(tmp_path / "bin", "retain", FAKE_ORACLE)
    progs = Programs(tmp_path / "bin", "cafe", built=True)
    case = Case("retain", {}, (), "quiet-case", Settings("100", None, 2))
    cpus = FakeCPUs([0.5, 0.6, 1.9])  # busy twice, then two idle CPUs
    gate = QuietGate(30, measure=cpus.measure, clock=cpus.clock)
    heard: list[str] = []
    (doc,) = collect_real(
        tc, progs, case, 1, case.settings, None, gate=gate, tell=heard.append
    ).docs
    assert doc[IDLE_KEY] == 1.9 and doc[BUSY_KEY] is False
    assert heard == [
        "waiting up to 30 s for 2 idle CPU(s) (now 0.50)",
        "waited 2.0 s for idle CPUs",
    ]
