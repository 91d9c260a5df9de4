"""The reports of ``goheap analyze``: rich tables on the terminal, one self-contained HTML page.

Both read the JSON form of an analysis (``Analysis.to_dict()``, with an
optional ``whatif`` key from ``WhatIf.to_dict()``) and tolerate missing
parts. The HTML page uses the run report's scaffolding (``report.html``:
CSS, page, sections) and charts (``report.plots``: the size-class bars,
the HeapInuse/NextGC overlay).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from goheap.outputs import write_file
from goheap.report.common import class_name, human_bytes, pct, utilisation
from goheap.report.console import stdout_console
from goheap.report.fit import Col, print_fitted
from goheap.report.html import chips, esc, html_page, html_section, missing_note, num_cell

DEFAULT_TOP = 20


def is_diff(result: dict[str, Any]) -> bool:
    """Whether result is a difference of two profiles (``analyze --base``)."""
    return bool(result.get("base"))


def _title(result: dict[str, Any], what: str) -> str:
    src = str(result.get("source") or "profile")
    if is_diff(result):
        src = f"{src} - {result['base'].get('source', 'base')}"
        what = f"change in {what}"
    return f"{what}: {src}  [{result.get('profile', '?')}]"


def _count(v: Any, diff: bool) -> str:
    """A count; with a sign for a difference."""
    return f"{int(v):+,}" if diff and v else f"{int(v):,}"


def _bytes(v: Any, diff: bool) -> str:
    """human_bytes; with a sign for a difference."""
    return ("+" if diff and v > 0 else "") + human_bytes(v)


def _sizes_text(row: dict[str, Any], limit: int = 4) -> str:
    sizes = [f"{s:,}" for s in row.get("sizes") or []]
    more = f" +{len(sizes) - limit}" if len(sizes) > limit else ""
    return " ".join(sizes[:limit]) + more


def site_short(row: dict[str, Any]) -> str:
    """``function file.go:line`` with the file's base name (the full path is in the JSON)."""
    fn = str(row.get("function") or row.get("site") or "")
    file = str(row.get("file") or "")
    return f"{fn} {Path(file).name}:{row.get('line', 0)}" if file else fn


def _class_list(row: dict[str, Any]) -> str:
    """A site's size classes: '2, 32, large'."""
    classes = sorted(row.get("classes") or [], key=lambda c: (c == 0, c))
    return ", ".join("large" if c == 0 else str(c) for c in classes)


def top_sites(result: dict[str, Any], key: str, n: int) -> list[dict[str, Any]]:
    """The n sites with most ``key`` (``inuse_bytes`` or ``alloc_bytes``), zeros left out.

    In a difference, the largest change first whatever its sign (as pprof -top).
    """
    rows = [r for r in result.get("sites") or [] if r.get(key)]
    rows.sort(key=lambda r: (-abs(int(r.get(key, 0))), str(r.get("site"))))
    return rows[:n]


# --- text ---------------------------------------------------------------------------------


def print_analysis(
    result: dict[str, Any],
    console: Console | None = None,
    top: int = DEFAULT_TOP,
    *,
    verbose: bool = False,
) -> None:
    """Summary, live heap and allocation by class, top sites, the what-if; notes with verbose.

    Without ``verbose`` the notes (what the profile records and what that
    limits, paragraphs each) are one line saying how to see them.
    """
    console = console or stdout_console()
    t = result.get("totals") or {}
    diff = is_diff(result)
    mhi = int(result.get("min_heap_inuse", 0))
    rows: list[tuple[str, int, bool]] = [  # (label, value, in bytes)
        ("samples", int(result.get("samples", 0)), False),
        ("MemProfileRate", int(result.get("period", 0)), False),
        ("in-use objects", t.get("objects", 0), False),
        ("in-use bytes (slots)", t.get("inuse_bytes", 0), True),
    ]
    if t.get("inuse_bytes_se"):
        rows.append(("  sampling error (1 s.e.)", t["inuse_bytes_se"], True))
    rows += [
        ("allocated objects", t.get("alloc_objects", 0), False),
        ("allocated bytes", t.get("alloc_bytes", 0), True),
        ("minimum HeapInuse", mhi, True),
    ]
    if t.get("min_heap_inuse_scan", mhi) != mhi:
        rows.append(("  if all pointerful", t["min_heap_inuse_scan"], True))
    rows += [
        ("  span tail waste", t.get("tail_waste_bytes", 0), True),
        ("  free slots (last spans)", t.get("free_slot_bytes", 0), True),
        ("  large objects' pages", t.get("large_bytes", 0), True),
    ]
    cols = [Col("", "left"), Col("value"), Col("", spare=True, style="dim")]
    unsigned = ("samples", "MemProfileRate", "  sampling error (1 s.e.)")
    cells = [
        [k, _count(v, diff and k not in unsigned), _bytes(v, diff and k not in unsigned)]
        if in_bytes
        else [k, _count(v, diff and k not in unsigned), ""]
        for k, v, in_bytes in rows
    ]
    styles = ["bold" if k == "minimum HeapInuse" else None for k, _, _ in rows]
    print_fitted(console, _title(result, "heap profile"), cols, cells, styles)
    _classes_text(result, console)
    _alloc_text(result, console)
    _sites_text(result, console, "inuse_bytes", top)
    _sites_text(result, console, "alloc_bytes", top)
    if result.get("whatif"):
        whatif_table(result, console)
    print_notes(result, console, verbose=verbose)


def print_notes(result: dict[str, Any], console: Console, *, verbose: bool = False) -> None:
    """Every note with verbose; else one line saying how many there are and where they are."""
    notes = list(result.get("notes") or []) + list((result.get("whatif") or {}).get("notes") or [])
    if not notes:
        return
    if verbose:
        for n in notes:
            console.print(Text.assemble(("note: ", "dim"), n), overflow="fold")
        return
    console.print(
        Text(
            f"{len(notes)} notes on what the profile records and what that limits: "
            "--verbose prints them; the --report page has them too.",
            style="dim",
        ),
        overflow="fold",
    )


def _classes_text(result: dict[str, Any], console: Console) -> None:
    diff = is_diff(result)
    rows = [r for r in result.get("classes") or [] if r.get("objects") or r.get("spans")]
    if not rows:
        console.print("[dim]nothing in use[/dim]")
        return
    # obj/span: objects per span; span B: the packed spans' bytes (in-use + free + tail)
    names = ("class", "size", "obj/span", "objects", "in-use", "spans", "span B", "free", "tail",
             "util")  # fmt: skip
    cells = []
    for r in rows:
        u = None if diff else utilisation(r)
        cells.append(
            [
                str(r.get("class", "")),
                class_name(r).removesuffix(" B"),
                f"{r.get('objects_per_span', 0):,}" if r.get("class") else "1",
                _count(r.get("objects", 0), diff),
                _bytes(r.get("inuse_bytes", 0), diff),
                _count(r.get("spans", 0), diff),
                _bytes(r.get("span_bytes", 0), diff),
                _bytes(r.get("free_slot_bytes", 0), diff),
                _bytes(r.get("tail_waste_bytes", 0), diff),
                "–" if u is None else f"{100 * u:.1f}%",
            ]
        )
    title = _title(result, "live heap by size class, perfectly packed (class 0: large)")
    print_fitted(console, title, [Col(n) for n in names], cells)


def _alloc_text(result: dict[str, Any], console: Console) -> None:
    rows = [r for r in result.get("classes") or [] if r.get("alloc_objects")]
    if not rows:
        return
    total = sum(int(r.get("alloc_bytes", 0)) for r in rows)
    secs = int(result.get("duration_nanos") or 0) / 1e9
    names = ["class", "size", "allocs", "bytes", "share", "freed objs"]
    if secs > 0:
        names.append("bytes/s")
    cells = []
    for r in rows:
        row = [
            str(r.get("class", "")),
            class_name(r).removesuffix(" B"),
            f"{r.get('alloc_objects', 0):,}",
            human_bytes(r.get("alloc_bytes", 0)),
            pct(r.get("alloc_bytes", 0), total),
            f"{r.get('freed_objects', 0):,}",
        ]
        if secs > 0:
            row.append(human_bytes(r.get("alloc_bytes", 0) / secs))
        cells.append(row)
    title = _title(result, "allocation by size class (alloc_*)")
    print_fitted(console, title, [Col(n) for n in names], cells)


def _sites_text(result: dict[str, Any], console: Console, key: str, top: int) -> None:
    rows = top_sites(result, key, top)
    if not rows or top <= 0:
        return
    what = "in-use bytes" if key == "inuse_bytes" else "allocated bytes"
    diff = is_diff(result)
    n = len(result.get("sites") or [])
    cols = [Col("site", "left", wrap=True)]
    cols += [Col(c) for c in ("objects", "in-use", "allocs", "allocated")]
    cols.append(Col("sizes", wrap=True))
    cells = [
        [
            site_short(r),
            _count(r.get("objects", 0), diff),
            _bytes(r.get("inuse_bytes", 0), diff),
            _count(r.get("alloc_objects", 0), diff),
            _bytes(r.get("alloc_bytes", 0), diff),
            _sizes_text(r),
        ]
        for r in rows
    ]
    print_fitted(console, _title(result, f"top {len(rows)} of {n} sites by {what}"), cols, cells)


def _pm(value: Any, err: Any, fmt: Any) -> str:
    """``value ±err`` in fmt (a function of one number); the value alone without err."""
    if value is None:
        return "–"
    return fmt(value) if err is None else f"{fmt(value)} ±{fmt(err)}"


def _share(part: float, whole: float) -> str:
    """part as a percentage of whole, short: '0.4%', '12%'."""
    x = 100 * part / whole if whole else 0.0
    return f"{x:.1f}%" if x < 10 else f"{x:.0f}%"


def _rate_text(value: float | None) -> Callable[[float], str]:
    """GCs per GiB: one decimal from 10 up, two below (0.94, not 0.9)."""
    places = 1 if value is not None and value >= 10 else 2
    return lambda v: f"{v:,.{places}f}"


def whatif_cells(r: dict[str, Any]) -> list[str]:
    """A setting's figures as text, in the order of ``WHATIF_COLUMNS``."""
    p = r.get("predicted") or {}
    ms = r.get("memstats") or {}
    peak, err = p.get("peak_HeapInuse", 0), p.get("peak_HeapInuse_err")
    return [
        human_bytes(peak) if err is None else f"{human_bytes(peak)} ±{_share(err, peak)}",
        human_bytes(p.get("peak_HeapSys", 0)),
        "none" if p.get("NextGC") is None else human_bytes(p["NextGC"]),
        f"{ms.get('NumGC', 0):,}",
        f"{r.get('cycles', 0):,}",
        _pm(p.get("gcs_per_gib"), p.get("gcs_per_gib_err"), _rate_text(p.get("gcs_per_gib"))),
    ]


WHATIF_COLUMNS = ("peak HeapInuse", "peak HeapSys", "NextGC", "NumGC", "cycles", "GCs/GiB")


def live_set_line(w: dict[str, Any]) -> str | None:
    """Where the what-if's live set came from (``--inuse``), in one line; None if unknown."""
    e = w.get("live_estimate")
    if not e:
        return None
    live, inuse = human_bytes(e["live_bytes"]), human_bytes(e["inuse_bytes"])
    if e["inuse"] != "marked":
        return f"{live}: the profile's in-use objects as they stand (--inuse live)"
    how = "as its young sites say" if e.get("source") == "sites" else f"at {e['profiled']}"
    text = (
        f"{live}: the profile's {inuse} in use (a marked heap) less "
        f"{human_bytes(e['floating'])} floating garbage, {how}"
    )
    rate = (w.get("workload") or {}).get("alloc_rate")
    if e.get("rate_fit") and rate:
        text += f"; allocation rate inferred from it: {human_bytes(rate)}/s"
    return text


def whatif_table(result: dict[str, Any], console: Console | None = None) -> None:
    """What limits the answer, then one row per setting: the predicted figures and their cycles."""
    console = console or stdout_console()
    w = result.get("whatif") or {}
    runs = w.get("runs") or []
    if not runs:
        return
    for line in w.get("limits") or []:
        console.print(Text.assemble(("limit: ", "bold yellow"), line), overflow="fold")
    if (live := live_set_line(w)) is not None:
        console.print(Text.assemble(("live set: ", "bold"), live), overflow="fold")
    cols = [Col("setting", "left", wrap=True), *(Col(n.replace(" ", "\n")) for n in WHATIF_COLUMNS)]
    cells = [[str(r.get("label", "")), *whatif_cells(r)] for r in runs]
    procs = runs[0].get("procs")
    what = "what-if (synthetic workload from the profile)" + (f", procs={procs}" if procs else "")
    print_fitted(console, _title(result, what), cols, cells)


# --- HTML -----------------------------------------------------------------------------------


def _cell(v: Any, diff: bool) -> str:
    """num_cell; a nonzero count with its sign in a difference."""
    if diff and isinstance(v, int) and not isinstance(v, bool) and v:
        return f"{v:+,}"
    return num_cell(v)


def _cards(result: dict[str, Any]) -> str:
    t = {"tail_waste_bytes": 0} | (result.get("totals") or {})
    mhi = int(result.get("min_heap_inuse", 0))
    d = is_diff(result)
    change = "change in " if d else ""

    def fig(key: str, v: int) -> tuple[str, str, str]:
        return (f"{change}{key}", _bytes(v, d), _count(v, d))

    figs = [
        (f"{change}in-use objects", _count(t.get("objects", 0), d), ""),
        fig("in-use bytes", t.get("inuse_bytes", 0)),
        fig("minimum HeapInuse", mhi),
        fig("span tail waste", t["tail_waste_bytes"]),
        (f"{change}allocated objects", _count(t.get("alloc_objects", 0), d), ""),
        fig("allocated bytes", t.get("alloc_bytes", 0)),
        ("MemProfileRate", f"{result.get('period', 0):,}", ""),
        ("samples", f"{result.get('samples', 0):,}", ""),
    ]
    out = [
        f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div>'
        f'<div class="x">{esc(x)}</div></div>'
        for k, v, x in figs
    ]
    return f'<div class="cards">{"".join(out)}</div>'


def _classes_html(result: dict[str, Any]) -> str:
    from goheap.report import plots

    d = is_diff(result)
    rows = [r for r in result.get("classes") or [] if r.get("objects") or r.get("spans")]
    if not rows:
        return missing_note("in-use objects")
    svg = "" if d else plots.classes_svg({"classes": rows}) or ""
    trs = []
    for r in rows:
        u = None if d else utilisation(r)
        cells = "".join(
            f"<td>{_cell(r.get(k, 0), d)}</td>"
            for k in ("objects", "inuse_bytes", "spans", "span_bytes", "free_slot_bytes",
                      "tail_waste_bytes")
        )  # fmt: skip
        trs.append(
            f"<tr><td>{num_cell(r.get('class'))}</td><td>{esc(class_name(r))}</td>"
            f"<td>{num_cell(r.get('npages') or '–')}</td>"
            f"<td>{num_cell(r.get('objects_per_span') if r.get('class') else 1)}</td>"
            f"{cells}<td>{'–' if u is None else f'{100 * u:.1f}%'}</td>"
            f"<td>{num_cell(r.get('sites', 0))}</td></tr>"
        )
    t = result.get("totals") or {}
    cells = "".join(
        f"<td>{_cell(t.get(k, 0), d)}</td>"
        for k in ("objects", "inuse_bytes", "spans", "span_bytes", "free_slot_bytes",
                  "tail_waste_bytes")
    )  # fmt: skip
    util = "–" if d else pct(t.get("inuse_bytes", 0), t.get("span_bytes", 0))
    trs.append(
        f'<tr><td class="l" colspan="4"><b>all</b></td>{cells}<td>{esc(util)}</td><td></td></tr>'
    )
    table = (
        '<div class="scroll"><table><thead><tr><th>class</th><th>size</th><th>npages</th>'
        "<th>objects/span</th><th>objects</th><th>inuse_bytes</th><th>spans</th>"
        "<th>span_bytes</th><th>free_slot_bytes</th><th>tail_waste_bytes</th>"
        f"<th>utilisation</th><th>sites</th></tr></thead><tbody>{''.join(trs)}</tbody>"
        "</table></div>"
    )
    if d:
        return (
            '<p class="note">The change per class from the base profile to this one: objects '
            "and bytes in use, and the perfectly packed spans each needs. The minimum "
            f"HeapInuse changed by {_cell(result.get('min_heap_inuse', 0), d)} bytes.</p>"
            f"{table}"
        )
    return (
        f'<div class="figure">{svg}</div>'
        '<p class="note">Each bar is the spans a class needs when its in-use objects are '
        "packed perfectly: the objects' slots, the free slots of the last span, and the tail "
        "no slot covers. Their sum over classes, with large objects' pages, is the minimum "
        f"HeapInuse: {num_cell(result.get('min_heap_inuse', 0))} bytes.</p>{table}"
    )


def _alloc_html(result: dict[str, Any]) -> str:

    rows = [r for r in result.get("classes") or [] if r.get("alloc_objects")]
    if not rows:
        return missing_note("allocations (alloc_*)")
    total = sum(int(r.get("alloc_bytes", 0)) for r in rows)
    secs = int(result.get("duration_nanos") or 0) / 1e9
    trs = []
    for r in rows:
        share = int(r.get("alloc_bytes", 0)) / total if total else 0
        rate = f"<td>{esc(human_bytes(r.get('alloc_bytes', 0) / secs))}</td>" if secs else ""
        trs.append(
            f"<tr><td>{num_cell(r.get('class'))}</td><td>{esc(class_name(r))}</td>"
            f"<td>{num_cell(r.get('alloc_objects', 0))}</td>"
            f"<td>{num_cell(r.get('alloc_bytes', 0))}</td>"
            f'<td class="l"><span class="minibar" style="width:{120 * abs(share):.1f}px"></span> '
            f"{esc(pct(r.get('alloc_bytes', 0), total))}</td>"
            f"<td>{num_cell(r.get('freed_objects', 0))}</td>{rate}</tr>"
        )
    rate_th = "<th>bytes/s</th>" if secs else ""
    return (
        '<div class="scroll"><table><thead><tr><th>class</th><th>size</th>'
        '<th>alloc_objects</th><th>alloc_bytes</th><th class="l">share of bytes</th>'
        f"<th>freed objects</th>{rate_th}</tr></thead><tbody>{''.join(trs)}</tbody></table></div>"
        '<p class="note">Everything allocated since the program started (or over the '
        "profile's duration, for a delta profile), by class; freed objects are allocated "
        "minus in use.</p>"
    )


def _sites_html(result: dict[str, Any], top: int) -> str:

    if not result.get("sites"):
        return missing_note("allocation sites")
    d = is_diff(result)
    parts = []
    for key, what in (("inuse_bytes", "in-use bytes"), ("alloc_bytes", "allocated bytes")):
        rows = top_sites(result, key, top)
        if not rows:
            continue
        trs = "".join(
            f'<tr><td class="l wrap"><code>{esc(r.get("function", ""))}</code><br>'
            f'<span class="note">{esc(r.get("file", ""))}'
            f"{':' + str(r.get('line')) if r.get('file') else ''}</span></td>"
            f"<td>{_cell(r.get('objects', 0), d)}</td><td>{_cell(r.get('inuse_bytes', 0), d)}</td>"
            f"<td>{_cell(r.get('alloc_objects', 0), d)}</td>"
            f"<td>{_cell(r.get('alloc_bytes', 0), d)}</td>"
            f'<td class="l wrap">{esc(_class_list(r))}</td>'
            f'<td class="l wrap">{esc(_sizes_text(r, 8))}</td></tr>'
            for r in rows
        )
        parts.append(
            f"<h3>Top {len(rows)} by {'change in ' if d else ''}{esc(what)}</h3>"
            '<div class="scroll"><table><thead><tr><th class="l">site</th><th>objects</th>'
            "<th>inuse_bytes</th><th>alloc_objects</th><th>alloc_bytes</th>"
            f'<th class="l">classes</th><th class="l">slot sizes</th></tr></thead>'
            f"<tbody>{trs}</tbody></table></div>"
        )
    n = len(result.get("sites") or [])
    parts.append(
        f'<p class="note">{n:,} sites in all (the leaf frame of each stack: the function '
        "that called new/make, runtime frames already dropped by Go).</p>"
    )
    return "".join(parts)


def whatif_svg(runs: list[dict[str, Any]]) -> str | None:
    """Predicted peak HeapInuse and peak HeapSys (bars) and GCs per GiB (dots), per setting."""
    if not runs:
        return None
    import numpy as np

    from goheap.report import plots

    labels = [str(r.get("label", "")) for r in runs]
    inuse = np.array([float((r.get("predicted") or {}).get("peak_HeapInuse", 0)) for r in runs])
    sys_ = np.array([float((r.get("predicted") or {}).get("peak_HeapSys", 0)) for r in runs])
    rate = [(r.get("predicted") or {}).get("gcs_per_gib") for r in runs]
    with plots._rc():
        div, unit = plots.byte_scale(float(max(sys_.max(), inuse.max(), 1.0)))
        fig = plots._figure(11, 3.8)
        ax = fig.add_subplot()
        x = np.arange(len(runs))
        ax.bar(x - 0.2, sys_ / div, 0.38, color=plots.SERIES["HeapSys"], label="peak HeapSys")
        ax.bar(x + 0.2, inuse / div, 0.38, color=plots.SERIES["HeapInuse"], label="peak HeapInuse")
        ax.set_xticks(
            x, [plots._plain(lab.replace(" GOMEMLIMIT", "\nGOMEMLIMIT")) for lab in labels]
        )
        ax.tick_params(axis="x", labelsize=8 if len(runs) > 6 else 9)
        ax.set_ylabel(f"bytes ({unit})")
        ax.grid(axis="x", visible=False)
        ax2 = ax.twinx()
        ax2.plot(
            x,
            [float(v) if v is not None else np.nan for v in rate],
            "o",
            markersize=7,
            color=plots.SERIES["NextGC"],
            label="GCs per GiB allocated",
        )
        ax2.set_ylabel("GCs per GiB allocated")
        ax2.set_ylim(bottom=0)
        ax2.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left", bbox_to_anchor=(1.08, 1.0), fontsize=9)
        return plots._svg(fig, "whatif")


def _whatif_html(result: dict[str, Any]) -> str:
    from goheap.report import plots

    w = result.get("whatif") or {}
    runs = w.get("runs") or []
    scaled = any(float(r.get("live_scale", 1.0)) < 1 for r in runs)
    trs = []
    for r in runs:
        sim = f"<td>{num_cell((r.get('peak') or {}).get('HeapInuse', 0))}</td>" if scaled else ""
        cells = "".join(f"<td>{esc(c)}</td>" for c in whatif_cells(r))
        trs.append(
            f'<tr><td class="l">{esc(r.get("label", ""))}</td>{cells}'
            f"<td>{num_cell(r.get('stream_gcs', 0))}</td>"
            f"{sim}<td>{esc(r.get('wall_s', ''))}</td></tr>"
        )
    sim_th = "<th>simulated peak HeapInuse</th>" if scaled else ""
    heads = "".join(f"<th>{esc(c)}</th>" for c in WHATIF_COLUMNS)
    table = (
        f'<table><thead><tr><th class="l">setting</th>{heads}<th>GCs in stream</th>'
        f"{sim_th}<th>wall s</th></tr></thead>"
        f"<tbody>{''.join(trs)}</tbody></table>"
    )
    limits = "".join(f'<p class="note"><b>limit:</b> {esc(n)}</p>' for n in w.get("limits") or [])
    if (live := live_set_line(w)) is not None:
        limits += f'<p class="note"><b>live set:</b> {esc(live)}</p>'
    bars = whatif_svg(runs) or ""
    title = f"what-if: {result.get('profile', '?')} procs={runs[0].get('procs', 1)}" if runs else ""
    overlay = plots.compare_svg(runs, [str(r.get("label", "")) for r in runs], title) or ""
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in w.get("notes") or [])
    return (
        f'{limits}{table}<div class="figure">{bars}</div>'
        f'<h3>HeapInuse (solid) and NextGC (dashed) over virtual time</h3><div class="figure">'
        f"{overlay}</div>{notes}"
    )


def _flame_html(flame: dict[str, Any]) -> str:
    from goheap.report.flame import flame_svg

    svg = flame_svg(flame)
    if svg is None:
        return missing_note("bytes in use")
    return (
        '<p class="note">Every stack of the profile from the root (top) to the function that '
        "allocated (bottom), merged by function: each box is as wide as the bytes in use "
        "below it, its callees underneath, the largest first. Hover over a box for its "
        "bytes and objects. Boxes under half a pixel are not drawn.</p>"
        f'<div class="scroll figure">{svg}</div>'
    )


def render_analysis_html(
    result: dict[str, Any], top: int = 50, flame: dict[str, Any] | None = None
) -> str:
    """The HTML page of an analysis (and its what-if), as text.

    ``flame`` is the profile's call tree (:func:`goheap.pprof.flame.flame_tree`)
    for the flame graph of in-use bytes; without it there is no flame graph.
    """
    sections = [
        ("classes", "Live heap by size class", _classes_html(result)),
        ("alloc", "Allocation by size class", _alloc_html(result)),
        ("sites", "Allocation sites", _sites_html(result, top)),
    ]
    if flame is not None:
        sections.append(("flame", "In-use bytes by call stack", _flame_html(flame)))
    if result.get("whatif"):
        sections.append(("whatif", "What-if: GOGC and GOMEMLIMIT", _whatif_html(result)))
    notes = "".join(f"<li>{esc(n)}</li>" for n in result.get("notes") or [])
    sections.append(
        ("notes", "What the profile records, and what that limits", f"<ul>{notes}</ul>")
    )
    src = str(result.get("source") or "profile")
    links = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in sections)
    what = "difference" if is_diff(result) else "analysis"
    pairs = [
        ("profile", src),
        *((("minus base", str(result["base"].get("source", ""))),) if is_diff(result) else ()),
        ("Go version applied", str(result.get("profile", "?"))),
        ("MemProfileRate", f"{result.get('period', 0):,}"),
    ]
    runs = (result.get("whatif") or {}).get("runs") or []
    if runs:
        pairs.append(("what-if", "; ".join(str(r.get("label", "")) for r in runs)))
        pairs.append(("what-if procs", str(runs[0].get("procs", 1))))
    header = (
        f'<header id="header"><h1>goheap heap-profile {what}: {esc(Path(src).name)}</h1>'
        f"{chips(pairs)}{_cards(result)}<nav>{links}</nav></header>"
    )
    body = header + "".join(html_section(sid, title, html) for sid, title, html in sections)
    return html_page(f"goheap analyze: {Path(src).name}", body)


def write_analysis_report(
    result: dict[str, Any], path: str | Path, top: int = 50, flame: dict[str, Any] | None = None
) -> None:
    """Write the self-contained HTML page of an analysis to path."""
    write_file(path, render_analysis_html(result, top, flame))
