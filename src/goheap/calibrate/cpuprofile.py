"""Where an alloc probe's CPU went: its CPU profile's samples by the runtime path they were in.

The alloc probe's per-allocation time is several of the clock's costs at
once: clearing (``memclrNoHeapPointers``), the mcache taking a new span
(``mcache.refill``), sweeping, the collector's own work, the write
barrier of the ring store while a mark runs (most of the rest at a small
heap in Go 1.8, where marks run much of the time), the probe's own loop
(the program: ``i % k``, the ring store), the profiler's own goroutine,
and the rest (mallocgc's path). A CPU profile of the timed loop tells them apart: each sample goes
to the first category, in ``CATEGORIES`` order, with one of its functions
anywhere on the stack (sweeping inside a refill is sweeping; clearing
inside the collector is the collector's); a sample in none of them whose
innermost frame is the program's own code (``PROGRAM_PACKAGES``, after
inlining) is the program's, ``PROGRAM``; what is left is ``REST``. The
twins' profiles (``benchmarks/program_work.py``) are read the same way.

Go 1.27 writes profiles as gzipped profile.proto, Go 1.8 in the legacy
format; today's ``go tool pprof -proto`` reads both into symbolized
profile.proto.
"""

from __future__ import annotations

import gzip
import subprocess
from collections import Counter
from pathlib import Path

from goheap.errors import GoheapError
from goheap.pprof import profile_pb2

#: Category -> the runtime functions (Go 1.8 and Go 1.27 names) whose presence on a
#: sample's stack puts the sample there; the first category that matches wins.
CATEGORIES: tuple[tuple[str, frozenset[str]], ...] = (
    # The CPU profiler's own goroutine (Go 1.8 reads and encodes its samples in Go
    # code: about 5 % of a probe's samples): the measurement's, not the program's.
    ("profiler", frozenset({"runtime/pprof.profileWriter"})),
    (
        "gc",
        frozenset({
            "runtime.gcAssistAlloc", "runtime.gcBgMarkWorker", "runtime.gcStart",
            "runtime.gcMarkDone", "runtime.gcMarkTermination",
        }),
    ),
    (
        "barrier",
        frozenset({
            "gcWriteBarrier", *(f"runtime.gcWriteBarrier{n}" for n in range(1, 9)),
            "runtime.wbBufFlush", "runtime.wbBufFlush1",  # Go 1.27's buffered barrier
            "runtime.writebarrierptr", "runtime.writebarrierptr_prewrite1",
            "runtime.writebarrierptr_prewrite", "runtime.gcmarkwb_m",  # Go 1.8's
        }),
    ),
    # Allocating black: mallocgc marking its new object while a mark runs. The clock
    # charges it apart, on the allocations made in a mark (alloc_black_ns_*).
    ("black", frozenset({"runtime.gcmarknewobject"})),
    (
        "sweep",
        frozenset({
            "runtime.sweepone", "runtime.(*mspan).sweep", "runtime.(*sweepLocked).sweep",
        }),
    ),
    ("clear", frozenset({"runtime.memclrNoHeapPointers"})),
    ("refill", frozenset({"runtime.(*mcache).refill"})),
)  # fmt: skip
REST = "rest"
#: Samples whose innermost function is the program's own code, not the runtime's.
PROGRAM = "program"
#: The program's packages: main, and the twins' own (module goheap/oracle).
PROGRAM_PACKAGES = ("main.", "goheap/oracle/")


def _is_program(function: str) -> bool:
    """Whether a profile's function name is the program's own code (``PROGRAM_PACKAGES``)."""
    return function.startswith(PROGRAM_PACKAGES)


def _proto_bytes(path: Path, exe: Path, go: Path) -> bytes:
    """The profile as symbolized profile.proto bytes, by ``go tool pprof -proto``.

    Go 1.8's profiles are gzipped too but in the legacy format: the tool
    reads both and symbolizes from the probe's binary.
    """
    p = subprocess.run(
        [str(go), "tool", "pprof", "-proto", str(exe), str(path)], capture_output=True
    )
    if p.returncode != 0 or p.stdout[:2] != b"\x1f\x8b":
        err = (p.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise GoheapError(f"{path}: go tool pprof cannot read this CPU profile: {err}")
    return gzip.decompress(p.stdout)


def where(path: Path, exe: Path, go: Path) -> Counter[tuple[str, str]]:
    """Samples of the profile at ``path`` (taken of ``exe``) by (category, innermost
    function): the category as ``categorize`` gives it, the function the sample's leaf
    (after inlining)."""
    prof = profile_pb2.Profile()
    try:
        prof.ParseFromString(_proto_bytes(path, exe, go))
    except Exception as e:  # a truncated or foreign file
        raise GoheapError(f"{path}: not a CPU profile ({e})") from None
    strings = prof.string_table
    names = {f.id: strings[f.name] for f in prof.function}
    # A location's lines: the innermost inlined function first, its callers after.
    frames = {loc.id: [names[line.function_id] for line in loc.line] for loc in prof.location}
    out: Counter[tuple[str, str]] = Counter()
    for sample in prof.sample:
        inner_first = [name for loc in sample.location_id for name in frames.get(loc, ())]
        leaf = inner_first[0] if inner_first else "?"
        stack = set(inner_first)
        cat = next((c for c, fns in CATEGORIES if stack & fns), None)
        if cat is None:
            cat = PROGRAM if _is_program(leaf) else REST
        out[cat, leaf] += sample.value[0] if sample.value else 1
    return out


def categorize(path: Path, exe: Path, go: Path) -> Counter[str]:
    """Samples of the profile at ``path`` (taken of ``exe``) by category (``CATEGORIES``,
    ``PROGRAM``, ``REST``)."""
    out: Counter[str] = Counter()
    for (cat, _), n in where(path, exe, go).items():
        out[cat] += n
    return out
