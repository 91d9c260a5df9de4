"""What-if from a heap profile: the profile's heap, replayed under other GOGC and GOMEMLIMIT.

A profile holds no program, only counts, so :func:`build_workload` makes a
synthetic one from an :class:`~goheap.pprof.analyze.Analysis`:

1. **the live set**: the profile's in-use objects, less the floating
   garbage a marked heap holds (``--inuse``, ``goheap.pprof.liveset``),
   one allocation per object at its slot size, never freed.
   Pointer-free (an 8-byte slot is one pointer, as it must be, see
   ``goheap.pprof.analyze``): the collector runs in *lifetime* mode
   (deaths are declared), so pointers change only the scan work, not
   which objects die. The scan work is not
   nothing, though: every live object is reachable, so some pointer slot
   in the heap holds it. **The index** stands for those slots: an array
   of one pointer per live object (``INDEX_SLOT`` bytes each, as a
   churn ring's or a cache's index), allocated first; the live objects
   give up as many bytes (their counts scaled by ``B / (B + 8 N)``), so
   the live set still holds the profile's in-use bytes. Real heaps have
   at least these pointers, usually more (a profile cannot say).
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
delta profile, ``?seconds=N``) gives its own rate; otherwise it is
inferred from the profile's floating garbage where its young sites show
it (``goheap.pprof.liveset``), else :data:`DEFAULT_ALLOC_RATE` (100 MiB/s)
is assumed and said; ``None`` means
back to back (only mallocgc's own cost: the most allocation-intense
program with this mix).

**Sizing** (the default, ``budget`` None): each setting runs until its
figures rest on ``cycles`` steady GC cycles (:func:`plan_setting`): the
goal arithmetic (:func:`cycle_bytes`) gives the bytes per cycle, the stream
is planned for ``WARMUP_CYCLES + cycles + 1`` of them, grows by whole
blocks when cycles come late, and stops at the end of the cycle that closes
the last steady window (:class:`CycleMeter`, GC start to GC start). The
figures come from those windows with a half-split spread
(:func:`steady_figures`). At most ``LIVE_CAP`` live objects are simulated,
and a setting whose cycles would take more than ``SETTING_ALLOCS``
allocations runs on a scaled live set (``live_scale`` < 1, never below
``MIN_SCALED_LIVE`` bytes); GOMEMLIMIT is scaled with it, heap figures are
divided by the scale and GCs per GiB multiplied by it ("predicted", linear
extrapolation; the 4 MiB minimum heap goal and the runtime's non-heap
memory, which GOMEMLIMIT counts, do not scale, so a small scaled heap is
less faithful).

**Budget** (``--budget``): ``budget`` allocations per setting instead; the
live set takes at most half of it (scaled as above), the stream the rest;
``stream_scale`` is its bytes over the bytes of the counts its mix follows.
What limits each answer (too few cycles, scaling, the profile's sampling
error) is :attr:`WhatIf.limits`, shown before the figures.

:func:`run_whatif` runs the workload once per (GOGC, GOMEMLIMIT) setting
on a fresh model heap with a ``goheap.timeline.Timeline``, on an executor
of ``goheap.parallel`` (a process pool by default), and reports per
setting: peak HeapInuse and HeapSys, NextGC and NumGC at the end, and GCs
per GiB allocated in the stream's steady cycles (the live set's own
build-up cycles left out), each with the cycles it rests on. Same input,
same output.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from goheap.errors import GoheapError
from goheap.options import parse_byte_rate
from goheap.parallel import check_executor, check_jobs, map_items, workers
from goheap.pprof.analyze import pointerful_slot
from goheap.pprof.liveset import (
    INDEX_SLOT,
    INUSE_MARKED,
    LiveEstimate,
    check_inuse,
    estimate_note,
    live_set_bytes,
    read_live_set,
)
from goheap.report.common import has_goal
from goheap.xorshift import DEFAULT_SEED, XorShift64

if TYPE_CHECKING:
    from goheap.pprof.analyze import Analysis

#: ``--budget``'s old default, kept as the live-set cap of a sized what-if (half of it).
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
#: Steady cycles each setting's figures rest on, by default (``--cycles``). What a
#: cycle floats varies with where sysmon's preemption falls in its mark (on a 122 MiB
#: service profile at 500-700 MiB/s: 18-31 MiB from one run to the next), and the
#: figures follow it; 12 cycles put 6-10 of that service's 10 figures within 10% of
#: Go's, 4 cycles 4-7 (benchmarks/RESULTS.md, 2026-12-06).
DEFAULT_CYCLES = 12
MIN_CYCLES, MAX_CYCLES = 2, 1000
#: Cycles of the stream left out before the steady ones: the first goal still
#: comes from the live set's build-up. (On a 275 MiB churn profile the stream's
#: very first windows were already within 1% of the later ones; one is kept out.)
WARMUP_CYCLES = 1
#: A sized what-if simulates at most this many live objects (larger live sets are
#: scaled down) ...
LIVE_CAP = DEFAULT_BUDGET // 2
#: ... and scales a setting's live set further when its cycles would take more
#: allocations than this (a cost bound: about 10-20 s of pure Python) ...
SETTING_ALLOCS = 600_000
#: ... but never below this many live bytes, where the 4 MiB minimum heap goal
#: (which does not scale) would start to decide the cycles.
MIN_SCALED_LIVE = 32 << 20
#: The stream is planned from the goal arithmetic with this margin (objects
#: allocated black raise each goal), and grows by whole blocks, up to GROW_BLOCKS
#: times the plan, when the cycles come slower than planned.
PLAN_MARGIN = 1.3
GROW_BLOCKS = 8
HEAP_MINIMUM = 4 << 20  # Go's heapminimum at GOGC=100
#: A GOMEMLIMIT under this many times the profile's live set earns a limit line.
NEAR_LIMIT = 1.25
FEW_CYCLES = 4  # under a --budget, fewer steady cycles than this earn a limit line
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


#: Where the rate came from when the profile gives none ...
RATE_ASSUMED = "assumed: the profile has no duration"
#: ... and when it was inferred from the profile's floating garbage (goheap.pprof.liveset).
RATE_INFERRED = "inferred from the profile's floating garbage"


def profile_alloc_rate(analysis: Analysis) -> tuple[float | None, str]:
    """The allocation rate to assume for a profile, and where it comes from."""
    secs = analysis.duration_nanos / 1e9
    allocated = analysis.totals.get("alloc_bytes", 0)
    if secs > 0 and allocated > 0:
        return allocated / secs, "the profile's alloc_space over its duration"
    return float(DEFAULT_ALLOC_RATE), RATE_ASSUMED


@dataclass(frozen=True)
class SyntheticWorkload:
    """A profile's heap as a program: a live set, then a stream of short-lived objects.

    ``budget`` None: sized per setting (:func:`plan_setting`), ``stream``
    empty; else ``budget`` allocations in all, ``stream`` their exact counts.
    """

    profile: str
    live: tuple[tuple[int, int], ...]  # (slot bytes, objects), ascending size (the index apart)
    stream: tuple[tuple[int, int], ...]  # (slot bytes, allocations), ascending size
    live_scale: float  # simulated / real (the live set capped at LIVE_CAP objects)
    stream_scale: float | None  # stream bytes / bytes of the counts followed
    stream_source: str  # "freed", "alloc" or "inuse": which counts the stream's mix follows
    lifetime: int
    seed: int
    budget: int | None
    alloc_rate: float | None  # bytes per second of mutator CPU; None: back to back
    mix: tuple[tuple[int, int], ...] = ()  # the counts the stream's mix follows
    cycles: int = DEFAULT_CYCLES  # steady cycles wanted per setting
    inuse_bytes: int = 0  # the profile's in-use objects' bytes (slot sizes), unscaled

    @property
    def live_objects(self) -> int:
        return sum(n for _, n in self.live)

    @property
    def index_bytes(self) -> int:
        """The index: one pointer slot per live object."""
        return INDEX_SLOT * self.live_objects

    @property
    def live_bytes(self) -> int:
        """The live objects' bytes and the index's."""
        return live_set_bytes(self.live)

    @property
    def stream_objects(self) -> int:
        return sum(n for _, n in self.stream)

    @property
    def stream_bytes(self) -> int:
        return sum(s * n for s, n in self.stream)

    @property
    def mean_slot(self) -> float:
        """The stream's mean slot size (its mix's bytes over its objects)."""
        n = sum(c for _, c in self.mix)
        return sum(s * c for s, c in self.mix) / n if n else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "live": [list(p) for p in self.live],
            "stream": [list(p) for p in self.stream],
            "live_objects": self.live_objects,
            "live_bytes": self.live_bytes,
            "index_bytes": self.index_bytes,
            "inuse_bytes": self.inuse_bytes,
            "stream_objects": self.stream_objects,
            "stream_bytes": self.stream_bytes,
            "live_scale": self.live_scale,
            "stream_scale": self.stream_scale,
            "stream_source": self.stream_source,
            "lifetime": self.lifetime,
            "seed": self.seed,
            "budget": self.budget,
            "sized": self.budget is None,
            "cycles": self.cycles,
            "warmup_cycles": WARMUP_CYCLES,
            "alloc_rate": self.alloc_rate,
        }


def with_index(counts: dict[int, int]) -> dict[int, int]:
    """The live counts scaled by ``B / (B + 8 N)``: room for the index in the same bytes."""
    objects = sum(counts.values())
    nbytes = sum(s * n for s, n in counts.items())
    if not objects or not nbytes:
        return dict(counts)
    return apportion(counts, round(objects * nbytes / (nbytes + INDEX_SLOT * objects)))


def check_cycles(cycles: int) -> None:
    """``--cycles``: the steady cycles each figure rests on."""
    if not MIN_CYCLES <= cycles <= MAX_CYCLES:
        raise GoheapError(f"--cycles {cycles}: must be between {MIN_CYCLES} and {MAX_CYCLES}")


def build_workload(
    analysis: Analysis,
    budget: int | None = DEFAULT_BUDGET,
    lifetime: int = LIFETIME,
    seed: int | None = None,
    alloc_rate: float | None = DEFAULT_ALLOC_RATE,
    cycles: int = DEFAULT_CYCLES,
) -> SyntheticWorkload:
    """The synthetic workload of an analysed profile (see the module doc).

    ``budget`` None sizes the stream per setting (at most ``LIVE_CAP`` live
    objects here); a number is that many allocations in all, as ``--budget``.
    ``seed`` (xorshift64, non-zero) orders the allocations; by default
    ``goheap.xorshift.DEFAULT_SEED`` (the workloads' default too).
    """
    if budget is not None and not MIN_BUDGET <= budget <= MAX_BUDGET:
        raise GoheapError(f"--budget {budget}: must be between {MIN_BUDGET} and {MAX_BUDGET}")
    check_cycles(cycles)
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
    cap = LIVE_CAP if budget is None else budget // 2
    if live_total <= cap:
        live_counts, live_scale = dict(inuse), 1.0
    else:
        live_counts = apportion(inuse, cap)
        live_scale = cap / live_total
    live_counts = with_index(live_counts)
    source, weights = "freed", freed
    if sum(freed.values()) * FREED_MIN_SHARE < sum(alloc.values()) or not any(freed.values()):
        source, weights = ("alloc", alloc) if any(alloc.values()) else ("inuse", inuse)
    stream_counts: dict[int, int] = {}
    if budget is not None:
        stream_counts = apportion(weights, budget - sum(live_counts.values()))
    followed = sum(k * n for k, n in weights.items())
    stream_bytes = sum(k * n for k, n in stream_counts.items())
    return SyntheticWorkload(
        profile=analysis.profile,
        live=tuple((k, n) for k, n in sorted(live_counts.items()) if n),
        stream=tuple((k, n) for k, n in sorted(stream_counts.items()) if n),
        live_scale=live_scale,
        stream_scale=stream_bytes / followed if followed and budget is not None else None,
        stream_source=source,
        lifetime=lifetime,
        seed=DEFAULT_SEED if seed is None else seed,
        budget=budget,
        alloc_rate=alloc_rate,
        mix=tuple((k, n) for k, n in sorted(weights.items()) if n),
        cycles=cycles,
        inuse_bytes=sum(k * n for k, n in inuse.items()),
    )


@dataclass(frozen=True)
class Setting:
    """One what-if setting: GOGC (-1: off) and GOMEMLIMIT (None: off), as the user gave them."""

    gogc: int
    memlimit: int | None = None

    @property
    def label(self) -> str:
        from goheap.report.common import gogc_text, memlimit_setting

        text = f"GOGC={gogc_text(self.gogc)}"
        if self.memlimit is not None:
            text += f" GOMEMLIMIT={memlimit_setting(self.memlimit)}"
        return text


def cycle_bytes(live: float, gogc: int, memlimit: float | None) -> float | None:
    """Bytes a program with ``live`` live bytes allocates per cycle: the goal arithmetic.

    The GOGC goal ``live * (1 + GOGC/100)`` (at least the heap minimum, 4 MiB
    x GOGC/100), or the memory limit if lower (taken as all heap: the
    runtime's own memory is left out), less the live heap; at least 2% of
    the live heap (a limit below it: the collector runs back to back). None:
    no goal at all (GOGC=off, no limit), no cycle to wait for.
    """
    goals = []
    if gogc >= 0:
        goals.append(max(live * (1 + gogc / 100), HEAP_MINIMUM * gogc / 100))
    if memlimit is not None:
        goals.append(float(memlimit))
    if not goals:
        return None
    return max(min(goals) - live, live / 50, 64 << 10)


@dataclass(frozen=True)
class Plan:
    """How one setting is simulated: its live set, its stream, when it stops."""

    scale: float  # simulated live objects / the profile's in-use objects
    live: tuple[tuple[int, int], ...]
    stream: tuple[tuple[int, int], ...]  # one block of the stream (exact counts)
    blocks: int  # the stream is this block, reshuffled, at most this many times
    stop_after: int  # stop at the end of the cycle that starts this stream window; 0: never
    memlimit: int | None  # GOMEMLIMIT as simulated (scaled with the live set)
    expected_cycle_bytes: float | None  # the goal arithmetic's bytes per cycle, simulated


def _has_limit(work: SyntheticWorkload) -> bool:
    from goheap.profiles import get_profile

    return get_profile(work.profile).has_memory_limit


def plan_setting(work: SyntheticWorkload, setting: Setting) -> Plan:
    """The simulation of one setting: sized for ``work.cycles`` steady cycles, or the budget.

    Sized: the stream holds ``WARMUP_CYCLES + cycles + 1`` cycles' bytes by
    the goal arithmetic (:func:`cycle_bytes`, with ``PLAN_MARGIN``); a
    setting that would take more than ``SETTING_ALLOCS`` allocations has its
    live set (and limit) scaled down, to no less than ``MIN_SCALED_LIVE``.
    """
    limit = setting.memlimit if _has_limit(work) else None
    if work.budget is not None:
        return Plan(
            work.live_scale,
            work.live,
            work.stream,
            1,
            0,
            None if setting.memlimit is None else int(setting.memlimit * work.live_scale),
            None,
        )
    live_bytes = work.live_bytes
    mean = work.mean_slot
    full_limit = None if limit is None else limit * work.live_scale
    per_cycle = cycle_bytes(live_bytes, setting.gogc, full_limit)
    windows = WARMUP_CYCLES + work.cycles + 1
    if per_cycle is None:  # no collection: a stream of the live set's bytes shows the growth
        stream_allocs = max(live_bytes, 1 << 20) / mean
    else:
        stream_allocs = windows * per_cycle * PLAN_MARGIN / mean
    cost = work.live_objects + stream_allocs
    f = 1.0
    if cost > SETTING_ALLOCS and live_bytes > MIN_SCALED_LIVE:
        f = max(SETTING_ALLOCS / cost, MIN_SCALED_LIVE / live_bytes)
    live = work.live
    if f < 1:
        counts = apportion(dict(work.live), round(work.live_objects * f))
        live = tuple((k, n) for k, n in sorted(counts.items()) if n)
        f = sum(n for _, n in live) / work.live_objects
    block = min(max(round(stream_allocs * f), 10 * work.lifetime), MAX_BUDGET)
    stream = apportion(dict(work.mix), block)
    sim_limit = None if setting.memlimit is None else int(setting.memlimit * work.live_scale * f)
    simulated_live = live_set_bytes(live)
    return Plan(
        scale=work.live_scale * f,
        live=live,
        stream=tuple((k, n) for k, n in sorted(stream.items()) if n),
        blocks=1 if per_cycle is None else max(1, min(GROW_BLOCKS, MAX_BUDGET // block)),
        stop_after=0 if per_cycle is None else windows,
        memlimit=sim_limit,
        expected_cycle_bytes=cycle_bytes(
            simulated_live, setting.gogc, None if limit is None else sim_limit
        ),
    )


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


#: The running peaks a CycleMeter restarts per window: the runtime's field, the snapshot's.
PEAKS = {
    "HeapAlloc": ("peak_heap_alloc", "heap_alloc"),
    "HeapInuse": ("peak_heap_inuse", "heap_inuse"),
    "HeapSys": ("peak_heap_sys", "heap_sys"),
}


class CycleMeter:
    """The stream's cycles, window by window: bytes allocated and peaks between GC starts.

    Rides on the collector's ``on_sample`` hook (after the timeline's own
    sample). Window k runs from the k-th GC start of the stream to the
    next; its peaks are the runtime's running maxima, restarted at each
    start (and put back to the whole run's at :meth:`finish`), and its
    ``marked`` the bytes the cycle that started it marked (``bytesMarked``:
    what a heap profile written after that cycle counts as in use).
    """

    def __init__(
        self,
        heap: Any,
        timeline: Any,
        stop_after: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.heap = heap
        self.timeline = timeline
        self.stop_after = stop_after
        self.progress = progress
        self.allocated = 0  # stream bytes so far (the loop adds each slot before malloc)
        self.on = False
        self.starts: list[int] = []  # stream bytes at each GC start
        self.windows: list[dict[str, int]] = []
        self.stop = False
        self._ending = False
        self._max = dict.fromkeys(PEAKS, 0)
        self._marked = 0  # bytesMarked of the cycle that ended last
        heap.gc_.on_sample = self
        heap.gc_.sample_jumps = False  # it counts every GC start: idle time is stepped

    def _restart_peaks(self) -> dict[str, int]:
        """The running peaks so far, then restarted from the heap as it is now."""
        st = self.heap.stats
        now = self.heap.runtime.snapshot()
        peaks = {}
        for name, (field_, current) in PEAKS.items():
            peaks[name] = getattr(st, field_)
            self._max[name] = max(self._max[name], peaks[name])
            setattr(st, field_, getattr(now, current))
        return peaks

    def begin_stream(self) -> None:
        self._restart_peaks()
        self.on = True

    def __call__(self, event: str) -> None:
        self.timeline.sample(event)
        if not self.on:
            return
        if event == "gc_start":
            peaks = self._restart_peaks()
            if self.starts:
                window = {"bytes": self.allocated - self.starts[-1], "marked": self._marked}
                window |= {f"peak_{name}": v for name, v in peaks.items()}
                self.windows.append(window)
            self.starts.append(self.allocated)
            if self.stop_after and len(self.starts) >= self.stop_after:
                self._ending = True
        elif event == "gc_end":
            self._marked = self.heap.runtime.cycles()[-1].bytesMarked
            if self._ending:
                self.stop = True
            if self.progress is not None:
                self.progress(len(self.starts), self.stop_after)

    def finish(self) -> dict[str, int]:
        """The whole run's peaks (and the runtime's running maxima put back to them)."""
        self.heap.gc_.on_sample = self.timeline.sample
        self._restart_peaks()
        st = self.heap.stats
        for name, (field_, _) in PEAKS.items():
            setattr(st, field_, max(getattr(st, field_), self._max[name]))
        return dict(self._max)


def steady_figures(windows: list[dict[str, int]], wanted: int | None) -> dict[str, Any] | None:
    """GCs per GiB and peak HeapInuse over the steady windows, each with a half-split spread.

    The steady windows are those after ``WARMUP_CYCLES`` (the first
    ``wanted`` of them, if given). The uncertainty of a figure is half the
    difference between its values over the first and the second half of
    those windows (for GCs per GiB at least the standard error of the
    per-cycle rates): how much it moves with the cycles it is taken over
    (the simulation's own spread, not the model's error). None under two
    windows.
    """
    steady = windows[WARMUP_CYCLES:]
    if wanted is not None:
        steady = steady[:wanted]
    if len(steady) < 2:
        return None

    def rate(ws: list[dict[str, int]]) -> float:
        return len(ws) * GIB / max(1, sum(w["bytes"] for w in ws))

    def peak(ws: list[dict[str, int]], key: str) -> int:
        return max(w[key] for w in ws)

    half = len(steady) // 2
    first, second = steady[:half], steady[len(steady) - half :]
    per_cycle = [GIB / max(1, w["bytes"]) for w in steady]
    se = statistics.stdev(per_cycle) / len(per_cycle) ** 0.5
    return {
        "cycles": len(steady),
        "gcs_per_gib": rate(steady),
        "gcs_per_gib_err": max(abs(rate(first) - rate(second)) / 2, se),
        "peak_HeapInuse": peak(steady, "peak_HeapInuse"),
        "peak_HeapInuse_err": abs(peak(first, "peak_HeapInuse") - peak(second, "peak_HeapInuse"))
        / 2,
        "peak_HeapSys": peak(steady, "peak_HeapSys"),
        "peak_HeapAlloc": peak(steady, "peak_HeapAlloc"),
        "marked": statistics.mean(w["marked"] for w in steady),
        "cycle_bytes": [w["bytes"] for w in steady],
    }


def run_setting(
    work: SyntheticWorkload,
    setting: Setting,
    procs: int = 1,
    *,
    progress: Callable[[int, int], None] | None = None,
    gctrace: bool = False,
    costs: Any = None,
) -> dict[str, Any]:
    """Run the workload under one setting on a fresh heap; the figures of one row.

    ``progress(cycles started, cycles wanted)`` is told at each cycle's end
    of the stream; ``gctrace`` keeps Go's gctrace line of every cycle in the
    row's ``gctrace`` (a list, to print; not for the JSON). ``costs``: the
    clock's (``goheap.costs``; None: the built-in costs).
    """
    import time

    from goheap.heap import Heap, parse_gogc
    from goheap.runtime.common.gotype import POINTER
    from goheap.timeline import Timeline

    plan = plan_setting(work, setting)
    f = plan.scale
    lines: list[str] = []
    heap = Heap(
        profile=work.profile,
        procs=procs,
        gogc=parse_gogc(setting.gogc),
        liveness="lifetime",
        memlimit=plan.memlimit,
        gctrace=lines.append if gctrace else False,
        costs=costs,
    )
    timeline = Timeline(heap)
    meter = CycleMeter(heap, timeline, plan.stop_after, progress)
    started = time.perf_counter()
    try:
        rng = XorShift64(work.seed)
        live = _shuffled(plan.live, rng)
        kinds = {s: POINTER if pointerful_slot(s) else None for s, _ in (*plan.live, *plan.stream)}
        malloc = heap.malloc
        compute = heap.gc_.mutator_ran  # the mutator's own CPU between allocations
        ns_per_byte = 1e9 / work.alloc_rate if work.alloc_rate else 0.0
        if live:  # the index first, as a program makes its table before filling it
            malloc(INDEX_SLOT * len(live), POINTER, stack=STACK_LIVE)
        for size in live:
            malloc(size, kinds[size], stack=STACK_LIVE)
            if ns_per_byte:
                compute(size * ns_per_byte)
        after_live = heap.runtime.snapshot()
        meter.begin_stream()
        lifetime = work.lifetime
        ring = [0] * lifetime
        dead = heap.dead
        i = 0
        stream_objects = 0
        for _ in range(plan.blocks):
            for size in _shuffled(plan.stream, rng):
                meter.allocated += size
                x = malloc(size, kinds[size], stack=STACK_STREAM)
                if ns_per_byte:
                    compute(size * ns_per_byte)
                if ring[i]:
                    dead(ring[i])
                ring[i] = x
                i = i + 1 if i + 1 < lifetime else 0
                stream_objects += 1
                if meter.stop:
                    break
            if meter.stop:
                break
        ms = heap.read_memstats().to_dict()
        timeline.sample("end")
        whole = meter.finish()
        stream_gcs = int(ms["NumGC"]) - after_live.numgc
        stream_bytes = meter.allocated
        per_gib = stream_gcs * GIB / stream_bytes if stream_bytes else None
        steady = steady_figures(meter.windows, work.cycles if work.budget is None else None)
        if steady is not None:
            peak = {k: steady[f"peak_{k}"] for k in PEAKS}
            per_gib = steady["gcs_per_gib"]
        else:
            peak = whole
        predicted: dict[str, Any] = {
            "peak_HeapInuse": round(peak["HeapInuse"] / f),
            "peak_HeapSys": round(peak["HeapSys"] / f),
            "NextGC": round(int(ms["NextGC"]) / f) if has_goal(int(ms["NextGC"])) else None,
            "gcs_per_gib": None if per_gib is None else per_gib * f,
            "gcs_per_gib_err": None,
            "peak_HeapInuse_err": None,
            "marked": None,
        }
        if steady is not None:
            predicted["gcs_per_gib_err"] = steady["gcs_per_gib_err"] * f
            predicted["peak_HeapInuse_err"] = round(steady["peak_HeapInuse_err"] / f)
            predicted["marked"] = round(steady["marked"] / f)
        row = {
            "label": setting.label,
            "gogc": setting.gogc,
            "memlimit": setting.memlimit,
            "memlimit_simulated": plan.memlimit,
            "profile": work.profile,
            "procs": procs,
            "live_scale": f,
            "live_objects": sum(n for _, n in plan.live),
            "live_bytes": live_set_bytes(plan.live),
            "stream_objects": stream_objects,
            "stream_bytes": stream_bytes,
            "expected_cycle_bytes": plan.expected_cycle_bytes,
            "cycles": 0 if steady is None else steady["cycles"],
            "cycles_wanted": work.cycles if plan.stop_after else 0,
            "cycle_bytes": [] if steady is None else steady["cycle_bytes"],
            "peak": peak,
            "peak_whole_run": whole,
            "memstats": {k: ms[k] for k in _MEMSTATS_KEPT if k in ms},
            "after_live": {"HeapInuse": after_live.heap_inuse, "NumGC": after_live.numgc},
            "stream_gcs": stream_gcs,
            "gcs_per_gib": per_gib,
            "predicted": predicted,
            "timeline": timeline.to_list(),
            "virtual_ns": heap.clock.now - heap.gc_.start_ns,
            "wall_s": round(time.perf_counter() - started, 3),
        }
        if gctrace:
            row["gctrace"] = lines
        return row
    finally:
        heap.close()


#: One what-if run as an executor item: the workload, the setting, GOMAXPROCS,
#: gctrace, the clock's costs, the setting's index and where its progress goes (None; a function, in
#: this process; or a queue, from a worker process).
RunItem = tuple[SyntheticWorkload, Setting, int, bool, Any, int, Any]


def _run_one(item: RunItem) -> dict[str, Any]:
    work, setting, procs, gctrace, costs, index, sink = item
    report: Callable[[int, int], None] | None = None
    if sink is not None:

        def report(done: int, total: int) -> None:
            if callable(sink):
                sink(index, done, total)
            else:
                sink.put((index, done, total))

    return run_setting(work, setting, procs, progress=report, gctrace=gctrace, costs=costs)


@dataclass
class WhatIf:
    """The workload and one result per setting, in the order asked."""

    workload: SyntheticWorkload
    runs: list[dict[str, Any]]
    notes: list[str]
    limits: list[str] = field(default_factory=list)
    costs: dict[str, Any] | None = None  # goheap.costs.Costs.to_dict() of the runs
    live_estimate: LiveEstimate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload.to_dict(),
            "runs": self.runs,
            "limits": list(self.limits),
            "notes": list(self.notes),
            "costs": self.costs,
            "live_estimate": None if self.live_estimate is None else self.live_estimate.to_dict(),
        }


#: Told (setting index, cycles started, cycles wanted) as a setting's stream runs.
Progress = Callable[[int, int, int], None]


def run_whatif(
    analysis: Analysis,
    settings: list[Setting],
    *,
    procs: int = 1,
    budget: int | None = None,
    cycles: int = DEFAULT_CYCLES,
    lifetime: int = LIFETIME,
    alloc_rate: float | str | None = "profile",
    jobs: int = 1,
    executor: str = "process",
    progress: Progress | None = None,
    gctrace: bool = False,
    done: Callable[[int], None] | None = None,
    costs: Any = None,
    inuse: str = INUSE_MARKED,
    profiled: Setting | None = None,
) -> WhatIf:
    """Build the workload and run it under every setting (``jobs`` processes; 0: one per CPU).

    ``budget`` None sizes each setting for ``cycles`` steady cycles; a number
    is that many allocations per setting. ``alloc_rate``: bytes per second
    of mutator CPU, None for back to back, or ``"profile"``: the profile's
    own rate, else the default (see the module doc). ``executor``: where
    the settings run (``goheap.parallel.EXECUTORS``); ``progress`` is told
    of each setting's cycles, ``done(n)`` each time another setting has
    finished (both ``process`` and ``serial`` only). ``costs``: the clock's
    (a calibration file's ``goheap.costs.Costs``; None: the built-in costs).
    ``inuse``: what the profile's in-use objects are, ``"marked"`` (a cycle's
    marked heap, written without a GC first: the live set is estimated,
    and a rate the profile does not give inferred, at ``profiled``, by
    default GOGC=100: ``goheap.pprof.liveset``) or ``"live"`` (written after
    ``runtime.GC()``).
    """
    if not settings:
        raise GoheapError("what-if: no GOGC/GOMEMLIMIT setting given")
    check_inuse(inuse)
    if not 1 <= procs <= 256:
        raise GoheapError(f"--procs {procs}: must be between 1 and 256")
    check_jobs(jobs)
    check_executor(executor)
    rate_source = "as given"
    if isinstance(alloc_rate, str):
        alloc_rate, rate_source = profile_alloc_rate(analysis)
    work = build_workload(analysis, budget, lifetime, alloc_rate=alloc_rate, cycles=cycles)
    work, estimate = read_live_set(
        analysis,
        work,
        inuse,
        profiled or Setting(100),
        infer=rate_source == RATE_ASSUMED,
        procs=procs,
        costs=costs,
    )
    if estimate.rate_fit:
        rate_source = RATE_INFERRED
    plans = [plan_setting(work, s) for s in settings]
    check_duration(work, plans, rate_source)
    items: list[RunItem] = [
        (work, s, procs, gctrace, costs, i, None) for i, s in enumerate(settings)
    ]
    if progress is None or executor not in ("process", "serial"):
        runs = map_items(_run_one, items, jobs, executor, done)
    elif executor == "serial" or workers(jobs, len(items)) == 1:
        runs = map_items(_run_one, [(*it[:6], progress) for it in items], jobs, "serial", done)
    else:
        runs = _map_with_progress(items, jobs, progress, done)
    from goheap.costs import resolve_costs

    return WhatIf(
        work,
        runs,
        _notes(work, settings, runs, rate_source, estimate),
        _limits(analysis, work, settings, runs, rate_source),
        resolve_costs(costs).to_dict(),
        estimate,
    )


def _manager_start() -> None:
    """In the queue's manager process: an interrupt is the parent's to act on."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _map_with_progress(
    items: list[RunItem], jobs: int, progress: Progress, done: Callable[[int], None] | None
) -> list[dict]:
    """The items in a process pool, their progress sent back through a manager's queue."""
    import contextlib
    import threading
    from multiprocessing.managers import SyncManager

    manager = SyncManager()
    manager.start(_manager_start)
    queue = manager.Queue()

    def drain() -> None:
        with contextlib.suppress(Exception):  # the manager gone: nothing more to show
            while (msg := queue.get()) is not None:
                progress(*msg)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        return map_items(_run_one, [(*it[:6], queue) for it in items], jobs, "process", done)
    finally:
        with contextlib.suppress(Exception):
            queue.put(None)
        reader.join(5.0)
        manager.shutdown()


def check_duration(work: SyntheticWorkload, plans: list[Plan], rate_source: str) -> None:
    """Refuse a rate so slow that the program would run past ``MAX_WHATIF_SECONDS``."""
    if not work.alloc_rate:
        return
    total = max(sum(k * n for k, n in p.live) + sum(k * n for k, n in p.stream) for p in plans)
    seconds = total / work.alloc_rate
    if seconds > MAX_WHATIF_SECONDS:
        from goheap.report.common import human_bytes

        least = human_bytes(total / MAX_WHATIF_SECONDS)
        raise GoheapError(
            f"--alloc-rate {human_bytes(work.alloc_rate)}/s ({rate_source}): the what-if's "
            f"{human_bytes(total)} would take {seconds / 86400:,.0f} days of mutator CPU, "
            f"where a 2-minute forced GC decides every cycle; give at least {least}/s"
        )


def _labels(runs: list[dict[str, Any]]) -> str:
    return ", ".join(str(r["label"]) for r in runs)


def _limits(
    analysis: Analysis,
    work: SyntheticWorkload,
    settings: list[Setting],
    runs: list[dict],
    rate_source: str = "",
) -> list[str]:
    """What limits the answer, most limiting first: shown before the figures."""
    from goheap.report.common import human_bytes

    out = []
    short = [r for r in runs if r["cycles_wanted"] and r["cycles"] < r["cycles_wanted"]]
    if short:
        got = ", ".join(f"{r['label']} {r['cycles']}" for r in short)
        out.append(
            f"Fewer steady cycles than the {work.cycles} wanted ({got}): the stream grew "
            f"{GROW_BLOCKS}x its plan and stopped; those figures are coarse."
        )
    if work.budget is not None:
        few = [r for r in runs if r["cycles"] < FEW_CYCLES and _collects(r)]
        if few:
            out.append(
                f"--budget {work.budget:,}: fewer than {FEW_CYCLES} steady cycles for "
                f"{_labels(few)}; GCs/GiB and the peaks are coarse there (without --budget "
                "each setting is sized for its cycles)."
            )
    never = [r for r in runs if not _collects(r)]
    if never:
        r = never[0]
        out.append(
            f"{_labels(never)}: no collection runs, so the heap grows by every byte "
            f"allocated; the peak is after {human_bytes(r['stream_bytes'] / r['live_scale'])} "
            "of the stream and means nothing beyond that."
        )
    scaled = [r for r in runs if r["live_scale"] < 1]
    if scaled:
        each = ", ".join(f"{r['label']} x{r['live_scale']:.3g}" for r in scaled)
        what = "and GOMEMLIMIT " if any(r["memlimit"] is not None for r in scaled) else ""
        out.append(
            f"Live set {what}scaled ({each}) to keep each setting to about "
            f"{SETTING_ALLOCS:,} allocations (figures are scaled back); the 4 MiB minimum "
            "goal and the runtime's non-heap memory do not scale, so a scaled limit bites "
            "harder than the real one."
        )
    live = work.live_bytes / work.live_scale
    near = [
        r
        for r in runs
        if r["memlimit"] is not None and _has_limit(work) and r["memlimit"] < NEAR_LIMIT * live
    ]
    if near:
        out.append(
            f"{_labels(near)}: the limit is within {NEAR_LIMIT - 1:.0%} of the profile's live "
            f"set ({human_bytes(live)}, estimated: see the live set line), so the answer "
            "hangs on that figure."
        )
    se = int(analysis.totals.get("inuse_bytes_se", 0) or 0)
    inuse = int(analysis.totals.get("inuse_bytes", 0) or 0)
    if inuse and se * 100 >= inuse:
        out.append(
            f"The profile samples one allocation per {analysis.period:,} bytes: its live set "
            f"is known to about ±{100 * se / inuse:.0f}% (1 s.e.), and every figure with it; "
            "a MemProfileRate=1 profile is exact."
        )
    if rate_source == RATE_ASSUMED and work.alloc_rate:
        out.append(
            f"The profile has no duration, so {human_bytes(work.alloc_rate)}/s of mutator CPU is "
            "assumed. A program that allocates faster allocates more while each cycle marks "
            "(garbage that floats to the next cycle), and both its live set (estimated from "
            "that) and its heap follow: give the program's rate with --alloc-rate, or a delta "
            "profile (/debug/pprof/heap?seconds=N) that carries it."
        )
    if any(s.memlimit is not None for s in settings) and not _has_limit(work):
        # As goheap.cli says it: the go1.8 model accepts a limit and records it only.
        out.append(f"{work.profile} has no memory limit: GOMEMLIMIT is recorded, not applied.")
    return out


def _collects(row: dict[str, Any]) -> bool:
    """Whether a setting has any heap goal (not GOGC=off without an applied limit)."""
    return bool(row["gogc"] >= 0 or row["stream_gcs"] or row["cycles_wanted"])


def _notes(
    work: SyntheticWorkload,
    settings: list[Setting],
    runs: list[dict[str, Any]],
    rate_source: str,
    estimate: LiveEstimate | None = None,
) -> list[str]:
    from goheap.report.common import human_bytes

    if work.alloc_rate:
        rate = f"{human_bytes(work.alloc_rate)}/s of mutator CPU, {rate_source}"
    else:
        rate = "back to back (no work between allocations)"
    notes = [
        f"Synthetic workload: the live set ({work.live_objects:,} objects, "
        f"{work.live_bytes:,} B, pointer-free except 8-byte slots, with an index of one "
        f"pointer per object: {work.index_bytes:,} B of it), then a stream whose "
        f"size mix follows the profile's {work.stream_source} objects; each dies after "
        f"{work.lifetime} more stream allocations. Allocation rate: {rate}. Lifetime "
        "liveness: deaths are declared, nothing is traced.",
    ]
    if estimate is not None:
        rate_text = f"{human_bytes(work.alloc_rate)}/s" if work.alloc_rate else "back to back"
        notes.append(estimate_note(estimate, rate_text))
    if work.budget is None:
        notes.append(
            f"Each setting's stream is sized by its goal arithmetic for {WARMUP_CYCLES} "
            f"warm-up and {work.cycles} steady cycles (--cycles), and stops once they have "
            "run. GCs/GiB and the peaks are taken over the steady cycles (GC start to GC "
            "start); ± is half the difference between their first and second half: the "
            "simulation's own spread, not its error against Go (runs ten times as long moved "
            "the figures by up to 5%)."
        )
    else:
        notes.append(
            f"--budget: {work.budget:,} allocations per setting, the stream "
            f"{work.stream_scale or 0:.4g} x the bytes of the profile's {work.stream_source} "
            f"objects. GCs/GiB and the peaks are over the cycles after the first "
            f"{WARMUP_CYCLES} (GC start to GC start), or with fewer over the whole stream."
        )
    if work.alloc_rate:
        notes.append(
            "The faster a program allocates, the more it allocates while a cycle marks "
            "(allocated black, so counted as marked) and the higher its next goal: "
            "--alloc-rate sets the rate (max: back to back)."
        )
    if work.stream_source != "freed":
        what = "allocations" if work.stream_source == "alloc" else "in-use objects"
        notes.append(
            "The profile records (almost) no freed objects (under 1% of its allocations); "
            f"the stream's mix follows its {what} instead."
        )
    return notes
