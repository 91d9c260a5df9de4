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
from dataclasses import dataclass
from typing import Any

from goheap.costs import cost_fields, field_names
from goheap.profiles.go127 import GO127
from goheap.runtime.common.clock import CostModel

#: Allocation probe sizes above this are large objects (Go's maxSmallSize, 32 KiB).
MAX_SMALL = 32768
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
    Rule("tiny_ns", "tiny"),
    Rule("small_base_ns", "small.base"),
    Rule("small_ns_per_byte_hot", "small.hot"),
    Rule("small_ns_per_byte_cold", "small.cold"),
    Rule("large_base_ns", "large.base"),
    Rule("large_ns_per_byte_hot", "large.hot"),
    Rule("large_ns_per_byte_cold", "large.cold"),
    Rule("page_fault_ns", "fault"),
    Rule("scavenge_ns_per_page", "scavenge"),
    Rule("mark_ns_per_object", "mark.hot"),
    Rule("mark_ns_per_object_cold_go18", "mark.cold.go18"),
    Rule("mark_ns_per_object_cold_go127", "mark.cold.go127"),
    Rule("roots_ns_go18", "roots.go18"),
    Rule("root_scan_ns_per_byte", "roots.go127"),
    Rule("stw_ns", "stw"),
    Rule("usleep_slack_ns", "usleep.slack"),
    Rule("usleep_slack_per_ns", "usleep.slack_per_ns"),
)

#: Why the fields no rule names keep their defaults.
KEPT = {
    "write_ns": "not measured: a pointer store is below what a probe can time apart",
    "scan_ns_per_byte": "not measured: the probes cannot separate it from the per-object cost",
    "scan_ns_per_byte_cold": "not measured: as scan_ns_per_byte",
    "sweep_ns_per_span": "not measured: no sweep probe yet",
    "sweep_ns_per_object": "not measured: no sweep probe yet",
    "worker_wake_ns": "not measured: runtime/trace of the twins at two Ps (docs/model.md)",
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


def coldness(llc: int, heap_inuse: float) -> float:
    """CostModel.coldness at this heap size."""
    return 0.0 if heap_inuse <= llc else 1.0 - llc / heap_inuse


def solve_cold(hot: float, measured: float, cold: float) -> float | None:
    """The out-of-cache figure that, interpolated at ``cold``, gives ``measured``."""
    if cold <= 0.25:  # the heap barely left the cache: the solution would be noise
        return None
    return max(0.0, hot + (measured - hot) / cold)


def _mean(xs: list[float]) -> float | None:
    return statistics.mean(xs) if xs else None


def _runtimes(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    runtimes: dict[str, dict[str, Any]] = raw.get("runtimes", {})
    return runtimes


def _alloc_fit(rt: dict[str, Any], live: str, large: bool) -> tuple[float, float, float] | None:
    """(base, slope, median HeapInuse) over one runtime's hot or cold rows of one path."""
    rows = [r for r in rt["alloc"] if r["size"] > TINY_SIZE]
    lives = sorted({r["live"] for r in rows})
    if not lives:
        return None
    want = lives[0] if live == "hot" else lives[-1]
    rows = [r for r in rows if r["live"] == want and (r["size"] > MAX_SMALL) == large]
    if len(rows) < 2:
        return None
    base, slope = fit_line([(r["size"], r["ns_per_alloc"]) for r in rows])
    return base, slope, statistics.median(r["heap_inuse"] for r in rows)


def alloc_figures(raw: dict[str, Any], llc: int) -> dict[str, Figure]:
    """Per-allocation base and per-byte costs, small and large, hot and cold; tiny."""
    out: dict[str, Figure] = {}
    rts = _runtimes(raw)
    names = ", ".join(rts)
    for path, large in (("small", False), ("large", True)):
        bases, hots, colds, heaps = [], [], [], []
        for rt in rts.values():
            hot = _alloc_fit(rt, "hot", large)
            cold = _alloc_fit(rt, "cold", large)
            if hot is None:
                continue
            bases.append(max(0.0, hot[0]))
            hots.append(max(0.0, hot[1]))
            if cold is not None:
                solved = solve_cold(max(0.0, hot[1]), cold[1], coldness(llc, cold[2]))
                if solved is not None:
                    colds.append(solved)
                    heaps.append(cold[2])
        sizes = "> 32 KiB" if large else "16 B..32 KiB"
        out[f"{path}.base"] = Figure(
            _mean(bases), f"alloc probe, {sizes}, 4 MiB live: ns/alloc by size, intercept ({names})"
        )
        out[f"{path}.hot"] = Figure(_mean(hots), f"the same fit's slope ({names})")
        heap = f"{statistics.median(heaps) / (1 << 20):.0f} MiB" if heaps else "?"
        out[f"{path}.cold"] = Figure(
            _mean(colds), f"the slope at HeapInuse {heap}, solved for out of cache ({names})"
        )
    tiny = [
        r["ns_per_alloc"]
        for rt in rts.values()
        for r in rt["alloc"]
        if r["size"] == TINY_SIZE and r["live"] == min(x["live"] for x in rt["alloc"])
    ]
    out["tiny"] = Figure(_mean(tiny), f"alloc probe, {TINY_SIZE} B pointer-free objects ({names})")
    return out


def mark_figures(raw: dict[str, Any], llc: int) -> dict[str, Figure]:
    """Mark cost per object in cache (both runtimes) and out of it (each runtime)."""
    out: dict[str, Figure] = {}
    rts = _runtimes(raw)
    hots: dict[str, float] = {}
    for name, rt in rts.items():
        small = [r["ns_per_object"] for r in rt["mark"] if r["heap_inuse"] <= llc * HOT_SHARE]
        if small:
            hots[name] = statistics.median(small)
    out["mark.hot"] = Figure(
        _mean(list(hots.values())),
        f"mark probe: forced GCs, 64 B pointer-free objects, heap <= {HOT_SHARE:g} x LLC "
        f"({', '.join(hots)})",
    )
    for name, key in (("go1.8", "mark.cold.go18"), ("go1.27", "mark.cold.go127")):
        one = rts.get(name)
        if one is None or name not in hots or not one["mark"]:
            why = "needs --go18 PATH" if name == "go1.8" else "no go1.27 run"
            out[key] = Figure(None, f"not measured: {why}")
            continue
        big = max(one["mark"], key=lambda r: r["heap_inuse"])
        solved = solve_cold(hots[name], big["ns_per_object"], coldness(llc, big["heap_inuse"]))
        heap = big["heap_inuse"] / (1 << 20)
        how = f"mark probe, {big['k']:,} objects, HeapInuse {heap:.0f} MiB, solved for out of cache"
        out[key] = Figure(solved, how if solved is not None else f"not measured: {how} (in cache)")
    return out


def machine_figures(raw: dict[str, Any]) -> dict[str, Figure]:
    """The cache size, first touch, Go 1.8's roots per cycle, and stopping the world."""
    rts = _runtimes(raw)
    llc = raw.get("llc_sysfs")
    llc_how = (
        "the largest CPU cache (sysfs, cpu0)" if llc else "not measured: no cache size in sysfs"
    )
    out = {
        "llc": Figure(llc, llc_how),
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


def quantities(raw: dict[str, Any]) -> dict[str, Figure]:
    """Every figure the raw probe record gives (None where it could not be measured)."""
    llc = int(raw.get("llc_sysfs") or CostModel().llc_bytes)
    return {
        **machine_figures(raw),
        **alloc_figures(raw, llc),
        **mark_figures(raw, llc),
        **sysmon_figures(raw),
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
