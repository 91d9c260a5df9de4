"""Self-contained HTML reports of one run, or of several runs side by side.

One file, nothing fetched: the CSS is inline, the charts are inline SVG
(matplotlib) and the heap map an inline base64 PNG (numpy). Every piece of
text that comes from a result is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from goheap.outputs import write_file
from goheap.report import heapmap as hmap
from goheap.report import plots
from goheap.report.common import (
    BYTE_FIELDS,
    KEY_FIGURES,
    MEMSTATS_DOC,
    breakdown_problems,
    breakdown_rows,
    class_name,
    figure_value,
    format_figure,
    human_bytes,
    human_ns,
    params_text,
    pct,
    run_labels,
    settings,
    shared_settings,
    shared_text,
    utilisation,
)

# Colours of the breakdown's parts (the heap map uses the same greys).
PART_CSS: dict[str, str] = {
    "live": "#1f78b4",
    "rounding": "#6baed6",
    "garbage": "#a6cee3",
    "free_slot": "#fdbf6f",
    "tail_waste": "#e31a1c",
    "retained": hmap.css(hmap.FREE_RGB),
    "released": hmap.css(hmap.RELEASED_RGB),
    "inuse": "#1f78b4",
    "idle": hmap.css(hmap.FREE_RGB),
    "heap": "#6a3d9a",
}

CSS = """
:root { --fg:#1d1d1f; --dim:#6b6b70; --line:#e2e2e6; --bg:#ffffff; --band:#f6f6f8;
        --accent:#1f78b4; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
       font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 28px 60px; }
h1 { font-size: 22px; margin: 4px 0 6px; }
h2 { font-size: 17px; margin: 34px 0 8px; padding-bottom: 4px;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.note, .note { color: var(--dim); font-size: 12.5px; margin: 4px 0 10px; }
.warn { color: #a33; font-size: 12.5px; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
nav { font-size: 13px; margin: 6px 0 2px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; }
.settings { display:flex; flex-wrap:wrap; gap:6px; margin: 8px 0; }
.chip { background: var(--band); border: 1px solid var(--line); border-radius: 12px;
        padding: 2px 10px; font-size: 12.5px; }
.chip b { font-weight: 600; color: var(--dim); margin-right: 4px; }
.cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px;
         margin: 12px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.card .k { color: var(--dim); font-size: 12px; }
.card .v { font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .x { color: var(--dim); font-size: 11.5px; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 9px; border-bottom: 1px solid var(--line); text-align: right;
         vertical-align: top; white-space: nowrap; }
th { background: var(--band); font-weight: 600; position: sticky; top: 0; }
td.l, th.l { text-align: left; }
td.wrap { white-space: normal; }
td.gct { white-space: normal; text-align: left; min-width: 420px; }
td.hum { white-space: normal; text-align: left; max-width: 230px; }
tr:hover td { background: #fafafc; }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); }
.scroll table { width: 100%; }
svg.plot { width: 100%; height: auto; display: block; }
.two { display: grid; grid-template-columns: minmax(0, 2.2fr) minmax(0, 1fr); gap: 24px;
       align-items: start; }
.bar { display:flex; height: 26px; border: 1px solid #bbb; margin: 8px 0 4px; }
.bar span { display:block; height: 100%; }
.minibar { display:inline-block; height: 10px; background: var(--accent); vertical-align: middle; }
.sw { display:inline-block; width: 12px; height: 12px; border: 1px solid rgba(0,0,0,.25);
      vertical-align: -2px; margin-right: 5px; }
.tree td.t { padding-left: calc(9px + var(--d) * 22px); }
.tree tr.d0 td { font-weight: 600; background: var(--band); }
.tree tr.d1 td { font-weight: 600; }
.hm { position: relative; display: inline-block; margin: 24px 0 0 76px;
      max-width: calc(100% - 76px); }
.hm img { display: block; max-width: 100%; height: auto; image-rendering: pixelated;
          border: 1px solid #999; }
.hm .yl { position: absolute; left: -76px; width: 70px; text-align: right; font-size: 11px;
          color: var(--dim); transform: translateY(-50%); font-variant-numeric: tabular-nums; }
.hm .yt { position: absolute; left: -76px; top: -20px; font-size: 11px; color: var(--dim); }
.legend { display:flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; margin: 10px 0; }
.rel { color: var(--dim); font-size: 11px; }
tr.set td { color: var(--dim); }
footer { margin-top: 40px; color: var(--dim); font-size: 12px; }
"""


def esc(value: Any) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(value), quote=True)


def html_page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n<footer>Generated by goheap. Virtual time: the model's own clock, "
        "not wall-clock time.</footer>\n</main>\n</body>\n</html>\n"
    )


def html_section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}">\n<h2>{esc(title)}</h2>\n{body}\n</section>\n'


def missing_note(what: str) -> str:
    return f'<p class="note">This result has no {esc(what)}.</p>'


def num_cell(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else esc(v)


# --- header -----------------------------------------------------------------------------


def chips(pairs: list[tuple[str, str]]) -> str:
    """The settings as a row of chips: name, value."""
    out = [f'<span class="chip"><b>{esc(k)}</b>{esc(v or "–")}</span>' for k, v in pairs]
    return f'<div class="settings">{"".join(out)}</div>'


def _chips(result: dict[str, Any]) -> str:
    return chips(settings(result))


def _cards(result: dict[str, Any]) -> str:
    out = []
    for fig in KEY_FIGURES:
        exact, human = format_figure(figure_value(result, fig), fig.unit)
        main, extra = (human, exact) if human else (exact, "")
        out.append(
            f'<div class="card"><div class="k">{esc(fig.name)}</div>'
            f'<div class="v">{esc(main)}</div><div class="x">{esc(extra)}</div></div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


def _header(result: dict[str, Any], sections: list[tuple[str, str]]) -> str:
    title = f"{result.get('workload', '?')} {params_text(result.get('params'))}".strip()
    parts = [f"<h1>goheap report: {esc(title)}</h1>", _chips(result)]
    sim = result.get("sim") or {}
    extra = []
    if result.get("result"):
        extra.append("workload result: " + esc(params_text(result["result"])))
    if sim:
        bits = []
        if "allocs" in sim:
            bits.append(f"{num_cell(sim['allocs'])} allocations")
        if "virtual_ns" in sim:
            time = f"{esc(human_ns(sim['virtual_ns']))} of virtual time"
            if sim.get("program_ns"):  # the program's own CPU (Heap.compute)
                time += f" ({esc(human_ns(sim['program_ns']))} of it the program's own work)"
            bits.append(time)
        if "wall_s" in sim:
            bits.append(f"simulated in {esc(sim['wall_s'])} s wall-clock")
        extra.append(", ".join(bits))
    if extra:
        parts.append(f'<p class="note">{"; ".join(extra)}</p>')
    parts.append(_cards(result))
    links = "".join(f'<a href="#{sid}">{esc(name)}</a>' for sid, name in sections)
    parts.append(f"<nav>{links}</nav>")
    return f'<header id="header">\n{"".join(parts)}\n</header>\n'


# --- sections -----------------------------------------------------------------------------


def _timeline_section(result: dict[str, Any]) -> str:
    svg = plots.timeline_svg(result)
    if svg is None:
        return missing_note("timeline")
    n = len(result.get("timeline") or [])
    ngc = len(plots.gc_intervals(result))
    return (
        f'<div class="figure">{svg}</div>\n<p class="note">{n:,} samples; shaded: the '
        f"{ngc:,} GC cycles (start to end of each cycle). NextGC is the heap goal the pacer "
        "aims the next cycle at.</p>"
    )


def _breakdown_section(result: dict[str, Any]) -> str:
    bd = result.get("breakdown")
    if not bd:
        return missing_note("breakdown")
    rows = breakdown_rows(bd)
    heap = max(int(bd.get("HeapSys", 0) or 0), 1)
    leaves = [
        ("live", int(bd.get("live_bytes", 0)) - int(bd.get("rounding_bytes_est", 0)), "live"),
        ("rounding (est.)", int(bd.get("rounding_bytes_est", 0)), "rounding"),
        ("garbage", int(bd.get("garbage_bytes", 0)), "garbage"),
        ("free slots", int(bd.get("free_slot_bytes", 0)), "free_slot"),
        ("tail waste", int(bd.get("tail_waste_bytes", 0)), "tail_waste"),
        ("retained", int(bd.get("retained_bytes", 0)), "retained"),
        ("released", int(bd.get("released_bytes", 0)), "released"),
    ]
    segs = "".join(
        f'<span style="width:{100 * max(v, 0) / heap:.3f}%;background:{PART_CSS[p]}" '
        f'title="{esc(name)}: {esc(human_bytes(v))} ({esc(pct(v, heap))})"></span>'
        for name, v, p in leaves
        if v > 0
    )
    legend = "".join(
        f'<span><i class="sw" style="background:{PART_CSS[p]}"></i>{esc(name)}</span>'
        for name, _, p in leaves
    )
    trs = []
    for r in rows:
        width = 100 * r.bytes / heap if heap else 0
        trs.append(
            f'<tr class="d{r.depth}" style="--d:{r.depth}">'
            f'<td class="l t"><i class="sw" style="background:{PART_CSS[r.part]}"></i>'
            f"{esc(r.label)}</td>"
            f'<td class="l"><code>{esc(r.key)}</code></td>'
            f"<td>{r.bytes:,}</td><td>{esc(human_bytes(r.bytes))}</td>"
            f"<td>{'' if r.objects is None else f'{r.objects:,}'}</td>"
            f"<td>{esc(r.pct_parent if r.depth else '')}</td><td>{esc(r.pct_heap)}</td>"
            f'<td class="l"><span class="minibar" style="width:{1.2 * width:.1f}px;'
            f'background:{PART_CSS[r.part]}"></span></td></tr>'
        )
    problems = "".join(
        f'<p class="warn">Does not add up: {esc(p)}</p>' for p in breakdown_problems(bd)
    )
    return (
        f'<div class="bar" title="HeapSys">{segs}</div>'
        f'<div class="legend">{legend}</div>'
        '<table class="tree"><thead><tr><th class="l">part of the heap</th>'
        '<th class="l">field</th><th>bytes</th><th></th><th>objects</th>'
        '<th>% of parent</th><th>% of HeapSys</th><th class="l">share</th></tr></thead>'
        f"<tbody>{''.join(trs)}</tbody></table>{problems}"
        '<p class="note">As viewcore splits a heap: in-use spans hold live objects (reachable '
        "now), garbage (allocated, unreachable, not yet swept), free slots and the tail each "
        "span cannot use; free spans are retained or released to the OS. The rounding figure "
        "is an estimate of the live bytes lost to size-class rounding (Go keeps no requested "
        "size per object).</p>"
    )


def _classes_section(result: dict[str, Any]) -> str:
    rows = result.get("classes")
    if not rows:
        return missing_note("size-class table")
    svg = plots.classes_svg(result) or ""
    rows = sorted(rows, key=lambda r: (r.get("class", 0) == 0, r.get("class", 0)))
    has_live = all("live_bytes" in r for r in rows)
    trs = []
    tot: dict[str, int] = {}
    for r in rows:
        for k in (
            "objects",
            "spans",
            "inuse_bytes",
            "span_bytes",
            "free_slot_bytes",
            "tail_waste_bytes",
            "live_bytes",
        ):
            tot[k] = tot.get(k, 0) + int(r.get(k, 0) or 0)
        u = utilisation(r)
        live = f"<td>{int(r.get('live_bytes', 0)):,}</td>" if has_live else ""
        trs.append(
            f"<tr><td>{num_cell(r.get('class', ''))}</td><td>{esc(class_name(r))}</td>"
            f"<td>{num_cell(r.get('npages') or '–')}</td><td>{num_cell(r.get('spans', 0))}</td>"
            f"<td>{num_cell(r.get('objects', 0))}</td><td>{num_cell(r.get('inuse_bytes', 0))}</td>"
            f"{live}<td>{num_cell(r.get('span_bytes', 0))}</td>"
            f"<td>{num_cell(r.get('free_slot_bytes', 0))}</td>"
            f"<td>{num_cell(r.get('tail_waste_bytes', 0))}</td>"
            f"<td>{'–' if u is None else f'{100 * u:.1f}%'}</td></tr>"
        )
    live_th = "<th>live_bytes</th>" if has_live else ""
    live_tot = f"<td>{tot['live_bytes']:,}</td>" if has_live else ""
    trs.append(
        f'<tr class="tot"><td class="l" colspan="3"><b>all classes</b></td>'
        f"<td>{tot['spans']:,}</td><td>{tot['objects']:,}</td><td>{tot['inuse_bytes']:,}</td>"
        f"{live_tot}<td>{tot['span_bytes']:,}</td><td>{tot['free_slot_bytes']:,}</td>"
        f"<td>{tot['tail_waste_bytes']:,}</td>"
        f"<td>{esc(pct(tot['inuse_bytes'], tot['span_bytes']))}</td></tr>"
    )
    table = (
        '<div class="scroll"><table><thead><tr><th>class</th><th>size</th><th>npages</th>'
        f"<th>spans</th><th>objects</th><th>inuse_bytes</th>{live_th}<th>span_bytes</th>"
        "<th>free_slot_bytes</th><th>tail_waste_bytes</th><th>utilisation</th></tr></thead>"
        f"<tbody>{''.join(trs)}</tbody></table></div>"
    )
    return (
        f'<div class="figure">{svg}</div>'
        '<p class="note">In-use spans by size class at the end of the run. Each bar is the '
        "bytes of the class's spans: objects allocated in them, free slots, and the tail a "
        "span of that class cannot use; the percentage above it is its utilisation, in-use "
        "bytes over span bytes. Class 0 (large) holds one object per span.</p>"
        f"{table}"
    )


def _class_sizes(result: dict[str, Any]) -> dict[int, int]:
    sizes = {int(r["class"]): int(r.get("size", 0)) for r in result.get("classes") or []}
    try:
        from goheap.sizeclasses import for_profile

        table = for_profile(str(result.get("profile")))
        sizes |= {c: int(s) for c, s in enumerate(table.class_to_size)}
    except Exception:  # an unknown profile: the classes table's sizes will do
        pass
    return sizes


def _heapmap_section(result: dict[str, Any]) -> str:
    spans = result.get("spans")
    if not spans:
        return missing_note("span map")
    hm = hmap.build_heapmap(spans)
    if hm is None:
        return '<p class="note">The arena is empty: no pages to draw.</p>'
    sizes = _class_sizes(result)
    png = base64.b64encode(hm.png).decode("ascii")
    nticks = max(1, min(6, hm.height // 60, hm.rows))
    step = 1 << max(0, math.ceil(math.log2(hm.rows / nticks)))  # round offsets
    labels = "".join(
        f'<span class="yl" style="top:{100 * (r + 0.5) / hm.rows:.3f}%">'
        f"+{esc(human_bytes(r * hm.row_bytes))}</span>"
        for r in range(0, hm.rows, step)
    )
    img = (
        f'<div class="hm"><span class="yt">offset</span>{labels}'
        f'<img id="heapmap-img" src="data:image/png;base64,{png}" width="{hm.width}" '
        f'height="{hm.height}" alt="heap map: the arena\'s pages coloured by span"></div>'
    )

    def swatch(rgb: Any, label: str, pages: int | None = None) -> str:
        count = "" if pages is None else f' <span class="rel">({pages:,} p)</span>'
        return (
            f'<span><i class="sw" style="background:{hmap.css(rgb)}"></i>{esc(label)}{count}</span>'
        )

    classes = "".join(
        swatch(rgb, "large objects" if c == 0 else f"{sizes.get(c, '?')} B", hm.class_pages[c])
        for c, rgb in hm.colours.items()
    )
    other = hm.other_classes
    if other:
        classes += swatch(hmap.OTHER_RGB, f"{len(other)} other classes", sum(other.values()))
    ref = hmap.CLASS_PALETTE[0]
    ramp = "".join(
        swatch(hmap.tint(np.asarray(ref) / 255, o), f"{int(100 * o)}%")
        for o in (0.0, 0.25, 0.5, 0.75, 1.0)
    )
    states = "".join(
        swatch(rgb, name, pages)
        for name, rgb, pages in (
            ("free span", hmap.FREE_RGB, hm.state_pages.get("free", 0)),
            ("released span", hmap.RELEASED_RGB, hm.state_pages.get("released", 0)),
            ("no span", hmap.NOSPAN_RGB, None),
        )
    )
    cell = f"{hm.pages_per_cell} pages (averaged)" if hm.pages_per_cell > 1 else "one page"
    return (
        f"{img}"
        f'<div class="legend"><b>in-use spans by size class:</b> {classes}</div>'
        f'<div class="legend"><b>occupancy</b> (allocCount / nelems): {ramp}</div>'
        f'<div class="legend"><b>not in use:</b> {states}</div>'
        f'<p class="note">{hm.pages:,} pages of {hm.page_size:,} B from arena_start '
        f"{hm.arena_start:#x}, in address order, left to right; a cell is {esc(cell)}, a row "
        f"{esc(human_bytes(hm.row_bytes))} ({hm.cols} cells). In-use pages: "
        f"{hm.state_pages.get('inuse', 0):,} (p = pages). A darker left edge marks where a "
        "span starts.</p>"
    )


def _gctrace_section(result: dict[str, Any]) -> str:
    cycles = result.get("gc")
    if cycles is None:
        return missing_note("GC cycles")
    if not cycles:
        return '<p class="note">No collection ran.</p>'
    trs = []
    for c in cycles:
        start = c.get("start_ns")
        end = c.get("end_ns")
        dur = "" if start is None or end is None else human_ns(end - start)
        heaps = "→".join(
            human_bytes(int(c.get(k, 0) or 0)) for k in ("heap_start", "heap_mark_end", "marked")
        )
        trs.append(
            f"<tr><td>{num_cell(c.get('number', ''))}</td>"
            f"<td>{esc('' if start is None else f'{start / 1e6:,.3f}')}</td>"
            f"<td>{esc(dur)}</td><td>{esc(human_ns(c.get('pause_ns', 0) or 0))}</td>"
            f"<td>{esc(heaps)}</td><td>{esc(human_bytes(int(c.get('heap_goal', 0) or 0)))}</td>"
            f"<td>{esc(human_bytes(int(c.get('trigger', 0) or 0)))}</td>"
            f"<td>{'yes' if c.get('forced') else ''}</td>"
            f'<td class="gct"><code>{esc(c.get("gctrace", ""))}</code></td></tr>'
        )
    return (
        '<div class="scroll"><table><thead><tr><th>gc</th><th>start (ms)</th><th>duration</th>'
        "<th>pause</th><th>heap start→mark end→marked</th><th>goal</th><th>trigger</th>"
        f'<th>forced</th><th class="l">gctrace line (GODEBUG=gctrace=1)</th></tr></thead>'
        f"<tbody>{''.join(trs)}</tbody></table></div>"
        f'<p class="note">{len(cycles):,} cycles. Times are virtual, since program start.</p>'
    )


def _memstats_value(name: str, v: Any, ms: dict[str, Any]) -> tuple[str, str]:
    if name in ("PauseNs", "PauseEnd") and isinstance(v, list):
        n = int(ms.get("NumGC", 0) or 0)
        recent = [v[(n - 1 - i) % len(v)] for i in range(min(n, 6, len(v)))] if v else []
        if name == "PauseNs":
            shown = ", ".join(human_ns(x) for x in recent) or "–"
            return f"[{len(v)}]", "latest first: " + shown
        return f"[{len(v)}]", "latest: " + (f"{recent[0]:,}" if recent else "–")
    if isinstance(v, bool):
        return ("true" if v else "false"), ""
    if not isinstance(v, int | float):
        return str(v), ""
    if name == "GCCPUFraction":
        return f"{v:.6f}", f"{100 * v:.2f}%"
    if name in BYTE_FIELDS:
        return f"{v:,}", human_bytes(v)
    if name == "PauseTotalNs":
        return f"{v:,}", human_ns(v)
    return f"{v:,}", ""


def _memstats_section(result: dict[str, Any]) -> str:
    ms = result.get("memstats")
    if not ms:
        return missing_note("MemStats")
    trs = []
    for name, v in ms.items():
        if name == "BySize":
            continue
        exact, human = _memstats_value(name, v, ms)
        trs.append(
            f'<tr><td class="l"><code>{esc(name)}</code></td><td>{esc(exact)}</td>'
            f'<td class="hum">{esc(human)}</td>'
            f'<td class="l wrap note">{esc(MEMSTATS_DOC.get(name, ""))}</td></tr>'
        )
    main = (
        '<table><thead><tr><th class="l">field</th><th>value</th><th class="l"></th>'
        f'<th class="l">meaning</th></tr></thead><tbody>{"".join(trs)}</tbody></table>'
    )
    by = [e for e in ms.get("BySize") or [] if e.get("Mallocs")]
    if by:
        brs = "".join(
            f"<tr><td>{num_cell(e.get('Size'))}</td><td>{num_cell(e.get('Mallocs'))}</td>"
            f"<td>{num_cell(e.get('Frees'))}</td>"
            f"<td>{num_cell(int(e.get('Mallocs', 0)) - int(e.get('Frees', 0)))}</td></tr>"
            for e in by
        )
        side = (
            "<h3>BySize (classes with allocations)</h3>"
            '<div class="scroll"><table><thead><tr><th>Size</th><th>Mallocs</th><th>Frees</th>'
            f"<th>Mallocs − Frees</th></tr></thead><tbody>{brs}</tbody></table></div>"
        )
    else:
        side = '<h3>BySize</h3><p class="note">No small-object allocations.</p>'
    return (
        f'<div class="two"><div>{main}</div><div>{side}</div></div>'
        '<p class="note">runtime.ReadMemStats at the end of the run, with Go 1.8\'s field '
        "names.</p>"
    )


_SECTIONS = (
    ("timeline", "Heap over virtual time", _timeline_section),
    ("breakdown", "Where the heap's bytes are (viewcore breakdown)", _breakdown_section),
    ("classes", "Size-class utilisation", _classes_section),
    ("heapmap", "Heap map", _heapmap_section),
    ("gctrace", "GC cycles (gctrace)", _gctrace_section),
    ("memstats", "MemStats", _memstats_section),
)


def render_report(result: dict[str, Any]) -> str:
    """The HTML report of one run, as text."""
    nav = [(sid, title.split(" (")[0]) for sid, title, _ in _SECTIONS]
    body = [_header(result, nav)]
    for sid, title, build in _SECTIONS:
        body.append(html_section(sid, title, build(result)))
    title = f"goheap: {result.get('workload', '?')} {params_text(result.get('params'))}"
    return html_page(title.strip(), "".join(body))


def write_report(result: dict[str, Any], path: str | Path) -> None:
    """Write the self-contained HTML report of one run to path."""
    write_file(path, render_report(result))


# --- comparison ----------------------------------------------------------------------------


def _ratio(v: Any, base: Any) -> str:
    if not isinstance(v, int | float) or not isinstance(base, int | float) or not base:
        return ""
    return f"×{v / base:.2f}"


def render_compare_report(results: list[dict[str, Any]]) -> str:
    """The HTML comparison of several runs, as text."""
    labels = run_labels(results) if results else []
    head = "".join(f"<th>{esc(lab)}</th>" for lab in labels)
    trs = []
    if results:
        names = [name for name, _ in settings(results[0])]
        for name in names:
            cells = "".join(f"<td>{esc(dict(settings(r)).get(name, '–'))}</td>" for r in results)
            trs.append(f'<tr class="set"><td class="l">{esc(name)}</td>{cells}</tr>')
    for fig in KEY_FIGURES:
        values = [figure_value(r, fig) for r in results]
        cells = []
        for i, v in enumerate(values):
            exact, human = format_figure(v, fig.unit)
            rel = _ratio(v, values[0]) if i else ""
            shown = esc(human or exact)
            if rel:
                shown += f' <span class="rel">{esc(rel)}</span>'
            cells.append(f'<td title="{esc(exact)}">{shown}</td>')
        trs.append(f'<tr><td class="l"><b>{esc(fig.name)}</b></td>{"".join(cells)}</tr>')
    table = (
        f'<table><thead><tr><th class="l"></th>{head}</tr></thead>'
        f"<tbody>{''.join(trs)}</tbody></table>"
        '<p class="note">×: relative to the first run. Peaks are the true maxima over the run; '
        "the other figures are MemStats at its end.</p>"
    )
    shared = shared_text(results)
    svg = plots.compare_svg(results, labels, shared) if results else None
    plot = (
        f'<div class="figure">{svg}</div><p class="note">Solid: HeapInuse; dashed: NextGC, '
        "the heap goal. One colour per run.</p>"
        if svg
        else missing_note("timeline")
    )
    workloads = sorted({str(r.get("workload", "?")) for r in results})
    runs = "; ".join(labels)
    body = (
        '<header id="header">'
        f"<h1>goheap comparison: {esc(', '.join(workloads))} ({len(results)} runs)</h1>"
        f"{chips(shared_settings(results))}"
        f'<p class="note">runs: {esc(runs)}</p>'
        '<nav><a href="#figures">key figures</a><a href="#overlay">heap over time</a></nav>'
        "</header>"
        + html_section("figures", "Key figures", table)
        + html_section("overlay", "HeapInuse and NextGC over virtual time", plot)
    )
    return html_page(f"goheap comparison: {', '.join(workloads)}", body)


def write_compare_report(results: list[dict[str, Any]], path: str | Path) -> None:
    """Write a self-contained HTML comparison of several runs to path."""
    write_file(path, render_compare_report(results))
