"""The report's charts, drawn with matplotlib and returned as inline SVG text.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, no
global backend state) and written by matplotlib's SVG backend with text
kept as text, so they stay sharp and small. Each figure gets its own
``svg.hashsalt`` so the ids of several SVGs in one page do not collide.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from goheap.report.common import NO_GOAL, class_name, memlimit_setting, settings_text

# Series colours (colour-blind-friendly, distinct from the GC shading).
SERIES: dict[str, str] = {
    "HeapSys": "#6a3d9a",
    "HeapInuse": "#8ec1e6",
    "HeapAlloc": "#1f6fb4",
    "HeapReleased": "#b15928",
    "NextGC": "#e31a1c",
}
GC_SHADE = "#ff7f00"
MEMLIMIT = "#1b9e77"  # the GOMEMLIMIT line
MEMLIMIT_STYLE = (0, (8, 2, 1, 2))  # dash-dot: a setting, not a measured series
#: A limit above this many times the chart's highest figure is named, not drawn to scale.
MEMLIMIT_SCALE_MAX = 1.6
PART_COLOURS: dict[str, str] = {
    "live": "#1f78b4",
    "garbage": "#a6cee3",
    "inuse": "#1f78b4",
    "free_slot": "#fdbf6f",
    "tail_waste": "#e31a1c",
}
RUN_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)

_RC = {
    "svg.fonttype": "none",
    "font.size": 10,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}


def byte_scale(max_bytes: float) -> tuple[float, str]:
    """(divisor, unit) that keeps a byte axis readable."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if max_bytes >= 2 << shift:
            return float(1 << shift), unit
    return 1.0, "B"


def time_scale(max_ns: float) -> tuple[float, str]:
    """(divisor, unit) for a virtual-time axis."""
    if max_ns >= 2e9:
        return 1e9, "s"
    if max_ns >= 2e6:
        return 1e6, "ms"
    return 1e3, "µs"


def _svg(fig: Any, salt: str) -> str:
    """The figure as an <svg> element (no XML prolog, DOCTYPE or metadata)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"goheap-{salt}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    return re.sub(r"\A<svg\b", f'<svg class="plot" data-plot="{salt}"', text, count=1)


def _plain(label: str) -> str:
    """Text matplotlib shows as written: no mathtext, not hidden by a leading underscore."""
    label = label.replace("$", r"\$")
    return " " + label if label.startswith("_") else label


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _columns(timeline: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The timeline's columns as arrays; a NextGC that is no goal (GOGC=off) is NaN, undrawn."""
    n = len(timeline)
    cols = {k: np.fromiter((float(p.get(k) or 0) for p in timeline), np.float64, n) for k in keys}
    if "NextGC" in cols:
        ngc = cols["NextGC"]
        ngc[ngc >= NO_GOAL] = np.nan
    return cols


def _top(a: np.ndarray) -> float:
    """The largest value drawn (NaN, an undrawn point, aside); 0 for none."""
    return float(np.nanmax(a, initial=0))


def gc_intervals(result: dict[str, Any]) -> list[tuple[float, float]]:
    """(start_ns, end_ns) of every GC cycle, from ``gc`` or else the timeline's events."""
    out = []
    for c in result.get("gc") or []:
        if "start_ns" in c:
            s = float(c["start_ns"])
            out.append((s, float(c.get("end_ns", s) or s)))
    if out:
        return out
    start = None
    for p in result.get("timeline") or []:
        if p.get("event") == "gc_start":
            start = float(p["t_ns"])
        elif p.get("event") == "gc_end" and start is not None:
            out.append((start, float(p["t_ns"])))
            start = None
    return out


def _merge(spans: list[tuple[float, float]], min_width: float) -> list[tuple[float, float]]:
    """Intervals widened to min_width and merged where they overlap (no double shading)."""
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        e = max(e, s + min_width)
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def timeline_svg(result: dict[str, Any]) -> str | None:
    """HeapAlloc, HeapInuse, HeapSys, HeapReleased and NextGC over virtual time, GCs shaded."""
    tl = result.get("timeline") or []
    if not tl:
        return None
    keys = ("t_ns", "HeapAlloc", "HeapInuse", "HeapSys", "HeapReleased", "NextGC")
    with _rc():
        col = _columns(tl, keys)
        order = np.argsort(col["t_ns"], kind="stable")
        col = {k: v[order] for k, v in col.items()}
        t = col["t_ns"]
        gcs = gc_intervals(result)
        tmax = max(float(t.max(initial=0)), max((e for _, e in gcs), default=0.0), 1.0)
        tdiv, tunit = time_scale(tmax)
        ymax = max(_top(col[k]) for k in keys[1:])
        bdiv, bunit = byte_scale(ymax)
        fig = _figure(11, 4.6)
        ax = fig.add_subplot()
        x = t / tdiv
        if gcs:
            minw = tmax / 600  # keep very short cycles visible
            bars = [(s / tdiv, (e - s) / tdiv) for s, e in _merge(gcs, minw)]
            ax.broken_barh(
                bars,
                (0, 1),
                transform=ax.get_xaxis_transform(),
                facecolor=GC_SHADE,
                alpha=0.22,
                linewidth=0,
                label=f"GC cycle ({len(gcs)})",
            )
        # HeapInuse is wide and drawn first, so HeapAlloc (always below it, often
        # within a page of it) stays visible on top.
        for k, width in (("HeapSys", 1.4), ("HeapInuse", 2.6), ("HeapAlloc", 1.2)):
            ax.plot(x, col[k] / bdiv, color=SERIES[k], linewidth=width, label=k)
        ax.plot(
            x,
            col["HeapReleased"] / bdiv,
            color=SERIES["HeapReleased"],
            linewidth=1.4,
            label="HeapReleased",
        )
        ax.plot(
            x,
            col["NextGC"] / bdiv,
            color=SERIES["NextGC"],
            linewidth=1.2,
            linestyle=(0, (4, 2)),
            drawstyle="steps-post",
            label="NextGC (goal)",
        )
        top = _memlimit_line(ax, memory_limit(result), ymax, bdiv, MEMLIMIT, "GOMEMLIMIT")
        ax.set_xlim(0, tmax / tdiv)
        ax.set_ylim(0, top / bdiv * 1.08 if top else 1)
        ax.set_xlabel(f"virtual time since program start ({tunit})")
        ax.set_ylabel(f"bytes ({bunit})")
        if "profile" in result:
            ax.set_title(_plain(settings_text(result)), loc="left", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
        return _svg(fig, "timeline")


def memory_limit(result: dict[str, Any]) -> int | None:
    """The GOMEMLIMIT a run's timeline ran under, in its own bytes (None: no limit).

    A what-if run simulated a scaled live set under a scaled limit
    (``memlimit_simulated``); its timeline is drawn against that one.
    """
    limit = result.get("memlimit_simulated", result.get("memlimit"))
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def _name_above(ax: Any, setting: str, colour: str) -> None:
    """Name a limit too far above the heap to draw, at the chart's top right."""
    ax.annotate(
        _plain(f"{setting} ↑ (above the chart)"),
        (1.0, 1.0),
        xycoords="axes fraction",
        ha="right",
        va="bottom",
        fontsize=8,
        color=colour,
    )


def _memlimit_line(
    ax: Any, limit: int | None, ymax: float, bdiv: float, colour: str, label: str
) -> float:
    """Draw GOMEMLIMIT as a horizontal line; the chart's new top (a far limit is only named)."""
    if limit is None:
        return ymax
    if ymax and limit > MEMLIMIT_SCALE_MAX * ymax:  # drawn to scale, it would flatten the heap
        _name_above(ax, f"{label}={memlimit_setting(limit)}", colour)
        return ymax
    ax.axhline(
        limit / bdiv,
        color=colour,
        linewidth=1.6,
        linestyle=MEMLIMIT_STYLE,
        label=_plain(f"{label}={memlimit_setting(limit)}"),
    )
    return max(ymax, float(limit))


def classes_svg(result: dict[str, Any]) -> str | None:
    """Per size class: span bytes split into in-use (live, garbage), free slots, tail waste."""
    rows = [r for r in result.get("classes") or [] if r.get("span_bytes")]
    if not rows:
        return None
    rows.sort(key=lambda r: (r.get("class", 0) == 0, r.get("class", 0)))
    with _rc():
        n = len(rows)
        x = np.arange(n)
        get = lambda k: np.array([float(r.get(k, 0) or 0) for r in rows])  # noqa: E731
        span = get("span_bytes")
        inuse = get("inuse_bytes")
        free = get("free_slot_bytes")
        tail = get("tail_waste_bytes")
        div, unit = byte_scale(float(span.max()))
        fig = _figure(11, 4.2)
        ax = fig.add_subplot()
        bottom = np.zeros(n)
        if all("live_bytes" in r for r in rows):
            live = np.minimum(get("live_bytes"), inuse)
            parts = [("live objects", live, "live"), ("garbage", inuse - live, "garbage")]
        else:
            parts = [("in-use objects", inuse, "inuse")]
        parts += [("free slots", free, "free_slot"), ("tail waste", tail, "tail_waste")]
        for label, values, part in parts:
            ax.bar(
                x, values / div, 0.78, bottom=bottom / div, color=PART_COLOURS[part], label=label
            )
            bottom += values
        ax.bar(
            x, span / div, 0.78, fill=False, edgecolor="#333333", linewidth=0.6, label="span bytes"
        )
        if n <= 40:
            for i in range(n):
                if span[i]:
                    ax.annotate(
                        f"{100 * inuse[i] / span[i]:.0f}%",
                        (x[i], max(span[i], bottom[i]) / div),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=7 if n > 20 else 8,
                        color="#333333",
                    )
        ax.set_xticks(x, [class_name(r).removesuffix(" B") for r in rows])
        ax.tick_params(axis="x", labelrotation=90 if n > 12 else 0, labelsize=8)
        pad = max(0.6, (8 - n) / 2)  # a few classes: keep the bars narrow
        ax.set_xlim(-pad, n - 1 + pad)
        ax.set_ylim(0, float(span.max()) / div * 1.12)
        ax.set_xlabel("size class (object size in bytes; large = objects > 32 KiB)")
        ax.set_ylabel(f"bytes ({unit})")
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
        return _svg(fig, "classes")


def compare_svg(results: list[dict[str, Any]], labels: list[str], title: str = "") -> str | None:
    """HeapInuse (solid) and NextGC (dashed) over virtual time, one colour per run.

    A run with a GOMEMLIMIT has it as a dash-dot line in its colour.
    """
    series = [(r.get("timeline") or [], lab) for r, lab in zip(results, labels, strict=True)]
    if not any(tl for tl, _ in series):
        return None
    from matplotlib.lines import Line2D

    with _rc():
        cols = [_columns(tl, ("t_ns", "HeapInuse", "NextGC")) for tl, _ in series]
        tmax = max([float(c["t_ns"].max(initial=0)) for c in cols] + [1.0])
        ymax = max([max(_top(c["HeapInuse"]), _top(c["NextGC"])) for c in cols])
        limits = [memory_limit(r) for r in results]
        shown = [x for x in limits if x is not None and x <= MEMLIMIT_SCALE_MAX * (ymax or x)]
        ymax = max([ymax, *shown])
        tdiv, tunit = time_scale(tmax)
        bdiv, bunit = byte_scale(ymax)
        fig = _figure(11, 4.8)
        ax = fig.add_subplot()
        handles = []
        for i, (c, (_, lab)) in enumerate(zip(cols, series, strict=True)):
            colour = RUN_COLOURS[i % len(RUN_COLOURS)]
            order = np.argsort(c["t_ns"], kind="stable")
            x = c["t_ns"][order] / tdiv
            ax.plot(x, c["HeapInuse"][order] / bdiv, color=colour, linewidth=1.4)
            ax.plot(
                x,
                c["NextGC"][order] / bdiv,
                color=colour,
                linewidth=1.0,
                linestyle=(0, (4, 2)),
                drawstyle="steps-post",
                alpha=0.8,
            )
            if limits[i] is not None and limits[i] in shown:
                ax.axhline(limits[i] / bdiv, color=colour, linewidth=1.2, linestyle=MEMLIMIT_STYLE)
            handles.append(Line2D([], [], color=colour, linewidth=2, label=_plain(lab)))
        handles.append(Line2D([], [], color="#444444", linewidth=1.4, label="HeapInuse"))
        handles.append(
            Line2D([], [], color="#444444", linewidth=1.0, linestyle=(0, (4, 2)), label="NextGC")
        )
        if shown:
            handles.append(
                Line2D(
                    [],
                    [],
                    color="#444444",
                    linewidth=1.2,
                    linestyle=MEMLIMIT_STYLE,
                    label="GOMEMLIMIT",
                )
            )
        far = sorted({x for x in limits if x is not None and x not in shown})
        if far:
            names = ", ".join(memlimit_setting(x) for x in far)
            _name_above(ax, f"GOMEMLIMIT={names}", "#444444")
        if title:
            ax.set_title(_plain(title), loc="left", fontsize=10)
        ax.set_xlim(0, tmax / tdiv)
        ax.set_ylim(0, ymax / bdiv * 1.08 if ymax else 1)
        ax.set_xlabel(f"virtual time since program start ({tunit})")
        ax.set_ylabel(f"bytes ({bunit})")
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
        return _svg(fig, "compare")


def _rc() -> Any:
    import matplotlib

    return matplotlib.rc_context(_RC)
