"""The simulator's heap profile (goheap.pprof.sim, ``goheap run/replay --pprof``).

- At ``MemProfileRate = 1`` every allocation is in the profile unscaled, so
  after two ``runtime.GC()`` (everything published) the profile's totals are
  MemStats' own: alloc_objects = Mallocs, alloc_space = TotalAlloc,
  inuse_objects = HeapObjects, inuse_space = HeapAlloc; and each site has the
  workload's exact counts. Both profiles, go1.8 and go1.27.
- The lag: allocations after the last completed GC are not in use yet; with
  no GC at all, MemProfile accumulates everything (its "clear" case).
- Other rates: writeHeapProto's scaleHeapSample on the recorded counts.
- The CLI writes a gzipped profile.proto; ``go tool pprof -top`` reads it.
- Against Go itself (tests/oracle/pprofheap): the real runtime's profile has
  per site exactly the program's objects times the slot size the model's
  go1.27 size classes give (malloc header and tiny blocks included), the
  model writes the same per-site figures for the same program, and the
  minimum HeapInuse that ``analyze`` derives from it is at most the
  program's HeapInuse.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from goheap import Heap, Type
from goheap.cli import main
from goheap.errors import GoheapError
from goheap.pprof.model import HeapProfile, scale_heap_sample
from goheap.pprof.sim import heap_profile_from_runtime, mem_profile, profile_stack
from goheap.profiles import get_profile
from goheap.runner import profile_rate, run_workload
from goheap.runtime.common.gotype import POINTER
from goheap.workloads import get_workload, parse_params
from tests.go_oracle import go_toolchain

PROFILES = ("go1.8", "go1.27")
MAIN = ("main.main", "runtime.main", "runtime.goexit")


def run_on(heap: Heap, workload: str, *params: str) -> dict[str, Any]:
    w = get_workload(workload)
    return w.run(heap, parse_params(w, list(params)))


def by_site(p: HeapProfile) -> dict[str, dict[str, int]]:
    """The four values summed per leaf function, and the sizes seen there."""
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: {"alloc_objects": 0, "alloc_space": 0, "inuse_objects": 0, "inuse_space": 0}
    )
    for s in p.samples:
        row = out[s.stack[0].function if s.stack else ""]
        row["alloc_objects"] += s.alloc_objects
        row["alloc_space"] += s.alloc_space
        row["inuse_objects"] += s.inuse_objects
        row["inuse_space"] += s.inuse_space
        row.setdefault("size", s.size or 0)
    return dict(out)


def assert_totals_are_memstats(heap: Heap, p: HeapProfile) -> None:
    ms = heap.read_memstats()
    t = p.totals()
    assert t["alloc_objects"] == ms.Mallocs
    assert t["alloc_space"] == ms.TotalAlloc
    assert t["inuse_objects"] == ms.HeapObjects
    assert t["inuse_space"] == ms.HeapAlloc


# --- MemProfileRate = 1: exact --------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_rate_1_retain_sites_are_exact(make_heap: Callable[..., Heap], profile: str) -> None:
    h = make_heap(profile=profile, memprofilerate=1)
    run_on(h, "retain", "size=100", "count=700", "pointers=1")
    h.gc()
    h.gc()
    p = heap_profile_from_runtime(h)
    assert p.period == 1 and p.source == "<simulator>"
    sites = by_site(p)
    sc = h.profile.sizeclasses
    slot = sc.class_to_size[sc.size_to_class(104)]  # 13 pointer words
    assert sites["main.alloc"] == {
        "alloc_objects": 700,
        "alloc_space": 700 * slot,
        "inuse_objects": 700,
        "inuse_space": 700 * slot,
        "size": slot,
    }
    keep = sc.class_to_size[sc.size_to_class(5600)]  # the []unsafe.Pointer of 700
    assert sites["main.main"]["inuse_objects"] == 1
    assert sites["main.main"]["inuse_space"] == keep
    (s,) = [s for s in p.samples if s.stack[0].function == "main.alloc"]
    assert [f.function for f in s.stack] == ["main.alloc", *MAIN]  # leaf first
    assert_totals_are_memstats(h, p)


@pytest.mark.parametrize("profile", PROFILES)
def test_rate_1_binarytrees_totals_are_memstats(
    make_heap: Callable[..., Heap], profile: str
) -> None:
    """Trees built and dropped across several cycles: frees counted too."""
    h = make_heap(profile=profile, memprofilerate=1, gogc=10)
    run_on(h, "binarytrees", "depth=9")
    assert h.read_memstats().NumGC > 0
    h.set_global("x", h.new(Type("Node", 16, pointers=[0, 8]), stack=("main.bottomUpTree",)))
    h.gc()
    h.gc()
    p = heap_profile_from_runtime(h)
    assert_totals_are_memstats(h, p)
    site = by_site(p)["main.bottomUpTree"]
    ms = h.read_memstats()
    assert site["size"] == 16 and site["alloc_space"] == 16 * site["alloc_objects"]
    # The program's own nodes (the stretch tree, the long-lived one, the
    # short-lived ones) and ours; go1.27's Mallocs also has the 4 objects
    # the first GC allocates for its mark workers (their own sites).
    nodes = sum((2 ** (d + 1) - 1) * n for d, n in ((10, 1), (9, 1), (4, 512), (6, 128), (8, 32)))
    assert site["alloc_objects"] == nodes + 1 <= ms.Mallocs
    assert site["inuse_objects"] == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_in_use_is_as_of_the_last_gc(make_heap: Callable[..., Heap], profile: str) -> None:
    h = make_heap(profile=profile, memprofilerate=1, gogc="off")
    node = Type("Node", 16, pointers=[0, 8])
    stack = ("main.f", *MAIN)
    # No GC yet: MemProfile's "clear" case counts every allocation so far.
    for _ in range(10):
        h.new(node, stack=stack)
    assert by_site(heap_profile_from_runtime(h))["main.f"]["alloc_objects"] == 10
    h.gc()  # they were garbage: freed
    h.gc()
    site = by_site(heap_profile_from_runtime(h))["main.f"]
    assert (site["alloc_objects"], site["inuse_objects"]) == (10, 0)
    # Allocated after the last GC: not in the profile until a GC completes.
    for _ in range(5):
        h.set_global("x", h.new(node, stack=stack))
    site = by_site(heap_profile_from_runtime(h))["main.f"]
    assert (site["alloc_objects"], site["inuse_objects"]) == (10, 0)
    h.gc()
    h.gc()
    site = by_site(heap_profile_from_runtime(h))["main.f"]
    assert (site["alloc_objects"], site["inuse_objects"]) == (15, 1)


@pytest.mark.parametrize("profile", PROFILES)
def test_tiny_allocations_are_recorded_per_block(
    make_heap: Callable[..., Heap], profile: str
) -> None:
    """Only the allocation that opens a 16-byte block is recorded, with size 16."""
    h = make_heap(profile=profile, memprofilerate=1)
    run_on(h, "retain", "size=4", "count=400")  # four to a block
    h.gc()
    h.gc()
    site = by_site(heap_profile_from_runtime(h))["main.alloc"]
    assert site["size"] == 16
    assert site["inuse_objects"] == site["alloc_objects"] == 100
    assert h.read_memstats().Mallocs >= 400  # Mallocs counts the tiny objects


def test_leading_runtime_frames_are_hidden() -> None:
    assert [f.function for f in profile_stack(("runtime.mallocgc", "main.f", *MAIN))] == [
        "main.f",
        *MAIN,
    ]
    only_runtime = ("runtime.gcBgMarkStartWorkers", "runtime.gcStart")
    assert [f.function for f in profile_stack(only_runtime)] == list(only_runtime)


def test_mem_profile_inuse_zero(make_heap: Callable[..., Heap]) -> None:
    h = make_heap(profile="go1.27", memprofilerate=1)
    node = Type("Node", 16, pointers=[0, 8])
    h.new(node, stack=("main.dead", *MAIN))
    h.set_global("x", h.new(node, stack=("main.live", *MAIN)))
    h.gc()
    h.gc()
    leaves = {r.stack[0] for r in mem_profile(h, inuse_zero=False)}
    assert "main.live" in leaves and "main.dead" not in leaves
    assert "main.dead" in {r.stack[0] for r in mem_profile(h, inuse_zero=True)}


# --- other rates: scaled -----------------------------------------------------------------


def test_scale_heap_sample() -> None:
    # One sampled 112-byte object at 512 KiB stands for 1/(1 - e^(-112/524288)) objects.
    assert scale_heap_sample(1, 112, 524288) == (4681, 524344)
    assert scale_heap_sample(3, 300, 1) == (3, 300)
    assert scale_heap_sample(0, 100, 524288) == (0, 0)
    big = scale_heap_sample(2, 2 << 30, 524288)  # certainly sampled: scale 1
    assert big == (2, 2 << 30)


@pytest.mark.parametrize("profile", PROFILES)
def test_default_rate_is_scaled(make_heap: Callable[..., Heap], profile: str) -> None:
    h = make_heap(profile=profile, memprofilerate=524288)
    run_on(h, "retain", "size=200", "count=20000")
    h.gc()
    h.gc()
    p = heap_profile_from_runtime(h)
    assert p.period == 524288
    recs = {(r.stack[0], r.ObjectSize): r for r in mem_profile(h)}
    s = next(s for s in p.samples if s.stack[0].function == "main.alloc")
    size = s.size
    assert size == 208
    r = recs[("main.alloc", size)]
    assert 0 < r.AllocObjects < 20000  # sampled, not every allocation
    scale = 1 / (1 - math.exp(-size / 524288))
    assert s.alloc_objects == int(r.AllocObjects * scale)
    assert s.inuse_space == int(r.InUseObjects() * size * scale)
    # An estimate of the 20000 objects from about eight samples (the fixed
    # seed draws short distances first on go1.8: 19 samples, 47901).
    assert 20000 / 3 < s.inuse_objects < 20000 * 3


def test_profile_rate_settings() -> None:
    assert profile_rate("go1.27", None, None) is None  # the profile's own default (0)
    assert profile_rate("go1.27", None, "x.pb.gz") == 524288
    assert profile_rate("go1.8", 1, "x.pb.gz") == 1
    assert profile_rate("go1.8", 4096, None) == 4096
    with pytest.raises(GoheapError, match="empty"):
        profile_rate("go1.27", 0, "x.pb.gz")
    with pytest.raises(GoheapError, match="negative"):
        profile_rate("go1.27", -1, None)


def test_run_result_says_memprofilerate() -> None:
    r = run_workload("retain", ["count=10"], profile="go1.27")
    assert r["memprofilerate"] == 0
    r = run_workload("retain", ["count=10"], profile="go1.27", memprofilerate=1)
    assert r["memprofilerate"] == 1


# --- the CLI -------------------------------------------------------------------------------


def goheap(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("profile", PROFILES)
def test_cli_run_writes_pprof(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str
) -> None:
    from goheap.pprof.reader import read_heap_profile

    out = tmp_path / "heap.pb.gz"
    args = ["run", "retain", "--param", "count=300", "--profile", profile, "--json", "-"]
    rc, stdout, err = goheap(capsys, *args, "--pprof", str(out), "--memprofilerate", "1")
    assert rc == 0, err
    assert json.loads(stdout)["memprofilerate"] == 1
    raw = out.read_bytes()
    assert raw[:2] == b"\x1f\x8b"  # gzip, as runtime/pprof writes it
    assert len(gzip.decompress(raw)) > 0
    p = read_heap_profile(str(out))
    assert p.period == 1
    site = by_site(p)["main.alloc"]
    assert site["inuse_objects"] == 300 == site["alloc_objects"]
    # Without --memprofilerate: Go's 512 KiB.
    rc, stdout, err = goheap(capsys, *args, "--pprof", str(out), "-f")
    assert rc == 0, err
    assert json.loads(stdout)["memprofilerate"] == 524288
    assert read_heap_profile(str(out)).period == 524288


def test_cli_pprof_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "heap.pb.gz"
    out.write_bytes(b"old")
    for args in (
        ["--pprof", str(out)],  # exists, no -f
        ["--pprof", str(tmp_path / "new.pb.gz"), "--memprofilerate", "0"],
        ["--pprof", str(tmp_path / "no" / "such.pb.gz")],
        ["--pprof", "-"],
    ):
        rc, stdout, err = goheap(capsys, "run", "retain", "--param", "count=10", *args)
        assert rc == 2 and "Traceback" not in stdout + err
        assert err.startswith("goheap: error:") and len(err.splitlines()) == 1, err
    assert out.read_bytes() == b"old"
    assert not (tmp_path / "new.pb.gz").exists()


def test_cli_replay_writes_pprof(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from goheap.pprof.reader import read_heap_profile

    trace = tmp_path / "t.ndjson"
    rc, _, err = goheap(
        capsys, "record", "retain", "--param", "count=200", "-o", str(trace), "--json", "-"
    )
    assert rc == 0, err
    out = tmp_path / "replay.pb.gz"
    rc, _, err = goheap(
        capsys, "replay", str(trace), "--pprof", str(out), "--memprofilerate", "1", "--json", "-"
    )
    assert rc == 0, err
    assert by_site(read_heap_profile(str(out)))["main.alloc"]["inuse_objects"] == 200


# --- with a Go toolchain -------------------------------------------------------------------


@dataclass(frozen=True)
class Go:
    go: Path
    env: dict[str, str]  # offline, caches in goheap's cache directory
    oracle: Path


@pytest.fixture(scope="module")
def go() -> Go:
    go, oracle, env = go_toolchain()
    env["GOMAXPROCS"] = "1"
    return Go(go, env, oracle)


def go_tool_pprof(go: Go, *args: str) -> str:
    # The first use builds cmd/pprof into GOCACHE (about half a minute, once).
    proc = subprocess.run(
        [str(go.go), "tool", "pprof", *args],
        env=go.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.gotoolchain
def test_go_tool_pprof_reads_the_simulators_profile(
    go: Go, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bt.pb.gz"
    rc, _, err = goheap(
        capsys,
        "run",
        "binarytrees",
        "--param",
        "depth=6",
        "--profile",
        "go1.27",
        "--pprof",
        str(out),
        "--memprofilerate",
        "1",
        "--json",
        os.devnull,
        "-f",
    )
    assert rc == 0, err
    top = go_tool_pprof(go, "-top", "-sample_index=alloc_objects", str(out))
    assert "main.bottomUpTree" in top and "main.main" in top
    assert "Type: alloc_objects" in top


# --- the Go oracle: tests/oracle/pprofheap ---------------------------------------------------


def model_slot(size: int, pointers: bool) -> tuple[int, int]:
    """(slot bytes, objects per slot) of one go1.27 allocation, from the model's classes.

    Tiny allocations share a 16-byte block (size must divide 16 here); a
    pointerful object above 512 B carries the 8-byte malloc header; above
    32760 B an object is large and takes whole pages.
    """
    prof = get_profile("go1.27")
    sc = prof.sizeclasses
    spec = sc.spec
    if not pointers and size < prof.tiny_size:
        assert prof.tiny_size % size == 0
        return prof.tiny_size, prof.tiny_size // size
    if size > spec.max_small_size - spec.malloc_header_size:
        return -(-size // prof.page_size) * prof.page_size, 1
    req = size
    if pointers and size > spec.min_size_for_malloc_header:
        req += spec.malloc_header_size
    return sc.class_to_size[sc.size_to_class(req)], 1


def run_pprofheap_in_model(sites: dict[str, dict[str, Any]]) -> HeapProfile:
    """main.go's allocation sequence on a go1.27 heap with MemProfileRate = 1."""
    h = Heap(profile="go1.27", memprofilerate=1)
    try:
        keep = {}
        for name, s in sites.items():  # the containers, main.main's
            keep[name] = h.make(POINTER, s["count"], stack=MAIN)
            h.set_global(name, keep[name])
        types = {
            "main.newScan40": Type("main.scan40", 40, pointers=[0, 8]),
            "main.newScan600": Type("main.scan600", 600, pointers=[0]),
        }
        old = h.set_gc_percent("off")

        def alloc(name: str, i: int) -> None:
            s = sites[name]
            stack = (name, *MAIN)
            if name in types:
                x = h.new(types[name], stack=stack)
            elif s["pointers"]:
                x = h.make(POINTER, s["size"] // 8, stack=stack)
            else:
                x = h.malloc(s["size"], None, stack=stack)
            h.write_pointer(keep[name], 8 * i, x)

        for i in range(sites["main.tiny8"]["count"]):
            alloc("main.tiny8", i)
        small = ("main.noscan24", "main.noscan100", "main.noscan3000")
        for i in range(sites["main.noscan24"]["count"]):
            for name in (*small, "main.newScan40", "main.newScan600"):
                alloc(name, i)
        for i in range(sites["main.large40000"]["count"]):
            alloc("main.large40000", i)
            alloc("main.largeptr", i)
        h.set_gc_percent(old)
        h.gc()
        h.gc()
        return heap_profile_from_runtime(h)
    finally:
        h.close()


@pytest.fixture(scope="module")
def pprofheap(go: Go, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, Path]]:
    """Build and run tests/oracle/pprofheap: its JSON and its heap profile."""
    tmp = tmp_path_factory.mktemp("pprofheap")
    exe = tmp / "pprofheap"
    build = subprocess.run(
        [str(go.go), "build", "-o", str(exe), "./pprofheap"],
        cwd=go.oracle,
        env=go.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    prof = tmp / "heap.pb.gz"
    proc = subprocess.run(
        [str(exe), str(prof)], env=go.env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    yield json.loads(proc.stdout), prof


@pytest.mark.gotoolchain
def test_pprofheap_oracle(
    pprofheap: tuple[dict, Path], record_property: Callable[[str, object], None]
) -> None:
    from goheap.pprof.analyze import analyze
    from goheap.pprof.reader import read_heap_profile

    doc, path = pprofheap
    assert doc["memprofilerate"] == 1
    p = read_heap_profile(str(path))
    assert p.period == 1
    sites = by_site(p)
    model = by_site(run_pprofheap_in_model(doc["sites"]))
    for name, s in doc["sites"].items():
        slot, per_slot = model_slot(s["size"], s["pointers"])
        objects = -(-s["count"] // per_slot)
        got = sites[name]
        want = {"inuse_objects": objects, "inuse_space": objects * slot, "size": slot}
        assert {k: got[k] for k in want} == want, name
        assert got["alloc_objects"] == objects, name
        # The simulator's profile of the same program says the same.
        assert {k: model[name][k] for k in want} == want, name
    a = analyze(p, "go1.27")
    ms = doc["memstats"]
    t = p.totals()
    # Not in the profile: what was allocated before main's initializer set
    # MemProfileRate (runtime and package init, sampled at 512 KiB) and not sampled.
    unprofiled = ms["HeapAlloc"] - t["inuse_space"]
    print(
        f"\npprofheap ({doc['go_version']}): HeapInuse {ms['HeapInuse']:,} B, "
        f"HeapAlloc {ms['HeapAlloc']:,} B, HeapObjects {ms['HeapObjects']:,}; profile in use "
        f"{t['inuse_space']:,} B in {t['inuse_objects']:,} objects (HeapAlloc not in it: "
        f"{unprofiled:,} B); min_heap_inuse {a.min_heap_inuse:,} B "
        f"(all scan: {a.totals['min_heap_inuse_scan']:,} B); "
        f"HeapInuse - min_heap_inuse = {ms['HeapInuse'] - a.min_heap_inuse:,} B"
    )
    record_property("HeapInuse", ms["HeapInuse"])
    record_property("min_heap_inuse", a.min_heap_inuse)
    assert 0 <= unprofiled < 128 << 10
    assert t["inuse_objects"] <= ms["HeapObjects"]
    assert a.min_heap_inuse <= ms["HeapInuse"]
