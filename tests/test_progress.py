"""The progress display: silent unless enabled and the run outlasts a second."""

from __future__ import annotations

import io
import time

import pytest

import goheap.progress as progress_mod
from goheap.progress import RunProgress, default_mode, heartbeat


def test_not_a_terminal_shows_nothing() -> None:
    with RunProgress("x", enabled=False) as bar:
        bar.update(1, 10, "")
        assert bar.progress is None


def test_shown_only_after_the_delay(monkeypatch) -> None:
    with RunProgress("x", enabled=True) as bar:
        bar.update(1, 10, "one")
        assert bar.progress is None  # under a second: nothing yet
        monkeypatch.setattr(progress_mod, "SHOW_AFTER_S", 0.0)
        bar.update(2, 10, "two")
        assert bar.progress is not None
        task = bar.progress.tasks[0]
        assert (task.completed, task.total, task.fields["text"]) == (2, 10, "two")
    assert not bar.progress.live.is_started  # stopped on exit


def test_heap_callback_reports_virtual_time(monkeypatch, heap) -> None:
    monkeypatch.setattr(progress_mod, "SHOW_AFTER_S", 0.0)
    with RunProgress("run", enabled=True) as bar:
        bar.heap_callback()(heap)
        assert bar.progress is not None
        assert "ms virtual, NumGC=0" in bar.progress.tasks[0].fields["text"]


# --- the line log (stderr not a terminal) ---------------------------------------------------


def _now(monkeypatch, seconds: list[float]) -> None:
    """time.monotonic, as the progress module reads it, is seconds[0] (set by the test)."""
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: seconds[0])


def test_the_log_is_silent_for_short_work(monkeypatch) -> None:
    clock = [100.0]
    _now(monkeypatch, clock)
    out = io.StringIO()
    with RunProgress("run x", mode="log", stream=out) as bar:
        for i in range(10):
            clock[0] += 0.2  # two seconds in all: under LOG_AFTER_S
            bar.update(i, 10, f"{i}")
    assert out.getvalue() == ""


def test_the_log_writes_a_line_a_tenth(monkeypatch) -> None:
    clock = [0.0]
    _now(monkeypatch, clock)
    out = io.StringIO()
    with RunProgress("compare c", mode="log", stream=out) as bar:
        clock[0] = 4.0  # past LOG_AFTER_S: the first update writes a line
        for done in range(0, 101):
            bar.update(done, 100, f"{done} of 100 runs")
    lines = out.getvalue().splitlines()
    assert lines[0] == "goheap: compare c: 0%, 0 of 100 runs (4 s)"
    assert [ln.split(": ")[2].split(",")[0] for ln in lines[1:-1]] == [
        f"{p}%" for p in range(10, 101, 10)
    ]
    assert lines[-1] == "goheap: compare c: done (4 s)"


def test_the_log_of_unknown_length_writes_every_few_seconds(monkeypatch) -> None:
    clock = [0.0]
    _now(monkeypatch, clock)
    out = io.StringIO()
    with RunProgress("replay t", mode="log", stream=out) as bar:
        for second in range(1, 21):
            clock[0] = float(second)
            bar.update(0, None, f"{second} events")
    lines = out.getvalue().splitlines()
    # at 3 s (LOG_AFTER_S), then every LOG_EVERY_S (5 s): 8, 13, 18; then the end
    assert [ln.split(": ")[2] for ln in lines] == [
        "3 events (3 s)", "8 events (8 s)", "13 events (13 s)", "18 events (18 s)", "done (20 s)",
    ]  # fmt: skip


def test_a_failure_ends_the_log_without_done(monkeypatch) -> None:
    clock = [0.0]
    _now(monkeypatch, clock)
    out = io.StringIO()
    with pytest.raises(RuntimeError), RunProgress("run x", mode="log", stream=out) as bar:
        clock[0] = 5.0
        bar.update(0, None, "working")
        raise RuntimeError
    assert out.getvalue().splitlines() == ["goheap: run x: working (5 s)"]


def test_the_mode_follows_the_environment_then_the_stream(monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv(progress_mod.ENV, raising=False)
    assert default_mode(Tty()) == "bar" and default_mode(io.StringIO()) == "log"
    for mode in ("bar", "log", "off"):
        monkeypatch.setenv(progress_mod.ENV, mode.upper())
        assert default_mode(io.StringIO()) == mode
    monkeypatch.setenv(progress_mod.ENV, "loud")  # not a mode: the stream decides
    assert default_mode(io.StringIO()) == "log"


def test_a_ticking_progress_writes_while_the_work_is_silent(monkeypatch) -> None:
    monkeypatch.setattr(progress_mod, "LOG_AFTER_S", 0.0)
    monkeypatch.setattr(progress_mod, "LOG_EVERY_S", 0.0)
    out = io.StringIO()
    with heartbeat("validate: building", mode="log", stream=out):
        time.sleep(1.2)  # the work says nothing; the ticker runs every 0.5 s
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("goheap: validate: building: working (")
    assert lines[-1].startswith("goheap: validate: building: done (")


def test_a_piped_run_is_not_silent(monkeypatch, capsys) -> None:
    """`goheap run ... | cat`: lines on stderr during the run, the tables on stdout."""
    from goheap.cli import main

    monkeypatch.setenv(progress_mod.ENV, "log")  # capsys's stderr is no terminal anyway
    monkeypatch.setattr(progress_mod, "LOG_AFTER_S", 0.0)
    monkeypatch.setattr(progress_mod, "LOG_EVERY_S", 0.0)
    assert main(["run", "churn", "--param", "steps=3000"]) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) >= 3 and all(ln.startswith("goheap: run churn: ") for ln in lines)
    assert "ms virtual, NumGC=" in lines[0] and lines[-1].startswith("goheap: run churn: done")
    assert "HeapInuse" in out and "goheap:" not in out
