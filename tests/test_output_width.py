"""Every table reads at any width: no figure is cut ("…"), every figure is there whole.

The tables are rendered at 60 and 80 columns (a narrow terminal, and what
rich assumes through a pipe) and at 200, from hand-made results, and the
figures the results hold are looked for, whole, in the text.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.console import Console

from goheap.report import text
from goheap.report.analyze import print_analysis
from goheap.report.common import breakdown_rows, human_bytes
from goheap.report.fit import Col, min_width, print_fitted, print_split
from tests.test_report import make_result

WIDTHS = (60, 80, 200)


def render(width: int, draw: Any, *args: Any, **kw: Any) -> str:
    buf = io.StringIO()
    draw(*args, Console(file=buf, width=width, color_system=None), **kw)
    out = buf.getvalue()
    assert "…" not in out, out
    for line in out.splitlines():  # wider only to keep one word (a function's name) whole
        assert len(line.rstrip()) <= width or len(line.split()) == 1, line
    return out


def words(out: str) -> set[str]:
    """Every whitespace-separated piece of the text (a figure must be one of them whole)."""
    return set(out.split())


# --- the layout rules ---------------------------------------------------------------------


COLS = [Col("name", "left"), Col("bytes"), Col("", spare=True), Col("objects")]
ROWS = [["HeapInuse", "1,646,592", "1.6 MiB", "23,456"], ["HeapIdle", "139,264", "136 KiB", ""]]


def test_min_width_counts_whole_figures_and_separators() -> None:
    # name 9, bytes 9, spare 7, objects 7; three separators
    assert min_width(COLS, ROWS) == 9 + 9 + 7 + 7 + 3
    wrap = [Col("site", "left", wrap=True)]
    assert min_width(wrap, [["main.(*cache).serve cache.go:123"]]) == len("main.(*cache).serve")
    assert min_width([Col("a\nlonger")], [["1"]]) == len("longer")  # a header on two lines


def _fitted(width: int) -> str:
    buf = io.StringIO()
    print_fitted(Console(file=buf, width=width, color_system=None), "t", COLS, ROWS)
    return buf.getvalue()


def test_the_first_layout_that_fits() -> None:
    whole = _fitted(35)
    assert "1.6 MiB" in whole and "objects" in whole
    no_spare = _fitted(30)  # 35 columns do not fit: the spare column goes
    assert "1.6 MiB" not in no_spare and "1,646,592" in no_spare and "23,456" in no_spare
    stacked = _fitted(20)  # 27 without it: stacked
    assert "HeapInuse\n" in stacked
    assert "  bytes 1,646,592\n  (1.6 MiB)\n" in stacked  # the spare figure after its own
    assert "(136 KiB)" in stacked  # a figure is never broken across lines
    assert "objects 23,456" in stacked
    assert "objects \n" not in stacked  # an empty cell is left out
    assert max(len(line) for line in stacked.splitlines()) <= 20


def test_split_repeats_the_row_names() -> None:
    cols = [Col(f"GOGC={g}\nGOMEMLIMIT=80MiB") for g in (50, 100, 200)]
    rows = [["peak HeapInuse", "117.4 MiB", "118.0 MiB", "119.5 MiB"]]
    buf = io.StringIO()
    print_split(Console(file=buf, width=40, color_system=None), "cmp", Col("", "left"), cols, rows)
    out = buf.getvalue()
    assert "(1 of 3)" in out and "(3 of 3)" in out
    assert out.count("peak HeapInuse") == 3
    for v in ("117.4 MiB", "118.0 MiB", "119.5 MiB", "GOGC=50", "GOGC=200"):
        assert v in out


# --- the run's tables -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    r = make_result()
    r["memlimit"] = 80 << 20
    return r


@pytest.mark.parametrize("width", WIDTHS)
def test_memstats_and_breakdown(result: dict[str, Any], width: int) -> None:
    out = render(width, text.memstats_table, result)
    for name, v in result["memstats"].items():
        if isinstance(v, int) and name in out:
            assert f"{v:,}" in words(out), name
    assert "GOGC=100" in out and "GOMEMLIMIT=80MiB" in out and "go1.8" in out
    out = render(width, text.breakdown_table, result)
    for row in breakdown_rows(result["breakdown"]):
        assert row.key in words(out)
        assert f"{row.bytes:,}" in words(out), row.key
        assert row.pct_heap in words(out)


@pytest.mark.parametrize("width", WIDTHS)
def test_classes(result: dict[str, Any], width: int) -> None:
    out = render(width, text.classes_table, result)
    for r in result["classes"]:
        assert f"{r['objects']:,}" in words(out)
        assert human_bytes(r["span_bytes"]) in out


@pytest.mark.parametrize("width", WIDTHS)
def test_compare(width: int) -> None:
    runs = []
    for limit in (80 << 20, None):
        for g in (50, 100, 200):
            r = make_result(gogc=g, seed=g) | {"memlimit": limit}
            r["peak"]["HeapInuse"] = int(117.4 * (1 << 20)) + g
            runs.append(r)
    out = render(width, text.compare_table, runs)
    assert out.count("117.4 MiB") == 6
    assert out.count("GOMEMLIMIT=80MiB") == 3 and out.count("GOMEMLIMIT=off") == 3
    assert "binarytrees depth=14" in out and "profile=go1.8" in out  # shared, said once
    assert out.count("GOGC=50") == 2


# --- analyze ------------------------------------------------------------------------------------


def _analysis() -> dict[str, Any]:
    site = {
        "function": "github.com/example/service/internal/cache.(*Cache).fillFromUpstream",
        "file": "/src/internal/cache/cache.go",
        "line": 123,
        "objects": 293,
        "inuse_bytes": 525_107,
        "alloc_objects": 26_440,
        "alloc_bytes": 25_690_112,
        "sizes": [176, 320, 416, 448, 1152, 2048],
        "classes": [13, 20],
    }
    classes = [
        {"class": 34, "size": 1280, "objects": 410, "objects_per_span": 6, "inuse_bytes": 524_800,
         "spans": 69, "span_bytes": 565_248, "free_slot_bytes": 5120, "tail_waste_bytes": 35_328,
         "alloc_objects": 2460, "alloc_bytes": 3_148_800, "freed_objects": 2050},
    ]  # fmt: skip
    runs = [
        {
            "label": f"GOGC={g} GOMEMLIMIT=80MiB",
            "procs": 1,
            "predicted": {
                "peak_HeapInuse": 123_101_593 + g,
                "peak_HeapSys": 134_217_728,
                "NextGC": 120_000_000,
                "gcs_per_gib": 1084.6,
            },
            "memstats": {"NumGC": 61},
        }
        for g in (50, 100)
    ]
    return {
        "source": "/tmp/heap.pb.gz",
        "profile": "go1.27",
        "samples": 25,
        "period": 524_288,
        "totals": {"objects": 758, "inuse_bytes": 1_570_816, "inuse_bytes_se": 905_701},
        "min_heap_inuse": 1_679_360,
        "classes": classes,
        "sites": [site],
        "notes": ["a long note " * 20, "another"],
        "whatif": {"runs": runs, "notes": ["what-if note"], "workload": {}},
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_analyze(width: int) -> None:
    out = render(width, lambda r, c: print_analysis(r, c), _analysis())
    w = words(out)
    for v in ("1,570,816", "905,701", "1,679,360", "26,440", "410", "61", "1,084.6"):
        assert v in w, v
    assert out.count("117.4 MiB") == 2  # the what-if's peaks, whole
    assert "GOMEMLIMIT=80MiB" in out
    # a site's name is never broken inside a word
    assert "github.com/example/service/internal/cache.(*Cache).fillFromUpstream" in w
    assert "cache.go:123" in w
    # the notes are one line unless asked for
    assert "a long note" not in out and "3 notes" in out and "--verbose" in out
    verbose = render(width, lambda r, c: print_analysis(r, c, verbose=True), _analysis())
    assert "note: what-if note" in verbose and "note: another" in verbose


# --- validate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_validate(width: int) -> None:
    from goheap.validate.compare import compare_case
    from goheap.validate.render import print_table
    from tests.test_validate import _report, figs

    real = [figs(), figs(HeapSys=4_128_768, **{"peak.HeapInuse": 1_040_384})]
    rows = compare_case("retain", real, figs(NumGC=12, HeapSys=8_388_608))
    report = _report(rows)
    out = render(width, print_table, report)
    plain = re.sub(r"\s+", " ", out)
    for r in report["cases"][0]["rows"]:
        assert r["label"] in plain
        assert r["real"] in plain and r["sim"] in plain, r
        assert r["verdict"] in plain, r


@pytest.mark.parametrize("width", (60, 80))
def test_run_list(monkeypatch, capsys, width: int) -> None:
    from goheap.cli import main
    from goheap.workloads import WORKLOADS

    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["run", "--list"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    for w in WORKLOADS.values():
        for p in w.params:
            assert f"{p.name}={p.default}" in out.split()


@pytest.mark.parametrize(
    "args",
    [["sizeclasses"], ["run", "binarytrees", "--param", "depth=4"], ["run", "--list"]],
)
def test_no_line_ends_in_spaces_off_a_terminal(args: list[str]) -> None:
    """rich pads the last column of every row; a file or a pipe gets the lines without it."""
    from click.testing import CliRunner

    from goheap.cli import cli

    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) > 5
    assert [ln for ln in lines if ln != ln.rstrip(" ")] == []


def test_the_stripper_keeps_what_has_no_newline_yet() -> None:
    from goheap.report.console import RStripWriter

    out = io.StringIO()
    w = RStripWriter(out)
    w.write("a  b   \nc ")
    assert out.getvalue() == "a  b\n"
    w.write(" d  \n  ")
    w.flush()
    assert out.getvalue() == "a  b\nc  d\n  "
