"""What-if from a heap profile: the profile's heap, replayed under other GOGC and GOMEMLIMIT.

A profile holds no program, only counts, so :func:`build_workload` makes a
synthetic one from an :class:`~goheap.pprof.analyze.Analysis`:

1. **the live set**: the profile's in-use objects, one allocation per
   object at its slot size, never freed. Pointer-free (an 8-byte slot is
   one pointer, as it must be, see ``goheap.pprof.analyze``): the
   collector runs in *lifetime* mode (deaths are declared), so pointers
   would change only the scan-work estimate, not which objects die.
2. **an allocation stream** whose mix of slot sizes follows what the
   profile says was freed, ``alloc_objects - inuse_objects`` per size
   (exact counts, largest-remainder apportioned, in an order shuffled by
   xorshift64 from a fixed seed). If less than 1% of the allocations were
   freed, the mix of all allocations (or, with none, of the in-use objects)
   stands in, and a note says so.
   **Lifetime rule**: a stream object dies when ``lifetime`` (default
   100) further stream objects have been allocated -- a FIFO window, the
   churn workload's ring: short-lived garbage, a few KiB in flight.

**Allocation rate.** Between allocations the program computes: each
allocation of ``n`` bytes is followed by ``n / alloc_rate`` seconds of
mutator CPU (``gc_.mutator_ran``), so the program allocates ``alloc_rate``
bytes per second of its CPU. It matters: objects allocated while a cycle
marks are allocated black and count as marked, so the faster a program
allocates, the higher its next heap goal. A profile with a duration (a
delta profile, ``?seconds=N``) gives its own rate; otherwise
:data:`DEFAULT_ALLOC_RATE` (100 MiB/s) is assumed and said; ``None`` means
back to back (only mallocgc's own cost: the most allocation-intense
program with this mix).

**Budget**: ``budget`` allocations per setting (default 300,000: a second
or two each). The live set takes at most half of it; a larger live set is
scaled down by ``live_scale`` < 1 (every size's count, largest
remainder), and so is GOMEMLIMIT, so the run is the whole heap in
miniature; heap figures are then divided by ``live_scale`` and GCs per GiB
multiplied by it ("predicted", linear extrapolation; the 4 MiB minimum
heap goal and the runtime's non-heap memory, which GOMEMLIMIT counts, do
not scale, so a small scaled heap is less faithful). The
stream gets the rest; ``stream_scale`` is its bytes over the bytes of the
counts its mix follows.

:func:`run_whatif` runs the workload once per (GOGC, GOMEMLIMIT) setting
on a fresh model heap with a ``goheap.timeline.Timeline``, serially or in a
process pool, and reports per setting: peak HeapInuse and HeapSys,
NextGC and NumGC at the end, and GCs per GiB allocated in the stream
(the live set's own build-up cycles left out). Same input, same output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from goheap.errors import GoheapError
from goheap.options import parse_byte_rate
from goheap.parallel import check_jobs, map_processes
from goheap.pprof.analyze import pointerful_slot
from goheap.report.common import has_goal
from goheap.xorshift import DEFAULT_SEED, XorShift64

if TYPE_CHECKING:
    from goheap.pprof.analyze import Analysis

DEFAULT_BUDGET = 300_000
MIN_BUDGET = 1_000
MAX_BUDGET = 1 << 26
LIFETIME = 100
DEFAULT_ALLOC_RATE = 100 * (1 << 20)  # bytes per second of mutator CPU
#: The longest a what-if's program may run, in seconds of mutator CPU: past a
#: day the 2-minute forced GC decides every cycle, and the virtual time costs
#: the simulator (one forced GC per two minutes) rather than the allocations.
MAX_WHATIF_SECONDS = 24 * 3600
# The stream follows the freed objects' mix only if they are at least 1/FREED_MIN_SHARE
# of all allocations; fewer say little about the program's churn.
FREED_MIN_SHARE = 100
FEW_CYCLES = 4  # fewer GC cycles than this in the stream earn a note
GIB = 1 << 30
STACK_LIVE = ("main.live", "main.main", "runtime.main", "runtime.goexit")
STACK_STREAM = ("main.churn", "main.main", "runtime.main", "runtime.goexit")


def apportion(weights: dict[int, int], n: int) -> dict[int, int]:
    """Split n into integer parts proportional to weights (largest remainder; ties: smaller key)."""
    total = sum(weights.values())
    if n <= 0 or total <= 0:
        return dict.fromkeys(weights, 0)
    parts = {k: n * w // total for k, w in weights.items()}
    left = n - sum(parts.values())
    order = sorted(weights, key=lambda k: (-(n * weights[k] % total), k))
    for k in order[:left]:
        parts[k] += 1
    return parts


def _shuffled(counts: tuple[tuple[int, int], ...], rng: XorShift64) -> list[int]:
    """Every size repeated count times, in a Fisher-Yates order drawn from rng."""
    out = [size for size, n in counts for _ in range(n)]
    for i in range(len(out) - 1, 0, -1):
        j = rng.next() % (i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def parse_alloc_rate(text: str) -> float | None:
    """``--alloc-rate``: bytes per second (``200MiB``, ``200MiB/s``, ``1000000``), or ``max``."""
    t = text.strip()
    if t.lower() in ("max", "off"):
        return None
    t = t.removesuffix("/s")
    rate = parse_byte_rate(t)
    if not rate:
        raise GoheapError(
            f"--alloc-rate {text!r}: expected bytes per second such as 200MiB or 50MB/s, or 'max'"
        )
    return float(rate)


def profile_alloc_rate(analysis: Analysis) -> tuple[float | None, str]:
    """The allocation rate to assume for a profile, and where it comes from."""
    secs = analysis.duration_nanos / 1e9
    allocated = analysis.totals.get("alloc_bytes", 0)
    if secs > 0 and allocated > 0:
        return allocated / secs, "the profile's alloc_space over its duration"
    return float(DEFAULT_ALLOC_RATE), "assumed: the profile has no duration"


@dataclass(frozen=True)
class SyntheticWorkload:
    """A profile's heap as a program: a live set, then a stream of short-lived objects."""

    profile: str
    live: tuple[tuple[int, int], ...]  # (slot bytes, objects), ascending size
    stream: tuple[tuple[int, int], ...]  # (slot bytes, allocations), ascending size
    live_scale: float  # simulated live objects / the profile's in-use objects
    stream_scale: float | None  # stream bytes / bytes of the counts followed
    stream_source: str  # "freed", "alloc" or "inuse": which counts the stream's mix follows
    lifetime: int
    seed: int
    budget: int
    alloc_rate: float | None  # bytes per second of mutator CPU; None: back to back

    @property
    def live_objects(self) -> int:
        return sum(n for _, n in self.live)

    @property
    def live_bytes(self) -> int:
        return sum(s * n for s, n in self.live)

    @property
    def stream_objects(self) -> int:
        return sum(n for _, n in self.stream)

    @property
    def stream_bytes(self) -> int:
        return sum(s * n for s, n in self.stream)

    def orders(self) -> tuple[list[int], list[int]]:
        """(live set, stream) sizes in allocation order; the same every time."""

        rng = XorShift64(self.seed)
        return _shuffled(self.live, rng), _shuffled(self.stream, rng)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "live": [list(p) for p in self.live],
            "stream": [list(p) for p in self.stream],
            "live_objects": self.live_objects,
            "live_bytes": self.live_bytes,
            "stream_objects": self.stream_objects,
            "stream_bytes": self.stream_bytes,
            "live_scale": self.live_scale,
            "stream_scale": self.stream_scale,
            "stream_source": self.stream_source,
            "lifetime": self.lifetime,
            "seed": self.seed,
            "budget": self.budget,
            "alloc_rate": self.alloc_rate,
        }


def build_workload(
    analysis: Analysis,
    budget: int = DEFAULT_BUDGET,
    lifetime: int = LIFETIME,
    seed: int | None = None,
    alloc_rate: float | None = DEFAULT_ALLOC_RATE,
) -> SyntheticWorkload:
    """The synthetic workload of an analysed profile (see the module doc).

    ``seed`` (xorshift64, non-zero) orders the allocations; by default
    ``goheap.xorshift.DEFAULT_SEED`` (the workloads' default too).
    """
    if not MIN_BUDGET <= budget <= MAX_BUDGET:
        raise GoheapError(f"--budget {budget}: must be between {MIN_BUDGET} and {MAX_BUDGET}")
    if lifetime < 1:
        raise GoheapError(f"lifetime {lifetime}: must be at least 1")
    if alloc_rate is not None and not alloc_rate > 0:
        raise GoheapError(f"--alloc-rate {alloc_rate}: must be positive")
    inuse: dict[int, int] = {}
    alloc: dict[int, int] = {}
    for r in analysis.classes:
        if r.sizeclass:
            inuse[r.size] = inuse.get(r.size, 0) + r.objects
            alloc[r.size] = alloc.get(r.size, 0) + r.alloc_objects
    for lr in analysis.large:
        inuse[lr.size] = inuse.get(lr.size, 0) + lr.objects
        alloc[lr.size] = alloc.get(lr.size, 0) + lr.alloc_objects
    if not any(inuse.values()) and not any(alloc.values()):
        raise GoheapError("the profile has no objects: nothing to simulate")
    freed = {k: max(0, alloc[k] - inuse[k]) for k in alloc}
    live_total = sum(inuse.values())
    cap = budget // 2
    if live_total <= cap:
        live_counts, live_scale = dict(inuse), 1.0
    else:
        live_counts = apportion(inuse, cap)
        live_scale = cap / live_total
    source, weights = "freed", freed
    if sum(freed.values()) * FREED_MIN_SHARE < sum(alloc.values()) or not any(freed.values()):
        source, weights = ("alloc", alloc) if any(alloc.values()) else ("inuse", inuse)
    stream_counts = apportion(weights, budget - sum(live_counts.values()))
    followed = sum(k * n for k, n in weights.items())
    stream_bytes = sum(k * n for k, n in stream_counts.items())
    return SyntheticWorkload(
        profile=analysis.profile,
        live=tuple((k, n) for k, n in sorted(live_counts.items()) if n),
        stream=tuple((k, n) for k, n in sorted(stream_counts.items()) if n),
        live_scale=live_scale,
        stream_scale=stream_bytes / followed if followed else None,
        stream_source=source,
        lifetime=lifetime,
        seed=DEFAULT_SEED if seed is None else seed,
        budget=budget,
        alloc_rate=alloc_rate,
    )


@dataclass(frozen=True)
class Setting:
    """One what-if setting: GOGC (-1: off) and GOMEMLIMIT (None: off), as the user gave them."""

    gogc: int
    memlimit: int | None = None

    @property
    def label(self) -> str:
        from goheap.report.common import gogc_text, memlimit_text

        text = f"GOGC={gogc_text(self.gogc)}"
        if self.memlimit is not None:
            text += f" GOMEMLIMIT={memlimit_text(self.memlimit)}"
        return text


_MEMSTATS_KEPT = (
    "HeapAlloc",
    "HeapInuse",
    "HeapSys",
    "HeapReleased",
    "NextGC",
    "NumGC",
    "NumForcedGC",
    "TotalAlloc",
    "Mallocs",
    "Frees",
    "PauseTotalNs",
    "GCCPUFraction",
)


def run_setting(work: SyntheticWorkload, setting: Setting, procs: int = 1) -> dict[str, Any]:
    """Run the workload under one setting on a fresh heap; the figures of one row."""
    import time

    from goheap.heap import Heap, parse_gogc
    from goheap.runtime.common.gotype import POINTER
    from goheap.timeline import Timeline

    f = work.live_scale
    limit = None if setting.memlimit is None else int(setting.memlimit * f)
    heap = Heap(
        profile=work.profile,
        procs=procs,
        gogc=parse_gogc(setting.gogc),
        liveness="lifetime",
        memlimit=limit,
    )
    timeline = Timeline(heap)
    started = time.perf_counter()
    try:
        live, stream = work.orders()
        malloc = heap.malloc
        compute = heap.gc_.mutator_ran  # the mutator's own CPU between allocations
        ns_per_byte = 1e9 / work.alloc_rate if work.alloc_rate else 0.0
        for size in live:
            malloc(size, POINTER if pointerful_slot(size) else None, stack=STACK_LIVE)
            if ns_per_byte:
                compute(size * ns_per_byte)
        after_live = heap.runtime.snapshot()
        lifetime = work.lifetime
        ring = [0] * lifetime
        dead = heap.dead
        for i, size in enumerate(stream):
            x = malloc(size, POINTER if pointerful_slot(size) else None, stack=STACK_STREAM)
            if ns_per_byte:
                compute(size * ns_per_byte)
            j = i % lifetime
            if ring[j]:
                dead(ring[j])
            ring[j] = x
        ms = heap.read_memstats().to_dict()
        timeline.sample("end")
        peak = heap.runtime.peaks()
        stream_gcs = int(ms["NumGC"]) - after_live.numgc
        stream_bytes = work.stream_bytes
        per_gib = stream_gcs * GIB / stream_bytes if stream_bytes else None
        return {
            "label": setting.label,
            "gogc": setting.gogc,
            "memlimit": setting.memlimit,
            "memlimit_simulated": limit,
            "profile": work.profile,
            "procs": procs,
            "peak": peak,
            "memstats": {k: ms[k] for k in _MEMSTATS_KEPT if k in ms},
            "after_live": {"HeapInuse": after_live.heap_inuse, "NumGC": after_live.numgc},
            "stream_gcs": stream_gcs,
            "gcs_per_gib": per_gib,
            "predicted": {
                "peak_HeapInuse": round(peak["HeapInuse"] / f),
                "peak_HeapSys": round(peak["HeapSys"] / f),
                "NextGC": round(int(ms["NextGC"]) / f) if has_goal(int(ms["NextGC"])) else None,
                "gcs_per_gib": None if per_gib is None else per_gib * f,
            },
            "timeline": timeline.to_list(),
            "virtual_ns": heap.clock.now - heap.gc_.start_ns,
            "wall_s": round(time.perf_counter() - started, 3),
        }
    finally:
        heap.close()


def _run_one(args: tuple[SyntheticWorkload, Setting, int]) -> dict[str, Any]:
    return run_setting(*args)


@dataclass
class WhatIf:
    """The workload and one result per setting, in the order asked."""

    workload: SyntheticWorkload
    runs: list[dict[str, Any]]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload.to_dict(), "runs": self.runs, "notes": list(self.notes)}


def run_whatif(
    analysis: Analysis,
    settings: list[Setting],
    *,
    procs: int = 1,
    budget: int = DEFAULT_BUDGET,
    lifetime: int = LIFETIME,
    alloc_rate: float | str | None = "profile",
    jobs: int = 1,
    done: Callable[[int], None] | None = None,
) -> WhatIf:
    """Build the workload and run it under every setting (``jobs`` processes; 0: one per CPU).

    ``alloc_rate``: bytes per second of mutator CPU, None for back to back,
    or ``"profile"``: the profile's own rate, else the default (see the module doc).
    ``done(n)`` is told each time another setting has finished.
    """
    if not settings:
        raise GoheapError("what-if: no GOGC/GOMEMLIMIT setting given")
    if not 1 <= procs <= 256:
        raise GoheapError(f"--procs {procs}: must be between 1 and 256")
    check_jobs(jobs)
    rate_source = "as given"
    if isinstance(alloc_rate, str):
        alloc_rate, rate_source = profile_alloc_rate(analysis)
    work = build_workload(analysis, budget, lifetime, alloc_rate=alloc_rate)
    check_duration(work, rate_source)
    runs = map_processes(_run_one, [(work, s, procs) for s in settings], jobs, done)
    return WhatIf(work, runs, _notes(work, settings, runs, rate_source))


def check_duration(work: SyntheticWorkload, rate_source: str) -> None:
    """Refuse a rate so slow that the program would run past ``MAX_WHATIF_SECONDS``."""
    if not work.alloc_rate:
        return
    total = work.live_bytes + work.stream_bytes
    seconds = total / work.alloc_rate
    if seconds > MAX_WHATIF_SECONDS:
        from goheap.report.common import human_bytes

        least = human_bytes(total / MAX_WHATIF_SECONDS)
        raise GoheapError(
            f"--alloc-rate {human_bytes(work.alloc_rate)}/s ({rate_source}): the what-if's "
            f"{human_bytes(total)} would take {seconds / 86400:,.0f} days of mutator CPU, "
            f"where a 2-minute forced GC decides every cycle; give at least {least}/s"
        )


def _notes(
    work: SyntheticWorkload, settings: list[Setting], runs: list[dict[str, Any]], rate_source: str
) -> list[str]:
    from goheap.report.common import human_bytes

    if work.alloc_rate:
        rate = f"{human_bytes(work.alloc_rate)}/s of mutator CPU, {rate_source}"
    else:
        rate = "back to back (no work between allocations)"
    notes = [
        f"Synthetic workload: the live set ({work.live_objects:,} objects, "
        f"{work.live_bytes:,} B, pointer-free except 8-byte slots), then "
        f"{work.stream_objects:,} allocations ({work.stream_bytes:,} B) whose size mix follows "
        f"the profile's {work.stream_source} objects; each dies after {work.lifetime} more "
        f"stream allocations. Allocation rate: {rate}. Lifetime liveness: deaths are "
        "declared, nothing is traced.",
        "GCs/GiB counts the cycles during the stream only, per GiB it allocated; the live "
        "set's build-up cycles are in NumGC.",
    ]
    if work.alloc_rate:
        notes.append(
            "The faster a program allocates, the more it allocates while a cycle marks "
            "(allocated black, so counted as marked) and the higher its next goal: "
            "--alloc-rate sets the rate (max: back to back)."
        )
    if work.live_scale < 1:
        notes.append(
            f"The live set was scaled by {work.live_scale:.4g} to fit the budget (and "
            "GOMEMLIMIT with it); predicted heap figures are the simulated ones divided by "
            "that, GCs/GiB multiplied by it. Neither the 4 MiB minimum heap goal nor the "
            "runtime's non-heap memory (stacks, metadata, which a memory limit counts) "
            "scales, so a scaled limit bites harder than the real one would: raise --budget "
            "for a closer answer."
        )
    if work.stream_scale is not None:
        notes.append(
            f"The stream is {work.stream_scale:.4g} x the bytes of the profile's "
            f"{work.stream_source} objects."
        )
    if work.stream_source != "freed":
        what = "allocations" if work.stream_source == "alloc" else "in-use objects"
        notes.append(
            "The profile records (almost) no freed objects (under 1% of its allocations); "
            f"the stream's mix follows its {what} instead."
        )
    few = [
        r["label"]
        for r in runs
        if r["stream_gcs"] < FEW_CYCLES and (r["gogc"] >= 0 or r["memlimit"] is not None)
    ]
    if few:
        notes.append(
            f"Fewer than {FEW_CYCLES} cycles during the stream for {', '.join(few)}: GCs/GiB "
            "and the peaks are coarse there; raise --budget."
        )
    from goheap.profiles import get_profile

    has_limit = get_profile(work.profile).has_memory_limit
    if any(s.memlimit is not None for s in settings) and not has_limit:
        # As goheap.cli says it: the go1.8 model accepts a limit and records it only.
        notes.append(f"{work.profile} has no memory limit: GOMEMLIMIT is recorded, not applied.")
    return notes
