"""Human output: compact tables with Go's field names (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

_MAIN_FIELDS = (
    "HeapAlloc",
    "HeapInuse",
    "HeapIdle",
    "HeapReleased",
    "HeapSys",
    "HeapObjects",
    "Mallocs",
    "Frees",
    "TotalAlloc",
    "Sys",
    "MSpanInuse",
    "MSpanSys",
    "MCacheInuse",
    "MCacheSys",
    "GCSys",
    "OtherSys",
    "BuckHashSys",
    "NextGC",
    "NumGC",
)


def human_bytes(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} B"


def memstats_table(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    ms = result["memstats"]
    params = " ".join(f"{k}={v}" for k, v in result["params"].items())
    t = Table(title=f"{result['workload']} {params}  [{result['profile']}]", title_justify="left")
    t.add_column("MemStats field")
    t.add_column("value", justify="right")
    t.add_column("", justify="right", style="dim")
    for name in _MAIN_FIELDS:
        v = ms[name]
        counts = name in ("HeapObjects", "Mallocs", "Frees", "NumGC")
        t.add_row(name, f"{v:,}", "" if counts else human_bytes(v))
    console.print(t)

    by = [e for e in ms["BySize"] if e["Mallocs"]]
    if by:
        b = Table(title="BySize (classes with allocations)", title_justify="left")
        for col in ("Size", "Mallocs", "Frees"):
            b.add_column(col, justify="right")
        for e in by:
            b.add_row(str(e["Size"]), f"{e['Mallocs']:,}", f"{e['Frees']:,}")
        console.print(b)
