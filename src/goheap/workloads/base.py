"""What a workload is: a named program with typed parameters."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from goheap.errors import GoheapError
from goheap.heap import Heap

#: The most allocations (or requests, objects) one run may be asked for: at
#: about a microsecond each compiled and several in pure Python, a billion
#: is hours of simulation already; 10**12 would be weeks without a word.
MAX_RUN_LENGTH = 10**9


@dataclass(frozen=True)
class Param:
    name: str
    default: int
    help: str
    minimum: int = 0
    maximum: int = 1 << 40
    #: True: the parameter is how long the run is (allocations, requests,
    #: objects); it is capped at MAX_RUN_LENGTH with the reason said.
    length: bool = False

    @property
    def most(self) -> int:
        """The largest value accepted."""
        return min(self.maximum, MAX_RUN_LENGTH) if self.length else self.maximum


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    module: str  # the module defining it: its docstring tells the Go program it mirrors
    params: tuple[Param, ...]
    run: Callable[[Heap, dict[str, int]], Any] = field(compare=False)
    # True: the program calls heap.dead() on every object it drops, so its
    # trace (header "liveness_events") replays in lifetime mode too.
    declares_deaths: bool = False
    # The fields of its result that are addresses (the JSON shows them in hex).
    addresses: tuple[str, ...] = ()

    @property
    def go_program(self) -> str:
        """The Go program it mirrors, as prose/code (its module's docstring)."""
        return module_docstring(self.module)

    def defaults(self) -> dict[str, int]:
        return {p.name: p.default for p in self.params}


def program_ns(heap: Heap, table: dict[str, float]) -> float:
    """A twin's measured CPU of its own (per step, per node) for this heap's profile, from
    a workload's table by profile name (0 for a profile not measured)."""
    return table.get(heap.profile.name, 0.0)


def module_docstring(name: str) -> str:
    """A module's docstring, read from its source when the module is compiled.

    (A mypyc-compiled module has no ``__doc__``; its ``.py`` file lies beside it.)
    """
    mod = importlib.import_module(name)
    if mod.__doc__:
        return mod.__doc__
    path = str(getattr(mod, "__file__", "") or "")
    for sfx in importlib.machinery.EXTENSION_SUFFIXES:
        if path.endswith(sfx):
            path = path[: -len(sfx)] + ".py"
            break
    try:
        with open(path, encoding="utf-8") as f:
            doc = ast.get_docstring(ast.parse(f.read()), clean=False)
    except (OSError, SyntaxError, ValueError):
        return ""
    return doc or ""


def parse_params(workload: Workload, items: Iterable[str]) -> dict[str, int]:
    """Turn ``k=v`` strings into the workload's typed parameters."""
    known = {p.name: p for p in workload.params}
    out = workload.defaults()
    given: set[str] = set()
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise GoheapError(f"--param {item!r}: expected NAME=VALUE")
        p = known.get(key)
        if p is None:
            raise GoheapError(
                f"workload {workload.name} has no parameter '{key}' "
                f"(it takes: {', '.join(known) or 'none'})"
            )
        if key in given:
            raise GoheapError(f"--param {key} is given twice (last: {item!r})")
        given.add(key)
        try:
            # Go's flag.Int (strconv.ParseInt base 0), as the Go twins read it: 0x10, 1_000.
            value = int(raw, 0)
        except ValueError:
            raise GoheapError(f"--param {key}={raw!r}: expected an integer") from None
        if p.length and value > p.most:
            raise GoheapError(
                f"--param {key}={value}: a run of {value:,} {p.help} would take days to weeks "
                f"to simulate (about a microsecond each, compiled); at most {p.most:,} "
                "are accepted"
            )
        if not p.minimum <= value <= p.most:
            raise GoheapError(f"--param {key}={value}: must be between {p.minimum} and {p.most}")
        out[key] = value
    return out
