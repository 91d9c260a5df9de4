"""Idle time with nothing to do: sysmon's no-op wakes jumped over, exactly as stepped.

With no forced GC to come (no GC has run yet, or GOGC=off), an idle Go
program's sysmon still wakes -- Go 1.8's scavenger every 2.5 minutes, Go
1.27's idle sysmon every minute -- and once the scavenger has released
what it can, those wakes change nothing. The collectors jump over them
(``skip_quiet_wakes``); every scalar the runtime holds must end where
stepping each wake leaves it.
"""

from __future__ import annotations

from typing import Any

import pytest

from goheap import Heap, Type
from goheap.profiles.fastforward import snapshot
from goheap.runner import RunOptions, Session

DAY = 24 * 3600 * 10**9
NODE = Type("Node", size=16, pointers=[0, 8])


def _state(h: Heap) -> dict[str, Any]:
    ff = h.runtime.fastforward
    values = snapshot(h.runtime, {id(ff)}, ff.excluded).values
    values = {k: v for k, v in values.items() if not k.endswith(".skip_quiet_wakes")}
    return {"state": values, "memstats": h.read_memstats().to_dict(), "clock": h.clock.now}


def _program(h: Heap, collect: bool) -> None:
    """Some garbage in spans of several sizes, a little kept; optionally one GC, then GOGC=off."""
    keep = 0
    for i in range(1500):
        x = h.new(NODE) if i % 3 else h.malloc(64 + 48 * (i % 40))
        if i % 100 == 0:
            keep = x
            h.set_global("keep", keep)
    if collect:
        h.gc()
        h.set_gc_percent(-1)
    else:
        assert h.read_memstats().NumGC == 0  # below the first goal: no GC has run


def _run(profile: str, skip: bool, collect: bool, days: int) -> tuple[dict[str, Any], int]:
    with Heap(profile=profile) as h:
        h.gc_.skip_quiet_wakes = skip
        wakes = 0
        sysmon = h.gc_._sysmon

        def counted(*args: Any, **kwargs: Any) -> None:
            nonlocal wakes
            wakes += 1
            sysmon(*args, **kwargs)

        _program(h, collect)
        try:
            h.gc_._sysmon = counted  # type: ignore[method-assign]  # the idle period's wakes
        except (AttributeError, TypeError):
            wakes = -1  # compiled: a native method cannot be replaced; nothing counted
        h.advance(days * DAY)
        if wakes >= 0:
            h.gc_._sysmon = sysmon  # type: ignore[method-assign]
        for _ in range(50):
            h.malloc(64)  # and the program wakes up
        h.advance(DAY // 24)
        h.check()
        return _state(h), wakes


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
@pytest.mark.parametrize("collect", [False, True], ids=["never-collected", "gogc-off"])
def test_quiet_idle_jumps_as_stepping_would(profile: str, collect: bool) -> None:
    stepped, stepped_wakes = _run(profile, False, collect, 20)
    jumped, jumped_wakes = _run(profile, True, collect, 20)
    assert stepped["clock"] == jumped["clock"]
    assert stepped["memstats"] == jumped["memstats"]
    diff = sorted(
        k
        for k in stepped["state"].keys() | jumped["state"].keys()
        if stepped["state"].get(k) != jumped["state"].get(k)
    )
    assert not diff, diff[:5]
    if stepped_wakes >= 0:  # counted (the pure build)
        assert stepped_wakes > 10_000 and jumped_wakes < 20


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_a_century_of_quiet_idle_costs_its_events(profile: str) -> None:
    """146 years with no GC ever: a handful of sysmon runs, not 30-77 million."""
    _, wakes = _run(profile, True, False, 146 * 365)
    assert wakes < 20  # -1 where not counted: then finishing at all is the test


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_a_timeline_keeps_its_ticks_through_quiet_idle(profile: str) -> None:
    def timeline(skip: bool) -> list[dict[str, Any]]:
        session = Session(RunOptions(profile=profile))
        session.heap.gc_.skip_quiet_wakes = skip
        _program(session.heap, collect=False)
        session.heap.advance(10 * DAY)
        return session.results("idle", {})["timeline"]

    assert timeline(True) == timeline(False)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_idle_to_the_end_of_the_clock(profile: str) -> None:
    """Past 2^62 ns "never" deadlines must still lie ahead (they once made 1-ns steps)."""
    session = Session(RunOptions(profile=profile))
    h = session.heap
    _program(h, collect=False)
    h.advance(2**62)
    h.advance((1 << 63) - 1 - h.clock.now)  # to the last instant of Go's int64 nanotime
    assert h.clock.now == (1 << 63) - 1
    assert session.results("idle", {})["memstats"]["NumGC"] == 0
