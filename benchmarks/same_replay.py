"""Hash every replayed number, to show a change to trace replay moved none of them.

``same_numbers.py`` runs the workloads; this records them as traces (``goheap
record``: binary for go1.27, NDJSON for go1.8, both liveness modes) plus a
synthetic lifetime trace of tiny and small objects, replays each with its
header's settings, with ``--profile go1.8`` and with ``--procs 2`` (the tiny
trace also in lifetime mode), and hashes each ``goheap replay --json -``
result the way ``same_numbers.py`` does (less ``sim.wall_s``)::

    python benchmarks/same_replay.py --write /tmp/before.json   # on the old tree
    python benchmarks/same_replay.py --check /tmp/before.json   # on the new one

Both builds (pure, ``GOHEAP_PURE=1``, and compiled) must give the same file.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import same_numbers
from click.testing import CliRunner

from goheap.cli import cli
from goheap.trace import TraceWriter, make_header
from goheap.trace.format import OP_ALLOC, OP_DEAD

#: (workload, params) recorded; small enough that the whole set replays in a minute compiled.
WORKLOADS: list[tuple[str, list[str]]] = [
    ("binarytrees", ["depth=10"]),
    ("service", []),
    ("finalizers", []),
    ("churn", ["steps=30000"]),
    ("fragmentation", []),
    ("retain", ["size=48", "count=20000"]),
]
SETTINGS: list[list[str]] = [[], ["--profile", "go1.8"], ["--procs", "2"]]
LIFETIME: list[list[str]] = [
    ["--liveness", "lifetime"],
    ["--profile", "go1.8", "--liveness", "lifetime"],
]


def invoke(args: list[str]) -> str:
    """Run one goheap command in this process; its standard output."""
    r = CliRunner().invoke(cli, args)
    if r.exit_code != 0:
        raise SystemExit(f"goheap {' '.join(args)} failed ({r.exit_code}):\n{r.output[-2000:]}")
    return r.stdout


def write_tiny(path: Path, fmt: str) -> None:
    """150,000 allocations of 1-15 bytes (3 in 4) and 16-3015 bytes, 700 alive at a time."""
    header = make_header("synthetic-tiny", {}, liveness_events=True)
    with TraceWriter(path, fmt=fmt, header=header) as w:
        ring: list[int | None] = [None] * 700
        x = 12345
        for oid in range(150_000):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            size = 1 + (x >> 33) % 15 if (x >> 20) % 4 else 16 + (x >> 33) % 3000
            w.record(OP_ALLOC, oid, size)
            i = (x >> 40) % 700
            old = ring[i]
            if old is not None:
                w.record(OP_DEAD, old)
            ring[i] = oid
        w.end()


def record_all(tmp: Path) -> list[tuple[Path, list[list[str]]]]:
    """The traces, each with the settings to replay it under."""
    out: list[tuple[Path, list[list[str]]]] = []
    for name, params in WORKLOADS:
        flags = [x for p in params for x in ("--param", p)]
        for liveness in ("graph", "lifetime"):
            for profile, ext in (("go1.27", "bin"), ("go1.8", "ndjson")):
                path = tmp / f"{name}-{liveness}-{profile}.{ext}"
                opts = ["--liveness", liveness, "--profile", profile, "-o", str(path)]
                invoke(["record", name, *flags, *opts])
                out.append((path, SETTINGS))
    for fmt, ext in (("binary", "bin"), ("ndjson", "ndjson")):
        path = tmp / f"tiny.{ext}"
        write_tiny(path, fmt)
        out.append((path, SETTINGS + LIFETIME))
    return out


def run_all() -> dict[str, str]:
    hashes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as d:
        for path, settings in record_all(Path(d)):
            for extra in settings:
                key = " ".join([path.name, *extra])
                t0 = time.perf_counter()
                result = json.loads(invoke(["replay", str(path), "--json", "-", *extra]))
                result["result"].pop("trace", None)  # the temporary path
                hashes[key] = same_numbers.digest(result)
                print(f"{time.perf_counter() - t0:6.2f}s  {hashes[key][:16]}  {key}")
    return hashes


if __name__ == "__main__":
    sys.exit(same_numbers.main(run_all, __doc__))
