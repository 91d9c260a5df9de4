"""goheap.calibrate.cpuprofile: a CPU profile's samples by where they fell.

The profile is built here, as `go tool pprof -proto` gives it symbolized: each
location's lines innermost first, each sample's locations leaf first. The
stacks are the shapes the probes' and twins' profiles have (function names as
Go 1.8 and Go 1.27 print them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from goheap.calibrate import cpuprofile
from goheap.pprof import profile_pb2

STACKS: list[tuple[list[list[str]], int]] = [
    # (locations leaf first, each [innermost, ...its callers inlined into it]), samples
    ([["runtime.memclrNoHeapPointers"], ["runtime.mallocgc"], ["main.loop"]], 7),
    ([["runtime.nextFreeFast", "runtime.mallocgc"], ["runtime.makeslice"], ["main.loop"]], 5),
    ([["runtime.wbBufFlush1"], ["runtime.wbBufFlush"], ["gcWriteBarrier"], ["main.loop"]], 3),
    ([["runtime.greyobject"], ["runtime.shade"], ["runtime.writebarrierptr"], ["main.loop"]], 2),
    ([["main.loop"], ["main.main"]], 4),  # the probe's own loop
    ([["goheap/oracle/internal/xorshift.(*State).Next", "main.main"]], 2),  # inlined
    ([["runtime.scanobject"], ["runtime.gcDrain"], ["runtime.gcBgMarkWorker"]], 6),
    ([["runtime.mallocgc"], ["runtime/pprof.profileWriter"]], 1),
    (
        [
            ["runtime.memmove"],
            ["runtime/pprof.(*profileBuilder).build"],
            ["runtime/pprof.profileWriter"],
        ],
        2,
    ),
    (
        [
            ["runtime.(*mspan).sweep"],
            ["runtime.(*mcentral).cacheSpan"],
            ["runtime.(*mcache).refill"],
            ["runtime.mallocgc"],
        ],
        4,
    ),
    ([["runtime.(*mcentral).cacheSpan"], ["runtime.(*mcache).refill"]], 3),
    ([["runtime.madvise"], ["runtime.bgscavenge"]], 1),
]


def _profile() -> bytes:
    prof = profile_pb2.Profile()
    strings = [""]
    functions: dict[str, int] = {}

    def function(name: str) -> int:
        if name not in functions:
            strings.append(name)
            f = prof.function.add(id=len(functions) + 1, name=len(strings) - 1)
            functions[name] = f.id
        return functions[name]

    for locations, n in STACKS:
        ids = []
        for lines in locations:
            loc = prof.location.add(id=len(prof.location) + 1)
            for name in lines:
                loc.line.add(function_id=function(name))
            ids.append(loc.id)
        prof.sample.add(location_id=ids, value=[n, n * 1_000_000])
    prof.string_table.extend(strings)
    return prof.SerializeToString()


@pytest.fixture
def samples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpuprofile, "_proto_bytes", lambda path, exe, go: _profile())


@pytest.mark.usefixtures("samples")
def test_each_sample_goes_to_the_first_category_on_its_stack() -> None:
    got = cpuprofile.categorize(Path("p"), Path("exe"), Path("go"))
    assert got == {
        "clear": 7,
        "rest": 5 + 1,  # mallocgc's own path; the scavenger's madvise
        "barrier": 3 + 2,  # Go 1.27's buffered barrier, Go 1.8's at the store
        "program": 4 + 2,  # the loop, and a twin's inlined package
        "gc": 6,
        "profiler": 1 + 2,  # the profiler's goroutine, whatever it calls
        "sweep": 4,  # sweeping inside a refill is sweeping
        "refill": 3,
    }


@pytest.mark.usefixtures("samples")
def test_where_names_each_samples_innermost_function() -> None:
    got = cpuprofile.where(Path("p"), Path("exe"), Path("go"))
    assert got["program", "goheap/oracle/internal/xorshift.(*State).Next"] == 2
    assert got["program", "main.loop"] == 4
    assert got["rest", "runtime.nextFreeFast"] == 5  # inlined into mallocgc: its own name
    assert got["profiler", "runtime.mallocgc"] == 1
    assert sum(got.values()) == sum(n for _, n in STACKS)
