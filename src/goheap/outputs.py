"""Where the commands' results go: output paths checked before any work, then written whole.

Below every command (``goheap.cli`` and the ``command`` modules of
``pprof`` and ``validate``), the report writers and the trace and pprof
writers; it imports nothing of goheap but its errors. Two rules:

* **Checked first.** ``check_outputs`` looks at every output a command
  will write, by the option that names it, before any work: ``-`` is
  standard output (at most one output may go there, and only where the
  option allows it), a file's directory exists and is writable, the path is
  not a directory, an existing file is replaced only with ``-f``, and no
  output is another output or one of the command's inputs (the same file
  by inode, or by resolved path before it exists).
* **Announced.** Inside ``announcing(tell)`` (the CLI's ``main``), every
  file put in place is told to ``tell`` (``goheap: wrote PATH`` on
  stderr); standard output and devices are not, nor a file put in place
  while an error or interrupt is being handled (its one line names it).
* **Written whole.** ``OutputFile`` writes to a temporary name beside the
  file and renames it into place (``os.replace``) only when it is
  complete, so a failure or an interrupt leaves the old file or nothing,
  never a partial or empty one. An existing file that is not a regular
  file (``/dev/null``, a FIFO) is written in place. Every failure is one
  ``GoheapError`` naming the path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import IO

from goheap.errors import GoheapError

STDOUT = "-"

#: Told the path of each file put in place (innermost last); empty: nobody is told.
_TELL: list[Callable[[str], None]] = []


@contextlib.contextmanager
def announcing(tell: Callable[[str], None]) -> Iterator[None]:
    """Within the block, ``tell(path)`` after each output file is complete and in place."""
    _TELL.append(tell)
    try:
        yield
    finally:
        _TELL.remove(tell)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _identity(path: str) -> tuple[int, int] | str:
    """What makes two paths one file: (device, inode) if it exists, else the resolved path."""
    st = _stat(path)
    return (st.st_dev, st.st_ino) if st is not None else os.path.realpath(path)


def _check_writable(option: str, path: str, force: bool) -> None:
    """One file output: its directory exists and is writable; an existing file needs -f."""
    st = _stat(path)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise GoheapError(f"{option} {path}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not os.access(path, os.W_OK):  # a device or FIFO: written in place
            raise GoheapError(f"{option} {path}: not writable")
        return
    parent = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(parent):
        raise GoheapError(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GoheapError(f"{option} {path}: directory {parent} is not writable")
    if st is not None and not force:
        raise GoheapError(f"{option} {path} exists; pass -f to overwrite it")


def check_outputs(
    force: bool,
    outputs: Mapping[str, str | None],
    inputs: Mapping[str, str | None] | None = None,
    *,
    file_only: Mapping[str, str] | None = None,
) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy something.

    ``outputs`` and ``inputs`` map each option (``"--json"``, ``"TRACE"``) to
    its path (None: not given); ``file_only`` maps the outputs that refuse
    ``-`` to the reason. Errors name the option and the path.
    """
    given = {opt: p for opt, p in outputs.items() if p is not None}
    for opt, p in given.items():
        if not p:
            raise GoheapError(f"{opt} '': give a file path, or - for standard output")
    to_stdout = [opt for opt, p in given.items() if p == STDOUT]
    for opt in to_stdout:
        why = (file_only or {}).get(opt)
        if why is not None:
            raise GoheapError(f"{opt} -: {why}; give a file path")
    if len(to_stdout) > 1:
        both = " and ".join(f"{opt} -" for opt in to_stdout)
        raise GoheapError(f"{both}: only one output can go to standard output")
    files = {opt: p for opt, p in given.items() if p != STDOUT}
    _check_distinct(files, inputs or {})
    for opt, p in files.items():
        _check_writable(opt, p, force)


def _check_distinct(files: Mapping[str, str], inputs: Mapping[str, str | None]) -> None:
    """No output is another output or an input (-f or not: that would destroy it)."""
    seen: dict[tuple[int, int] | str, str] = {}  # each file, and what names it
    for opt, p in inputs.items():
        if p is not None and p != STDOUT:
            seen.setdefault(_identity(p), f"the input {opt} {p}")
    for opt, p in files.items():
        st = _stat(p)
        if st is not None and stat.S_ISCHR(st.st_mode):
            continue  # /dev/null and the like: writing one output does not destroy another
        key = _identity(p)
        other = seen.get(key)
        if other is not None:
            raise GoheapError(f"{opt} {p}: the same file as {other}; give another path")
        seen[key] = f"{opt} {p}"


def _error(path: str, e: OSError) -> Exception:
    """A failed write as one GoheapError naming the path.

    A broken pipe on standard output stays what it is: the reader stopped
    reading (``| head``), which is not an error to report.
    """
    if path == STDOUT and isinstance(e, BrokenPipeError):
        return e
    where = "standard output" if path == STDOUT else path
    return GoheapError(f"cannot write {where}: {e.strerror or e}")


class OutputFile:
    """One output being written: ``stream`` takes the bytes, ``commit()`` puts them in place.

    A regular file (or a new one) is written under a temporary name beside
    it and renamed into place by ``commit()``; ``discard()`` (or an
    exception inside ``with``) removes the temporary file and leaves the old
    one. ``-`` is standard output and a device or FIFO is written in place:
    there, what was written stays. ``error(e)`` is the GoheapError for an
    OSError from writing ``stream``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._tmp: str | None = None
        self._own = True
        self.stream: IO[bytes]
        if self.path == STDOUT:
            sys.stdout.flush()
            self.stream = sys.stdout.buffer
            self._own = False
            return
        target = os.path.realpath(self.path)  # a link is followed, not replaced
        st = _stat(target)
        try:
            if st is not None and not stat.S_ISREG(st.st_mode):
                self.stream = open(target, "wb")  # noqa: SIM115
                return
            self._target = target
            head, name = os.path.split(target)
            tmp = os.path.join(head, f".{name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            self._tmp = tmp
            if st is not None:
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
            self.stream = open(fd, "wb", buffering=1 << 16)  # noqa: SIM115
        except OSError as e:
            self.discard()
            raise _error(self.path, e) from None

    def error(self, e: OSError) -> Exception:
        """The one-line error for a failed write to this output."""
        return _error(self.path, e)

    def commit(self) -> None:
        """Flush, and put the whole file in place (a failure discards it: GoheapError)."""
        placed = self._tmp is not None
        try:
            self.stream.flush()
            if self._tmp is not None:
                os.fsync(self.stream.fileno())
            if self._own:
                self.stream.close()
            if self._tmp is not None:
                os.replace(self._tmp, self._target)
                self._tmp = None
        except OSError as e:
            self.discard()
            raise _error(self.path, e) from None
        if placed and _TELL and sys.exc_info()[1] is None:  # else the error's line names it
            _TELL[-1](self.path)

    def discard(self) -> None:
        """Close without putting anything in place; the temporary file goes."""
        stream = getattr(self, "stream", None)
        if stream is not None and self._own:
            with contextlib.suppress(OSError):
                stream.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.commit()
            return
        self.discard()
        if isinstance(exc, OSError):
            raise _error(self.path, exc) from None


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write data to path (``-``: standard output), whole or not at all (GoheapError)."""
    with OutputFile(path) as f:
        f.stream.write(data)


def write_file(path: str | os.PathLike[str], text: str) -> None:
    """Write text (UTF-8) to path, or to standard output when it is ``-``; whole or not at all."""
    if os.fspath(path) != STDOUT:
        write_bytes(path, text.encode("utf-8"))
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as e:
        raise _error(STDOUT, e) from None
