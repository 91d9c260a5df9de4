"""SIGINT and SIGTERM as one exception, ``Interrupted``, raised where it is safe.

Below the commands, the process pool and the trace writer; it imports
nothing of goheap. ``goheap.cli`` turns both signals into ``Interrupted``
(a ``KeyboardInterrupt``, so every ``except KeyboardInterrupt`` cleans up
for SIGTERM as for Ctrl-C) and exits ``128 + signal`` (130, 143) with one
line. Code that must not be cut in the middle of a step (the trace writer
between two records) installs a handler of its own that defers the signal.

A simulation defers them too (``deferred_signals``): its hot code may be
compiled by mypyc, and a handler that raises inside a C-API call there (a
long-integer operation checks for signals) ends the process with mypyc's
"fatal: out of memory". The signal is noted and raised at the next
``safe_point`` -- each timeline sample (every GC start and end and every
sampling tick of virtual time) and the end of the block.
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


_pending: list[int] = []  # a deferred signal, waiting for the next safe point


def defer_signal(signum: int, frame: FrameType | None) -> None:
    """A handler that only notes the signal (the first one) for ``safe_point``."""
    if not _pending:
        _pending.append(signum)


def safe_point() -> None:
    """Raise Interrupted for a signal ``defer_signal`` noted, if any."""
    if _pending:
        raise Interrupted(_pending.pop())


@contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT and SIGTERM wait for a ``safe_point`` inside the block, and for its end."""
    _pending.clear()
    with signals_call(defer_signal):
        try:
            yield
        finally:
            if _pending and threading.current_thread() is threading.main_thread():
                safe_point()


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
