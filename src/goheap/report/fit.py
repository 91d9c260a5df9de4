"""Tables that fit the console's width without eliding a number.

Rich cuts a cell that does not fit with "…"; a figure cut that way is
lost. Here a table is described as columns (``Col``) and rows of plain
text, and printed in the first layout that fits ``console.width``:

1. the whole table, numbers never wrapped, text wrapped only at spaces;
2. without its *spare* columns (another rendering of a figure already in
   the row, such as "5.0 MiB" beside "5,242,880");
3. stacked: each row a heading line, then its cells as ``name value``
   pairs, as many to a line as fit.

A table whose columns are records (``goheap compare``: one column per run)
is split instead, into tables of as many record columns as fit, each
repeating the row names (``print_split``). Titles are printed as their own
lines, wrapped at the console's width, never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

Justify = Literal["left", "right", "center"]
Row = Sequence[str]
SEPARATOR = 1  # the space between two columns of a compact table
INDENT = "  "  # a stacked row's cells, under its heading


@dataclass(frozen=True)
class Col:
    """One column: its header, and how its cells may be laid out."""

    header: str
    justify: Justify = "right"
    wrap: bool = False  # text that may wrap at spaces (a site's name); figures never wrap
    spare: bool = False  # repeats a figure of another column: dropped first when narrow
    style: str | None = None


def _width(col: Col, cells: list[str]) -> int:
    """The narrowest a column can be without cutting a cell: a whole figure, or a whole word."""
    if col.wrap:
        words = [w for c in cells for w in c.split()] + col.header.split()
        return max((cell_len(w) for w in words), default=1)
    lines = [*cells, *col.header.splitlines()]  # a header may be set on several lines
    return max((cell_len(c) for c in lines), default=1)


def min_width(cols: Sequence[Col], rows: Sequence[Row]) -> int:
    """The columns the table needs at its narrowest, separators included."""
    if not cols:
        return 0
    widths = [_width(c, [r[i] for r in rows]) for i, c in enumerate(cols)]
    return sum(widths) + SEPARATOR * (len(cols) - 1)


def print_title(console: Console, title: str, style: str = "bold") -> None:
    """A table's title on lines of its own, wrapped at spaces (never cut)."""
    if title:
        console.print(Text(title, style=style), overflow="fold")


def _table(cols: Sequence[Col], rows: Sequence[Row], styles: Sequence[str | None]) -> Table:
    t = Table(box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False, show_edge=False)
    for c in cols:
        t.add_column(
            c.header,
            justify=c.justify,
            style=c.style,
            no_wrap=not c.wrap,
            overflow="fold",  # the last resort: a cell too wide is broken, never cut
        )
    for row, style in zip(rows, styles, strict=True):
        t.add_row(*(Text(cell) for cell in row), style=style)
    return t


def _pairs(cols: Sequence[Col], row: Row) -> list[str]:
    """A stacked row's cells: 'header value'; a header-less column's as '(value)'."""
    out: list[str] = []
    for c, cell in zip(cols, row, strict=True):
        if not cell.strip():
            continue
        name = " ".join(c.header.split())
        out.append(f"{name} {cell.strip()}" if name else f"({cell.strip()})")
    return out


def wrap_items(items: list[str], width: int, indent: str, sep: str = "  ") -> list[str]:
    """items joined by sep, broken between items to fit width (an item is never broken)."""
    lines: list[str] = []
    line = ""
    for item in items:
        candidate = f"{line}{sep}{item}" if line else item
        if line and cell_len(indent + candidate) > width:
            lines.append(indent + line)
            line = item
        else:
            line = candidate
    if line:
        lines.append(indent + line)
    return lines


def _print_stacked(
    console: Console, cols: Sequence[Col], rows: Sequence[Row], styles: Sequence[str | None]
) -> None:
    """Each row: its first cell as a heading, the others as 'name value' pairs below it."""
    console.print(Text("─" * min(console.width, 40), style="dim"))
    named = cols[0].justify == "right" and cols[0].header  # a number: say what it is
    for row, style in zip(rows, styles, strict=True):
        head = row[0].rstrip()
        depth = len(head) - len(head.lstrip())
        head = f"{cols[0].header} {head.strip()}" if named else head.strip()
        for line in wrap_items(head.split(), console.width, " " * depth, sep=" "):
            # a word wider than the console (a long function name) stays whole
            console.print(Text(line, style=style or "bold"), overflow="ignore", crop=False)
        indent = depth + len(INDENT)
        for line in wrap_items(_pairs(cols[1:], row[1:]), console.width - indent, ""):
            # an item wider than the line (a long text) wraps under its own indent
            console.print(Padding(Text(line), (0, 0, 0, indent), expand=False), overflow="fold")


def print_fitted(
    console: Console,
    title: str,
    cols: Sequence[Col],
    rows: Sequence[Row],
    styles: Sequence[str | None] | None = None,
) -> None:
    """Print the table in the first layout that fits the console (see the module doc)."""
    styles = list(styles) if styles is not None else [None] * len(rows)
    print_title(console, title)
    if min_width(cols, rows) <= console.width:
        console.print(_table(cols, rows, styles))
        return
    keep = [i for i, c in enumerate(cols) if not c.spare]
    narrow_cols = [cols[i] for i in keep]
    narrow_rows = [[r[i] for i in keep] for r in rows]
    if len(keep) < len(cols) and min_width(narrow_cols, narrow_rows) <= console.width:
        console.print(_table(narrow_cols, narrow_rows, styles))
        return
    _print_stacked(console, cols, rows, styles)


def split_columns(
    first: Col, cols: Sequence[Col], rows: Sequence[Row], width: int
) -> list[list[int]]:
    """Groups of column indexes (of ``cols``) that fit beside the ``first`` column in width."""
    groups: list[list[int]] = []
    group: list[int] = []
    names = [r[0] for r in rows]
    for i in range(len(cols)):
        trial = [*group, i]
        need = min_width([first, *(cols[j] for j in trial)], _sub(names, rows, trial))
        if group and need > width:
            groups.append(group)
            group = [i]
        else:
            group = trial
    if group:
        groups.append(group)
    return groups


def _sub(names: list[str], rows: Sequence[Row], idx: list[int]) -> list[list[str]]:
    return [[n, *(r[1 + j] for j in idx)] for n, r in zip(names, rows, strict=True)]


def print_split(
    console: Console,
    title: str,
    first: Col,
    cols: Sequence[Col],
    rows: Sequence[Row],
    styles: Sequence[str | None] | None = None,
) -> None:
    """A table whose columns are records, split into tables of as many columns as fit.

    ``rows[k][0]`` is the row's name (the ``first`` column); ``rows[k][1 + i]``
    is column ``cols[i]``'s cell. Each part repeats the names; a part too
    wide even with one record column is printed stacked.
    """
    styles = list(styles) if styles is not None else [None] * len(rows)
    print_title(console, title)
    names = [r[0] for r in rows]
    groups = split_columns(first, cols, rows, console.width)
    for n, idx in enumerate(groups):
        part_cols = [first, *(cols[j] for j in idx)]
        part_rows = _sub(names, rows, idx)
        if len(groups) > 1:
            print_title(console, f"({n + 1} of {len(groups)})", style="dim")
        if min_width(part_cols, part_rows) <= console.width:
            console.print(_table(part_cols, part_rows, styles))
        else:
            _print_stacked(console, part_cols, part_rows, styles)
