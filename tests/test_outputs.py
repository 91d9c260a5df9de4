"""goheap.outputs: outputs checked together before any work, and written whole or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from goheap import outputs
from goheap.errors import GoheapError
from goheap.outputs import OutputFile, check_outputs, write_bytes, write_file

ROOT = os.geteuid() == 0  # root writes anywhere: permission checks cannot be seen


def leftovers(d: Path) -> list[str]:
    """Temporary files an interrupted or failed write would leave behind."""
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


# --- check_outputs -------------------------------------------------------------------


def test_two_outputs_to_one_file_are_refused(tmp_path: Path) -> None:
    x = str(tmp_path / "x")
    with pytest.raises(GoheapError, match=r"--report .*x: the same file as --json .*x"):
        check_outputs(False, {"--json": x, "--report": x})
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "x")  # not yet existing: the same resolved path
    with pytest.raises(GoheapError, match="the same file"):
        check_outputs(False, {"--json": x, "--report": str(link)})


def test_an_output_that_is_an_input_is_refused_even_with_force(tmp_path: Path) -> None:
    trace = tmp_path / "in.trace"
    trace.write_bytes(b"x")
    alias = tmp_path / "alias"
    os.link(trace, alias)  # another name, the same inode
    for path in (trace, alias):
        with pytest.raises(GoheapError, match=r"the same file as the input TRACE .*in.trace"):
            check_outputs(True, {"--json": str(path)}, {"TRACE": str(trace)})


def test_stdout_once_and_only_where_allowed() -> None:
    with pytest.raises(GoheapError, match="--json - and -o -: only one output"):
        check_outputs(False, {"--json": "-", "-o": "-"})
    with pytest.raises(GoheapError, match="--pprof -: binary; give a file path"):
        check_outputs(False, {"--pprof": "-"}, file_only={"--pprof": "binary"})
    check_outputs(False, {"--json": "-", "--report": None})


def test_paths_that_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(GoheapError, match="is a directory"):
        check_outputs(True, {"--json": str(tmp_path)})
    with pytest.raises(GoheapError, match="does not exist"):
        check_outputs(True, {"--json": str(tmp_path / "no" / "x.json")})
    with pytest.raises(GoheapError, match="--json '': give a file path"):
        check_outputs(True, {"--json": ""})
    (tmp_path / "old").write_text("old")
    with pytest.raises(GoheapError, match=r"--json .*old exists; pass -f"):
        check_outputs(False, {"--json": str(tmp_path / "old")})
    check_outputs(True, {"--json": str(tmp_path / "old")})


@pytest.mark.skipif(ROOT, reason="root may write into a read-only directory")
def test_an_unwritable_directory_is_refused_first(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(GoheapError, match="is not writable"):
            check_outputs(False, {"--json": str(ro / "x.json")})
    finally:
        ro.chmod(0o700)


def test_devices_are_written_in_place_and_may_repeat() -> None:
    check_outputs(False, {"--json": os.devnull, "--report": os.devnull})
    write_file(os.devnull, "nothing")
    with pytest.raises(GoheapError, match="cannot write /dev/full: No space left on device"):
        write_file("/dev/full", "x" * 100_000)


# --- OutputFile ------------------------------------------------------------------------


def test_a_write_is_whole_or_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "out.json"
    path.write_text("old")
    path.chmod(0o640)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.os, "fsync", full)
    with pytest.raises(GoheapError, match=r"cannot write .*out.json: No space left on device"):
        write_file(path, "new")
    assert path.read_text() == "old" and leftovers(tmp_path) == []
    monkeypatch.undo()
    write_file(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o640  # the mode of the file it replaces
    assert leftovers(tmp_path) == []


def test_an_exception_while_writing_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new.trace"
    with pytest.raises(KeyboardInterrupt), OutputFile(path) as f:
        f.stream.write(b"partial")
        assert leftovers(tmp_path)  # under a temporary name until whole
        raise KeyboardInterrupt
    assert not path.exists() and leftovers(tmp_path) == []


def test_a_link_is_followed_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"old")
    link = tmp_path / "link"
    link.symlink_to(target)
    write_bytes(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_stdout(capsys) -> None:
    write_file("-", "text\n")
    assert capsys.readouterr().out == "text\n"
