"""Reports: the HTML report and comparison, the heap map, the rich tables.

Most tests use hand-made result dicts (``make_result``) with the runner's
schema, so they pin the reports down independently of the model; one runs
a small real workload. The browser test renders a report with headless
Chromium and looks at the pixels.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from goheap.report import heapmap, html, text
from goheap.report.common import breakdown_problems, breakdown_rows, run_labels

PAGE = 8192
SECTION_IDS = ("header", "timeline", "breakdown", "classes", "heapmap", "gctrace", "memstats")
CHROMIUM = "/usr/bin/chromium"

# --- fixtures --------------------------------------------------------------------------

_MEMSTATS_NAMES = (
    "Alloc",
    "TotalAlloc",
    "Sys",
    "Lookups",
    "Mallocs",
    "Frees",
    "HeapAlloc",
    "HeapSys",
    "HeapIdle",
    "HeapInuse",
    "HeapReleased",
    "HeapObjects",
    "StackInuse",
    "StackSys",
    "MSpanInuse",
    "MSpanSys",
    "MCacheInuse",
    "MCacheSys",
    "BuckHashSys",
    "GCSys",
    "OtherSys",
    "NextGC",
    "LastGC",
    "PauseTotalNs",
)


def make_result(
    *,
    workload: str = "binarytrees",
    params: dict[str, Any] | None = None,
    gogc: int = 100,
    n_spans: int = 60,
    n_timeline: int = 200,
    n_gc: int = 5,
    seed: int = 1,
) -> dict[str, Any]:
    """A result dict with the runner's schema and self-consistent numbers."""
    rng = np.random.default_rng(seed)
    sizes = [0, 8, 16, 32, 48, 64, 80, 96, 112, 128, 1024, 2048, 8192, 32768]
    spans: list[list[Any]] = []
    page = 0
    classes: dict[int, dict[str, Any]] = {}
    for i in range(n_spans):
        kind = rng.integers(0, 10)
        if kind == 0:
            npages = int(rng.integers(1, 9))
            spans.append([page, npages, "free" if i % 2 else "released", 0, 0, 0])
        else:
            cls = int(rng.integers(0, len(sizes)))
            size = sizes[cls]
            npages = int(rng.integers(5, 40)) if cls == 0 else 1 + (size >= 8192)
            nelems = 1 if cls == 0 else (npages * PAGE) // size
            alloc = 1 if cls == 0 else int(rng.integers(0, nelems + 1))
            elem = npages * PAGE if cls == 0 else size
            spans.append([page, npages, "inuse", cls, nelems, alloc])
            row = classes.setdefault(
                cls,
                dict.fromkeys(
                    (
                        "spans",
                        "objects",
                        "inuse_bytes",
                        "span_bytes",
                        "free_slot_bytes",
                        "tail_waste_bytes",
                        "live_bytes",
                    ),
                    0,
                )
                | {"class": cls, "size": size, "npages": 0 if cls == 0 else npages},
            )
            row["spans"] += 1
            row["objects"] += alloc
            row["inuse_bytes"] += alloc * elem
            row["live_bytes"] += (alloc // 2) * elem
            row["span_bytes"] += npages * PAGE
            row["free_slot_bytes"] += (nelems - alloc) * elem
            row["tail_waste_bytes"] += npages * PAGE - nelems * elem
        page += npages
    inuse = sum(r["span_bytes"] for r in classes.values())
    idle_pages = sum(s[1] for s in spans if s[2] != "inuse")
    released = sum(s[1] for s in spans if s[2] == "released") * PAGE
    heap_sys = page * PAGE
    live = sum(r["live_bytes"] for r in classes.values())
    alloc_bytes = sum(r["inuse_bytes"] for r in classes.values())
    breakdown = {
        "HeapSys": heap_sys,
        "HeapInuse": inuse,
        "HeapIdle": idle_pages * PAGE,
        "live_bytes": live,
        "live_objects": sum(r["objects"] // 2 for r in classes.values()),
        "garbage_bytes": alloc_bytes - live,
        "garbage_objects": sum(r["objects"] - r["objects"] // 2 for r in classes.values()),
        "free_slot_bytes": sum(r["free_slot_bytes"] for r in classes.values()),
        "tail_waste_bytes": sum(r["tail_waste_bytes"] for r in classes.values()),
        "rounding_bytes_est": live // 20,
        "retained_bytes": idle_pages * PAGE - released,
        "released_bytes": released,
    }
    t_end = 50_000_000
    gc = []
    for n in range(1, n_gc + 1):
        start = n * t_end // (n_gc + 1)
        gc.append(
            {
                "number": n,
                "start_ns": start,
                "end_ns": start + 400_000,
                "heap_start": 4 << 20,
                "heap_mark_end": 5 << 20,
                "marked": 2 << 20,
                "heap_goal": 5 << 20,
                "trigger": 4 << 20,
                "pause_ns": 40_000,
                "forced": n == n_gc,
                "gctrace": f"gc {n} @{start / 1e9:.3f}s 3%: 0.020+0.93+0.020 ms clock, "
                "0.020+0.47/0.10/0+0.020 ms cpu, 4->5->2 MB, 5 MB goal, 1 P",
            }
        )
    timeline = []
    for i in range(n_timeline):
        t = i * t_end // max(n_timeline - 1, 1)
        saw = (i % 40) / 40
        timeline.append(
            {
                "t_ns": t,
                "event": "tick",
                "HeapAlloc": int((1 + 3 * saw) * (1 << 20)),
                "HeapInuse": int((1.2 + 3 * saw) * (1 << 20)),
                "HeapSys": 6 << 20,
                "HeapReleased": (i * 4 // n_timeline) << 18,
                "NextGC": (5 << 20) + ((i // 40) % 2) * (1 << 19),
                "NumGC": i // 40,
            }
        )
    memstats: dict[str, Any] = {name: 0 for name in _MEMSTATS_NAMES}
    memstats |= {
        "Alloc": alloc_bytes,
        "HeapAlloc": alloc_bytes,
        "TotalAlloc": alloc_bytes * 7,
        "HeapSys": heap_sys,
        "HeapInuse": inuse,
        "HeapIdle": idle_pages * PAGE,
        "HeapReleased": released,
        "Sys": heap_sys + (3 << 20),
        "Mallocs": 123_456,
        "Frees": 100_000,
        "HeapObjects": 23_456,
        "NumGC": n_gc,
        "NumForcedGC": 1,
        "PauseTotalNs": 40_000 * n_gc,
        "PauseNs": [40_000] * n_gc + [0] * (256 - n_gc),
        "PauseEnd": list(range(1, n_gc + 1)) + [0] * (256 - n_gc),
        "GCCPUFraction": 0.0312,
        "EnableGC": True,
        "DebugGC": False,
        "NextGC": 5 << 20,
        "BySize": [{"Size": s, "Mallocs": 10 * i, "Frees": 5 * i} for i, s in enumerate(sizes)],
    }
    return {
        "profile": "go1.8",
        "workload": workload,
        "params": {"depth": 14} if params is None else params,
        "procs": 1,
        "gogc": gogc,
        "liveness": "graph",
        "result": {"checked": 42},
        "memstats": memstats,
        "peak": {"HeapInuse": 6 << 20, "HeapSys": 6 << 20, "HeapAlloc": 5 << 20},
        "gc": gc,
        "classes": [classes[c] for c in sorted(classes)],
        "timeline": timeline,
        "spans": {"arena_start": 0xC420000000, "page_size": PAGE, "pages": page, "list": spans},
        "breakdown": breakdown,
        "sim": {"wall_s": 1.5, "allocs": 123_456},
    }


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return make_result()


@pytest.fixture(scope="module")
def report_html(result: dict[str, Any]) -> str:
    return html.render_report(result)


_EXTERNAL = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def assert_self_contained(doc: str) -> None:
    assert not _EXTERNAL.search(doc), _EXTERNAL.search(doc)
    assert "<link" not in doc.lower()
    assert "<script" not in doc.lower()
    assert "@import" not in doc
    for url in re.findall(r"url\(([^)]*)\)", doc):
        assert url.strip("'\" ").startswith(("#", "data:")), url


# --- the HTML report ---------------------------------------------------------------------


def test_fixture_is_consistent(result: dict[str, Any]) -> None:
    assert breakdown_problems(result["breakdown"]) == []


def test_report_has_every_section(report_html: str, result: dict[str, Any]) -> None:
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in report_html, sid
    assert report_html.count('<svg class="plot"') == 2  # timeline, classes
    assert 'data-plot="timeline"' in report_html
    assert 'data-plot="classes"' in report_html
    assert 'id="heapmap-img" src="data:image/png;base64,' in report_html
    # header: workload, params, profile, GOGC, procs, liveness
    for text_ in ("binarytrees", "depth=14", "go1.8", "GOGC", "procs", "liveness", "graph"):
        assert text_ in report_html
    # one gctrace row per cycle, with Go's line
    for c in result["gc"]:
        assert html.esc(c["gctrace"]) in report_html
    # MemStats with Go's names
    for name in ("HeapAlloc", "HeapInuse", "HeapSys", "NextGC", "PauseTotalNs", "GCCPUFraction"):
        assert f"<code>{name}</code>" in report_html
    # the breakdown tree
    for key in ("live_bytes", "garbage_bytes", "free_slot_bytes", "tail_waste_bytes"):
        assert f"<code>{key}</code>" in report_html
    assert "released to the OS" in report_html
    assert "Does not add up" not in report_html
    # axis labels with units
    assert "virtual time since program start (ms)" in report_html
    assert "bytes (MiB)" in report_html


def test_report_header_says_how_much_time_was_the_programs() -> None:
    doc = make_result()
    doc["sim"] = {"wall_s": 1.5, "allocs": 10, "virtual_ns": 3_000_000, "program_ns": 250_000}
    header = html.render_report(doc).split("</header>")[0]
    assert "3 ms of virtual time (250 µs of it the program's own work)" in header
    doc["sim"]["program_ns"] = 0  # nothing computed: nothing said
    assert "own work" not in html.render_report(doc).split("</header>")[0]


def test_report_is_self_contained(report_html: str) -> None:
    assert_self_contained(report_html)
    assert report_html.startswith("<!DOCTYPE html>")
    assert report_html.count("<svg") == report_html.count("</svg>")


def test_report_escapes_text(tmp_path: Path) -> None:
    evil = "<script>alert('x')</script>"
    r = make_result(workload=evil, params={"a&b": '"<i>"'})
    r["gc"][0]["gctrace"] = "gc 1 <b>bold</b> & more"
    r["result"] = {"<k>": "</table>"}
    path = tmp_path / "evil.html"
    html.write_report(r, str(path))
    doc = path.read_text()
    assert "<script" not in doc
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in doc
    assert "a&amp;b=&quot;&lt;i&gt;&quot;" in doc
    assert "gc 1 &lt;b&gt;bold&lt;/b&gt; &amp; more" in doc
    assert "<b>bold</b>" not in doc and "<i>" not in doc
    assert_self_contained(doc)
    runs = [make_result(workload=w, n_spans=5) for w in (evil, "_$x$ & $\\frac{")]
    html.write_compare_report(runs, str(path))
    doc = path.read_text()
    assert "<script" not in doc
    assert "&lt;script&gt;" in doc
    assert "_$x$ &amp; $\\frac{" in doc  # in the table, and as plain text in the plot
    assert_self_contained(doc)


def test_report_of_a_partial_result() -> None:
    """An older result (no timeline, classes, spans or breakdown) still makes a report."""
    r = make_result()
    for key in ("timeline", "classes", "spans", "breakdown", "sim", "result", "liveness"):
        del r[key]
    doc = html.render_report(r)
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in doc
    assert doc.count("This result has no") == 4
    # the GC cycles still shade nothing (no timeline), but the table is there
    assert "gc 1 @" in doc


def test_report_with_no_gc_and_empty_arena() -> None:
    r = make_result(n_spans=0, n_gc=0, n_timeline=1)
    r["spans"]["pages"] = 0
    doc = html.render_report(r)
    assert "No collection ran." in doc
    assert "The arena is empty" in doc
    assert_self_contained(doc)


def test_large_report_is_fast(tmp_path: Path) -> None:
    r = make_result(n_spans=100_000, n_timeline=4000, n_gc=400, seed=7)
    assert len(r["spans"]["list"]) == 100_000
    path = tmp_path / "large.html"
    t0 = time.perf_counter()
    html.write_report(r, path)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"report took {elapsed:.2f} s"
    doc = path.read_text()
    assert 'id="heapmap-img"' in doc
    assert doc.count("<tr><td>") >= 400  # every cycle has its row


def test_write_report_round_trips_json(tmp_path: Path, result: dict[str, Any]) -> None:
    """A result read back from JSON (as `goheap` writes it) reports the same."""
    again = json.loads(json.dumps(result))
    assert html.render_report(again) == html.render_report(result)


# --- the heap map --------------------------------------------------------------------------


def test_heapmap_pixels() -> None:
    spans = {
        "arena_start": 0xC420000000,
        "page_size": PAGE,
        "pages": 8,
        "list": [
            [0, 1, "inuse", 2, 512, 512],  # full 16-byte span
            [1, 1, "inuse", 2, 512, 0],  # empty 16-byte span
            [2, 2, "free", 0, 0, 0],
            [4, 1, "released", 0, 0, 0],
            [5, 2, "inuse", 0, 1, 1],  # a large object
            # page 7: no span
        ],
    }
    hm = heapmap.build_heapmap(spans, target_width=64)
    assert hm is not None
    assert (hm.cols, hm.rows, hm.pages_per_cell) == (64, 1, 1)
    assert (hm.width, hm.height) == (64, 1)  # target width 64: one pixel per page
    import matplotlib.image as mpimg

    img = (mpimg.imread(io.BytesIO(hm.png)) * 255).round().astype(int)[0, :, :3]
    assert hm.colours == {0: heapmap.LARGE_RGB, 2: heapmap.CLASS_PALETTE[0]}
    full = np.array(heapmap.CLASS_PALETTE[0])
    empty = np.rint(255 * heapmap.tint(full / 255, 0.0)).astype(int)
    assert (img[0] == full).all()
    assert (img[1] == empty).all()
    assert (img[1] > img[0]).all()  # emptier is paler
    assert (img[2] == heapmap.FREE_RGB).all() and (img[3] == heapmap.FREE_RGB).all()
    assert (img[4] == heapmap.RELEASED_RGB).all()
    assert (img[5] == heapmap.LARGE_RGB).all() and (img[6] == heapmap.LARGE_RGB).all()
    assert (img[7] == heapmap.NOSPAN_RGB).all()
    assert (img[8:] == heapmap.PAD_RGB).all()
    assert hm.state_pages == {"inuse": 4, "free": 2, "released": 1}
    assert hm.class_pages == {0: 2, 2: 2}


def test_heapmap_colours_the_biggest_classes() -> None:
    # classes 1..20, class c covering c pages; plus large objects
    lst = []
    page = 0
    for c in range(1, 21):
        lst += [[page + i, 1, "inuse", c, 10, 5] for i in range(c)]
        page += c
    lst.append([page, 3, "inuse", 0, 1, 1])
    hm = heapmap.build_heapmap({"pages": page + 3, "list": lst})
    assert hm is not None
    assert list(hm.colours) == [0, *range(9, 21)]  # the 12 biggest, and large
    assert len(set(hm.colours.values())) == 13
    assert hm.other_classes == {c: c for c in range(1, 9)}
    assert heapmap.OTHER_RGB not in hm.colours.values()


def test_heapmap_scales_down_huge_arenas() -> None:
    spans = {"arena_start": 0, "page_size": PAGE, "pages": 2_000_000, "list": []}
    hm = heapmap.build_heapmap(spans)
    assert hm is not None
    assert hm.rows <= 640 and hm.pages_per_cell > 1
    assert hm.cols * hm.rows * hm.pages_per_cell >= 2_000_000
    assert heapmap.build_heapmap({"pages": 0, "list": []}) is None


# --- the comparison -----------------------------------------------------------------------


def test_compare_report(tmp_path: Path) -> None:
    runs = [make_result(gogc=g, seed=g) for g in (50, 100, 200)]
    runs[0]["peak"]["HeapInuse"] = 3 << 20
    path = tmp_path / "cmp.html"
    html.write_compare_report(runs, str(path))
    doc = path.read_text()
    assert_self_contained(doc)
    assert doc.count('<svg class="plot"') == 1
    for label in ("GOGC=50", "GOGC=100", "GOGC=200"):
        assert f"<th>{label}</th>" in doc
    for name in ("peak HeapInuse", "HeapSys", "NumGC", "TotalAlloc", "PauseTotalNs"):
        assert name in doc
    assert "GCCPUFraction" in doc
    assert "3.0 MiB" in doc and "×2.00" in doc  # 6 MiB vs 3 MiB peak


def test_run_labels() -> None:
    a, b = make_result(gogc=50), make_result(gogc=-1)
    assert run_labels([a, b]) == ["GOGC=50", "GOGC=off"]
    c = make_result(workload="retain", params={"size": 8})
    assert run_labels([a, c]) == ["binarytrees depth=14 GOGC=50", "retain size=8 GOGC=100"]
    assert run_labels([a, make_result(gogc=50)]) == ["run 1", "run 2"]


# --- the text tables -----------------------------------------------------------------------


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=200, color_system=None), buf


def test_text_tables(result: dict[str, Any]) -> None:
    console, buf = _console()
    text.memstats_table(result, console)
    text.breakdown_table(result, console)
    text.classes_table(result, console)
    out = buf.getvalue()
    assert "[go1.8 GOGC=100 GOMEMLIMIT=off procs=1]" in out  # not eaten as rich markup
    for word in ("HeapInuse", "live_bytes", "rounding_bytes_est", "released_bytes"):
        assert word in out
    assert "free slots" in out and "tail waste" in out and "large" in out
    rows = breakdown_rows(result["breakdown"])
    assert f"{rows[0].bytes:,}" in out and "100.0%" in out
    assert "garbage (unreachable, not yet swept)" in out  # wide console: the words too


def test_text_tables_fit_80_columns(result: dict[str, Any]) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=80, color_system=None)
    text.breakdown_table(result, console)
    text.classes_table(result, console)
    text.memstats_table(result, console)
    out = buf.getvalue()
    assert "…" not in out
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80
    assert "rounding_bytes_est" in out and "tail waste" in out


def test_text_tables_missing_parts() -> None:
    console, buf = _console()
    r = make_result()
    del r["breakdown"], r["classes"]
    text.breakdown_table(r, console)
    text.classes_table(r, console)
    text.compare_table([], console)
    assert "no breakdown" in buf.getvalue() and "no size-class table" in buf.getvalue()


def test_compare_table() -> None:
    console, buf = _console()
    text.compare_table([make_result(gogc=g, workload="[bold]x") for g in (50, 100)], console)
    out = buf.getvalue()
    assert "GOGC=50" in out and "GOGC=100" in out and "[bold]x" in out
    assert "peak HeapInuse" in out and "6.0 MiB" in out and "3.12%" in out


# --- a real run -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_result() -> dict[str, Any]:
    from goheap.runner import run_workload

    r = run_workload("churn", ["steps=20000"], profile="go1.8")
    if not {"timeline", "classes", "spans", "breakdown"} <= r.keys():
        pytest.skip("the runner does not produce timeline/classes/spans/breakdown yet")
    return r


def test_real_run_report(real_result: dict[str, Any], tmp_path: Path) -> None:
    r = real_result
    assert r["gc"], "churn steps=20000 collects"
    assert breakdown_problems(r["breakdown"]) == []
    path = tmp_path / "churn.html"
    html.write_report(r, path)
    doc = path.read_text()
    assert_self_contained(doc)
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in doc
    assert "This result has no" not in doc
    assert html.esc(r["gc"][-1]["gctrace"]) in doc
    console, buf = _console()
    text.breakdown_table(r, console)
    text.classes_table(r, console)
    assert "HeapInuse" in buf.getvalue()


# --- in a browser -----------------------------------------------------------------------------

_PROBE = """<script>
window.addEventListener('load', () => {
  const boxes = {};
  for (const el of document.querySelectorAll('svg.plot, #heapmap-img')) {
    const r = el.getBoundingClientRect();
    boxes[el.dataset.plot || el.id] = [r.left, r.top + window.scrollY, r.width, r.height];
  }
  document.body.setAttribute('data-boxes', JSON.stringify(boxes));
});
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        "--window-size=1280,4000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def _coloured(rgb: np.ndarray) -> np.ndarray:
    """Pixels that are neither white nor grey (some channel differs from the others)."""
    return (rgb.max(axis=-1) - rgb.min(axis=-1)) > 0.12


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
    reason=f"{CHROMIUM} not found (Debian: apt-get install chromium; .ci/run installs it)",
)
def test_report_renders_in_chromium(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    page = tmp_path / "report.html"
    r = make_result(n_spans=400, n_gc=6)
    r["memlimit"] = 7 << 20  # HeapSys is 6 MiB: the GOMEMLIMIT line is drawn to scale
    doc = html.render_report(r)
    page.write_text(doc)
    # Where are the plots? A copy of the page with a script that measures them.
    probe = tmp_path / "probe.html"
    probe.write_text(doc.replace("</body>", _PROBE + "</body>"))
    dom = _chromium(tmp_path, "--dump-dom", probe.as_uri())
    m = re.search(r"data-boxes=\"([^\"]*)\"", dom.stdout)
    assert m, dom.stderr[-2000:]
    boxes = json.loads(m.group(1).replace("&quot;", '"'))
    assert set(boxes) == {"timeline", "classes", "heapmap-img"}

    png = tmp_path / "report.png"
    shot = _chromium(tmp_path, f"--screenshot={png}", page.as_uri())
    assert png.exists(), shot.stderr[-2000:]
    img = mpimg.imread(str(png))[..., :3]
    assert img.shape[:2] == (4000, 1280)
    assert img.std() > 0.05, "blank screenshot"
    assert (img < 0.9).any(axis=-1).mean() > 0.02, "almost nothing drawn"
    for name, (x, y, w, h) in boxes.items():
        assert w > 300 and h > 30, (name, w, h)
        assert y + h <= img.shape[0], f"{name} is below the screenshot"
        region = img[int(y) : int(y + h), int(x) : int(x + w)]
        share = _coloured(region).mean()
        assert share > 0.01, f"{name}: only {share:.2%} coloured pixels"
    # The timeline shows its series in their colours (NextGC red, HeapSys purple), and
    # the GOMEMLIMIT line (green).
    x, y, w, h = boxes["timeline"]
    region = img[int(y) : int(y + h), int(x) : int(x + w)].reshape(-1, 3)
    for colour in ("#e31a1c", "#6a3d9a", "#1b9e77"):
        want = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        assert (np.abs(region - want).max(axis=1) < 0.08).sum() > 20, colour


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
    reason=f"{CHROMIUM} not found (Debian: apt-get install chromium; .ci/run installs it)",
)
def test_analysis_report_flame_graph_renders_in_chromium(tmp_path: Path) -> None:
    """goheap analyze --report: the class chart and the flame graph of Go's own profile
    (tests/data/pprof/rate1.pb.gz) are drawn, on the page, in colour; hover titles are
    in the DOM and each labelled box's text fits its box."""
    import matplotlib.image as mpimg

    from goheap.pprof import read_heap_profile
    from goheap.pprof.analyze import analyze
    from goheap.pprof.flame import flame_tree
    from goheap.report.analyze import render_analysis_html

    profile = read_heap_profile(Path(__file__).parent / "data" / "pprof" / "rate1.pb.gz")
    doc = render_analysis_html(analyze(profile).to_dict(), flame=flame_tree(profile))
    page = tmp_path / "analysis.html"
    page.write_text(doc)
    probe = tmp_path / "probe.html"
    measure = """<script>
window.addEventListener('load', () => {
  const texts = [];
  for (const g of document.querySelectorAll('svg.flame g')) {
    const t = g.querySelector('text');
    if (t) texts.push([t.getComputedTextLength(), +g.querySelector('rect').getAttribute('width')]);
  }
  document.body.setAttribute('data-texts', JSON.stringify(texts));
});
</script>"""
    probe.write_text(doc.replace("</body>", _PROBE + measure + "</body>"))
    dom = _chromium(tmp_path, "--dump-dom", probe.as_uri())
    m = re.search(r"data-boxes=\"([^\"]*)\"", dom.stdout)
    assert m, dom.stderr[-2000:]
    boxes = json.loads(m.group(1).replace("&quot;", '"'))
    assert set(boxes) == {"classes", "flame"}
    texts = json.loads(re.search(r"data-texts=\"([^\"]*)\"", dom.stdout).group(1))  # type: ignore[union-attr]
    assert len(texts) >= 3 and all(length + 3 <= width for length, width in texts), texts
    assert "<title>main.allocMany" in dom.stdout

    png = tmp_path / "analysis.png"
    shot = _chromium(tmp_path, f"--screenshot={png}", page.as_uri())
    assert png.exists(), shot.stderr[-2000:]
    img = mpimg.imread(str(png))[..., :3]
    for name, (x, y, w, h) in boxes.items():
        assert w > 300 and h > 30, (name, w, h)
        assert x + w <= img.shape[1] and y + h <= img.shape[0], f"{name} is off the screenshot"
        region = img[int(y) : int(y + h), int(x) : int(x + w)]
        share = _coloured(region).mean()
        assert share > 0.05, f"{name}: only {share:.2%} coloured pixels"
    # The flame's top row (the root, all in use) spans the whole graph.
    x, y, w, h = boxes["flame"]
    top_row = img[int(y) + 8, int(x) + 2 : int(x + w) - 2]
    assert _coloured(top_row[None, ...]).mean() > 0.95


def test_no_goal_is_not_drawn() -> None:
    """GOGC=off: NextGC is ~2**64 ("no goal"); the plots leave it out of the axis."""
    from goheap.report import plots

    tl = [
        {"t_ns": 0, "HeapAlloc": 1 << 20, "HeapInuse": 2 << 20, "HeapSys": 4 << 20,
         "HeapReleased": 0, "NextGC": (1 << 64) - 1},
        {"t_ns": 1000, "HeapAlloc": 3 << 20, "HeapInuse": 4 << 20, "HeapSys": 8 << 20,
         "HeapReleased": 0, "NextGC": (1 << 64) - 1},
    ]  # fmt: skip
    cols = plots._columns(tl, ("HeapInuse", "NextGC"))
    assert np.isnan(cols["NextGC"]).all() and cols["HeapInuse"][1] == 4 << 20
    svg = plots.timeline_svg({"timeline": tl})
    assert svg is not None and "bytes (MiB)" in svg
    both = plots.compare_svg([{"timeline": tl}, {"timeline": tl}], ["off", "off2"])
    assert both is not None and "bytes (MiB)" in both


def test_charts_draw_gomemlimit_and_name_the_settings() -> None:
    from goheap.report import plots

    r = make_result()
    svg = plots.timeline_svg(r) or ""
    assert "GOMEMLIMIT=off" in svg and "stroke: #1b9e77" not in svg  # no limit, no line
    r["memlimit"] = 7 << 20  # the heap reaches 6 MiB
    svg = plots.timeline_svg(r) or ""
    assert "GOMEMLIMIT=7MiB" in svg and "stroke: #1b9e77" in svg
    assert "go1.8 GOGC=100 GOMEMLIMIT=7MiB procs=1" in svg  # the chart's title
    r["memlimit"] = 1 << 30  # far above the heap: named, not drawn (the heap stays readable)
    svg = plots.timeline_svg(r) or ""
    assert "GOMEMLIMIT=1GiB ↑ (above the chart)" in svg and "stroke: #1b9e77" not in svg
    runs = [make_result(gogc=g) | {"memlimit": m} for g, m in ((50, 7 << 20), (100, None))]
    both = plots.compare_svg(runs, ["GOGC=50", "GOGC=100"], "binarytrees depth=14") or ""
    assert "GOMEMLIMIT" in both and "binarytrees depth=14" in both  # the legend, the title
    what_if = [runs[0] | {"memlimit": 64 << 20, "memlimit_simulated": 7 << 20}]
    svg = plots.compare_svg(what_if, ["x"]) or ""
    assert "GOMEMLIMIT" in svg and "above the chart" not in svg  # the simulated limit, drawn


def test_a_failed_write_is_one_error(tmp_path: Path) -> None:
    """Every report writer turns an OSError into goheap's one-line error."""
    from goheap.errors import GoheapError
    from goheap.outputs import write_file

    with pytest.raises(GoheapError, match=r"cannot write .*: Is a directory"):
        write_file(tmp_path, "x")
    with pytest.raises(GoheapError, match="cannot write"):
        html.write_compare_report([], tmp_path)
