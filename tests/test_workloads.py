"""The built-in workloads: exact counts from Go's arithmetic, and graph == lifetime.

Expected numbers come from the programs' own definitions (re-implemented
here: the xorshift64 generator, the size distributions, a plain LRU) and
Go 1.8's size-class table (tests/go18data.py), never from the model:

- ``Mallocs`` is the number of objects the program allocates;
- ``TotalAlloc`` is the sum of every request rounded up to its size class,
  or to whole 8 KiB pages above 32 KiB;
- after ``heap.gc()`` only what the program still references is left, so
  ``HeapObjects`` and ``HeapAlloc`` follow from the live set.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from goheap import GoheapError, Heap
from goheap.runner import run_workload
from goheap.workloads import WORKLOADS, churn, get_workload, large, parse_params
from goheap.workloads.service import HEAD, KEY, NEXT
from goheap.xorshift import XorShift64
from tests.go18data import BYSIZE_LEN, CLASS_TO_ALLOCNPAGES, CLASS_TO_SIZE, PAGE

ORACLE = Path(__file__).parent / "oracle"
SEED = 88172645463325252
M64 = (1 << 64) - 1


# --- the programs' arithmetic, written again from their docstrings -----------


def xorshift(seed: int = SEED) -> Iterator[int]:
    x = seed
    while True:
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        yield x


def churn_sizes(n: int, seed: int = SEED) -> list[int]:
    r = xorshift(seed)
    out = []
    for _ in range(n):
        u = next(r) % 100
        if u < 70:
            out.append(16 + next(r) % 49)
        elif u < 95:
            out.append(65 + next(r) % 1984)
        else:
            out.append(4096 + next(r) % 61441)
    return out


def large_sizes(n: int, seed: int = SEED) -> list[int]:
    r = xorshift(seed)
    out = []
    for _ in range(n):
        lo = 40960 << (next(r) % 7)
        hi = min(2 * lo, 4 << 20)
        out.append(lo + next(r) % (hi - lo + 1))
    return out


def size_class(size: int) -> int:
    return next(c for c in range(1, len(CLASS_TO_SIZE)) if CLASS_TO_SIZE[c] >= size)


def rounded(size: int) -> int:
    """What one allocation of size bytes occupies: its class size, or whole pages."""
    if size <= 32768:
        return CLASS_TO_SIZE[size_class(size)]
    return -(-size // PAGE) * PAGE


def span_bytes(size: int) -> int:
    return CLASS_TO_ALLOCNPAGES[size_class(size)] * PAGE


def by_size_mallocs(sizes: list[int]) -> Counter[int]:
    """Expected BySize[c].Mallocs for the small sizes among sizes."""
    return Counter(size_class(s) for s in sizes if s <= 32768)


def assert_by_size(heap: Heap, expected: Counter[int]) -> None:
    ms = heap.read_memstats()
    got = {c: ms.BySize[c].Mallocs for c in range(BYSIZE_LEN) if ms.BySize[c].Mallocs}
    assert got == {c: n for c, n in expected.items() if c < BYSIZE_LEN}


def run(heap: Heap, name: str, **params: int) -> dict:
    w = get_workload(name)
    return w.run(heap, parse_params(w, [f"{k}={v}" for k, v in params.items()]))


# --- the generator ------------------------------------------------------------


def test_xorshift64_churn_first_sizes() -> None:
    want = [44, 40, 56, 40, 49, 51, 36, 44, 35, 476, 1371, 64, 30, 24, 2005, 51]
    rng = XorShift64()
    assert [churn.next_size(rng) for _ in range(16)] == want
    assert churn_sizes(16) == want


def test_xorshift64_large_first_sizes() -> None:
    want = [63343, 56878, 71171, 4026063, 459175, 182640, 94043, 550549]
    rng = XorShift64()
    assert [large.next_size(rng) for _ in range(8)] == want
    assert large_sizes(8) == want


def test_xorshift64_matches_reference_for_other_seeds() -> None:
    for seed in (1, 12345, M64):
        rng, ref = XorShift64(seed), xorshift(seed)
        assert [rng.next() for _ in range(100)] == [next(ref) for _ in range(100)]


# --- registry and parameters ------------------------------------------------


def test_registry_holds_every_workload_with_its_go_twin() -> None:
    names = {"binarytrees", "retain", "churn", "large", "finalizers", "service", "fragmentation"}
    assert names <= set(WORKLOADS)
    for name in ("churn", "large", "finalizers", "service", "fragmentation"):
        w = WORKLOADS[name]
        assert f"tests/oracle/{name}/main.go" in w.go_program
        assert (ORACLE / name / "main.go").is_file()
        for p in w.params:
            assert p.minimum <= p.default <= p.maximum, (name, p.name)


def test_params_read_as_gos_flag_int() -> None:
    """The Go twins' flag.Int (ParseInt base 0): hex and digit separators, as Go reads them."""
    assert parse_params(get_workload("churn"), ["steps=0x10", "k=1_000"])["steps"] == 16
    assert parse_params(get_workload("churn"), ["k=1_000"])["k"] == 1000


def test_a_billion_steps_is_the_longest_run() -> None:
    assert parse_params(get_workload("churn"), ["steps=1_000_000_000"])["steps"] == 10**9


@pytest.mark.parametrize(
    ("name", "items", "message"),
    [
        ("churn", ["k=0"], "k=0: must be between 1"),
        ("churn", ["seed=0"], "seed=0: must be between 1"),
        ("large", ["window=x"], "expected an integer"),
        ("service", ["capacity=0"], "capacity=0"),
        ("finalizers", ["count=-1"], "count=-1"),
        ("fragmentation", ["sizes=3"], "no parameter 'sizes'"),
        ("churn", ["steps=10", "k=5", "steps=20"], "--param steps is given twice"),
        ("churn", ["steps=1000000000000"], "would take days to weeks .* at most 1,000,000,000"),
        ("large", ["steps=1000000001"], "at most 1,000,000,000 are accepted"),
        ("service", ["requests=10000000000"], "10,000,000,000 requests served would take"),
        ("fragmentation", ["count=4000000000"], "4,000,000,000 objects allocated"),
    ],
)
def test_bad_params_are_one_line_errors(name: str, items: list[str], message: str) -> None:
    with pytest.raises(GoheapError, match=message):
        parse_params(get_workload(name), items)


@pytest.mark.parametrize("size", [1, 8, 15, 32769])
def test_fragmentation_rejects_tiny_and_large_sizes(heap: Heap, size: int) -> None:
    with pytest.raises(GoheapError, match=f"size={size} must be between 16 and 32768"):
        run(heap, "fragmentation", size=size, count=10)
    assert heap.read_memstats().Mallocs == 0  # refused before allocating anything


def test_zero_seed_is_refused_by_the_generator() -> None:
    with pytest.raises(GoheapError, match="seed"):
        XorShift64(0)


# --- churn and large: a ring of slots ----------------------------------------


def test_churn_exact(heap: Heap) -> None:
    k, steps = 64, 4000
    res = run(heap, "churn", k=k, steps=steps)
    sizes = churn_sizes(steps)
    ms = heap.read_memstats()
    assert ms.Mallocs == 1 + steps
    assert ms.TotalAlloc == rounded(8 * k) + sum(rounded(s) for s in sizes)
    assert ms.NumGC >= 1
    assert_by_size(heap, by_size_mallocs([8 * k, *sizes]))
    assert res == {"requested_bytes": sum(sizes), "live_objects": k}
    heap.gc()
    heap.check()
    ms = heap.read_memstats()
    live = sizes[-k:]
    assert ms.HeapObjects == 1 + k
    assert ms.Frees == steps - k
    assert ms.HeapAlloc == rounded(8 * k) + sum(rounded(s) for s in live)
    # The ring: the last object written to each slot.
    ring = heap.g.stack[-1]
    for i in range(k):
        last = i + k * ((steps - 1 - i) // k)  # the last step that wrote slot i
        ref = heap.find_object(heap.read_pointer(ring, 8 * i))
        assert ref is not None and ref.size == rounded(sizes[last])


def test_churn_fewer_steps_than_slots(heap: Heap) -> None:
    res = run(heap, "churn", k=100, steps=10)
    heap.gc()
    ms = heap.read_memstats()
    assert res["live_objects"] == 10
    assert ms.HeapObjects == 11 and ms.Frees == 0


def test_large_exact(heap: Heap) -> None:
    window, steps = 8, 300
    res = run(heap, "large", window=window, steps=steps)
    sizes = large_sizes(steps)
    ms = heap.read_memstats()
    assert ms.Mallocs == 1 + steps
    assert ms.TotalAlloc == rounded(8 * window) + sum(rounded(s) for s in sizes)
    assert ms.NumGC > 3
    assert res["requested_bytes"] == sum(sizes)
    heap.gc()
    heap.check()
    ms = heap.read_memstats()
    live = sizes[-window:]
    assert ms.HeapObjects == 1 + window
    assert ms.HeapAlloc == rounded(8 * window) + sum(rounded(s) for s in live)
    # Every large object is a span of its own; the window shares a one-page span.
    assert ms.HeapInuse == span_bytes(8 * window) + sum(rounded(s) for s in live)


# --- finalizers --------------------------------------------------------------


def test_finalizers_three_gcs_exact(heap: Heap) -> None:
    count = 1000
    res = run(heap, "finalizers", count=count)
    objs = rounded(8 * count)  # the []*Obj slice: 8000 bytes -> the 8192 class
    objs_span = span_bytes(8 * count)
    obj_spans = -(-count // (span_bytes(32) // 32))
    assert res["finalizers_set"] == count
    assert res["after_gc"] == [
        # 1st GC: unreachable, resurrected for their finalizers, which all run.
        {
            "finalizers_run": count,
            "HeapObjects": 1 + count,
            "HeapAlloc": objs + 32 * count,
            "HeapInuse": objs_span + obj_spans * span_bytes(32),
        },
        # 2nd GC: freed. 3rd GC: nothing left to do.
        {"finalizers_run": count, "HeapObjects": 1, "HeapAlloc": objs, "HeapInuse": objs_span},
        {"finalizers_run": count, "HeapObjects": 1, "HeapAlloc": objs, "HeapInuse": objs_span},
    ]
    ms = heap.read_memstats()
    assert ms.Mallocs == 1 + count
    assert ms.Frees == count
    assert ms.TotalAlloc == objs + 32 * count
    assert ms.NumGC == ms.NumForcedGC == 3
    heap.check()


# --- service -----------------------------------------------------------------


def reference_service(requests: int, capacity: int, keys: int, seed: int = SEED) -> dict:
    """The service program on a Python OrderedDict: what it allocates and keeps."""
    r = xorshift(seed)

    def vsize(key: int) -> int:
        h = ((key + 1) * 0x9E3779B97F4A7C15) & M64
        return 64 + (h ^ (h >> 29)) % 1985

    lru: OrderedDict[int, None] = OrderedDict()
    sizes: list[int] = []
    hits = misses = evictions = 0
    for _ in range(requests):
        level = next(r) % keys.bit_length()
        lo, hi = (1 << level) - 1, min((1 << (level + 1)) - 1, keys)
        key = lo + next(r) % (hi - lo)
        sizes.append(128 + next(r) % 385)
        if key in lru:
            hits += 1
            lru.move_to_end(key)
        else:
            misses += 1
            sizes += [16, vsize(key), 56]
            lru[key] = None
            if len(lru) > capacity:
                lru.popitem(last=False)
                evictions += 1
        sizes.append(64 + vsize(key))
    live = [rounded(16) + rounded(vsize(k)) + rounded(56) for k in lru]
    return {
        "result": {"hits": hits, "misses": misses, "evictions": evictions, "entries": len(lru)},
        "sizes": sizes,
        "live_bytes": sum(live),
        "mru_first": list(reversed(lru)),
    }


def heap_lru_keys(heap: Heap) -> list[int]:
    """Walk the heap's LRU list from cache.head, reading each entry's key object."""
    out = []
    e = heap.get_global(HEAD)
    while e:
        out.append(heap.read_word(heap.read_pointer(e, KEY), 0))
        e = heap.read_pointer(e, NEXT)
    return out


def test_service_is_an_exact_lru(heap: Heap) -> None:
    requests, capacity, keys = 3000, 100, 2000
    res = run(heap, "service", requests=requests, capacity=capacity, keys=keys)
    ref = reference_service(requests, capacity, keys)
    assert res == ref["result"]
    assert res["hits"] > 0 and res["evictions"] > 0
    nb = 128  # buckets: the smallest power of two >= capacity
    ms = heap.read_memstats()
    assert ms.Mallocs == 1 + 2 * requests + 3 * res["misses"]
    assert ms.TotalAlloc == rounded(8 * nb) + sum(rounded(s) for s in ref["sizes"])
    assert_by_size(heap, by_size_mallocs([8 * nb, *ref["sizes"]]))
    assert heap_lru_keys(heap) == ref["mru_first"]
    heap.gc()  # the cache, found by tracing from its three globals, survives
    heap.check()
    ms = heap.read_memstats()
    assert ms.HeapObjects == 1 + 3 * capacity
    assert ms.HeapAlloc == rounded(8 * nb) + ref["live_bytes"]
    assert heap_lru_keys(heap) == ref["mru_first"]


def test_service_everything_hits_when_the_cache_holds_every_key(heap: Heap) -> None:
    res = run(heap, "service", requests=500, capacity=16, keys=16)
    assert res["misses"] == 16 and res["evictions"] == 0 and res["hits"] == 484


# --- fragmentation (golang/go#18896) ------------------------------------------


@pytest.mark.parametrize(("size", "count"), [(64, 20000), (16, 6000), (100, 6000), (3000, 5000)])
def test_fragmentation_one_survivor_per_span(heap: Heap, size: int, count: int) -> None:
    res = run(heap, "fragmentation", size=size, count=count)
    c = size_class(size)
    cls, span = CLASS_TO_SIZE[c], CLASS_TO_ALLOCNPAGES[c] * PAGE
    nelems = span // cls
    kept = -(-count // nelems)
    all_ = rounded(8 * count)  # > 32 KiB: a large span of its own
    assert all_ > 32768
    assert res == {
        "class_size": cls,
        "span_bytes": span,
        "nelems": nelems,
        "kept": kept,
        "HeapAlloc": all_ + kept * cls,
        "HeapInuse": all_ + kept * span,
    }
    ms = heap.read_memstats()
    assert ms.HeapAlloc == all_ + kept * cls
    assert ms.HeapInuse == all_ + kept * span
    assert ms.HeapObjects == 1 + kept
    assert ms.Mallocs == 1 + count and ms.Frees == count - kept
    heap.check()
    spans = [s for s in heap.inuse_spans() if s.sizeclass == c]
    assert len(spans) == kept and all(s.allocCount == 1 for s in spans)


# --- graph and lifetime liveness agree -------------------------------------------

SMALL: dict[str, dict[str, int]] = {
    "binarytrees": {"depth": 10},
    "retain": {"size": 48, "count": 40000},
    "churn": {"k": 200, "steps": 8000},
    "large": {"window": 8, "steps": 150},
    "finalizers": {"count": 2000},
    "service": {"requests": 4000, "capacity": 300, "keys": 5000},
    "fragmentation": {"size": 48, "count": 90000},
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_graph_and_lifetime_modes_give_identical_memstats(
    make_heap: Callable[..., Heap], name: str
) -> None:
    # GOGC=25: a 1 MiB heap minimum, so that every one of these small runs collects.
    g = make_heap(liveness="graph", gogc=25)
    lt = make_heap(liveness="lifetime", gogc=25)
    rg = run(g, name, **SMALL[name])
    rl = run(lt, name, **SMALL[name])
    assert rg == rl
    mg, ml = g.read_memstats().to_dict(), lt.read_memstats().to_dict()
    assert mg["NumGC"] >= 1
    assert mg == ml
    g.gc()
    lt.gc()
    assert g.read_memstats().to_dict() == lt.read_memstats().to_dict()
    g.check()
    lt.check()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["churn", "large", "finalizers", "service", "fragmentation"])
def test_graph_and_lifetime_agree_with_default_params(
    make_heap: Callable[..., Heap], name: str
) -> None:
    w = get_workload(name)
    g = make_heap(liveness="graph")
    lt = make_heap(liveness="lifetime")
    assert w.run(g, w.defaults()) == w.run(lt, w.defaults())
    assert g.read_memstats().to_dict() == lt.read_memstats().to_dict()
    g.check()
    lt.check()


@pytest.mark.parametrize("name", ["churn", "large", "finalizers", "service", "fragmentation"])
def test_runner_results_are_json(name: str) -> None:
    params = {
        "churn": ["k=8", "steps=100"],
        "large": ["window=2", "steps=5"],
        "finalizers": ["count=10"],
        "service": ["requests=50", "capacity=4", "keys=20"],
        "fragmentation": ["count=5000"],
    }[name]
    doc = run_workload(name, params, profile="go1.8")
    assert doc["workload"] == name
    json.dumps(doc)
