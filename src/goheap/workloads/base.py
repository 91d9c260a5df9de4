"""What a workload is: a named program with typed parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from goheap.errors import GoheapError
from goheap.heap import Heap


@dataclass(frozen=True)
class Param:
    name: str
    default: int
    help: str
    minimum: int = 0
    maximum: int = 1 << 40


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    go_program: str  # the Go program it mirrors, as prose/code
    params: tuple[Param, ...]
    run: Callable[[Heap, dict[str, int]], Any] = field(compare=False)
    # True: the program calls heap.dead() on every object it drops, so its
    # trace (header "liveness_events") replays in lifetime mode too.
    declares_deaths: bool = False

    def defaults(self) -> dict[str, int]:
        return {p.name: p.default for p in self.params}


def parse_params(workload: Workload, items: Iterable[str]) -> dict[str, int]:
    """Turn ``k=v`` strings into the workload's typed parameters."""
    known = {p.name: p for p in workload.params}
    out = workload.defaults()
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
        try:
            value = int(raw, 0)
        except ValueError:
            raise GoheapError(f"--param {key}={raw!r}: expected an integer") from None
        if not p.minimum <= value <= p.maximum:
            raise GoheapError(f"--param {key}={value}: must be between {p.minimum} and {p.maximum}")
        out[key] = value
    return out
