"""Progress of long work, on stderr: a bar on a terminal, a quiet line log when piped.

Nothing is shown for work that ends within ``SHOW_AFTER_S``. After that,
on a terminal, a transient rich bar (it disappears when the work ends);
when stderr is not a terminal (a pipe, a CI log), a line now and then:
each time another tenth of a known total is done, or every ``LOG_EVERY_S``
seconds when the total is unknown, and one line at the end. The
environment variable ``GOHEAP_PROGRESS`` (``bar``, ``log`` or ``off``)
overrides the choice.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, TYPE_CHECKING, Literal

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from goheap.heap import Heap

SHOW_AFTER_S = 1.0  # the bar, on a terminal
LOG_AFTER_S = 3.0  # the first line, when piped
LOG_EVERY_S = 5.0  # a line this often when the total is unknown
BAR_EVERY_S = 0.1  # the bar redraws at most this often from heap_callback
LOG_STEPS = 10  # else a line each time another tenth is done
ENV = "GOHEAP_PROGRESS"

Mode = Literal["bar", "log", "off"]
MODES: tuple[Mode, ...] = ("bar", "log", "off")


def default_mode(stream: IO[str] | None = None) -> Mode:
    """``GOHEAP_PROGRESS`` if set to a mode; else a bar on a terminal, a line log otherwise."""
    env = os.environ.get(ENV, "").strip().lower()
    for mode in MODES:
        if env == mode:
            return mode
    stream = stream or sys.stderr
    try:
        return "bar" if stream.isatty() else "log"
    except (AttributeError, ValueError):  # a closed or odd stream
        return "off"


def _clock(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class RunProgress:
    """Context manager; ``update(done, total, text)`` is cheap when nothing is shown.

    ``mode`` is ``bar``, ``log`` or ``off`` (None: ``default_mode()``);
    ``enabled`` (the older switch) is ``bar`` when true and ``off`` when false.
    """

    def __init__(
        self,
        label: str,
        *,
        enabled: bool | None = None,
        mode: Mode | None = None,
        stream: IO[str] | None = None,
        ticking: bool = False,
    ) -> None:
        self.label = label
        if mode is None and enabled is not None:
            mode = "bar" if enabled else "off"
        self.stream = stream or sys.stderr
        self.mode: Mode = mode or default_mode(self.stream)
        self.enabled = self.mode != "off"
        self.start = time.monotonic()
        self.progress: Progress | None = None
        self.task = 0
        self.logged = 0  # lines written in log mode
        self._next_log_s = LOG_AFTER_S
        self._next_step = 1  # the next tenth (of LOG_STEPS) to announce
        self._last = ""
        self._drawn = -BAR_EVERY_S
        self._last_log_s = 0.0
        self._state: tuple[float, float | None, str] = (0, None, "")
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if ticking and self.mode != "off":  # the clock moves even when the work says nothing
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self.update(*self._state)

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.progress is not None:
            self.progress.stop()
        if self.logged and exc is None:
            self._line("done")

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def due(self) -> bool:
        """Whether an update of unknown total would show anything now (a cheap check)."""
        if self.mode == "off":
            return False
        now = self.elapsed()
        if self.mode == "log":
            return now >= self._next_log_s
        if now < SHOW_AFTER_S or now - self._drawn < BAR_EVERY_S:
            return False
        self._drawn = now
        return True

    def update(self, done: float, total: float | None, text: str) -> None:
        if self.mode == "off":
            return
        with self._lock:
            self._state = (done, total, text)
            self._show(done, total, text)

    def _show(self, done: float, total: float | None, text: str) -> None:
        if self.mode == "log":
            self._log(done, total, text)
            return
        if self.progress is None:
            if self.elapsed() < SHOW_AFTER_S:
                return
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[text]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total, text="")
        self.progress.update(self.task, completed=done, total=total, text=text)

    def _log(self, done: float, total: float | None, text: str) -> None:
        """A line when another tenth is done (known total) or every LOG_EVERY_S (unknown)."""
        now = self.elapsed()
        if now < LOG_AFTER_S:
            if total:
                while done * LOG_STEPS >= self._next_step * total:  # passed before the first line
                    self._next_step += 1
            return
        if total:
            stepped = done * LOG_STEPS >= self._next_step * total
            if self.logged and not stepped and now - self._last_log_s < LOG_EVERY_S:
                return
            while done * LOG_STEPS >= self._next_step * total:
                self._next_step += 1
            share = f"{100 * done / total:.0f}%"
            self._line(f"{share}, {text}" if text else share)
        elif now >= self._next_log_s:
            self._next_log_s = now + LOG_EVERY_S
            self._line(text or "working")

    def _line(self, what: str) -> None:
        line = f"goheap: {self.label}: {what} ({_clock(self.elapsed())})"
        if line == self._last:
            return
        self._last = line
        self._last_log_s = self.elapsed()
        self.logged += 1
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr gone: the work goes on, unannounced
            self.mode = "off"

    def heap_callback(self) -> Callable[[Heap], None]:
        """For Session(progress=...): shows virtual time, allocations and GCs."""

        def report(heap: Heap) -> None:
            if not self.due():  # called at every timeline sample: return at once
                return
            snap = heap.runtime.snapshot()
            t_ms = (heap.clock.now - heap.gc_.start_ns) / 1e6
            heap_mib = snap.heap_inuse / (1 << 20)
            self.update(
                0, None, f"{t_ms:,.1f} ms virtual, NumGC={snap.numgc}, HeapInuse {heap_mib:.1f} MiB"
            )

        return report

    def count_callback(self, total: int, what: str) -> Callable[[int], None]:
        """For work done in ``total`` pieces: ``callback(done)`` after each."""

        def report(done: int) -> None:
            self.update(done, total, f"{done:,} of {total:,} {what}")

        with self._lock:
            self._state = (0, total, f"0 of {total:,} {what}")  # what a ticker shows first
        return report


def heartbeat(
    label: str, *, mode: Mode | None = None, stream: IO[str] | None = None
) -> RunProgress:
    """For one long step whose progress cannot be measured (a compile): elapsed time only.

    A bar with a clock on a terminal; when piped, a line every ``LOG_EVERY_S``
    seconds after ``LOG_AFTER_S``, from a timer thread.
    """
    return RunProgress(label, mode=mode, stream=stream, ticking=True)
