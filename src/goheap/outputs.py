"""Where the commands' results go: output paths checked before any work, then written.

Below every command (``goheap.cli`` and the ``command`` modules of
``pprof`` and ``validate``) and the report writers; it imports nothing of
goheap but its errors. A path of ``-`` means standard output.
"""

from __future__ import annotations

import sys
from pathlib import Path

from goheap.errors import GoheapError


def check_outputs(force: bool, *paths: str | None) -> None:
    """Refuse, before any work, to overwrite an existing output without -f."""
    for p in paths:
        if p and p != "-" and Path(p).exists() and not force:
            raise GoheapError(f"{p} exists; pass -f to overwrite it")
        if p and p != "-" and not Path(p).parent.resolve().is_dir():
            raise GoheapError(f"{p}: directory {Path(p).parent} does not exist")


def write_file(path: str | Path, text: str) -> None:
    """Write text (UTF-8) to path; a failure is one GoheapError naming the path."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as e:
        raise GoheapError(f"cannot write {path}: {e.strerror}") from None


def write_text(dest: str, text: str) -> None:
    """Write text to the file dest, or to standard output when dest is ``-``."""
    if dest == "-":
        sys.stdout.write(text)
        return
    write_file(dest, text)
