"""A flame graph (icicle: the root on top) of in-use bytes, as one inline SVG.

It draws the tree of :func:`goheap.pprof.flame.flame_tree`: each function
is a box as wide as the bytes in use below it (pprof's *cum*), its callees
underneath, the largest first. A box's label is its function, cut to fit;
hovering shows its ``<title>``: the function and file, the bytes (and
their share of all in use) and the objects. Colours are warm and stable
per package, as in Brendan Gregg's flame graphs; nothing is fetched and
no script runs.
"""

from __future__ import annotations

import zlib
from typing import Any

from goheap.report.common import human_bytes
from goheap.report.html import esc

WIDTH = 1120
ROW = 18
#: Pixels per character of the 11 px monospace label font (DejaVu Sans Mono: 0.6 em).
CHAR = 6.7
#: Boxes narrower than this many pixels are not drawn (their parent still covers them).
MIN_WIDTH = 0.5
MAX_DEPTH = 64


def package(function: str) -> str:
    """The Go package of a function name: 'net/http.(*conn).serve' -> 'net/http'."""
    slash = function.rfind("/")
    dot = function.find(".", slash + 1)
    return function[:dot] if dot > 0 else function


def colour(function: str) -> str:
    """A warm colour, the same for every function of one package."""
    h = zlib.crc32(package(function).encode())
    r = 205 + (h & 0x3F) % 51
    g = 70 + ((h >> 8) & 0xFF) % 150
    b = 30 + ((h >> 16) & 0xFF) % 50
    return f"#{r:02x}{g:02x}{b:02x}"


def label(name: str, width: float) -> str:
    """name cut to fit width pixels ('' when not even three characters fit)."""
    fit = int((width - 6) / CHAR)
    if fit < 3:
        return ""
    return name if len(name) <= fit else name[: fit - 1] + "…"


def _box(node: dict[str, Any], x: float, y: int, w: float, total: int, name: str) -> str:
    share = 100 * node["bytes"] / total if total else 0.0
    where = f"\n{node['file']}" if node.get("file") else ""
    title = (
        f"{node['name']}{where}\n{human_bytes(node['bytes'])} in use "
        f"({node['bytes']:,} B, {share:.1f}%)\n{node['objects']:,} objects"
    )
    text = label(name, w)
    txt = f'<text x="{x + 3:.1f}" y="{y + 12.5}">{esc(text)}</text>' if text else ""
    return (
        f'<g><title>{esc(title)}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" '
        f'height="{ROW - 1}" fill="{colour(node["name"])}"/>{txt}</g>'
    )


def flame_svg(tree: dict[str, Any] | None) -> str | None:
    """The flame graph's SVG, or None if nothing is in use."""
    total = int((tree or {}).get("bytes", 0))
    if tree is None or total <= 0:
        return None
    scale = WIDTH / total
    boxes: list[str] = []
    depth = 0
    todo: list[tuple[dict[str, Any], float, int]] = [(tree, 0.0, 0)]
    while todo:
        node, x, d = todo.pop()
        w = node["bytes"] * scale
        if w < MIN_WIDTH or d >= MAX_DEPTH:
            continue
        depth = max(depth, d)
        name = f"all in use: {human_bytes(total)}" if d == 0 else node["name"]
        boxes.append(_box(node, x, d * ROW, w, total, name))
        cx = x
        for child in node["children"]:
            todo.append((child, cx, d + 1))
            cx += child["bytes"] * scale
    height = (depth + 1) * ROW
    return (
        f'<svg class="plot flame" data-plot="flame" xmlns="http://www.w3.org/2000/svg" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11" '
        'role="img" aria-label="flame graph of in-use bytes">'
        "<style>.flame rect{stroke:#fff;stroke-width:0.5}"
        ".flame g:hover rect{stroke:#000;stroke-width:1}"
        ".flame text{fill:#1d1d1f;pointer-events:none}</style>"
        f"{''.join(boxes)}</svg>"
    )
