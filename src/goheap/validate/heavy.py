"""The heavy cases of ``goheap validate --heavy``: heaps the size of real services.

Issue 11 asks whether the figures that depend on time -- NumGC, peak
HeapInuse, NextGC and HeapSys at the end -- land inside the real runtime's
spread when the heap is large: live heaps of 10 to 200 MB, mixed sizes up to
64 KiB among large objects, large-object windows, GOGC 50 to 400, GOGC=off
under a GOMEMLIMIT below and above the live heap, one and two Ps. Each case
is an ordinary validation case (the same Go twin, the same figures and
verdicts) with its own settings.

Some cases were looked at while the clock's costs were chosen: a cost figure
was read from their own gctrace or runtime/trace (churn 100k at GOGC 100: the
out-of-cache mark cost; the 8-object window: Go 1.8's root time; churn 10k,
the 8-object window and binarytrees at two Ps: the pauses and the worker
wake-up with a second P) or the timing study built its prototypes on them
(churn 10k). They are marked ``tuned``; every other case
is held out, and the report counts the two groups apart, so that agreement on
the held-out cases is what judges the model.

A case with a memory limit needs a runtime that has one: on a profile without
it (go1.8) such cases are left out of the default set, and naming one is an
error.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from goheap.errors import GoheapError
from goheap.profiles import get_profile
from goheap.validate.cases import Case, Settings, go_flags
from goheap.validate.compare import OK, UNAVAILABLE
from goheap.validate.figures import SPREAD
from goheap.workloads import get_workload

MIB = 1 << 20


@dataclass(frozen=True)
class HeavyCase:
    """A named workload run with its own GOGC, GOMEMLIMIT and GOMAXPROCS."""

    name: str
    workload: str
    params: dict[str, int]
    settings: Settings = field(default_factory=Settings)
    tuned: bool = False  # a cost figure or a prototype came from this case

    @property
    def needs_memory_limit(self) -> bool:
        return self.settings.memlimit is not None


def _churn(k: int) -> dict[str, int]:
    # About 2.2 KiB a live object on average: k=100,000 keeps some 218 MB live.
    return {"k": k, "steps": 2_000_000}


_WINDOW = {"window": 8, "steps": 10_000}
_TREES = {"depth": 16}


def _s(gogc: str = "100", memlimit: int | None = None, procs: int = 1) -> Settings:
    return Settings(gogc=gogc, memlimit=memlimit, gomaxprocs=procs)


#: Every heavy case, in the order the report lists them.
HEAVY: tuple[HeavyCase, ...] = (
    HeavyCase("churn100k-gogc50", "churn", _churn(100_000), _s("50")),
    HeavyCase("churn100k-gogc100", "churn", _churn(100_000), _s("100"), tuned=True),
    HeavyCase("churn100k-gogc200", "churn", _churn(100_000), _s("200")),
    HeavyCase("churn100k-gogc400", "churn", _churn(100_000), _s("400")),
    HeavyCase("churn100k-gogc100-p2", "churn", _churn(100_000), _s("100", procs=2)),
    HeavyCase("churn100k-off-limit32m", "churn", _churn(100_000), _s("off", 32 * MIB)),
    HeavyCase("churn100k-off-limit400m", "churn", _churn(100_000), _s("off", 400 * MIB)),
    HeavyCase("churn100k-gogc100-limit300m", "churn", _churn(100_000), _s("100", 300 * MIB)),
    HeavyCase("churn10k", "churn", _churn(10_000), tuned=True),
    HeavyCase("churn10k-p2", "churn", _churn(10_000), _s(procs=2), tuned=True),
    HeavyCase("churn10k-gogc200-p2", "churn", _churn(10_000), _s("200", procs=2)),
    HeavyCase("large8", "large", _WINDOW, tuned=True),
    HeavyCase("large8-gogc200", "large", _WINDOW, _s("200")),
    HeavyCase("large8-p2", "large", _WINDOW, _s(procs=2), tuned=True),
    HeavyCase("large8-gogc200-p2", "large", _WINDOW, _s("200", procs=2)),
    HeavyCase("binarytrees16", "binarytrees", _TREES),
    HeavyCase("binarytrees16-gogc50", "binarytrees", _TREES, _s("50")),
    HeavyCase("binarytrees16-gogc400", "binarytrees", _TREES, _s("400")),
    HeavyCase("binarytrees16-p2", "binarytrees", _TREES, _s(procs=2), tuned=True),
    HeavyCase("binarytrees16-gogc400-p2", "binarytrees", _TREES, _s("400", procs=2)),
)

BY_NAME: dict[str, HeavyCase] = {c.name: c for c in HEAVY}
TUNED: frozenset[str] = frozenset(c.name for c in HEAVY if c.tuned)


def select_heavy(names: Iterable[str], profile: str) -> list[HeavyCase]:
    """The heavy cases named (every one the profile can run, when none), checked."""
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in BY_NAME]
    if unknown:
        raise GoheapError(
            f"unknown heavy case {unknown[0]!r}; the heavy cases are: {', '.join(BY_NAME)}"
        )
    has_limit = get_profile(profile).has_memory_limit
    if chosen:
        for n in chosen:
            if BY_NAME[n].needs_memory_limit and not has_limit:
                raise GoheapError(
                    f"heavy case {n!r} sets GOMEMLIMIT, which {profile} does not have"
                )
        return [BY_NAME[n] for n in chosen]
    return [c for c in HEAVY if has_limit or not c.needs_memory_limit]


def heavy_cases(names: Iterable[str], profile: str) -> list[Case]:
    """Validation cases for the heavy cases named (all the profile can run, when none)."""
    out = []
    for h in select_heavy(names, profile):
        params = {**get_workload(h.workload).defaults(), **h.params}
        flags = tuple(go_flags(h.workload, params, None))
        out.append(Case(h.workload, params, flags, h.name, h.settings, held_out=not h.tuned))
    return out


def group_summary(cases: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Spread figures of the held-out and the tuned cases, counted apart.

    For each group: ``cells`` (spread rows with a simulation), ``ok`` (inside
    the widened spread) and ``mean_miss``: the mean over those cells of the
    distance from the real median, relative to it, counting a cell inside the
    spread as no miss (benchmarks/heavy_table.py's rule).
    """
    out: dict[str, dict[str, Any]] = {}
    for group, held_out in (("held_out", True), ("tuned", False)):
        misses: list[float] = []
        ok = 0
        for case in cases:
            if case.get("held_out") is not held_out:
                continue
            for row in case["rows"]:
                if row["kind"] != SPREAD or row["status"] == UNAVAILABLE:
                    continue
                if row["status"] == OK:
                    ok += 1
                    misses.append(0.0)
                    continue
                med = statistics.median(row["real_values"])
                misses.append(abs(row["sim_value"] - med) / med if med else 0.0)
        out[group] = {
            "cells": len(misses),
            "ok": ok,
            "mean_miss": round(statistics.fmean(misses), 4) if misses else None,
        }
    return out
