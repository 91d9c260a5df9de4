"""The figures compared, taken the same way from a Go run and from a simulation.

Both sides do what the oracle program does (tests/oracle/internal/report):
one ``runtime.GC()`` as warm-up, a baseline ``ReadMemStats``, the workload,
a final ``ReadMemStats`` ("end"), a forced GC and one more read ("after").
A figure set is a plain JSON-able dict with these keys:

=================  ========  =============================================
key                kind      value
=================  ========  =============================================
Mallocs            exact     end - baseline
Frees              exact     end - baseline
TotalAlloc         exact     end - baseline
BySize             exact     [[Size, Mallocs, Frees], ...], end - baseline
gc.HeapObjects     exact     after - baseline
gc.HeapAlloc       exact     after - baseline
gc.HeapInuse       exact     after - baseline
NumGC              spread    end - baseline (cycles during the workload)
peak.HeapInuse     spread    largest HeapInuse seen - baseline HeapInuse
HeapSys            spread    at the end
NextGC             spread    at the end
=================  ========  =============================================

Differences from the baseline take the runtime's own heap from before
``main`` (about 370 KB in use, which the model does not have) out of
both sides; HeapSys and NextGC are absolute because the page heap and
the pacer see the whole heap. A simulation also records ``gc.LiveSizes``,
the size classes holding workload objects after the forced GC (used by the
"pre-main spans" allowance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXACT = "exact"
SPREAD = "spread"

Figures = dict[str, Any]


@dataclass(frozen=True)
class Metric:
    """One compared figure: its key, its label in the table, and how it is judged."""

    key: str
    label: str
    kind: str  # EXACT or SPREAD
    meaning: str


METRICS: tuple[Metric, ...] = (
    Metric("Mallocs", "Mallocs", EXACT, "objects allocated by the workload"),
    Metric("Frees", "Frees", EXACT, "objects freed during the workload"),
    Metric("TotalAlloc", "TotalAlloc", EXACT, "bytes allocated by the workload"),
    Metric("BySize", "BySize", EXACT, "Mallocs and Frees per size class"),
    Metric("gc.HeapObjects", "HeapObjects after GC", EXACT, "live objects after a forced GC"),
    Metric("gc.HeapAlloc", "HeapAlloc after GC", EXACT, "live bytes after a forced GC"),
    Metric("gc.HeapInuse", "HeapInuse after GC", EXACT, "in-use span bytes after a forced GC"),
    Metric("NumGC", "NumGC", SPREAD, "GC cycles during the workload"),
    Metric("peak.HeapInuse", "peak HeapInuse", SPREAD, "largest HeapInuse, above the baseline"),
    Metric("HeapSys", "HeapSys", SPREAD, "heap memory obtained from the OS, at the end"),
    Metric("NextGC", "NextGC", SPREAD, "the heap goal at the end"),
)
_COUNTERS = ("Mallocs", "Frees", "TotalAlloc")
_AFTER = ("HeapObjects", "HeapAlloc", "HeapInuse")


def by_size_delta(end: list[dict[str, int]], base: list[dict[str, int]] | None) -> list[list[int]]:
    """BySize rows as [Size, Mallocs, Frees], minus the baseline's when given."""
    rows = []
    for i, row in enumerate(end):
        b = base[i] if base is not None else {"Mallocs": 0, "Frees": 0}
        rows.append([row["Size"], row["Mallocs"] - b["Mallocs"], row["Frees"] - b["Frees"]])
    return rows


def from_oracle(doc: dict[str, Any]) -> Figures:
    """Figures from one oracle program's JSON (its counters are deltas already)."""
    ms, base, after = doc["memstats"], doc["baseline"], doc["after_gc"]
    out: Figures = {k: ms[k] for k in _COUNTERS}
    out["BySize"] = by_size_delta(ms["BySize"], None)
    for k in _AFTER:
        out[f"gc.{k}"] = after[k] - base[k]
    out["NumGC"] = ms["NumGC"] - base["NumGC"]
    out["peak.HeapInuse"] = doc["peak"]["HeapInuse"] - base["HeapInuse"]
    out["HeapSys"] = ms["HeapSys"]
    out["NextGC"] = ms["NextGC"]
    return out


def from_memstats(
    base: dict[str, Any], end: dict[str, Any], after: dict[str, Any], peak_inuse: int
) -> Figures:
    """Figures from three absolute MemStats dicts (Go field names) and the peak HeapInuse."""
    out: Figures = {k: end[k] - base[k] for k in _COUNTERS}
    out["BySize"] = by_size_delta(end["BySize"], base["BySize"])
    for k in _AFTER:
        out[f"gc.{k}"] = after[k] - base[k]
    out["NumGC"] = end["NumGC"] - base["NumGC"]
    out["peak.HeapInuse"] = peak_inuse - base["HeapInuse"]
    out["HeapSys"] = end["HeapSys"]
    out["NextGC"] = end["NextGC"]
    live = by_size_delta(after["BySize"], base["BySize"])
    out["gc.LiveSizes"] = [size for size, m, f in live if size and m - f > 0]
    return out
