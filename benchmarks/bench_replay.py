#!/usr/bin/env python3
"""How fast does a trace replay? Events per second, and the simulator's memory.

Generates a synthetic pointer-free churn trace of N events (``--events``,
default 1,000,000) directly with ``TraceWriter``, in both encodings: a ring
of ``--ring`` slots (default 1000); each step allocates a pointer-free object
of churn's size mix (xorshift64: 70% 16..64 B, 25% 65..2048 B, 5% 4..64 KiB)
and declares the slot's previous occupant dead. About half the events are
``alloc``, half ``dead``. Then, for each encoding:

- **parse**: decode every record as replay does (``TraceReader.batches()``),
  nothing applied: the reader's own throughput; **records()** the same
  read as a list per record (``TraceReader.records()``);
- **replay**: ``replay_into`` a ``Heap(profile="go1.8", liveness="lifetime")``
  (GOGC=100): reading, checking and applying every event, the collector
  running as the trace drives it.

It reports events per CPU second for each (``time.process_time``: the
machine is often shared; ``--repeat N`` keeps the fastest of N runs), the
wall time too, the largest size of the replayer's id maps,
the process's peak RSS (``getrusage``; it includes the heap's own metadata
and the arena pages touched) and, in a separate replay of the binary trace
with ``tracemalloc`` on (slower, not timed), the peak of Python allocations.
Memory that does not grow with ``--events`` is the point: run with
``--events 4000000`` to compare.

    python benchmarks/bench_replay.py                     # 1e6 events
    python benchmarks/bench_replay.py --events 200000     # quicker
    python benchmarks/bench_replay.py --json out.json     # the figures as JSON too
    python benchmarks/bench_replay.py --gzip              # also gzip-compressed traces

This is a benchmark: it prints figures and never asserts anything about speed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from goheap import Heap
from goheap.trace import Replayer, TraceWriter, make_header, open_trace
from goheap.trace.format import OP_ALLOC, OP_DEAD

_MASK64 = (1 << 64) - 1


def next_size(x: int) -> tuple[int, int]:
    """churn's size mix on the xorshift64 stream: (new state, size)."""

    def step(v: int) -> int:
        v ^= (v << 13) & _MASK64
        v ^= v >> 7
        v ^= (v << 17) & _MASK64
        return v

    x = step(x)
    u = x % 100
    x = step(x)
    if u < 70:
        return x, 16 + x % 49
    if u < 95:
        return x, 65 + x % 1984
    return x, 4096 + x % 61441


def write_trace(path: Path, fmt: str, events: int, ring: int) -> float:
    """A pointer-free churn trace of `events` events; returns seconds taken."""
    t = time.perf_counter()
    header = make_header("synthetic-churn", {"events": events, "ring": ring}, liveness_events=True)
    with TraceWriter(path, fmt=fmt, header=header) as w:
        record = w.record
        slots: list[int | None] = [None] * ring
        x = 88172645463325252
        n = 0
        oid = 0
        while n < events:
            x, size = next_size(x)
            record(OP_ALLOC, oid, size)
            n += 1
            i = oid % ring
            old = slots[i]
            if old is not None and n < events:
                record(OP_DEAD, old)
                n += 1
            slots[i] = oid
            oid += 1
        w.end()
    return time.perf_counter() - t


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_only(path: Path) -> tuple[int, float]:
    """(records, CPU seconds) of decoding every record as replay does, nothing applied.

    That is the reader's batches (``TraceReader.batches()``: no Python
    object per record where the scanners take it); a reader without them
    (an older tree) is timed by ``records()``.
    """
    t = time.process_time()
    reader = open_trace(path)
    n = 0
    if hasattr(reader, "batches"):
        for b in reader.batches():
            n += b.n
    else:
        for _ in reader.records():
            n += 1
    return n, time.process_time() - t


def records_only(path: Path) -> tuple[int, float]:
    """(records, CPU seconds) of ``TraceReader.records()``: a list per record."""
    t = time.process_time()
    n = 0
    for _ in open_trace(path).records():
        n += 1
    return n, time.process_time() - t


def replay(path: Path, *, trace_python: bool = False) -> dict[str, Any]:
    if trace_python:
        tracemalloc.start()
    t = time.perf_counter()
    c = time.process_time()
    with Heap(profile="go1.8", liveness="lifetime") as h:
        rp = Replayer(h)
        biggest = [0]

        def progress(_: int) -> None:
            biggest[0] = max(biggest[0], len(rp.id2addr))

        n = rp.replay(open_trace(path), progress)
        seconds = time.perf_counter() - t
        cpu = time.process_time() - c
        ms = h.read_memstats()
        out: dict[str, Any] = {
            "events": n,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "events_per_s": n / seconds,
            "events_per_cpu_s": n / cpu,
            "gc_cycles": len(h.cycles),
            "Mallocs": ms.Mallocs,
            "HeapInuse": ms.HeapInuse,
            "HeapSys": ms.HeapSys,
            "max_live_ids": max(biggest[0], rp.peak_ids),
        }
    if trace_python:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["tracemalloc_peak_mib"] = peak / (1 << 20)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=float, default=1e6, help="events per trace (default 1e6)")
    ap.add_argument("--ring", type=int, default=1000, help="objects alive at once")
    ap.add_argument("--dir", default=None, help="where to write the traces (default: a tmp dir)")
    ap.add_argument("--gzip", action="store_true", help="also measure gzip-compressed traces")
    ap.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc pass")
    ap.add_argument("--json", default=None, help="write the figures as JSON to this path")
    ap.add_argument("--repeat", type=int, default=1, help="replays per trace; the fastest is kept")
    args = ap.parse_args(argv)
    events = int(args.events)

    print(
        f"bench_replay: {events:,} events, ring {args.ring}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.2f}"
    )
    results: dict[str, Any] = {"events": events, "ring": args.ring, "runs": {}}
    gc.disable()
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        kinds = [("binary", "trace.bin"), ("ndjson", "trace.ndjson")]
        if args.gzip:
            kinds += [("binary", "trace.bin.gz"), ("ndjson", "trace.ndjson.gz")]
        rows = []
        for fmt, name in kinds:
            path = Path(tmp) / name
            wrote = write_trace(path, fmt, events, args.ring)
            size = path.stat().st_size
            n, parse_s = min(parse_only(path) for _ in range(args.repeat))
            _, records_s = min(records_only(path) for _ in range(args.repeat))
            rep = min((replay(path) for _ in range(args.repeat)), key=lambda r: r["cpu_seconds"])
            row = {
                "file": name,
                "bytes": size,
                "bytes_per_event": size / n,
                "write_events_per_s": n / wrote,
                "parse_events_per_s": n / parse_s,
                "records_events_per_s": n / records_s,
                **rep,
                "peak_rss_mib_so_far": rss_mib(),
            }
            results["runs"][name] = row
            rows.append(row)
            print(
                f"  {name:16} {size / 1e6:8.1f} MB {size / n:5.1f} B/ev | parse "
                f"{n / parse_s / 1e3:7.0f} k ev/s (records() {n / records_s / 1e3:5.0f} k) | "
                f"replay {rep['events_per_cpu_s'] / 1e3:5.0f} k "
                f"ev/CPU-s ({rep['cpu_seconds']:.2f} s CPU, {rep['seconds']:.2f} s wall, "
                f"{rep['gc_cycles']} GCs, max ids "
                f"{rep['max_live_ids']}) | peak RSS {rss_mib():.0f} MiB"
            )
        if not args.no_tracemalloc:
            path = Path(tmp) / "trace.bin"
            tm = replay(path, trace_python=True)
            results["tracemalloc_peak_mib"] = tm["tracemalloc_peak_mib"]
            print(
                f"  tracemalloc peak during a binary replay: "
                f"{tm['tracemalloc_peak_mib']:.1f} MiB of Python allocations"
            )
    results["peak_rss_mib"] = rss_mib()
    print(f"  peak RSS of the process: {results['peak_rss_mib']:.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
