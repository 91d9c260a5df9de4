"""The Console the text reports print to: standard output, without rich's padding at line ends.

rich pads every table cell to its column's width, the last one too, so
each row of a table ends in spaces. On a terminal nobody sees them; in a
file, a pipe or a diff they are noise. Off a terminal the Console writes
through :class:`RStripWriter`, which drops spaces before each newline (no
colour codes are written there, so nothing follows the spaces).
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console


class RStripWriter:
    """A text stream that strips trailing spaces from each line before passing it on."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._line = ""  # text after the last newline, held until its line ends

    def write(self, text: str) -> int:
        lines = (self._line + text).split("\n")
        self._line = lines.pop()
        if lines:
            self.out.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._line:
            self.out.write(self._line)
            self._line = ""
        self.out.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return getattr(self.out, "encoding", None) or "utf-8"


def stdout_console(width: int | None = None) -> Console:
    """A Console on standard output (as it is now: tests and the CLI replace it)."""
    if sys.stdout.isatty():
        return Console(width=width)
    return Console(file=RStripWriter(sys.stdout), width=width)  # type: ignore[arg-type]
