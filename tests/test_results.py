"""The run results: true peaks, the timeline, the class table, the breakdown."""

from __future__ import annotations

import pytest

from goheap import Heap
from goheap.heapcensus import breakdown, class_table, live_objects, span_map
from goheap.profiles import get_profile
from goheap.runner import run_workload
from goheap.runtime.common.gotype import POINTER, Type
from tests.go18data import CLASS_TO_SIZE, PAGE


def test_peak_heap_alloc_is_the_true_maximum(make_heap) -> None:
    h: Heap = make_heap(gogc="off")
    ring = h.make(POINTER, 10)
    h.set_global("ring", ring)
    for i in range(10):
        h.write_pointer(ring, i * 8, h.malloc(1000))
    top = h.read_memstats().HeapAlloc
    assert top == 80 + 10 * CLASS_TO_SIZE[next(c for c, s in enumerate(CLASS_TO_SIZE) if s >= 1000)]
    h.drop_global("ring")
    h.gc()
    ms = h.read_memstats()
    assert ms.HeapAlloc == 0
    assert h.stats.peak_heap_alloc == top  # sampling at GC ends would have missed it
    assert h.stats.peak_heap_inuse >= ms.HeapInuse
    h.check()


def test_run_result_schema_and_consistency() -> None:
    r = run_workload("binarytrees", ["depth=10"], profile="go1.8", gogc=10)
    assert {
        "profile", "workload", "params", "procs", "gogc", "memlimit", "liveness", "result",
        "memstats", "peak", "gc", "classes", "breakdown", "spans", "timeline", "sim",
    } <= r.keys()  # fmt: skip
    ms = r["memstats"]
    assert ms["Mallocs"] == 135854 == r["sim"]["allocs"]
    assert r["peak"]["HeapInuse"] >= ms["HeapInuse"]
    # heap_start is heap_live (whole cached spans count), not HeapAlloc.
    assert r["peak"]["HeapAlloc"] >= max(s["HeapAlloc"] for s in r["timeline"])
    assert r["peak"]["HeapInuse"] < ms["TotalAlloc"] / 2  # bounded by the pacer
    # The timeline: times relative to the start, in order, GC events paired.
    tl = r["timeline"]
    times = [s["t_ns"] for s in tl]
    assert times == sorted(times) and times[0] >= 0
    events = [s["event"] for s in tl]
    assert events.count("gc_start") == events.count("gc_end") == ms["NumGC"]
    assert events[-1] == "end" and tl[-1]["HeapAlloc"] == ms["HeapAlloc"]
    assert max(s["HeapInuse"] for s in tl) <= r["peak"]["HeapInuse"]
    # GC cycles relative to the same start, with Go's gctrace line.
    assert r["gc"][0]["gctrace"].startswith("gc 1 @")
    assert all(0 <= c["start_ns"] <= c["end_ns"] for c in r["gc"])
    # The breakdown adds up exactly.
    b = r["breakdown"]
    parts = b["live_bytes"] + b["garbage_bytes"] + b["free_slot_bytes"] + b["tail_waste_bytes"]
    assert parts == b["HeapInuse"] == ms["HeapInuse"]
    assert b["retained_bytes"] + b["released_bytes"] == b["HeapIdle"] == ms["HeapIdle"]
    assert b["HeapInuse"] + b["HeapIdle"] == b["HeapSys"]
    # Classes: objects in use per class equal the span bits; bytes add up.
    total_objects = sum(c["objects"] for c in r["classes"])
    assert total_objects == ms["HeapObjects"]
    assert sum(c["span_bytes"] for c in r["classes"]) == ms["HeapInuse"]


def test_breakdown_live_and_garbage_exact(make_heap) -> None:
    h: Heap = make_heap(gogc="off")
    keep = h.make(POINTER, 4)  # 32 bytes: class 3
    h.set_global("keep", keep)
    for i in range(4):
        h.write_pointer(keep, i * 8, h.malloc(100))  # class 112
    for _ in range(6):
        h.malloc(100)  # garbage
    live = live_objects(h)
    b = breakdown(h, live)
    assert b["live_objects"] == 5 and b["live_bytes"] == 32 + 4 * 112
    assert b["garbage_objects"] == 6 and b["garbage_bytes"] == 6 * 112
    # The rounding estimate: every 100-byte object loses 12 bytes to class 112.
    assert b["rounding_bytes_est"] == 4 * 12
    # Lifetime mode agrees once the same deaths are declared.
    rows = {c["size"]: c for c in class_table(h, live)}
    assert rows[112]["objects"] == 10 and rows[112]["live_objects"] == 4
    assert rows[112]["tail_waste_bytes"] == PAGE - (PAGE // 112) * 112
    sm = span_map(h)
    assert sm["page_size"] == PAGE
    assert [s[2:4] for s in sm["list"]] == [["inuse", 3], ["inuse", 8], ["free", 0]]
    assert sm["list"][-1][:2] == [2, sm["pages"] - 2]  # the rest of the first arena chunk


def test_breakdown_lifetime_mode(make_heap) -> None:
    h: Heap = make_heap(gogc="off", liveness="lifetime")
    xs = [h.malloc(100) for _ in range(10)]
    for x in xs[:6]:
        h.dead(x)
    b = breakdown(h)
    assert (b["live_objects"], b["garbage_objects"]) == (4, 6)


@pytest.mark.parametrize(("profile", "slot"), [("go1.8", 1024), ("go1.27", 1152)])
def test_rounding_counts_the_malloc_header(profile: str, slot: int) -> None:
    """A pointerful 1024-byte object: go1.8 fills its 1024-byte slot; on go1.27
    its 8-byte header moves it to the 1152-byte class, 128 bytes it does not fill."""
    from goheap import Type

    t = Type("main.T", size=1024, pointers=[0])
    with Heap(profile=profile, gogc="off") as h:
        objs = [h.new(t) for _ in range(10)]
        for o in objs:
            h.main.push(o)
        assert h.find_object(objs[0]).size == slot
        assert breakdown(h, live_objects(h))["rounding_bytes_est"] == 10 * (slot - 1024)
    sc = get_profile(profile).sizeclasses
    assert sc.small_slot(1024, noscan=True) == (sc.size_to_class(1024), 1024)
    # Above maxSmallSize - mallocHeaderSize every request is large on go1.27.
    assert (sc.small_slot(32761) is None) == (profile == "go1.27")


def test_requested_counts_every_request_by_size_and_kind() -> None:
    """The request counts the rounding estimate uses: runs of equal sizes, then others."""
    node = Type("main.Node", size=16, pointers=[0, 8])
    with Heap() as h:
        for size in (16, 16, 16, 48, 16, 0):
            h.malloc(size)
        h.new(node)
        h.new(node)
        assert h.requested == {16: 4, 48: 1, 0: 1}
        assert h.requested_scan == {16: 2}
        h.new(node)  # counted on the next read, whichever of the two it is
        assert h.requested_scan == {16: 3} and h.requested == {16: 4, 48: 1, 0: 1}
