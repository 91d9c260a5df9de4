"""goheap analyze: a heap profile by size class and site, and the what-if (goheap.pprof).

- Exact span arithmetic on hand-made profiles, go1.27 and go1.8: N objects
  of a class need ceil(N / objects_per_span) spans; go1.27's objects per
  span leave Green Tea's 128-byte inline mark bits (16..512 B) and, for
  scan spans of objects <= 512 B, nbytes/64 of heap bits; an 8-byte slot
  is pointerful; large objects take their pages.
- A sample without a bytes label, sizes that are no slot size, aggregation
  by site across sizes and stacks, notes where the profile limits an answer.
- The model's own profile at MemProfileRate = 1: in-use objects equal the
  program's, and the minimum HeapInuse is at most the model's HeapInuse.
- What-if: a synthetic workload of the profile's mix; fewer GCs and a
  bigger heap at higher GOGC; deterministic; a live set scaled to the
  budget; GOMEMLIMIT.
- The CLI: table, --json, --report, one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from goheap import Heap
from goheap.cli import cli, main
from goheap.errors import GoheapError
from goheap.pprof import command
from goheap.pprof.analyze import NO_STACK, analyze, slot_class
from goheap.pprof.model import Frame, HeapProfile, HeapSample
from goheap.pprof.whatif import (
    DEFAULT_ALLOC_RATE,
    Setting,
    _shuffled,
    apportion,
    build_workload,
    parse_alloc_rate,
    profile_alloc_rate,
    run_setting,
    run_whatif,
)
from goheap.runtime.common.gotype import POINTER
from goheap.xorshift import XorShift64

PAGE = 8192
MAIN = ("main.main", "runtime.main", "runtime.goexit")


def smp(
    fn: str,
    size: int,
    inuse: int,
    alloc: int | None = None,
    *,
    line: int = 1,
    caller: str = "main.main",
    label: bool = True,
) -> HeapSample:
    """A sample of `inuse` objects of slot `size` still in use (of `alloc` allocated)."""
    alloc = inuse if alloc is None else alloc
    stack = (Frame(fn, "/src/main.go", line), Frame(caller, "/src/main.go", 99))
    return HeapSample(stack, alloc, alloc * size, inuse, inuse * size, size if label else None)


def prof(*samples: HeapSample, period: int = 1) -> HeapProfile:
    return HeapProfile(samples=list(samples), period=period, source="test.pb.gz")


# --- the span arithmetic -------------------------------------------------------------


def test_go127_small_class_exact() -> None:
    """48 B: (8192 - 128) // 48 = 168 noscan, (8192 - 128 - 128) // 48 = 165 scan."""
    a = analyze(prof(smp("main.f", 48, 1000)), "go1.27")
    r = a.class_row(5)
    assert r is not None and (r.size, r.npages) == (48, 1)
    assert (r.objects_per_span, r.objects_per_span_scan) == (168, 165)
    assert r.objects == 1000 and r.inuse_bytes == 48_000
    assert r.spans == 6 and r.span_bytes == 6 * PAGE  # ceil(1000 / 168)
    assert r.tail_waste_bytes == 6 * (PAGE - 168 * 48) == 768
    assert r.free_slot_bytes == (6 * 168 - 1000) * 48 == 384
    assert r.span_bytes_scan == 7 * PAGE  # ceil(1000 / 165)
    assert a.min_heap_inuse == 49_152
    assert a.totals["min_heap_inuse_scan"] == 57_344
    assert any("pointerful the minimum HeapInuse would be 57,344" in n for n in a.notes)


def test_go18_small_class_exact() -> None:
    """Go 1.8: 48 B is class 4, 170 objects per page, 32 B of tail; no scan/noscan split."""
    a = analyze(prof(smp("main.f", 48, 1000)), "go1.8")
    r = a.class_row(4)
    assert r is not None
    assert (r.objects_per_span, r.objects_per_span_scan) == (170, 170)
    assert (r.spans, r.span_bytes) == (6, 49_152)
    assert r.tail_waste_bytes == 6 * 32
    assert r.free_slot_bytes == (6 * 170 - 1000) * 48 == 960
    assert a.min_heap_inuse == a.totals["min_heap_inuse_scan"] == 49_152
    assert not any("pointerful the minimum" in n for n in a.notes)


@pytest.mark.parametrize(("name", "cls"), [("go1.27", 35), ("go1.8", 34)])
def test_multi_page_class(name: str, cls: int) -> None:
    """1408 B: 2 pages, 11 objects, 896 B of tail, in both versions (no reserve above 512 B)."""
    a = analyze(prof(smp("main.f", 1408, 23)), name)
    r = a.class_row(cls)
    assert r is not None and (r.npages, r.objects_per_span) == (2, 11)
    assert (r.spans, r.span_bytes) == (3, 3 * 2 * PAGE)
    assert r.tail_waste_bytes == 3 * 896
    assert r.free_slot_bytes == (33 - 23) * 1408
    assert r.inuse_bytes + r.free_slot_bytes + r.tail_waste_bytes == r.span_bytes
    assert r.span_bytes_scan == r.span_bytes


def test_eight_byte_slots_are_pointerful() -> None:
    """go1.27: an 8-byte slot is a scan object: 1008 a span (heap bits), not 1024."""
    a = analyze(prof(smp("main.p", 8, 2030)), "go1.27")
    r = a.class_row(1)
    assert r is not None and r.objects_per_span == 1008
    assert (r.spans, r.span_bytes, r.tail_waste_bytes) == (3, 3 * PAGE, 3 * 128)
    assert any("8 B objects are counted as pointerful" in n for n in a.notes)
    g = analyze(prof(smp("main.p", 8, 2030)), "go1.8").class_row(1)
    assert g is not None and (g.objects_per_span, g.spans) == (1024, 2)


def test_tiny_blocks_noted() -> None:
    a = analyze(prof(smp("main.s", 16, 504)), "go1.27")
    r = a.class_row(2)
    assert r is not None and (r.objects_per_span, r.spans) == (504, 1)
    assert any("tiny-allocator blocks" in n for n in a.notes)


@pytest.mark.parametrize("name", ["go1.27", "go1.8"])
def test_large_objects_take_their_pages(name: str) -> None:
    p = prof(
        smp("main.big", 81_920, 2, 7),  # 10 pages
        smp("main.mid", 40_960, 3),  # 5 pages
        smp("main.odd", 40_000, 1),  # not page-rounded: charged 5 pages, and said
    )
    a = analyze(p, name)
    large = a.class_row(0)
    assert large is not None
    assert (large.objects, large.spans) == (6, 6)
    assert large.span_bytes == 2 * 81_920 + 4 * 40_960 == a.min_heap_inuse
    assert [(r.size, r.npages, r.objects, r.alloc_objects) for r in a.large] == [
        (40_960, 5, 4, 4),
        (81_920, 10, 2, 7),
    ]
    assert large.alloc_bytes == 7 * 81_920 + 4 * 40_960
    assert any("40,000 B -> 40,960 B" in n for n in a.notes)


def test_largest_class_is_four_pages_either_way() -> None:
    a = analyze(prof(smp("main.f", 32_768, 3)), "go1.27")
    r = a.class_row(67)
    assert r is not None and (r.npages, r.objects_per_span, r.span_bytes) == (4, 1, 3 * 32_768)
    assert any("both the largest size class" in n for n in a.notes)


def test_slot_class() -> None:
    assert slot_class("go1.27", 24) == (3, 24, 1)
    assert slot_class("go1.8", 24) == (3, 32, 1)  # Go 1.8 has no 24-byte class
    assert slot_class("go1.27", 32_769) == (0, 40_960, 5)
    with pytest.raises(GoheapError, match="unknown profile"):
        slot_class("go9", 16)


def test_sample_without_bytes_label() -> None:
    """No label: the size is alloc_space / alloc_objects (40), charged a 48-byte slot."""
    s = HeapSample((Frame("main.f"),), 10, 400, 4, 160, None)
    a = analyze(prof(s), "go1.27")
    r = a.class_row(5)
    assert r is not None
    assert (r.objects, r.inuse_bytes, r.profile_inuse_bytes) == (4, 4 * 48, 160)
    assert (r.alloc_objects, r.alloc_bytes, r.profile_alloc_bytes) == (10, 480, 400)
    assert a.totals["unlabelled_samples"] == 1
    assert any("no bytes label" in n for n in a.notes)
    assert any("40 B -> 48 B" in n for n in a.notes)
    # Nothing at all to size it by: left out, not an error.
    empty = HeapSample((Frame("main.g"),), 0, 0, 0, 0, None)
    assert analyze(prof(empty), "go1.27").totals["objects"] == 0


def test_sites_aggregate_across_sizes_and_callers() -> None:
    p = prof(
        smp("main.f", 16, 100, 300, line=10),
        smp("main.f", 16, 50, line=10, caller="main.other"),  # same site, another caller
        smp("main.f", 1024, 20, line=10),
        smp("main.f", 81_920, 1, line=10),
        smp("main.f", 48, 7, line=11),  # another line: another site
        smp("main.g", 4096, 30, 40, line=20),
        HeapSample((), 5, 80, 5, 80, 16),
    )
    a = analyze(p, "go1.27")
    sites = {s.site: s for s in a.sites}
    f = sites["main.f /src/main.go:10"]
    assert (f.function, f.file, f.line) == ("main.f", "/src/main.go", 10)
    assert f.objects == 171
    assert f.inuse_bytes == 150 * 16 + 20 * 1024 + 81_920
    assert (f.alloc_objects, f.alloc_bytes) == (371, 350 * 16 + 20 * 1024 + 81_920)
    assert f.classes == {2, 32, 0} and f.sizes == {16, 1024, 81_920}
    assert sites["main.f /src/main.go:11"].objects == 7
    assert sites[NO_STACK].objects == 5
    order = [s.site for s in a.sites]
    assert order[:2] == ["main.g /src/main.go:20", "main.f /src/main.go:10"]  # by in-use bytes
    assert a.class_row(2).sites == 2  # main.f:10 and the empty stack  # type: ignore[union-attr]
    d = a.to_dict()
    assert d["sites"][1]["classes"] == [0, 2, 32]
    json.dumps(d)  # JSON-able


def test_totals_add_up_and_notes() -> None:
    p = prof(
        smp("main.a", 16, 1234, 5000),
        smp("main.b", 48, 99),
        smp("main.c", 1408, 23),
        smp("main.d", 81_920, 2),
        period=512 * 1024,
    )
    a = analyze(p, "go1.27")
    t = a.totals
    for r in a.classes:
        assert r.inuse_bytes + r.free_slot_bytes + r.tail_waste_bytes == r.span_bytes
    assert t["span_bytes"] == sum(r.span_bytes for r in a.classes) == a.min_heap_inuse
    assert t["objects"] == 1234 + 99 + 23 + 2
    assert t["alloc_objects"] == 5000 + 99 + 23 + 2
    assert a.class_row(2).freed_objects == 5000 - 1234  # type: ignore[union-attr]
    assert any("scaleHeapSample" in n and "estimates" in n for n in a.notes)
    assert any("bytes label is the slot" in n for n in a.notes)
    assert any("last completed GC cycle" in n for n in a.notes)
    assert any("fragmentation" in n and "mcache" in n for n in a.notes)


def test_unknown_profile_is_one_line() -> None:
    with pytest.raises(GoheapError, match="unknown profile 'go9'"):
        analyze(prof(smp("main.f", 16, 1)), "go9")


# --- the model's own profile (MemProfileRate = 1) -------------------------------------


@pytest.mark.parametrize("name", ["go1.27", "go1.8"])
def test_model_profile_matches_the_program(name: str) -> None:
    """Objects kept alive by the program = the profile's in-use objects; min <= HeapInuse."""
    sim = pytest.importorskip("goheap.pprof.sim")
    keep = {"main.s24": (24, 700), "main.s100": (100, 300), "main.s3000": (3000, 50)}
    keep["main.big"] = (40_000, 3)
    h = Heap(profile=name, memprofilerate=1)
    try:
        for fn, (size, n) in keep.items():
            box = h.make(POINTER, n, stack=MAIN)
            h.set_global(fn, box)
            for i in range(n):
                h.write_pointer(box, 8 * i, h.malloc(size, None, stack=(fn, *MAIN)))
        for _ in range(2000):  # garbage
            h.malloc(200, None, stack=("main.tmp", *MAIN))
        h.gc()
        h.gc()
        ms = h.read_memstats()
        p = sim.heap_profile_from_runtime(h)
    finally:
        h.close()
    a = analyze(p, name)
    sites = {s.function: s for s in a.sites}
    for fn, (_, n) in keep.items():
        assert sites[fn].objects == n, fn
    assert sites["main.tmp"].objects == 0 and sites["main.tmp"].alloc_objects == 2000
    assert a.totals["objects"] == ms.HeapObjects
    assert a.totals["inuse_bytes"] == ms.HeapAlloc
    assert a.min_heap_inuse <= ms.HeapInuse


# --- what-if -------------------------------------------------------------------------


def test_apportion_is_exact() -> None:
    assert apportion({1: 1, 2: 1, 3: 1}, 10) == {1: 4, 2: 3, 3: 3}
    assert apportion({8: 3, 16: 1}, 8) == {8: 6, 16: 2}
    assert apportion({8: 0}, 5) == {8: 0}
    parts = apportion({16: 7, 48: 11, 4096: 2}, 12_345)
    assert sum(parts.values()) == 12_345


def churny() -> HeapProfile:
    """~1 MiB live; 30,000 objects of 1-2 KiB freed."""
    return prof(
        smp("main.live", 64, 2000),
        smp("main.tab", 4096, 200),
        smp("main.req", 1024, 0, 20_000),
        smp("main.buf", 2048, 0, 10_000),
    )


def test_build_workload_follows_the_freed_mix() -> None:
    a = analyze(churny(), "go1.27")
    w = build_workload(a, budget=12_200)
    # The live objects give the index its 8 bytes each: 2,200 x 947,200 / (947,200 + 8 x 2,200)
    # = 2,160 of them, in the profile's 10:1, and the index holds 2,160 slots.
    assert w.live == ((64, 1964), (4096, 196)) and w.live_scale == 1.0
    assert w.index_bytes == 8 * 2160 and w.inuse_bytes == 947_200
    assert abs(w.live_bytes - w.inuse_bytes) < 4096 + 8  # within one object
    assert w.stream_source == "freed"
    assert w.stream == ((1024, 6693), (2048, 3347))  # 10,040 split 2:1
    assert w.stream_objects == 12_200 - 2160
    assert w.stream_scale == pytest.approx(w.stream_bytes / (20_000 * 1024 + 10_000 * 2048))
    live = _shuffled(w.live, XorShift64(w.seed))
    assert sorted(live) == sorted([64] * 1964 + [4096] * 196)
    assert _shuffled(w.live, XorShift64(w.seed)) == live  # deterministic
    # Too big a live set: scaled to half the budget.
    big = build_workload(a, budget=2_000)
    assert big.live_scale == pytest.approx(1000 / 2200)
    assert big.live == ((64, 893), (4096, 89))  # 909:91, then room for the index
    # Nothing freed: the allocations' mix stands in.
    still = build_workload(analyze(prof(smp("main.x", 64, 500)), "go1.27"), budget=1000)
    # (1,000 allocations less 444 live objects: 500 x 64 / 72, room for the index.)
    assert still.stream_source == "alloc" and still.stream == ((64, 556),)
    with pytest.raises(GoheapError, match="--budget"):
        build_workload(a, budget=10)
    with pytest.raises(GoheapError, match="no objects"):
        build_workload(analyze(prof(), "go1.27"))


@pytest.mark.parametrize("name", ["go1.27", "go1.8"])
def test_whatif_gogc_orders_heap_and_gc_count(name: str) -> None:
    a = analyze(churny(), name)
    w = run_whatif(a, [Setting(50), Setting(100), Setting(200)], budget=20_000, jobs=1)
    runs = w.runs
    assert [r["label"] for r in runs] == ["GOGC=50", "GOGC=100", "GOGC=200"]
    gcs = [r["stream_gcs"] for r in runs]
    per_gib = [r["predicted"]["gcs_per_gib"] for r in runs]
    peaks = [r["predicted"]["peak_HeapInuse"] for r in runs]
    assert gcs[0] > gcs[1] > gcs[2] > 0, gcs
    assert per_gib[0] > per_gib[1] > per_gib[2], per_gib
    assert peaks[0] <= peaks[1] <= peaks[2], peaks
    for r in runs:
        assert r["memstats"]["Mallocs"] >= 20_000
        assert r["peak"]["HeapInuse"] >= a.min_heap_inuse
        # Over the cycles after the warm-up ones, GC start to GC start; under two
        # of those (GOGC=200 here), over the whole stream.
        assert r["cycles"] == len(r["cycle_bytes"])
        if r["cycles"]:
            want = r["cycles"] * 2**30 / sum(r["cycle_bytes"])
        else:
            want = r["stream_gcs"] * 2**30 / w.workload.stream_bytes
        assert r["gcs_per_gib"] == pytest.approx(want)
    assert [r["cycles"] > 0 for r in runs] == [True, True, False]
    assert any("Synthetic workload" in n for n in w.notes)
    json.dumps(w.to_dict())


def test_whatif_is_deterministic_and_scales() -> None:
    a = analyze(churny(), "go1.27")
    w = build_workload(a, budget=3_000)  # the live set is scaled: 1500 of 2200
    one = run_setting(w, Setting(100))
    two = run_setting(w, Setting(100))
    one.pop("wall_s")
    two.pop("wall_s")
    assert one == two
    f = w.live_scale
    assert f < 1
    assert one["predicted"]["peak_HeapInuse"] == round(one["peak"]["HeapInuse"] / f)
    limited = run_setting(w, Setting(100, 64 << 20))
    assert limited["memlimit_simulated"] == int((64 << 20) * f)


def test_whatif_memlimit_drives_gc_with_gogc_off() -> None:
    a = analyze(churny(), "go1.27")
    w = run_whatif(a, [Setting(-1), Setting(-1, 8 << 20)], budget=10_000, alloc_rate=None)
    free, limited = w.runs
    assert free["memstats"]["NumGC"] == 0
    assert limited["memstats"]["NumGC"] > 0
    assert limited["predicted"]["peak_HeapInuse"] < free["predicted"]["peak_HeapInuse"]
    assert w.workload.alloc_rate is None


def test_process_pool_matches_serial() -> None:
    a = analyze(churny(), "go1.8")
    settings = [Setting(50), Setting(200)]
    serial = run_whatif(a, settings, budget=3_000, jobs=1).runs
    pooled = run_whatif(a, settings, budget=3_000, jobs=2).runs
    for one, two in zip(serial, pooled, strict=True):
        one.pop("wall_s")
        two.pop("wall_s")
        assert one == two


def test_alloc_rate_from_the_profile() -> None:
    p = churny()
    assert profile_alloc_rate(analyze(p, "go1.27"))[0] == DEFAULT_ALLOC_RATE
    p.duration_nanos = 2_000_000_000  # a delta profile of 2 s
    a = analyze(p, "go1.27")
    rate, source = profile_alloc_rate(a)
    assert rate == a.totals["alloc_bytes"] / 2 and "duration" in source
    w = run_whatif(a, [Setting(100)], budget=2_000)
    assert w.workload.alloc_rate == rate
    assert any("over its duration" in n for n in w.notes)


def test_a_rate_too_slow_to_simulate_is_refused_at_once() -> None:
    """1 B/s would be centuries of forced GCs; the what-if says so before any work."""
    a = analyze(churny(), "go1.27")
    with pytest.raises(GoheapError, match=r"would take [\d,]+ days of mutator CPU.*at least"):
        run_whatif(a, [Setting(100)], budget=2_000, alloc_rate=1.0)
    p = churny()
    p.duration_nanos = 10**18  # a profile whose own rate is about a byte a year
    with pytest.raises(GoheapError, match=r"over its duration.*days of mutator CPU"):
        run_whatif(analyze(p, "go1.27"), [Setting(100)], budget=2_000)


def test_parse_alloc_rate() -> None:
    assert parse_alloc_rate("200MiB/s") == 200 * 2**20
    assert parse_alloc_rate("1000000") == 1e6
    assert parse_alloc_rate("max") is None
    with pytest.raises(GoheapError, match="--alloc-rate"):
        parse_alloc_rate("fast")


# --- the CLI -------------------------------------------------------------------------


@pytest.fixture
def fake_profile(monkeypatch: pytest.MonkeyPatch) -> HeapProfile:
    """The command reads this profile whatever path it is given."""
    p = prof(
        smp("main.f", 48, 1000, 3000, line=28),
        smp("main.g", 1408, 23, line=33),
        smp("main.h", 81_920, 2, line=40),
        HeapSample((), 5, 80, 5, 80, 16),
    )
    monkeypatch.setattr(command, "load_profile", lambda path, timeout=None: p)
    return p


def test_cli_table(fake_profile: HeapProfile) -> None:
    r = CliRunner().invoke(cli, ["analyze", "heap.pb.gz"], terminal_width=100)
    assert r.exit_code == 0, r.output
    out = r.output
    assert "minimum HeapInuse" in out and "270,336" in out
    assert "main.f main.go:28" in out and "<no stack>" in out
    assert "note: MemProfileRate = 1" not in out  # the notes are behind --verbose
    assert "8 notes on what the profile records" in out and "--verbose" in out
    assert "what-if" not in out
    r = CliRunner().invoke(cli, ["analyze", "heap.pb.gz", "-v"], terminal_width=100)
    assert r.exit_code == 0, r.output
    assert r.output.count("note: ") == 8 and "note: MemProfileRate = 1" in r.output


def test_cli_json(fake_profile: HeapProfile) -> None:
    r = CliRunner().invoke(cli, ["analyze", "heap.pb.gz", "--json", "-"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["kind"] == "analyze" and d["profile"] == "go1.27"
    # 16 B: 1 span; 48 B: 6 spans; 1408 B: 3 two-page spans; 2 large objects of 10 pages.
    assert d["min_heap_inuse"] == PAGE + 6 * PAGE + 3 * 2 * PAGE + 2 * 10 * PAGE == 270_336
    assert [c["class"] for c in d["classes"]] == [2, 5, 35, 0]
    assert "whatif" not in d


def test_cli_whatif_json(fake_profile: HeapProfile) -> None:
    args = ["analyze", "x", "--gogc", "50,200", "--budget", "5000", "-j", "1", "--json", "-"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    runs = d["whatif"]["runs"]
    assert [x["label"] for x in runs] == ["GOGC=50", "GOGC=200"]
    assert d["whatif"]["workload"]["budget"] == 5000


def test_cli_report(fake_profile: HeapProfile, tmp_path: Path) -> None:
    out = tmp_path / "a.html"
    args = ["analyze", "x", "--gogc", "100", "--memlimit", "32MiB", "--budget", "3000"]
    r = CliRunner().invoke(cli, [*args, "-j", "1", "--report", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3
    assert "&lt;no stack&gt;" in page and "<no stack>" not in page
    assert "What-if" in page and "GOGC=100 GOMEMLIMIT=32MiB" in page
    assert "minimum HeapInuse" in page


def test_cli_reads_a_legacy_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end with the real reader: debug=1 text, rate 1 (sizes are bytes / objects)."""
    path = tmp_path / "heap.txt"
    path.write_text(
        "heap profile: 1030: 82240 [3030: 178240] @ heap/2\n"
        "1000: 48000 [3000: 144000] @ 0x4e6ec5 0x4e73b9\n"
        "#\t0x4e6ec4\tmain.allocSmall+0x44\t/src/main.go:28\n"
        "#\t0x4e73b8\tmain.main+0x18\t/src/main.go:40\n"
        "\n"
        "30: 34240 [30: 34240] @ 0x4e6ed5 0x4e73b9\n"
        "#\t0x4e6ed4\tmain.allocBig+0x44\t/src/main.go:33\n"
        "#\t0x4e73b8\tmain.main+0x18\t/src/main.go:40\n"
    )
    assert main(["analyze", str(path), "--json", "-"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["period"] == 1 and d["source"] == str(path)
    five = next(c for c in d["classes"] if c["class"] == 5)
    assert (five["objects"], five["spans"], five["span_bytes"]) == (1000, 6, 49_152)
    assert {s["function"] for s in d["sites"]} == {"main.allocSmall", "main.allocBig"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "/nonexistent/heap.pb.gz"], "/nonexistent/heap.pb.gz"),
        (["analyze", "x", "--profile", "go9"], "'go9' is not one of 'go1.8', 'go1.27'"),
        (["analyze", "x", "--gogc", "abc"], "GOGC"),
        (["analyze", "x", "--memlimit", "lots"], "--memlimit"),
        (["analyze", "x", "--gogc", "100", "--budget", "5"], "--budget"),
        (["analyze", "x", "--gogc", "100", "--cycles", "1"], "--cycles"),
        (["analyze", "x", "--gogc", "100", "--executor", "slurm"], "--executor"),
        (["analyze", "x", "--gogc", "100", "--gctrace=yes"], "--gctrace"),
        (["analyze", "x", "--gogc", "100", "--procs", "0"], "--procs"),
        (["analyze", "x", "--alloc-rate", "fast"], "--alloc-rate"),
        (["analyze", "x", "--gogc", "100", "--profile-gogc", "fast"], "--profile-gogc 'fast'"),
        (["analyze", "x", "--gogc", "100", "--inuse", "both"], "'both' is not one of"),
        (["analyze", "x", "--top", "-1"], "--top"),
    ],
)
def test_cli_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("goheap: error:") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_outputs_checked_first(
    fake_profile: HeapProfile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "out.json"
    existing.write_text("{}")
    assert main(["analyze", "x", "--json", str(existing)]) == 2
    assert "pass -f" in capsys.readouterr().err
    assert main(["analyze", "x", "--json", str(existing), "-f"]) == 0
    assert json.loads(existing.read_text())["kind"] == "analyze"


def test_sampling_error_matches_go_sampling() -> None:
    """The in-use sampling error is the spread Go's sampler gives (Monte Carlo).

    Each object of size s is recorded with probability 1 - exp(-s/rate) and
    counted 1/p times; over many draws the estimate's standard deviation is
    the standard error analyze reports.
    """
    import numpy as np

    from goheap.pprof.analyze import inuse_sampling_error

    rate = 512 * 1024
    population = [(3000, 1024), (200, 9472), (40, 40960)]
    se = inuse_sampling_error(population, rate)
    rng = np.random.default_rng(1)
    totals = np.zeros(4000)
    for n, size in population:
        p = 1 - np.exp(-size / rate)
        totals += rng.binomial(n, p, size=totals.size) * size / p
    true_total = sum(n * s for n, s in population)
    assert abs(totals.mean() - true_total) < 0.05 * true_total  # unbiased
    assert 0.9 * se < totals.std() < 1.1 * se
    assert inuse_sampling_error(population, 1) == 0
    a = analyze(prof(smp("main.f", 1024, 3000), period=rate), "go1.27")
    assert a.totals["inuse_bytes_se"] == inuse_sampling_error([(3000, 1024)], rate) > 0
    assert any("Sampling error" in n for n in a.notes)
    assert analyze(prof(smp("main.f", 1024, 3000)), "go1.27").totals["inuse_bytes_se"] == 0
