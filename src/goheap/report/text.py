"""Human output: compact tables with Go's field names (rich).

Every function prints to the Console it is given (a new stdout Console when
None), so the caller chooses stdout or stderr. Tables are laid out by
``goheap.report.fit`` to the console's width: no figure is ever cut.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from goheap.report.common import (
    KEY_FIGURES,
    breakdown_problems,
    breakdown_rows,
    class_name,
    figure_value,
    format_figure,
    human_bytes,
    run_labels,
    run_title,
    shared_text,
    utilisation,
)
from goheap.report.console import stdout_console
from goheap.report.fit import Col, min_width, print_fitted, print_split

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
    return run_title(result, what)


def memstats_table(result: dict[str, Any], console: Console | None = None) -> None:
    """The main MemStats fields, then BySize for the classes that saw allocations."""
    console = console or stdout_console()
    ms = result["memstats"]
    rows = []
    for name in _MAIN_FIELDS:
        v = ms[name]
        counts = name in ("HeapObjects", "Mallocs", "Frees", "NumGC")
        rows.append([name, f"{v:,}", "" if counts else human_bytes(v)])
    cols = [Col("MemStats field", "left"), Col("value"), Col("", spare=True, style="dim")]
    print_fitted(console, run_title(result), cols, rows)

    by = [e for e in ms["BySize"] if e["Mallocs"]]
    if by:
        cols = [Col("Size"), Col("Mallocs"), Col("Frees")]
        rows = [[str(e["Size"]), f"{e['Mallocs']:,}", f"{e['Frees']:,}"] for e in by]
        print_fitted(console, "BySize (classes with allocations)", cols, rows)


def breakdown_table(result: dict[str, Any], console: Console | None = None) -> None:
    """Where HeapSys is, as viewcore's tree: bytes, objects and percentages."""
    console = console or stdout_console()
    bd = result.get("breakdown")
    if not bd:
        console.print("[dim]no breakdown in this result[/dim]")
        return
    cols = [
        Col("field", "left"),
        Col("bytes"),
        Col("", spare=True, style="dim"),
        Col("objects"),
        Col("% heap"),
        Col("% parent"),
    ]
    tree = breakdown_rows(bd)
    rows = [
        [
            "  " * r.depth + r.key,
            f"{r.bytes:,}",
            human_bytes(r.bytes),
            "" if r.objects is None else f"{r.objects:,}",
            r.pct_heap,
            r.pct_parent if r.depth else "",
        ]
        for r in tree
    ]
    with_words = [*cols, Col("", "left", wrap=True, spare=True, style="dim")]
    if min_width(with_words, [[*row, r.label] for row, r in zip(rows, tree, strict=True)]) <= (
        console.width
    ):  # room for the words too
        cols, rows = with_words, [[*row, r.label] for row, r in zip(rows, tree, strict=True)]
    styles = ["bold" if r.depth <= 1 else None for r in tree]
    print_fitted(console, _title(result, "heap breakdown"), cols, rows, styles)
    for problem in breakdown_problems(bd):
        console.print(f"[red]does not add up:[/red] {escape(problem)}", highlight=False)


def classes_table(result: dict[str, Any], console: Console | None = None) -> None:
    """Per size class (0 = large): spans, objects, in-use and span bytes, waste."""
    console = console or stdout_console()
    rows = result.get("classes")
    if not rows:
        console.print("[dim]no size-class table in this result[/dim]")
        return
    rows = sorted(rows, key=lambda r: (r.get("class", 0) == 0, r.get("class", 0)))
    # classes fields: class size npages spans objects inuse_bytes span_bytes
    # free_slot_bytes tail_waste_bytes, and utilisation inuse/span
    names = ("class", "size", "npages", "spans", "objects", "inuse", "span", "free slots",
             "tail waste", "util")  # fmt: skip
    cells = []
    for r in rows:
        u = utilisation(r)
        cells.append(
            [
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
            ]
        )
    title = _title(result, "in-use spans by size class (class 0: large objects)")
    print_fitted(console, title, [Col(n) for n in names], cells)


def compare_table(results: list[dict[str, Any]], console: Console | None = None) -> None:
    """Key figures of several runs side by side, one column per run (split when narrow).

    The settings every run shares are one line above the table; each run's
    column is headed by the settings that tell it from the others.
    """
    console = console or stdout_console()
    if not results:
        console.print("[dim]no runs to compare[/dim]")
        return
    labels = run_labels(results)
    shared = shared_text(results)
    title = f"comparison of {len(results)} runs" + (f": {shared}" if shared else "")
    heads = [Col(lab.replace(" ", "\n")) for lab in labels]
    rows = []
    for fig in KEY_FIGURES:
        cells = []
        for r in results:
            exact, human = format_figure(figure_value(r, fig), fig.unit)
            cells.append(human or exact)
        rows.append([fig.name, *cells])
    print_split(console, title, Col("", "left"), heads, rows)
