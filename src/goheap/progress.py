"""A progress display for long runs: shown on a terminal after one second, never otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from goheap.heap import Heap

SHOW_AFTER_S = 1.0


class RunProgress:
    """Context manager; ``update(done, total, text)`` is cheap when nothing is shown."""

    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.progress: Progress | None = None
        self.task = 0

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, done: float, total: float | None, text: str) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            if time.monotonic() - self.start < SHOW_AFTER_S:
                return
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[text]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total, text="")
        self.progress.update(self.task, completed=done, total=total, text=text)

    def heap_callback(self) -> Callable[[Heap], None]:
        """For Session(progress=...): shows virtual time, allocations and GCs."""

        def report(heap: Heap) -> None:
            if not self.enabled:
                return
            numgc = heap.runtime.snapshot().numgc
            t_ms = (heap.clock.now - heap.gc_.start_ns) / 1e6
            self.update(0, None, f"{t_ms:,.1f} ms virtual, {numgc} GCs")

        return report
