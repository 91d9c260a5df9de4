"""The progress display: silent unless enabled and the run outlasts a second."""

from __future__ import annotations

import goheap.progress as progress_mod
from goheap.progress import RunProgress


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
