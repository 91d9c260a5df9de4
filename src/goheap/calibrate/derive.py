"""From what the probes printed to ``CostModel`` fields: the derivation of ``goheap calibrate``.

Two steps. ``quantities`` reads the raw probe record (``goheap.calibrate.
probes``) into named figures (``small.base``, ``mark.cold.go127``, ...), each
with how it was obtained; ``RULES``, the one table from figure to
``CostModel`` field, says which field each figure sets. A field no rule
names, or whose figure the run could not measure (no Go 1.8 given, no cache
size in sysfs), keeps its built-in default and says why.

Costs that depend on the heap's size are interpolated by the clock as
``hot + (cold - hot) * coldness`` with ``coldness = 1 - llc / HeapInuse``
(``CostModel.coldness``). A probe run at a heap of HeapInuse ``H`` measures
that mixture, so the out-of-cache figure is solved from it:
``cold = hot + (measured - hot) / coldness(H)``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from goheap.calibrate.cpuprofile import PROGRAM, REST
from goheap.calibrate.probes import CLEAR_LIVES_MIB, CLEAR_SIZE, MIB
from goheap.costs import cost_fields, field_names
from goheap.profiles import get_profile
from goheap.profiles.go127 import GO127
from goheap.runtime.common.clock import CostModel

#: The tiny allocator's probe size (pointer-free, under 16 bytes).
TINY_SIZE = 8
#: A mark-probe heap at most this share of the cache counts as in cache.
HOT_SHARE = 0.5


@dataclass(frozen=True)
class Figure:
    """One measured quantity, or None with the reason it was not measured."""

    value: float | None
    how: str


@dataclass(frozen=True)
class Rule:
    """CostModel field <- figure: the one place the mapping lives."""

    field: str
    figure: str


#: The roots' scan work of a mark probe cycle: the go1.27 profile's globals and stacks.
GO127_ROOT_BYTES = GO127.globals_scan + GO127.stack_scan_base
#: Its heap scan work: the runtime's own objects (a minimal program's, one P), which the
#: clock prices as heap work; what is left of the cycle's time is the roots'.
GO127_PROBE_HEAP_SCAN = GO127.runtime_heap_scan + sum(
    size for size, pointerful in GO127.gc_worker_allocs if pointerful
)

#: Which figure sets which CostModel field. Fields not listed keep their defaults.
RULES: tuple[Rule, ...] = (
    Rule("llc_bytes", "llc"),
    Rule("mark_llc_bytes", "llc.mark"),
    Rule("tiny_ns", "tiny"),
    Rule("small_base_ns_go18", "small.base.go18"),
    Rule("small_base_ns_go127", "small.base.go127"),
    Rule("small_ns_per_byte_hot", "small.hot"),
    Rule("small_ns_per_byte_cold", "small.cold"),
    Rule("alloc_black_ns_go18", "black.go18"),
    Rule("alloc_black_ns_go127", "black.go127"),
    Rule("large_base_ns_go18", "large.base.go18"),
    Rule("large_base_ns_go127", "large.base.go127"),
    Rule("large_ns_per_byte_hot", "large.hot"),
    Rule("large_ns_per_byte_cold", "large.cold"),
    Rule("refill_ns_hot", "refill.hot"),
    Rule("page_fault_ns", "fault"),
    Rule("scavenge_ns_per_page", "scavenge"),
    Rule("mark_ns_per_object", "mark.hot"),
    Rule("span_scan_ns_per_byte", "span.hot"),
    Rule("span_scan_ns_per_byte_cold", "span.cold"),
    Rule("roots_ns_go18", "roots.go18"),
    Rule("root_scan_ns_per_byte", "roots.go127"),
    Rule("stw_ns", "stw"),
    Rule("usleep_slack_ns", "usleep.slack"),
    Rule("usleep_slack_per_ns", "usleep.slack_per_ns"),
    Rule("worker_wake_ns", "wake"),
)

#: The probe's ring frees whole spans; a program's heap frees them piecemeal and costs
#: more per span: these come from the churn twin's CPU profile (docs/model.md).
FROM_THE_TWIN = "not measured: read off the churn twin's CPU profile (docs/model.md)"
#: The probe's loop stores no pointer while a mark runs: the write barrier's figures
#: come from two twins that do.
FROM_THE_TWINS = (
    "not measured: read off the churn and binarytrees twins' CPU profiles and gctrace"
    " (docs/model.md)"
)

#: The mark probe's in-order ring pays almost no cache miss (it visits the objects in
#: the order they lie, which the prefetcher streams), its shuffled one a miss an object;
#: a program's heap lies between, and how ordered it is the probes cannot say.
FROM_THE_CHURN_MARK = (
    "not measured: the mark probe's ring, in address order or shuffled, brackets a"
    " program's heap; read off the churn twin's CPU profile (docs/model.md)"
)

#: Why the fields no rule names keep their defaults.
KEPT = {
    "mark_ns_per_object_cold_go18": FROM_THE_CHURN_MARK,
    "mark_ns_per_object_cold_go127": FROM_THE_CHURN_MARK,
    "refill_ns_cold": FROM_THE_TWIN,
    "sweep_ns_per_span": FROM_THE_TWIN,
    "sweep_ns_per_object": FROM_THE_TWIN,
    "write_barrier_old_ns_go18": FROM_THE_TWINS,
    "write_barrier_new_ns_go18": FROM_THE_TWINS,
    "write_barrier_old_ns_go127": FROM_THE_TWINS,
    "write_barrier_new_ns_go127": FROM_THE_TWINS,
    "scan_ns_per_byte": "not measured: the probes cannot separate it from the per-object cost",
    "scan_ns_per_byte_cold": "not measured: as scan_ns_per_byte",
    "scavenge_ns_per_call": "not measured: a madvise of unwritten pages in a loop (docs/model.md)",
    "tlb_shootdown_ns": "not measured: benchmarks/madvise_sibling.py (docs/model.md)",
    "tlb_shootdown_victim_ns": "not measured: benchmarks/madvise_sibling.py (docs/model.md)",
    "stw_sweep_term_mp_ns_go127": "not measured: gctrace of the twins at two Ps (docs/model.md)",
    "stw_mark_term_mp_ns_go127": "not measured: gctrace of the twins at two Ps (docs/model.md)",
    "stw_sweep_term_mp_ns_go18": "not measured: gctrace of the twins at two Ps (docs/model.md)",
    "stw_mark_term_mp_ns_go18": "not measured: gctrace of the twins at two Ps (docs/model.md)",
}


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """``y = base + slope * x`` by least relative squares; (base, slope).

    Each point is weighted by ``1/y**2``: the probes' error is a share of what
    they measure, and the sizes span three orders of magnitude, so plain least
    squares would let the largest size decide the base.
    """
    w = [1.0 / max(y, 1e-9) ** 2 for _, y in points]
    sw = sum(w)
    mx = sum(wi * x for wi, (x, _) in zip(w, points, strict=True)) / sw
    my = sum(wi * y for wi, (_, y) in zip(w, points, strict=True)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, (x, _) in zip(w, points, strict=True))
    sxy = sum(wi * (x - mx) * (y - my) for wi, (x, y) in zip(w, points, strict=True))
    slope = sxy / sxx if sxx else 0.0
    return my - slope * mx, slope


#: The built-in clock, whose interpolation the derivation inverts and fits.
_CLOCK = CostModel()


def coldness(llc: int, heap_inuse: float) -> float:
    """The clock's ``CostModel.coldness`` at this heap size, for a cache of llc bytes."""
    return _CLOCK.coldness(int(heap_inuse), llc)


def solve_cold(hot: float, measured: float, cold: float) -> float | None:
    """The out-of-cache figure that, interpolated at ``cold``, gives ``measured``."""
    if cold <= 0.25:  # the heap barely left the cache: the solution would be noise
        return None
    return max(0.0, hot + (measured - hot) / cold)


@dataclass(frozen=True)
class CacheFit:
    """The cache a kind of work gets, fitted to a series of it (``fit_llc``)."""

    llc: int  # bytes: the clock's ``llc_bytes`` or ``mark_llc_bytes``
    hot: float  # the series' figure in cache (ns an object, or ns a byte cleared)
    cold: float  # and out of it


#: Candidate cache sizes for ``fit_llc``: 1 MiB to 8 GiB, 32 a doubling.
_LLC_GRID = tuple(int(MIB * 2 ** (i / 32)) for i in range(0, 13 * 32 + 1))


def fit_llc(points: list[tuple[float, float]]) -> CacheFit | None:
    """The cache size that puts the clock's interpolation through a series.

    ``points`` are (HeapInuse, cost) of one kind of work at growing heaps:
    the shuffled mark ring's ns an object, whose every object is a miss once
    the heap is out of the cache the machine gives it, or the clearing
    series' ns a byte. For each candidate ``llc`` the series is a line in
    (hot, cold): ``ns = hot + (cold - hot) * coldness(llc, HeapInuse)``,
    solved by least relative squares (``fit_line``); the candidate with the
    smallest relative residual wins. None without three points, two of them
    out of the fitted cache, or without a rise (cold at least 1.5 times hot):
    then the series never left the cache, and says nothing of its size.
    """
    if len(points) < 3:
        return None
    best: tuple[float, CacheFit] | None = None
    for llc in _LLC_GRID:
        xs = [coldness(llc, h) for h, _ in points]
        if sum(1 for x in xs if x > 0) < 2:
            continue
        hot, slope = fit_line([(x, y) for x, (_, y) in zip(xs, points, strict=True)])
        resid = sum(((hot + slope * x - y) / y) ** 2 for x, (_, y) in zip(xs, points, strict=True))
        if best is None or resid < best[0]:
            best = (resid, CacheFit(llc, hot, hot + slope))
    if best is None or best[1].hot <= 0 or best[1].cold < 1.5 * best[1].hot:
        return None
    return best[1]


def _mean(xs: list[float]) -> float | None:
    return statistics.mean(xs) if xs else None


def _runtimes(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    runtimes: dict[str, dict[str, Any]] = raw.get("runtimes", {})
    return runtimes


@dataclass(frozen=True)
class AllocSplit:
    """One alloc probe point's time per allocation, split by its CPU profile (ns)."""

    size: int
    small: bool  # mallocgc's small path (else the large one)
    hot: bool
    heap_inuse: int
    clear_per_byte: float  # memclrNoHeapPointers, per byte allocated (all of it reused)
    refill_per_span: float | None  # mcache.refill less its sweeping, per span taken (small)
    rest: float  # the rest: mallocgc's path (older records: the loop and barrier too)


def _is_small(runtime: str, size: int) -> bool:
    """Whether mallocgc takes its small path for ``size`` (Go 1.27: up to 32 KiB less
    its malloc header, whatever the object's type)."""
    spec = get_profile(runtime).sizeclasses.spec
    return size <= spec.max_small_size - spec.malloc_header_size


def _objects_per_span(runtime: str, size: int) -> int:
    """Objects per span of a small allocation of ``size`` in that runtime."""
    classes = get_profile(runtime).sizeclasses
    c = classes.size_to_class(size)
    return classes.class_to_allocnpages[c] * classes.spec.page_size // classes.class_to_size[c]


def alloc_splits(runtime: str, rows: list[dict[str, Any]]) -> list[AllocSplit]:
    """The profiled rows of one runtime's alloc probe, split (none in older records)."""
    rows = [r for r in rows if r["size"] > TINY_SIZE and r.get("profile")]
    if not rows:
        return []
    hot_live = min(r["live"] for r in rows)
    out = []
    for r in rows:
        prof = r["profile"]
        per = r["cpu_ns_per_alloc"] / max(sum(prof.values()), 1)  # ns per sample, per alloc
        small = _is_small(runtime, r["size"])
        out.append(
            AllocSplit(
                size=r["size"],
                small=small,
                hot=r["live"] == hot_live,
                heap_inuse=r["heap_inuse"],
                clear_per_byte=prof.get("clear", 0) * per / r["size"],
                refill_per_span=(
                    prof.get("refill", 0) * per * _objects_per_span(runtime, r["size"])
                    if small
                    else None
                ),
                rest=prof.get(REST, 0) * per,
            )
        )
    return out


#: Fewer gcmarknewobject samples than this at the point read (a quick run's one
#: profile) measure nothing.
MIN_BLACK_SAMPLES = 5


def black_figures(raw: dict[str, Any]) -> dict[str, Figure]:
    """Allocating black (gcmarknewobject), each runtime's own: per allocation made in a mark.

    The alloc probe's smallest size past the tiny one in its 4 MiB ring:
    ``gcmarknewobject``'s samples per allocation of the timed loop, over the
    share of its allocations made while a mark ran (``in_marks``:
    gcpacertrace's heap growth in each background mark, over the bytes
    allocated). Larger objects cost more each (their clearing evicts the
    span's mark bits: Go 1.27 9 ns at 64 B, 19 at 256 B, 26 at 1 KiB, 42 at
    4 KiB); the clock charges one figure, the small objects', which most
    allocations are.
    """
    out = {}
    for name, key in (("go1.8", "go18"), ("go1.27", "go127")):
        rt = _runtimes(raw).get(name)
        if rt is None:
            out[f"black.{key}"] = Figure(None, f"not measured: {_no_run(name)}")
            continue
        hot_live = min((r["live"] for r in rt["alloc"]), default=0)
        rows = [
            r
            for r in rt["alloc"]
            if r["live"] == hot_live and r["size"] > TINY_SIZE and r.get("in_marks", 0.0) > 0
            and r.get("profile")
        ]  # fmt: skip
        if not rows:
            why = "not measured: a record from before the probe read gcpacertrace"
            out[f"black.{key}"] = Figure(None, why)
            continue
        r = min(rows, key=lambda r: r["size"])
        prof = r["profile"]
        if prof.get("black", 0) < MIN_BLACK_SAMPLES:
            why = f"not measured: {prof.get('black', 0)} samples at {r['size']} B (too few)"
            out[f"black.{key}"] = Figure(None, why)
            continue
        per_alloc = prof["black"] * r["cpu_ns_per_alloc"] / max(sum(prof.values()), 1)
        out[f"black.{key}"] = Figure(
            per_alloc / r["in_marks"],
            f"alloc probe, {r['size']} B, 4 MiB live: gcmarknewobject's samples per"
            f" allocation, over the share of allocations made in marks ({r['in_marks']:.0%},"
            " gcpacertrace)",
        )
    return out


def _no_run(runtime: str) -> str:
    """Why a runtime's own figure is missing: it was not run."""
    return "needs --go18 PATH" if runtime == "go1.8" else "no go1.27 run"


def _hot_cold(
    splits: list[AllocSplit], value: Callable[[AllocSplit], float | None], llc: int
) -> tuple[float | None, float | None, float]:
    """(in cache, out of cache solved, the cold rows' median HeapInuse) of a per-point value."""
    hot = [v for s in splits if s.hot and (v := value(s)) is not None]
    cold = [(v, s.heap_inuse) for s in splits if not s.hot and (v := value(s)) is not None]
    if not hot:
        return None, None, 0.0
    h = statistics.median(hot)
    if not cold:
        return h, None, 0.0
    heap = statistics.median(c[1] for c in cold)
    return h, solve_cold(h, statistics.median(c[0] for c in cold), coldness(llc, heap)), heap


def alloc_figures(raw: dict[str, Any], llc: int) -> dict[str, Figure]:
    """The allocation path's costs, from the alloc probe's profiled points.

    Per runtime and path (small: 16 B..32 KiB; large), medians over the
    sizes: clearing per byte, in cache (the 4 MiB ring) and solved for out
    of cache (the large ring), and for small objects the refill per span
    in cache, the runtimes averaged; the path's base, each runtime's own:
    the intercept of the rest's line over the sizes in cache. The refill
    out of cache and the sweeping come from a program's heap instead
    (``FROM_THE_TWIN``).
    """
    out: dict[str, Figure] = {}
    rts = _runtimes(raw)
    splits = {name: alloc_splits(name, rt["alloc"]) for name, rt in rts.items()}
    splits = {name: s for name, s in splits.items() if s}
    names = ", ".join(splits)
    if not splits:
        why = "not measured: a record from before the alloc probe's CPU profiles"
        for key in (*(f"{p}.{q}" for p in ("small", "large") for q in ("hot", "cold")),
                    *(f"{p}.base.{v}" for p in ("small", "large") for v in ("go18", "go127")),
                    "refill.hot"):  # fmt: skip
            out[key] = Figure(None, why)
    else:
        for path, large in (("small", False), ("large", True)):
            bases: dict[str, float] = {}
            hots, colds, heaps = [], [], []
            for name, s in splits.items():
                mine = [x for x in s if x.small != large]
                # The rest grows a little with size (mostly the memory profiler's
                # sampling, one per 512 KiB allocated): the path's own part is the
                # intercept of its line over the sizes in cache.
                rest = [(x.size, x.rest) for x in mine if x.hot and x.rest]
                if rest:
                    bases[name] = max(0.0, fit_line(rest)[0])
                hot, cold, heap = _hot_cold(mine, lambda x: x.clear_per_byte, llc)
                hots.append(hot)
                if cold is not None:
                    colds.append(cold)
                    heaps.append(heap)
            sizes = "> 32 KiB" if large else "16 B..32 KiB"
            heap = f"{statistics.median(heaps) / MIB:.0f} MiB" if heaps else "?"
            for name, key in (("go1.8", "go18"), ("go1.27", "go127")):
                out[f"{path}.base.{key}"] = (
                    Figure(
                        bases[name],
                        f"alloc probe, {sizes}, 4 MiB live: CPU profile samples outside clearing,"
                        " refill, sweeping, the GC, the write barrier, the probe's loop and"
                        " the profiler, per allocation: the line's intercept",
                    )
                    if name in bases
                    else Figure(None, f"not measured: {_no_run(name)}")
                )
            out[f"{path}.hot"] = Figure(
                _mean([h for h in hots if h is not None]),
                f"the same: memclrNoHeapPointers' samples per byte, median over sizes ({names})",
            )
            out[f"{path}.cold"] = Figure(
                _mean(colds), f"the same at HeapInuse {heap}, solved for out of cache ({names})"
            )
        rhot = []
        for s in splits.values():
            hot, _, _ = _hot_cold(s, lambda x: x.refill_per_span, llc)
            if hot is not None:
                rhot.append(hot)
        out["refill.hot"] = Figure(
            _mean(rhot),
            "alloc probe, 16 B..32 KiB, 4 MiB live: mcache.refill's samples (its sweeping"
            f" aside) per span taken, median over sizes ({names})",
        )
    tiny = [
        tiny_ns(r)
        for rt in rts.values()
        for r in rt["alloc"]
        if r["size"] == TINY_SIZE and r["live"] == min(x["live"] for x in rt["alloc"])
    ]
    how = f"alloc probe, {TINY_SIZE} B pointer-free objects, 4 MiB live"
    if any("profile" in r for rt in rts.values() for r in rt["alloc"] if r["size"] == TINY_SIZE):
        how += (
            ": its CPU less the GC's samples (and the write barrier's, the probe's loop's"
            " and the profiler's, where the record tells them apart)"
        )
    out["tiny"] = Figure(_mean(tiny), f"{how} ({', '.join(rts)})")
    return out


#: Profile categories that are not the allocation's own: the clock charges the
#: collector, the write barrier and allocating black apart, the probe's loop is the
#: program's, and the profiler's goroutine the measurement's.
NOT_THE_ALLOCATION = frozenset({"gc", "barrier", "black", "profiler", PROGRAM})


def tiny_ns(row: dict[str, Any]) -> float:
    """A tiny allocation's own time from the probe's 8-byte point: its CPU less the
    categories ``NOT_THE_ALLOCATION`` (with no profile, a record from before them:
    the loop's mutator time, the probe's loop and barrier included)."""
    prof = row.get("profile")
    if not prof:
        return float(row["ns_per_alloc"])
    mine = sum(n for cat, n in prof.items() if cat not in NOT_THE_ALLOCATION)
    return float(row["cpu_ns_per_alloc"]) * mine / max(sum(prof.values()), 1)


def mark_figures(raw: dict[str, Any], llc: int) -> dict[str, Figure]:
    """Mark cost per object in cache: the in-order probe's heaps well inside the cache,
    both runtimes averaged. (Out of cache: ``FROM_THE_CHURN_MARK``.)"""
    hots: dict[str, float] = {}
    for name, rt in _runtimes(raw).items():
        small = [r["ns_per_object"] for r in rt["mark"] if r["heap_inuse"] <= llc * HOT_SHARE]
        if small:
            hots[name] = statistics.median(small)
    return {
        "mark.hot": Figure(
            _mean(list(hots.values())),
            f"mark probe: forced GCs, 64 B pointer-free objects, heap <= {HOT_SHARE:g} x LLC "
            f"({', '.join(hots)})",
        )
    }


def span_figures(raw: dict[str, Any], llc: int) -> dict[str, Figure]:
    """Go 1.27's price of a byte its span scans take (Green Tea), in cache and out of it.

    The mark probe's pointerful objects of the smallest and the largest such
    size (``mark -words``, the same bytes of heap each): per object, the
    larger one's extra mark time over its extra bytes. The rest of an
    object's cost (finding, marking, queueing it) is the same for both.
    """
    rts = _runtimes(raw)
    rows = (rts.get("go1.27") or {}).get("mark_span")
    why = "a record from before the span probe" if "go1.27" in rts else "no go1.27 run"
    slopes = []  # (HeapInuse, ns per byte), one per heap size
    by_live: dict[int, list[dict[str, Any]]] = {}
    for r in rows or []:
        # the probe's k is the heap's bytes over an object and its slot, rounded down
        by_live.setdefault(round(r["k"] * (8 * r["words"] + 8) / MIB), []).append(r)
    for group in by_live.values():
        small = min(group, key=lambda r: r["words"])
        big = max(group, key=lambda r: r["words"])
        extra = 8 * (big["words"] - small["words"])
        if extra > 0:
            slope = (big["ns_per_object"] - small["ns_per_object"]) / extra
            heap = statistics.median([small["heap_inuse"], big["heap_inuse"]])
            slopes.append((float(heap), slope))
    if not slopes:
        none = Figure(None, f"not measured: {why}")
        return {"span.hot": none, "span.cold": none}
    slopes.sort()
    how = "mark probe -words: forced GCs over 16 B and 512 B pointer objects, time per extra byte"
    hot_heap, hot = slopes[0]
    out = {"span.hot": Figure(max(hot, 0.0), f"{how}, HeapInuse {hot_heap / MIB:.0f} MiB")}
    cold_heap, measured = slopes[-1]
    cold = coldness(llc, cold_heap)
    solved = solve_cold(hot, measured, cold) if len(slopes) > 1 else None
    cold_how = f"{how}, HeapInuse {cold_heap / MIB:.0f} MiB, solved for out of cache"
    out["span.cold"] = Figure(
        solved, cold_how if solved is not None else f"not measured: {cold_how} (in cache)"
    )
    return out


def _clear_points(runtime: str, rows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(HeapInuse, clearing ns a byte) of the clearing series' profiled rows."""
    return [(float(a.heap_inuse), a.clear_per_byte) for a in alloc_splits(runtime, rows)]


def _mark_points(runtime: str, rows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(HeapInuse, ns an object) of the shuffled mark series."""
    return [(float(r["heap_inuse"]), float(r["ns_per_object"])) for r in rows]


#: The two caches calibrate fits (figure, the series' key, its points, what it is).
_CACHES = (
    ("llc", "alloc_clear", _clear_points,
     f"alloc probe, {CLEAR_SIZE // 1024} KiB objects at live heaps of {CLEAR_LIVES_MIB[0]}-"
     f"{CLEAR_LIVES_MIB[-1]} MiB: clearing's CPU profile share"),
    ("llc.mark", "mark_shuffled", _mark_points,
     "mark probe -shuffle: forced GCs over rings of 64 B objects in no address order"),
)  # fmt: skip


def llc_figures(raw: dict[str, Any]) -> dict[str, Figure]:
    """The caches a heap gets, each fitted to a series (``fit_llc``; the runtimes'
    fits averaged), else the largest cache sysfs reports.

    ``llc``: where the allocation stream's clearing turns cold (``llc_bytes``);
    ``llc.mark``: where the mark's scattered reads do (``mark_llc_bytes``). A
    guest's share of a server's L3 can be far smaller than the L3 sysfs shows,
    and a program's clearing, which reuses the heap a cycle at a time, turns
    cold far below the mark (session 26: 480 MiB reported; clearing cold by 77
    MiB of heap, the shuffled mark at about 190 MiB). Every cold figure is
    solved with the cache of its kind of work.
    """
    sysfs = raw.get("llc_sysfs")
    reported = f"{sysfs / MIB:.0f} MiB" if sysfs else "none"
    out = {}
    for figure, key, points, how in _CACHES:
        fits = {}
        for name, rt in _runtimes(raw).items():
            fit = fit_llc(points(name, rt.get(key, [])))
            if fit is not None:
                fits[name] = fit
        if fits:
            each = ", ".join(f"{n} {f.llc / MIB:.0f} MiB" for n, f in fits.items())
            out[figure] = Figure(
                statistics.mean(f.llc for f in fits.values()),
                f"{how}, the cache size the clock's interpolation fits ({each}; sysfs: {reported})",
            )
        elif sysfs:
            why = f"the largest CPU cache (sysfs, cpu0); no {key} series fitted"
            out[figure] = Figure(sysfs, why)
        else:
            out[figure] = Figure(None, f"not measured: no cache size in sysfs and no {key} series")
    return out


def machine_figures(raw: dict[str, Any]) -> dict[str, Figure]:
    """The cache size, first touch, Go 1.8's roots per cycle, and stopping the world."""
    rts = _runtimes(raw)
    out = {
        "fault": Figure(
            _mean([rt["touch"]["sys_ns_per_page"] for rt in rts.values()]),
            "alloc probe -touch, GOGC=off: system CPU per 4 KiB page the heap grows by",
        ),
    }
    released = [rt["scavenge"]["ns_per_page"] for rt in rts.values() if "scavenge" in rt]
    out["scavenge"] = (
        Figure(
            _mean(released),
            "scavenge probe: CPU of debug.FreeOSMemory less a GC alone, per physical page released",
        )
        if released
        else Figure(None, "not measured: a record from before the scavenge probe")
    )
    go18 = rts.get("go1.8")
    out["roots.go18"] = (
        Figure(
            go18["window"]["mark_ns_per_cycle"],
            "Go 1.8, mark probe -window=8 (1 MiB objects): mark CPU per background cycle",
        )
        if go18
        else Figure(None, "not measured: needs --go18 PATH")
    )
    go127 = rts.get("go1.27")
    out["roots.go127"] = (
        Figure(
            max(
                go127["window"]["mark_ns_per_cycle"]
                - GO127_PROBE_HEAP_SCAN * CostModel().scan_ns_per_byte,
                0.0,
            )
            / GO127_ROOT_BYTES,
            "Go 1.27, mark probe -window=8 (1 MiB objects): mark CPU per background cycle,"
            " less its heap scan work at scan_ns_per_byte, over the roots' scan work"
            " (globals and stacks, bytes)",
        )
        if go127
        else Figure(None, "not measured: no Go 1.27 run")
    )
    out["stw"] = Figure(
        _mean([rt["window"]["stw_ns"] for rt in rts.values()]),
        "mark probe -window=8: gctrace's two stop-the-world clock parts, median",
    )
    return out


#: sysmon's settled delay (usleep(10 ms)), the round the sysmon probe times.
SYSMON_DELAY_NS = 10_000_000


def sysmon_figures(raw: dict[str, Any]) -> dict[str, Figure]:
    """How late sysmon's rounds run: ``slack + slack_per_ns * delay`` over the delay.

    Two points fix the line: the probe's 20 us nanosleep, late by ``late``,
    and sysmon's settled round, ``SYSMON_DELAY_NS`` asked and ``round`` taken
    (the mean of the runtimes measured)."""
    rows = [rt["sysmon"] for rt in _runtimes(raw).values() if "sysmon" in rt]
    if not rows:
        why = "not measured: a record from before the sysmon probe"
        return {"usleep.slack": Figure(None, why), "usleep.slack_per_ns": Figure(None, why)}
    names = ", ".join(n for n, rt in _runtimes(raw).items() if "sysmon" in rt)
    short = rows[0]["sleep_us"] * 1000
    late_short = statistics.mean(r["late_ns"] for r in rows)
    late_round = statistics.mean(r["round_ns"] for r in rows) - SYSMON_DELAY_NS
    per_ns = max(0.0, (late_round - late_short) / (SYSMON_DELAY_NS - short))
    return {
        "usleep.slack": Figure(
            late_short - per_ns * short,
            f"sysmon probe -sleep: nanosleep({short // 1000} us) returns this late, median"
            f" ({names})",
        ),
        "usleep.slack_per_ns": Figure(
            per_ns,
            "sysmon probe: a goroutine that never blocks is preempted every two rounds;"
            f" a round (usleep(10 ms)) late by {late_round / 1000:.0f} us, less the slack,"
            " per ns asked",
        ),
    }


def wake_figures(raw: dict[str, Any]) -> dict[str, Figure]:
    """How long a sleeping P takes to run a goroutine readied for it: the sysmon
    probe's ``-wake`` at two Ps, each runtime's median, averaged."""
    rts = {n: rt["sysmon"]["wake_ns"] for n, rt in _runtimes(raw).items()
           if "wake_ns" in rt.get("sysmon", {})}  # fmt: skip
    if not rts:
        return {
            "wake": Figure(
                None,
                "not measured: a record without the sysmon probe's -wake (one CPU, or older);"
                " runtime/trace of the twins at two Ps (docs/model.md)",
            )
        }
    return {
        "wake": Figure(
            statistics.mean(rts.values()),
            "sysmon probe -wake at GOMAXPROCS=2: a goroutine readied while the other P"
            f" slept a millisecond runs this long after, median ({', '.join(rts)})",
        )
    }


def quantities(raw: dict[str, Any]) -> dict[str, Figure]:
    """Every figure the raw probe record gives (None where it could not be measured)."""
    caches = llc_figures(raw)
    llc = int(caches["llc"].value or CostModel().llc_bytes)
    mark_llc = int(caches["llc.mark"].value or CostModel().mark_llc_bytes)
    return {
        **caches,
        **machine_figures(raw),
        **alloc_figures(raw, llc),
        **black_figures(raw),
        **mark_figures(raw, mark_llc),
        **span_figures(raw, mark_llc),
        **sysmon_figures(raw),
        **wake_figures(raw),
    }


@dataclass(frozen=True)
class Row:
    """One CostModel field: its default, what was measured (None: kept) and how."""

    field: str
    default: float | int
    measured: float | int | None
    how: str


#: Significant digits kept of a measured figure.
DIGITS = 3


def _round(value: float, integer: bool) -> float | int:
    if integer:
        return round(value)
    return float(f"{value:.{DIGITS}g}")


def derive(raw: dict[str, Any]) -> tuple[CostModel, list[Row]]:
    """The CostModel the probes give (defaults where they cannot) and one row per field."""
    figures = quantities(raw)
    defaults = cost_fields(CostModel())
    rule = {r.field: r for r in RULES}
    values: dict[str, Any] = {}
    rows = []
    for name in field_names():
        r = rule.get(name)
        fig = figures.get(r.figure) if r else None
        if fig is None or fig.value is None:
            why = fig.how if fig else KEPT.get(name, "not measured")
            rows.append(Row(name, defaults[name], None, why))
            continue
        v = _round(fig.value, isinstance(defaults[name], int))
        if isinstance(v, int) and v <= 0:
            rows.append(Row(name, defaults[name], None, f"not measured: {fig.how} gave {v}"))
            continue
        values[name] = v
        rows.append(Row(name, defaults[name], v, fig.how))
    return CostModel(**values), rows
