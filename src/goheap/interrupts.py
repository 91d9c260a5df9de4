"""SIGINT and SIGTERM as one exception, ``Interrupted``, raised where it is safe.

Below the commands, the process pool and the trace writer; it imports
nothing of goheap. ``goheap.cli`` turns both signals into ``Interrupted``
(a ``KeyboardInterrupt``, so every ``except KeyboardInterrupt`` cleans up
for SIGTERM as for Ctrl-C) and exits ``128 + signal`` (130, 143) with one
line. Code that must not be cut in the middle of a step (the trace writer
between two records) installs a handler of its own that defers the signal.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[int, FrameType | None], None]


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``note`` says what was kept (one line, or "")."""

    def __init__(self, signum: int = signal.SIGINT, note: str = "") -> None:
        super().__init__(signum, note)
        self.signum = signum
        self.note = note

    @property
    def exit_status(self) -> int:
        """What a shell reports for a process the signal ended: 128 + its number."""
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def signal_number(e: KeyboardInterrupt) -> int:
    """The signal behind an interrupt (a bare KeyboardInterrupt is SIGINT's)."""
    return e.signum if isinstance(e, Interrupted) else int(signal.SIGINT)


def raise_interrupted(signum: int, frame: FrameType | None) -> None:
    """The handler that makes SIGINT and SIGTERM alike: raise Interrupted."""
    raise Interrupted(signum)


@contextmanager
def signals_call(handler: Handler = raise_interrupted) -> Iterator[None]:
    """SIGINT and SIGTERM call ``handler`` inside the block (main thread only; elsewhere: as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
