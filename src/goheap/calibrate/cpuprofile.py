"""Where an alloc probe's CPU went: its CPU profile's samples by the runtime path they were in.

The alloc probe's per-allocation time is several of the clock's costs at
once: clearing (``memclrNoHeapPointers``), the mcache taking a new span
(``mcache.refill``), sweeping, the collector's own work, and the rest
(mallocgc's fast path, the loop). A CPU profile of the timed loop tells
them apart: each sample goes to the first category, in ``CATEGORIES``
order, with one of its functions anywhere on the stack (sweeping inside a
refill is sweeping; clearing inside the collector is the collector's).

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
    (
        "gc",
        frozenset({
            "runtime.gcAssistAlloc", "runtime.gcBgMarkWorker", "runtime.gcStart",
            "runtime.gcMarkDone", "runtime.gcMarkTermination",
        }),
    ),
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


def categorize(path: Path, exe: Path, go: Path) -> Counter[str]:
    """Samples of the profile at ``path`` (taken of ``exe``) by category (``CATEGORIES``)."""
    prof = profile_pb2.Profile()
    try:
        prof.ParseFromString(_proto_bytes(path, exe, go))
    except Exception as e:  # a truncated or foreign file
        raise GoheapError(f"{path}: not a CPU profile ({e})") from None
    strings = prof.string_table
    names = {f.id: strings[f.name] for f in prof.function}
    frames = {loc.id: [names[line.function_id] for line in loc.line] for loc in prof.location}
    out: Counter[str] = Counter()
    for sample in prof.sample:
        stack = {name for loc in sample.location_id for name in frames.get(loc, ())}
        cat = next((c for c, fns in CATEGORIES if stack & fns), REST)
        out[cat] += sample.value[0] if sample.value else 1
    return out
