"""What the text and HTML reports share: number formats, run labels, the breakdown tree.

Everything here reads the run-result dict (see ``goheap.runner``) and
tolerates missing parts, so a report can be made from an older or partial
result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# runtime.MemStats fields by unit (Go 1.8 names).
BYTE_FIELDS = frozenset(
    {
        "Alloc",
        "TotalAlloc",
        "Sys",
        "HeapAlloc",
        "HeapSys",
        "HeapIdle",
        "HeapInuse",
        "HeapReleased",
        "StackInuse",
        "StackSys",
        "MSpanInuse",
        "MSpanSys",
        "MCacheInuse",
        "MCacheSys",
        "BuckHashSys",
        "GCSys",
        "OtherSys",
        "NextGC",
    }
)

# One line on each MemStats field, in our words.
MEMSTATS_DOC: dict[str, str] = {
    "Alloc": "bytes of allocated heap objects (same as HeapAlloc)",
    "TotalAlloc": "cumulative bytes allocated for heap objects",
    "Sys": "total bytes obtained from the OS",
    "Lookups": "pointer lookups by the runtime (always 0 here)",
    "Mallocs": "cumulative count of heap objects allocated",
    "Frees": "cumulative count of heap objects freed",
    "HeapAlloc": "bytes of allocated heap objects, reachable or not yet swept",
    "HeapSys": "bytes of heap memory obtained from the OS",
    "HeapIdle": "bytes in idle (unused) spans",
    "HeapInuse": "bytes in in-use spans",
    "HeapReleased": "bytes of idle spans returned to the OS",
    "HeapObjects": "number of allocated heap objects",
    "StackInuse": "bytes in stack spans",
    "StackSys": "stack memory obtained from the OS",
    "MSpanInuse": "bytes of allocated mspan structures",
    "MSpanSys": "memory obtained from the OS for mspans",
    "MCacheInuse": "bytes of allocated mcache structures",
    "MCacheSys": "memory obtained from the OS for mcaches",
    "BuckHashSys": "profiling bucket hash tables",
    "GCSys": "garbage-collection metadata (heap bitmap, ...)",
    "OtherSys": "other off-heap runtime allocations",
    "NextGC": "target heap size of the next GC cycle",
    "LastGC": "time the last GC finished (ns, virtual clock)",
    "PauseTotalNs": "cumulative stop-the-world pause time",
    "PauseNs": "recent stop-the-world pauses (circular buffer of 256)",
    "PauseEnd": "recent pause end times (circular buffer of 256)",
    "NumGC": "completed GC cycles",
    "NumForcedGC": "GC cycles forced by calling runtime.GC",
    "GCCPUFraction": "fraction of CPU time used by the GC since start",
    "EnableGC": "GC is enabled",
    "DebugGC": "GODEBUG debug GC flag",
}


# Go reports NextGC as ~2**64 when there is no goal (GOGC=off and no memory limit).
NO_GOAL = 1 << 62


def has_goal(next_gc: float) -> bool:
    """Whether a NextGC value is a heap goal rather than "no goal" (GOGC=off, no limit)."""
    return next_gc < NO_GOAL


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; below 1 KiB, plain bytes."""
    neg = n < 0
    n = abs(n)
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            s = f"{n / (1 << shift):.1f} {unit}"
            break
    else:
        s = f"{n:.0f} B"
    return "-" + s if neg else s


def human_ns(ns: float) -> str:
    """A duration: 1234567 -> '1.23 ms'."""
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(ns) >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.0f} ns"


def pct(part: float, whole: float) -> str:
    """part/whole as '12.3%' ('–' when whole is 0)."""
    if not whole:
        return "–"
    return f"{100.0 * part / whole:.1f}%"


def gogc_text(gogc: Any) -> str:
    """GOGC as Go spells it: a negative value is 'off'."""
    if isinstance(gogc, int) and gogc < 0:
        return "off"
    return str(gogc)


def memlimit_text(limit: Any) -> str:
    """GOMEMLIMIT: None is 'off'."""
    if limit is None:
        return "off"
    if isinstance(limit, int):
        return human_bytes(limit)
    return str(limit)


def memlimit_setting(limit: Any) -> str:
    """GOMEMLIMIT as a user would set it: 'off', '80MiB', or exact bytes when no unit divides it."""
    if not isinstance(limit, int) or isinstance(limit, bool):
        return memlimit_text(limit)
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if limit and limit % (1 << shift) == 0:
            return f"{limit >> shift}{unit}"
    return f"{limit}B"


def settings_text(result: dict[str, Any]) -> str:
    """The settings a run had, as a title shows them: 'go1.27 GOGC=100 GOMEMLIMIT=off procs=1'."""
    parts = [
        str(result.get("profile", "?")),
        f"GOGC={gogc_text(result.get('gogc', '?'))}",
        f"GOMEMLIMIT={memlimit_setting(result.get('memlimit'))}",
        f"procs={result.get('procs', '?')}",
    ]
    if result.get("liveness", "graph") != "graph":
        parts.append(f"liveness={result['liveness']}")
    costs = costs_name(result)
    if costs is not None:
        parts.append(f"costs={costs}")
    return " ".join(parts)


def costs_name(result: dict[str, Any]) -> str | None:
    """The costs a run's clock used when they are not the built-in ones: 'calibrated 2026-12-05'."""
    costs = result.get("costs")
    name = costs.get("name") if isinstance(costs, dict) else None
    return None if name in (None, "built-in") else str(name)


def run_title(result: dict[str, Any], what: str = "") -> str:
    """'what: workload params  [go1.27 GOGC=100 GOMEMLIMIT=off procs=1]'."""
    run = f"{result.get('workload', '?')} {params_text(result.get('params'))}".strip()
    return f"{what + ': ' if what else ''}{run}  [{settings_text(result)}]"


def params_text(params: dict[str, Any] | None) -> str:
    """{'depth': 14} -> 'depth=14'."""
    return " ".join(f"{k}={v}" for k, v in (params or {}).items())


def settings(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The settings that identify a run, as (name, value) pairs."""
    out = [
        ("workload", str(result.get("workload", "?"))),
        ("params", params_text(result.get("params"))),
        ("profile", str(result.get("profile", "?"))),
        ("GOGC", gogc_text(result.get("gogc", "?"))),
    ]
    if "memlimit" in result:
        out.append(("GOMEMLIMIT", memlimit_setting(result["memlimit"])))
    out += [
        ("procs", str(result.get("procs", "?"))),
        ("liveness", str(result.get("liveness", "?"))),
    ]
    costs = costs_name(result)
    if costs is not None:
        out.append(("costs", costs))
    return out


def shared_settings(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The settings every run has alike, as (name, value) pairs."""
    per_run = [dict(settings(r)) for r in results]
    if not per_run:
        return []
    return [(n, v) for n, v in settings(results[0]) if all(d.get(n) == v for d in per_run)]


def shared_text(results: list[dict[str, Any]]) -> str:
    """The shared settings as one line: 'churn steps=20000 profile=go1.27 procs=1 ...'."""
    return " ".join(
        v if n in ("workload", "params") else f"{n}={v}" for n, v in shared_settings(results) if v
    )


def run_labels(results: list[dict[str, Any]]) -> list[str]:
    """Short labels telling runs apart: only the settings that differ between them."""
    items = [settings(r) for r in results]
    if len(results) == 1:
        r = results[0]
        label = f"{r.get('workload', '?')} {params_text(r.get('params'))}"
        return [f"{label.strip()} GOGC={gogc_text(r.get('gogc'))}"]
    names = [name for name, _ in items[0]] if items else []
    differing = [i for i, name in enumerate(names) if len({dict(it).get(name) for it in items}) > 1]
    labels = []
    for n, it in enumerate(items, 1):
        d = dict(it)
        parts = []
        for i in differing:
            name = names[i]
            value = d.get(name, "?")
            parts.append(value if name in ("workload", "params") else f"{name}={value}")
        labels.append(" ".join(p for p in parts if p) or f"run {n}")
    if len(set(labels)) < len(labels):
        labels = [f"#{n} {lab}" for n, lab in enumerate(labels, 1)]
    return labels


# --- key figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFigure:
    """One key figure of a run: its name, how to read it, and its unit."""

    name: str
    unit: str  # "bytes", "count", "ns", "fraction"
    source: str  # "peak" or "memstats"
    key: str


KEY_FIGURES: tuple[KeyFigure, ...] = (
    KeyFigure("peak HeapInuse", "bytes", "peak", "HeapInuse"),
    KeyFigure("peak HeapAlloc", "bytes", "peak", "HeapAlloc"),
    KeyFigure("peak HeapSys", "bytes", "peak", "HeapSys"),
    KeyFigure("HeapSys", "bytes", "memstats", "HeapSys"),
    KeyFigure("TotalAlloc", "bytes", "memstats", "TotalAlloc"),
    KeyFigure("Mallocs", "count", "memstats", "Mallocs"),
    KeyFigure("NumGC", "count", "memstats", "NumGC"),
    KeyFigure("PauseTotalNs", "ns", "memstats", "PauseTotalNs"),
    KeyFigure("GCCPUFraction", "fraction", "memstats", "GCCPUFraction"),
)


def figure_value(result: dict[str, Any], fig: KeyFigure) -> Any:
    """The figure's raw value in this result (None when absent)."""
    return (result.get(fig.source) or {}).get(fig.key)


def format_figure(value: Any, unit: str) -> tuple[str, str]:
    """(exact, human) renderings of a key figure."""
    if value is None:
        return "–", ""
    if unit == "fraction":
        return f"{value:.6f}", f"{100 * value:.2f}%"
    if unit == "bytes":
        return f"{value:,}", human_bytes(value)
    if unit == "ns":
        return f"{value:,}", human_ns(value)
    return f"{value:,}", ""


# --- the breakdown tree ---------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    """One node of viewcore's tree: HeapSys split into where its bytes are."""

    depth: int
    label: str
    key: str  # the breakdown field (Go's name where it has one)
    bytes: int
    objects: int | None
    parent_bytes: int
    heap_bytes: int
    part: str  # a short tag naming the kind of memory, for colours

    @property
    def pct_parent(self) -> str:
        return pct(self.bytes, self.parent_bytes)

    @property
    def pct_heap(self) -> str:
        return pct(self.bytes, self.heap_bytes)


_TREE: tuple[tuple[int, str, str, str | None, str], ...] = (
    # depth, label, bytes field, objects field, part
    (0, "heap", "HeapSys", None, "heap"),
    (1, "in-use spans", "HeapInuse", None, "inuse"),
    (2, "live objects (reachable)", "live_bytes", "live_objects", "live"),
    (3, "size-class rounding (estimate)", "rounding_bytes_est", None, "rounding"),
    (2, "garbage (unreachable, not yet swept)", "garbage_bytes", "garbage_objects", "garbage"),
    (2, "free slots", "free_slot_bytes", None, "free_slot"),
    (2, "span tail waste", "tail_waste_bytes", None, "tail_waste"),
    (1, "free spans", "HeapIdle", None, "idle"),
    (2, "retained (not released)", "retained_bytes", None, "retained"),
    (2, "released to the OS", "released_bytes", None, "released"),
)


def breakdown_rows(bd: dict[str, Any]) -> list[BreakdownRow]:
    """The breakdown as tree rows, parents first, with their parent's bytes."""
    heap = int(bd.get("HeapSys", 0))
    rows: list[BreakdownRow] = []
    parents: list[int] = []
    for depth, label, key, obj_key, part in _TREE:
        value = int(bd.get(key, 0) or 0)
        del parents[depth:]
        parent = parents[-1] if parents else value
        rows.append(
            BreakdownRow(
                depth,
                label,
                key,
                value,
                None if obj_key is None else int(bd.get(obj_key, 0) or 0),
                parent,
                heap,
                part,
            )
        )
        parents.append(value)
    return rows


def breakdown_problems(bd: dict[str, Any]) -> list[str]:
    """Where the breakdown's parts do not add up (empty when they do)."""
    problems = []
    inuse = sum(
        int(bd.get(k, 0) or 0)
        for k in ("live_bytes", "garbage_bytes", "free_slot_bytes", "tail_waste_bytes")
    )
    if inuse != bd.get("HeapInuse", 0):
        problems.append(
            f"live + garbage + free slots + tail waste = {inuse:,}, "
            f"HeapInuse = {bd.get('HeapInuse', 0):,}"
        )
    idle = int(bd.get("retained_bytes", 0) or 0) + int(bd.get("released_bytes", 0) or 0)
    if idle != bd.get("HeapIdle", 0):
        problems.append(f"retained + released = {idle:,}, HeapIdle = {bd.get('HeapIdle', 0):,}")
    if bd.get("HeapInuse", 0) + bd.get("HeapIdle", 0) != bd.get("HeapSys", 0):
        problems.append("HeapInuse + HeapIdle != HeapSys")
    return problems


def class_name(row: dict[str, Any]) -> str:
    """'16 B' for a size class, 'large' for class 0."""
    return "large" if row.get("class", 0) == 0 else f"{row.get('size', 0)} B"


def utilisation(row: dict[str, Any]) -> float | None:
    """In-use bytes over span bytes of one class row."""
    span = row.get("span_bytes", 0)
    return row.get("inuse_bytes", 0) / span if span else None
