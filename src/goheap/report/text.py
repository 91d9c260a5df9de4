"""Human output: compact tables with Go's field names (rich).

Every function prints to the Console it is given (a new stdout Console when
None), so the caller chooses stdout or stderr.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from goheap.report.common import (
    KEY_FIGURES,
    breakdown_problems,
    breakdown_rows,
    class_name,
    figure_value,
    format_figure,
    human_bytes,
    params_text,
    run_labels,
    settings,
    utilisation,
)

__all__ = [
    "breakdown_table",
    "classes_table",
    "compare_table",
    "human_bytes",
    "memstats_table",
]

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


def _title(result: dict[str, Any], what: str) -> str:
    params = params_text(result.get("params"))
    return escape(f"{what}: {result.get('workload', '?')} {params}  [{result.get('profile', '?')}]")


def memstats_table(result: dict[str, Any], console: Console | None = None) -> None:
    """The main MemStats fields, then BySize for the classes that saw allocations."""
    console = console or Console()
    ms = result["memstats"]
    params = params_text(result.get("params"))
    title = escape(f"{result['workload']} {params}  [{result['profile']}]")
    t = Table(title=title, title_justify="left")
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


def compact_table(title: str) -> Table:
    """A table that fits 80 columns: no vertical rules, one space of padding."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
        pad_edge=False,
        show_edge=False,
    )


def breakdown_table(result: dict[str, Any], console: Console | None = None) -> None:
    """Where HeapSys is, as viewcore's tree: bytes, objects and percentages."""
    console = console or Console()
    bd = result.get("breakdown")
    if not bd:
        console.print("[dim]no breakdown in this result[/dim]")
        return
    t = compact_table(_title(result, "heap breakdown"))
    t.add_column("field", no_wrap=True)
    t.add_column("bytes", justify="right", no_wrap=True)
    t.add_column("", justify="right", style="dim", no_wrap=True)
    t.add_column("objects", justify="right", no_wrap=True)
    t.add_column("% heap", justify="right", no_wrap=True)
    t.add_column("% parent", justify="right", no_wrap=True)
    wide = console.width >= 100  # room for the words too
    if wide:
        t.add_column("", style="dim", no_wrap=True, overflow="ellipsis")
    for r in breakdown_rows(bd):
        cells = [
            "  " * r.depth + r.key,
            f"{r.bytes:,}",
            human_bytes(r.bytes),
            "" if r.objects is None else f"{r.objects:,}",
            r.pct_heap,
            r.pct_parent if r.depth else "",
        ]
        t.add_row(*cells, *([r.label] if wide else []), style="bold" if r.depth <= 1 else None)
    console.print(t)
    for problem in breakdown_problems(bd):
        console.print(f"[red]does not add up:[/red] {escape(problem)}", highlight=False)


def classes_table(result: dict[str, Any], console: Console | None = None) -> None:
    """Per size class (0 = large): spans, objects, in-use and span bytes, waste."""
    console = console or Console()
    rows = result.get("classes")
    if not rows:
        console.print("[dim]no size-class table in this result[/dim]")
        return
    rows = sorted(rows, key=lambda r: (r.get("class", 0) == 0, r.get("class", 0)))
    t = compact_table(_title(result, "in-use spans by size class (class 0: large objects)"))
    # classes fields: class size npages spans objects inuse_bytes span_bytes
    # free_slot_bytes tail_waste_bytes, and utilisation inuse/span
    for col in (
        "class",
        "size",
        "npages",
        "spans",
        "objects",
        "inuse",
        "span",
        "free slots",
        "tail waste",
        "util",
    ):
        t.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        u = utilisation(r)
        t.add_row(
            str(r.get("class", "")),
            class_name(r).removesuffix(" B"),
            str(r.get("npages") or "–"),
            f"{r.get('spans', 0):,}",
            f"{r.get('objects', 0):,}",
            human_bytes(r.get("inuse_bytes", 0)),
            human_bytes(r.get("span_bytes", 0)),
            human_bytes(r.get("free_slot_bytes", 0)),
            human_bytes(r.get("tail_waste_bytes", 0)),
            "–" if u is None else f"{100 * u:.1f}%",
        )
    console.print(t)


def compare_table(results: list[dict[str, Any]], console: Console | None = None) -> None:
    """Key figures of several runs side by side, one column per run."""
    console = console or Console()
    if not results:
        console.print("[dim]no runs to compare[/dim]")
        return
    labels = run_labels(results)
    t = Table(title=f"comparison of {len(results)} runs", title_justify="left")
    t.add_column("")
    for lab in labels:
        t.add_column(escape(lab), justify="right")
    names = [name for name, _ in settings(results[0])]
    for name in names:
        values = (escape(dict(settings(r)).get(name, "–")) for r in results)
        t.add_row(name, *values, style="dim")
    for fig in KEY_FIGURES:
        cells = []
        for r in results:
            exact, human = format_figure(figure_value(r, fig), fig.unit)
            cells.append(human or exact)
        t.add_row(fig.name, *cells)
    console.print(t)
