#!/usr/bin/env python3
"""How fast does the model allocate? Simulated Go allocations per second.

Five workloads, each on a fresh ``Heap(profile="go1.8", procs=1)``, run with
the collector off (``gogc="off"``: the allocator alone) and on (``gogc=100``,
Go's default: allocation plus the collector's amortised share), when the
``Heap`` has a ``gogc`` parameter (``--gogc`` picks; repeatable):

- ``node16``   16-byte pointerful nodes, ``h.new(Type("Node", 16, pointers=[0, 8]))``
- ``noscan48`` 48-byte pointer-free objects, ``h.malloc(48)``
- ``tiny8``    8-byte noscan objects (the tiny allocator), ``h.malloc(8)``
- ``mixed``    a seeded stream of sizes 16..2048 bytes, alternating noscan
               (any size) and ``[]unsafe.Pointer`` arrays (size rounded down to 8)
- ``large``    40 KiB..1 MiB noscan objects (one span each)

Each workload is warmed up on a throw-away heap, then timed with
``time.perf_counter`` over the whole loop (``--repeat`` times, a fresh heap
each time; the median and the best are reported). The loop calls the public
API only, so the figures include ``Heap.malloc``'s argument checks; the
Python loop itself (~10 ns per iteration) is included too. Python's cyclic
GC is disabled while timing, as ``timeit`` does. The load average is
printed with the figures: on a shared machine, compare runs made at
similar loads.

It also reports the memory the *simulator* needs: the process's peak RSS
(``resource.getrusage``), the RSS growth of each workload's heap, and, with
``tracemalloc``, the Python heap growth per simulated object. The hot path
must not keep a Python object per simulated object (object state lives in
span bitmaps and in the mmap'ed arena), so after warm-up the growth must be
per-span metadata only: about the same bytes per new span whatever the
objects per span, fewer than one new memory block per object (a kept Python
object is at least one block), and, where a span holds 64 objects or more,
under 8 bytes per object (a container slot costs 8).

The reference figure is the real Go runtime's ~25 ns per small allocation
on this kind of machine; the slowdown column is ns/alloc divided by it
(shown for the small-object workloads only: a real large allocation costs
far more than 25 ns).

This is a benchmark: it prints figures and never asserts anything about speed.

    python benchmarks/bench_alloc.py                 # full run
    python benchmarks/bench_alloc.py --quick         # a few seconds
    python benchmarks/bench_alloc.py --json out.json # the figures as JSON too
    python benchmarks/bench_alloc.py --gogc off      # the allocator alone
    python benchmarks/bench_alloc.py --profile node16  # cProfile one workload
    PYTHONPATH=/tmp/copy python benchmarks/bench_alloc.py  # another goheap tree
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import inspect
import json
import os
import platform
import pstats
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import goheap
from goheap import POINTER, Heap, Type

GO_REFERENCE_NS = 25.0  # real Go runtime, one small allocation, this class of machine
PROFILE = "go1.8"
SEED = 20261125

NODE = Type("Node", size=16, pointers=[0, 8])


def _has_gogc() -> bool:
    """Does this goheap have a collector (Heap(..., gogc=...))?"""
    try:
        return "gogc" in inspect.signature(Heap).parameters
    except (TypeError, ValueError):  # no signature (e.g. a mypyc-compiled Heap): try it
        try:
            Heap(profile=PROFILE, procs=1, gogc="off").close()
        except TypeError:
            return False
        return True


HAS_GOGC = _has_gogc()


def new_heap(gogc: str | None) -> Heap:
    """A fresh heap; gogc None means the Heap's own default."""
    if gogc is None:
        return Heap(profile=PROFILE, procs=1)
    return Heap(profile=PROFILE, procs=1, gogc=gogc)


def _gc_cycles(h: Heap) -> int | None:
    cycles = getattr(h, "cycles", None)
    return None if cycles is None else len(cycles)


# ops: whatever a workload needs, built before the clock starts.
Ops = Sequence[Any]


def _ops_none(rng: random.Random, n: int) -> Ops:
    return ()


def _ops_mixed(rng: random.Random, n: int) -> Ops:
    ops: list[tuple[int, Type | None]] = []
    for i in range(n):
        size = rng.randint(16, 2048)
        if i & 1:
            ops.append((size & ~7, POINTER))  # []unsafe.Pointer of size/8 elements
        else:
            ops.append((size, None))
    return ops


def _ops_large(rng: random.Random, n: int) -> Ops:
    return [rng.randint(40 << 10, 1 << 20) for _ in range(n)]


def _run_node16(h: Heap, n: int, ops: Ops) -> None:
    new = h.new
    node = NODE
    for _ in range(n):
        new(node)


def _run_noscan48(h: Heap, n: int, ops: Ops) -> None:
    malloc = h.malloc
    for _ in range(n):
        malloc(48)


def _run_tiny8(h: Heap, n: int, ops: Ops) -> None:
    malloc = h.malloc
    for _ in range(n):
        malloc(8)


def _run_mixed(h: Heap, n: int, ops: Ops) -> None:
    malloc = h.malloc
    for size, typ in ops:
        malloc(size, typ)


def _run_large(h: Heap, n: int, ops: Ops) -> None:
    malloc = h.malloc
    for size in ops:
        malloc(size)


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    n: int  # allocations timed (full run)
    n_quick: int  # allocations timed with --quick
    small: bool  # compare with the small-object Go reference
    make_ops: Callable[[random.Random, int], Ops]
    run: Callable[[Heap, int, Ops], None]


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "node16", "16 B pointerful node, h.new", 300_000, 30_000, True, _ops_none, _run_node16
    ),
    Workload(
        "noscan48", "48 B noscan, h.malloc(48)", 300_000, 30_000, True, _ops_none, _run_noscan48
    ),
    Workload("tiny8", "8 B noscan (tiny alloc)", 300_000, 30_000, True, _ops_none, _run_tiny8),
    Workload(
        "mixed", "16..2048 B, 1/2 pointer arrays", 300_000, 30_000, True, _ops_mixed, _run_mixed
    ),
    Workload("large", "40 KiB..1 MiB noscan", 2_000, 200, False, _ops_large, _run_large),
)


@dataclass
class Result:
    name: str
    description: str
    gogc: str | None  # None: the Heap's default (a goheap without a collector)
    allocs: int
    repeats: int
    ns_per_alloc: float  # median over repeats
    ns_per_alloc_best: float
    allocs_per_s: float  # from the median
    slowdown_vs_go: float | None  # median ns / GO_REFERENCE_NS (small objects only)
    mallocs_reported: int  # MemStats.Mallocs of the last timed heap (sanity check)
    spans_used: int  # in-use spans after the last timed run
    gc_cycles: int | None  # collections during the last timed run
    rss_growth_mib: float  # RSS growth while the last timed heap was alive
    py_bytes_per_object: float = float("nan")  # tracemalloc growth / objects
    py_bytes_per_span: float = float("nan")  # tracemalloc growth / new mspans
    py_blocks_per_object: float = float("nan")  # new tracemalloc blocks / objects
    py_objects_per_span: float = float("nan")  # simulated objects / new mspans
    py_footprint_objects: int = 0
    py_footprint_new_spans: int = 0
    per_object_python_alloc: bool | None = None
    times_s: list[float] = field(default_factory=list)


def _rss_bytes() -> int | None:
    """Current resident set size (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _timed_run(
    w: Workload, n: int, ops: Ops, gogc: str | None
) -> tuple[float, int, int, int | None, int | None]:
    """One timed run on a fresh heap: seconds, Mallocs, in-use spans, GCs, RSS growth."""
    gc.collect()
    rss0 = _rss_bytes()
    h = new_heap(gogc)
    try:
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter()
            w.run(h, n, ops)
            elapsed = time.perf_counter() - t0
        finally:
            if gc_was_enabled:
                gc.enable()
        rss1 = _rss_bytes()
        cycles = _gc_cycles(h)
        ms = h.read_memstats()
        spans = len(h.inuse_spans())
    finally:
        h.close()
    growth = None if rss0 is None or rss1 is None else rss1 - rss0
    return elapsed, ms.Mallocs, spans, cycles, growth


def _warm_up(w: Workload, n: int, ops: Ops, gogc: str | None) -> None:
    with new_heap(gogc) as h:
        w.run(h, n, ops)


def _traced_blocks() -> int:
    return sum(st.count for st in tracemalloc.take_snapshot().statistics("filename"))


def _footprint(
    w: Workload, n: int, warm: int, rng: random.Random, gogc: str | None
) -> dict[str, Any]:
    """Python heap growth (tracemalloc) for n allocations after warm ones."""
    ops = w.make_ops(rng, warm + n)
    with new_heap(gogc) as h:
        w.run(h, warm, ops[:warm])
        run_ops = ops[warm:]
        gc.collect()
        spans0 = len(h.mheap.allspans)
        tracemalloc.start()
        try:
            blocks0 = _traced_blocks()
            before = tracemalloc.get_traced_memory()[0]
            w.run(h, n, run_ops)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            blocks1 = _traced_blocks()
        finally:
            tracemalloc.stop()
        new_spans = len(h.mheap.allspans) - spans0
    growth = after - before
    per_object = growth / n
    blocks_per_object = (blocks1 - blocks0) / n
    objects_per_span = n / new_spans if new_spans else float("inf")
    # A Python object kept per simulated object is at least one new block each;
    # a slot in a container is at least 8 bytes each, which shows in bytes per
    # object wherever per-span metadata is spread over many objects.
    per_object_alloc = blocks_per_object >= 1 or (per_object >= 8 and objects_per_span >= 64)
    return {
        "growth": growth,
        "objects": n,
        "new_spans": new_spans,
        "per_object": per_object,
        "per_span": growth / new_spans if new_spans else float("nan"),
        "blocks_per_object": blocks_per_object,
        "objects_per_span": objects_per_span if new_spans else float("nan"),
        "per_object_alloc": per_object_alloc,
    }


def run_workload(
    w: Workload,
    n: int,
    repeats: int,
    footprint_n: int,
    gogc: str | None,
    log: Callable[[str], None],
) -> Result:
    rng = random.Random(SEED)
    ops = w.make_ops(rng, n)
    warm = max(1, n // 10)
    tag = w.name if gogc is None else f"{w.name} GOGC={gogc}"
    log(f"{tag}: warm-up ({warm} allocs)")
    _warm_up(w, warm, ops[:warm] if ops else ops, gogc)

    times: list[float] = []
    mallocs = spans = 0
    cycles: int | None = None
    rss_growth: int | None = None
    for i in range(repeats):
        log(f"{tag}: run {i + 1}/{repeats} ({n} allocs)")
        elapsed, mallocs, spans, cycles, growth = _timed_run(w, n, ops, gogc)
        times.append(elapsed)
        if growth is not None:
            rss_growth = growth if rss_growth is None else max(rss_growth, growth)
    if mallocs != n:
        log(f"[yellow]{tag}: MemStats.Mallocs = {mallocs}, expected {n}[/]")

    med = statistics.median(times)
    ns = med / n * 1e9
    res = Result(
        name=w.name,
        description=w.description,
        gogc=gogc,
        allocs=n,
        repeats=repeats,
        ns_per_alloc=ns,
        ns_per_alloc_best=min(times) / n * 1e9,
        allocs_per_s=n / med,
        slowdown_vs_go=ns / GO_REFERENCE_NS if w.small else None,
        mallocs_reported=mallocs,
        spans_used=spans,
        gc_cycles=cycles,
        rss_growth_mib=(rss_growth or 0) / (1 << 20),
        times_s=times,
    )

    if footprint_n:
        log(f"{tag}: tracemalloc footprint ({footprint_n} allocs)")
        fp = _footprint(w, footprint_n, warm, random.Random(SEED + 1), gogc)
        res.py_bytes_per_object = fp["per_object"]
        res.py_bytes_per_span = fp["per_span"]
        res.py_blocks_per_object = fp["blocks_per_object"]
        res.py_objects_per_span = fp["objects_per_span"]
        res.py_footprint_objects = fp["objects"]
        res.py_footprint_new_spans = fp["new_spans"]
        # Large objects are one span each: per-span metadata is per-object there.
        res.per_object_python_alloc = fp["per_object_alloc"] if w.small else None
    return res


def _git_state() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"commit": commit, "src_dirty": bool(dirty)}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(x: float | None, spec: str) -> str:
    if x is None or x != x:  # None or NaN
        return "-"
    return format(x, spec)


def _rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def print_table(console: Console, results: list[Result], peak_rss: float) -> None:
    t = Table(title=f"goheap allocation speed (profile {PROFILE}, procs=1)")
    t.add_column("workload")
    t.add_column("GOGC")
    t.add_column("GCs", justify="right")
    t.add_column("allocs", justify="right")
    t.add_column("ns/alloc", justify="right")
    t.add_column("best ns", justify="right")
    t.add_column("allocs/s", justify="right")
    t.add_column("x Go", justify="right")
    t.add_column("RSS +MiB", justify="right")
    t.add_column("py B/obj", justify="right")
    t.add_column("objs/span", justify="right")
    t.add_column("py B/span", justify="right")
    for r in results:
        t.add_row(
            r.name,
            r.gogc or "-",
            "-" if r.gc_cycles is None else str(r.gc_cycles),
            f"{r.allocs:,}",
            f"{r.ns_per_alloc:,.0f}",
            f"{r.ns_per_alloc_best:,.0f}",
            _rate(r.allocs_per_s),
            _fmt(r.slowdown_vs_go, ".0f"),
            f"{r.rss_growth_mib:.1f}",
            _fmt(r.py_bytes_per_object, ".2f"),
            _fmt(r.py_objects_per_span, ".1f"),
            _fmt(r.py_bytes_per_span, ",.0f"),
        )
    console.print(t)
    for name, desc in {r.name: r.description for r in results}.items():
        console.print(f"  [bold]{name}[/]: {desc}")
    console.print(
        f"Reference: the real Go runtime spends about {GO_REFERENCE_NS:g} ns per small "
        f"allocation on this kind of machine; 'x Go' = median ns/alloc / {GO_REFERENCE_NS:g}."
    )
    console.print(f"Peak RSS of this process (getrusage ru_maxrss): {peak_rss:.1f} MiB")
    checked = [r for r in results if r.per_object_python_alloc is not None]
    if checked:
        bad = [r.name for r in checked if r.per_object_python_alloc]
        if bad:
            console.print(
                "[red]Footprint: Python memory grows per simulated object in: "
                f"{', '.join(sorted(set(bad)))}[/]"
            )
        else:
            blocks = max(r.py_blocks_per_object for r in checked)
            worst = max(r.py_bytes_per_object for r in checked)
            console.print(
                "Footprint: no Python object kept per simulated object: tracemalloc growth "
                f"<= {worst:.2f} B and <= {blocks:.2f} new blocks per simulated object; "
                "what grows is per-span metadata (O(spans), not O(objects))."
            )


def profile_workload(console: Console, w: Workload, n: int, top: int, gogc: str | None) -> None:
    rng = random.Random(SEED)
    ops = w.make_ops(rng, n)
    warm = max(1, n // 10)
    _warm_up(w, warm, ops[:warm] if ops else ops, gogc)
    with new_heap(gogc) as h:
        prof = cProfile.Profile()
        prof.enable()
        w.run(h, n, ops)
        prof.disable()
    console.print(f"cProfile of {w.name} GOGC={gogc} ({n} allocs), top {top} by tottime:")
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)


def _set_profile(name: str) -> None:
    global PROFILE
    PROFILE = name


def _build() -> str:
    """Compiled (mypyc) or pure Python, as goheap --version says it."""
    status = getattr(goheap, "build_status", None)  # older trees have no compiled build
    return status().describe() if status is not None else "pure Python"


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    """NaN (a figure not measured) becomes null."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in d.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run (1/10 the allocations)")
    ap.add_argument(
        "--repeat", type=int, default=None, help="timed runs per workload (3; 1 with --quick)"
    )
    ap.add_argument(
        "--only",
        action="append",
        choices=[w.name for w in WORKLOADS],
        help="run only these workloads",
    )
    ap.add_argument("-n", type=int, default=None, help="allocations per small workload (overrides)")
    ap.add_argument(
        "--footprint-n",
        type=int,
        default=None,
        help="allocations measured with tracemalloc (100000; 20000 with --quick; 0 skips)",
    )
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON ('-' = stdout)")
    ap.add_argument(
        "--gogc",
        action="append",
        help="GOGC of the heaps ('off' or a percentage); repeatable. Default: off and 100 "
        "(--profile: the first given, else off)",
    )
    ap.add_argument("--profile", metavar="WORKLOAD", choices=[w.name for w in WORKLOADS])
    ap.add_argument(
        "--go",
        metavar="PROFILE",
        default=PROFILE,
        help=f"goheap fidelity profile of the heaps (default {PROFILE})",
    )
    ap.add_argument("--top", type=int, default=15, help="functions shown by --profile")
    args = ap.parse_args(argv)
    _set_profile(args.go)

    console = Console(stderr=args.json == "-", width=None if sys.stdout.isatty() else 132)
    workloads = [w for w in WORKLOADS if not args.only or w.name in args.only]

    def sized(w: Workload) -> int:
        if args.n is not None and w.small:
            return args.n
        return w.n_quick if args.quick else w.n

    if args.gogc and not HAS_GOGC:
        ap.error("this goheap's Heap has no gogc parameter")
    gogcs: list[str | None] = ["off", "100"] if HAS_GOGC else [None]
    if args.gogc:
        gogcs = list(args.gogc)

    if args.profile:
        w = next(w for w in WORKLOADS if w.name == args.profile)
        profile_workload(console, w, sized(w), args.top, gogcs[0])
        return 0

    repeats = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    footprint_n = args.footprint_n
    if footprint_n is None:
        footprint_n = 20_000 if args.quick else 100_000

    load0 = os.getloadavg()
    console.print(
        f"goheap {goheap.__version__} from {Path(goheap.__file__).parent} ({_build()})  |  "
        f"Python {platform.python_version()}  |  nproc={os.cpu_count()}  |  {_cpu_model()}  |  "
        f"load avg {load0[0]:.2f}"
    )

    def log(msg: str) -> None:
        console.log(msg)

    results: list[Result] = []
    for w in workloads:
        fp_n = footprint_n if w.small else min(footprint_n, sized(w))
        for gogc in gogcs:
            results.append(run_workload(w, sized(w), repeats, fp_n, gogc, log))

    peak = _peak_rss_mib()
    load1 = os.getloadavg()
    print_table(console, results, peak)
    console.print(f"Load average (1 min) before/after: {load0[0]:.2f} / {load1[0]:.2f}")

    if args.json:
        doc = {
            "benchmark": "bench_alloc",
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "profile": PROFILE,
            "goheap_version": goheap.__version__,
            "goheap_build": _build(),
            "git": _git_state(),
            "machine": {
                "nproc": os.cpu_count(),
                "cpu": _cpu_model(),
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "platform": platform.platform(),
                "loadavg_before": load0,
                "loadavg_after": load1,
            },
            "reference_go_ns_per_alloc": GO_REFERENCE_NS,
            "quick": args.quick,
            "peak_rss_mib": peak,
            "results": [_json_safe(asdict(r)) for r in results],
        }
        text = json.dumps(doc, indent=2, allow_nan=False, default=str)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
            console.print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
