"""goheap.runtime.go127.mpagealloc: the page allocator's grow, alloc and free.

The cases of Go's mpagealloc_test.go, with the same chunk and page indices, and a
property test of pageAlloc against a flat brute-force model of the heap.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goheap.runtime.go127.mpagealloc import (
    CHUNKS_L2_BYTES,
    LEVEL_LOG_PAGES,
    LEVEL_SHIFT,
    SUMMARY_L0_BITS,
    PageAlloc,
    chunkBase,
    chunkIndex,
    chunkPageIndex,
)
from goheap.runtime.go127.mpagecache import PAGE_CACHE_PAGES
from goheap.runtime.go127.mpallocbits import (
    PALLOC_CHUNK_BYTES,
    unpackPallocSum,
)
from goheap.runtime.go127.mranges import (
    UINTPTR_MASK,
    off,
)
from tests.go127_page_helpers import (
    BIG_JUMP,
    M64,
    PS,
    B,
    P,
    check_page_alloc,
    new_page_alloc,
    page_base,
)

# ==========================================================================
# mpagealloc_test.go
# ==========================================================================


def _grow_cases() -> dict[str, tuple[list[int], list[tuple[int, int]]]]:
    def rng(a: int, b: int) -> tuple[int, int]:
        return page_base(B + a, 0), page_base(B + b, 0)

    many = list(range(0, 65, 2))
    return {
        "One": ([B], [rng(0, 1)]),
        "Contiguous2": ([B, B + 1], [rng(0, 2)]),
        "Contiguous5": ([B + k for k in range(5)], [rng(0, 5)]),
        "Discontiguous": ([B, B + 2, B + 4], [rng(0, 1), rng(2, 3), rng(4, 5)]),
        "Mixed": ([B, B + 1, B + 2, B + 4], [rng(0, 3), rng(4, 5)]),
        "WildlyDiscontiguous": (
            [B, B + 1, B + 0x10, B + 0x21],
            [rng(0, 2), rng(0x10, 0x11), rng(0x21, 0x22)],
        ),
        "ManyDiscontiguous": ([B + k for k in many], [rng(k, k + 1) for k in many]),
        "ExtremelyDiscontiguous": (
            [B, B + BIG_JUMP],
            [rng(0, 1), rng(BIG_JUMP, BIG_JUMP + 1)],
        ),
    }


_GROW = _grow_cases()


@pytest.mark.parametrize("name", sorted(_GROW))
def test_page_alloc_grow(name: str) -> None:
    chunks, in_use = _GROW[name]
    b = new_page_alloc({c: [] for c in chunks})
    assert [(r.base, r.limit) for r in b.inUse.ranges] == in_use


def test_page_alloc_grow_metadata_bytes() -> None:
    # One chunk at 0xc000000000: one 1 MiB block of the chunk map, the whole
    # root summary level (16384 x 8 B) plus one physical page at each other
    # level, and one page of the scavenge index.
    p = PageAlloc()
    base = 0xC000000000
    p.grow(base, PALLOC_CHUNK_BYTES)
    root = (1 << SUMMARY_L0_BITS) * 8
    assert p.summaryMappedReady == root + 4 * 4096 + 4096
    assert p.sysStat == CHUNKS_L2_BYTES + root + 4 * 4096 + 4096
    assert CHUNKS_L2_BYTES == 1 << 20
    # A contiguous growth of 60 more chunks maps nothing new at the root and at
    # levels 1..2; 61 chunks' leaf entries still fit in the first page.
    before = p.sysStat
    p.grow(base + PALLOC_CHUNK_BYTES, 60 * PALLOC_CHUNK_BYTES)
    assert p.sysStat == before
    # Growth in a far-away region (+1 TiB) maps new summary pages at levels
    # 1..4 and a new chunk-map block; the scavenge index is always mapped
    # contiguously from the lowest to the highest chunk (2^18 entries of 8 B).
    p.grow(base + (1 << 40), PALLOC_CHUNK_BYTES)
    assert p.sysStat - before == CHUNKS_L2_BYTES + 4 * 4096 + (1 << 18) * 8
    assert p.inUse.persistent_bytes == 16 * 16


# hits: (npages, base, scav)
_AllocCase = tuple[
    dict[int, list[tuple[int, int]]],
    dict[int, list[tuple[int, int]]],
    list[tuple[int, int, int]],
    dict[int, list[tuple[int, int]]],
]


def _alloc_cases() -> dict[str, _AllocCase]:
    pb = page_base
    t: dict[str, _AllocCase] = {}
    # name: (before, scav, hits, after)
    t["AllFree1"] = (
        {B: []},
        {B: [(0, 1), (2, 2)]},
        [
            (1, pb(B, 0), PS),
            (1, pb(B, 1), 0),
            (1, pb(B, 2), PS),
            (1, pb(B, 3), PS),
            (1, pb(B, 4), 0),
        ],
        {B: [(0, 5)]},
    )
    t["ManyArena1"] = (
        {B: [(0, P)], B + 1: [(0, P)], B + 2: [(0, P - 1)]},
        {B: [(0, P)], B + 1: [(0, P)], B + 2: [(0, P)]},
        [(1, pb(B + 2, P - 1), PS)],
        {B: [(0, P)], B + 1: [(0, P)], B + 2: [(0, P)]},
    )
    t["NotContiguous1"] = (
        {B: [(0, P)], B + 0xFF: [(0, 0)]},
        {B: [(0, P)], B + 0xFF: [(0, P)]},
        [(1, pb(B + 0xFF, 0), PS)],
        {B: [(0, P)], B + 0xFF: [(0, 1)]},
    )
    t["AllFree2"] = (
        {B: []},
        {B: [(0, 3), (7, 1)]},
        [
            (2, pb(B, 0), 2 * PS),
            (2, pb(B, 2), PS),
            (2, pb(B, 4), 0),
            (2, pb(B, 6), PS),
            (2, pb(B, 8), 0),
        ],
        {B: [(0, 10)]},
    )
    t["Straddle2"] = (
        {B: [(0, P - 1)], B + 1: [(1, P - 1)]},
        {B: [(P - 1, 1)], B + 1: []},
        [(2, pb(B, P - 1), PS)],
        {B: [(0, P)], B + 1: [(0, P)]},
    )
    t["AllFree5"] = (
        {B: []},
        {B: [(0, 8), (9, 1), (17, 5)]},
        [
            (5, pb(B, 0), 5 * PS),
            (5, pb(B, 5), 4 * PS),
            (5, pb(B, 10), 0),
            (5, pb(B, 15), 3 * PS),
            (5, pb(B, 20), 2 * PS),
        ],
        {B: [(0, 25)]},
    )
    t["ExhaustPallocChunkPages-3"] = (
        {B: []},
        {B: [(10, 1)]},
        [
            (P - 3, pb(B, 0), PS),
            (P - 3, 0, 0),
            (1, pb(B, P - 3), 0),
            (2, pb(B, P - 2), 0),
            (1, 0, 0),
            (P - 3, 0, 0),
        ],
        {B: [(0, P)]},
    )
    t["AllFreePallocChunkPages"] = (
        {B: []},
        {B: [(0, 1), (P - 1, 1)]},
        [(P, pb(B, 0), 2 * PS), (P, 0, 0), (1, 0, 0)],
        {B: [(0, P)]},
    )
    t["StraddlePallocChunkPages+1"] = (
        {B: [(0, P // 2)], B + 1: []},
        {B: [(0, P)], B + 1: [(0, P)]},
        [(P + 1, pb(B, P // 2), (P + 1) * PS), (P, 0, 0), (1, pb(B + 1, P // 2 + 1), PS)],
        {B: [(0, P)], B + 1: [(0, P // 2 + 2)]},
    )
    t["AllFreePallocChunkPages*2"] = (
        {B: [], B + 1: []},
        {B: [], B + 1: []},
        [(P * 2, pb(B, 0), 0), (P * 2, 0, 0), (1, 0, 0)],
        {B: [(0, P)], B + 1: [(0, P)]},
    )
    t["NotContiguousPallocChunkPages*2"] = (
        {B: [], B + 0x40: [], B + 0x41: []},
        {B: [(0, P)], B + 0x40: [], B + 0x41: []},
        [(P * 2, pb(B + 0x40, 0), 0), (21, pb(B, 0), 21 * PS), (1, pb(B, 21), PS)],
        {B: [(0, 22)], B + 0x40: [(0, P)], B + 0x41: [(0, P)]},
    )
    t["StraddlePallocChunkPages*5/4"] = (
        {B: [(0, P)], B + 1: [(0, P * 3 // 4)], B + 2: [(0, P * 3 // 4)], B + 3: [(0, 0)]},
        {
            B: [(0, P)],
            B + 1: [(P // 2, P // 4 + 1)],
            B + 2: [(P // 3, 1)],
            B + 3: [(P * 2 // 3, 1)],
        },
        [
            (P * 5 // 4, pb(B + 2, P * 3 // 4), PS),
            (P * 5 // 4, 0, 0),
            (1, pb(B + 1, P * 3 // 4), PS),
        ],
        {B: [(0, P)], B + 1: [(0, P * 3 // 4 + 1)], B + 2: [(0, P)], B + 3: [(0, P)]},
    )
    t["AllFree64"] = (
        {B: []},
        {B: [(21, 1), (63, 65)]},
        [(64, pb(B, 0), 2 * PS), (64, pb(B, 64), 64 * PS), (64, pb(B, 128), 0)],
        {B: [(0, 192)]},
    )
    t["AllFree65"] = (
        {B: []},
        {B: [(129, 1)]},
        [(65, pb(B, 0), 0), (65, pb(B, 65), PS), (65, pb(B, 130), 0)],
        {B: [(0, 195)]},
    )
    t["StraddlePallocChunkPages"] = (
        {B: [(0, P // 2)], B + 1: [(P // 2, P // 2)]},
        {B: [], B + 1: [(3, 100)]},
        [(P, pb(B, P // 2), 100 * PS), (P, 0, 0), (1, 0, 0)],
        {B: [(0, P)], B + 1: [(0, P)]},
    )
    eight: dict[int, list[tuple[int, int]]] = {B + k: [] for k in range(8)}
    t["AllFreePallocChunkPages*7+5"] = (
        eight,
        {
            B: [(50, 1)],
            B + 1: [(31, 1)],
            B + 2: [(7, 1)],
            B + 3: [(200, 1)],
            B + 4: [(3, 1)],
            B + 5: [(51, 1)],
            B + 6: [(20, 1)],
            B + 7: [(1, 1)],
        },
        [(P * 7 + 5, pb(B, 0), 8 * PS), (P * 7 + 5, 0, 0), (1, pb(B + 7, 5), 0)],
        {**{B + k: [(0, P)] for k in range(7)}, B + 7: [(0, 6)]},
    )
    t["StraddlePallocChunkPages*2"] = (
        {B: [(0, P // 2)], B + 1: [], B + 2: [(P // 2, P // 2)]},
        {B: [(0, 7)], B + 1: [(3, 5), (121, 10)], B + 2: [(P // 2 + 12, 2)]},
        [(P * 2, pb(B, P // 2), 15 * PS), (P * 2, 0, 0), (1, 0, 0)],
        {B: [(0, P)], B + 1: [(0, P)], B + 2: [(0, P)]},
    )
    sums_per_phys_page = 4096 // 8
    bb = B & ~(sums_per_phys_page - 1)
    t["DiscontiguousMappedSumBoundary"] = (
        {bb + sums_per_phys_page - 1: [], bb + BIG_JUMP: []},
        {bb + sums_per_phys_page - 1: [], bb + BIG_JUMP: []},
        [
            (P - 1, pb(bb + sums_per_phys_page - 1, 0), 0),
            (1, pb(bb + sums_per_phys_page - 1, P - 1), 0),
            (1, pb(bb + BIG_JUMP, 0), 0),
            (P - 1, pb(bb + BIG_JUMP, 1), 0),
            (1, 0, 0),
        ],
        {bb + sums_per_phys_page - 1: [(0, P)], bb + BIG_JUMP: [(0, P)]},
    )
    small = 0x503
    t["DiscontiguousBadSearchAddr"] = (
        {B: [(0, P - 1)], B + BIG_JUMP + small: [(0, P - 10), (P - 1, 1)], B + 2 * BIG_JUMP: []},
        {B: [], B + BIG_JUMP + small: [], B + 2 * BIG_JUMP: []},
        [
            (1, pb(B, P - 1), 0),
            (100, pb(bb + 2 * BIG_JUMP, 0), 0),
            (9, pb(bb + BIG_JUMP + small, P - 10), 0),
        ],
        {B: [(0, P)], B + BIG_JUMP + small: [(0, P)], B + 2 * BIG_JUMP: [(0, 100)]},
    )
    return t


_ALLOC = _alloc_cases()


@pytest.mark.parametrize("name", sorted(_ALLOC))
def test_page_alloc_alloc(name: str) -> None:
    before, scav, hits, after = _ALLOC[name]
    b = new_page_alloc(before, scav)
    for k, (npages, base, want_scav) in enumerate(hits):
        got = b.alloc(npages)
        assert got == (base, want_scav), f"alloc #{k + 1}: got ({got[0]:#x}, {got[1]})"
        b.checkSummaries()
    check_page_alloc(new_page_alloc(after, scav), b)


@pytest.mark.parametrize("npages", [1, 2, 3, 4, 5, 8, 16, 64, 1024, 1025, 2048, 2049])
def test_page_alloc_exhaust(npages: int) -> None:
    b = new_page_alloc({B + k: [] for k in range(4)})
    n_alloc = (P * 4) // npages
    for k in range(n_alloc):
        assert b.alloc(npages)[0] == page_base(B, k * npages), f"alloc #{k + 1}"
    assert b.alloc(npages)[0] == 0
    left = n_alloc * npages
    want: dict[int, list[tuple[int, int]]] = {}
    for k in range(4):
        if left >= P:
            want[B + k] = [(0, P)]
            left -= P
        elif left > 0:
            want[B + k] = [(0, left)]
            left = 0
        else:
            want[B + k] = []
    check_page_alloc(new_page_alloc(want), b)


def _free_cases() -> dict[str, tuple]:
    pb = page_base
    full = [(0, P)]
    t: dict[str, tuple] = {
        # name: (npages, before, frees, after)
        "Free1": (1, {B: full}, [pb(B, k) for k in range(5)], {B: [(5, P - 5)]}),
        "ManyArena1": (
            1,
            {B: full, B + 1: full, B + 2: full},
            [pb(B, P // 2), pb(B + 1, 0), pb(B + 2, P - 1)],
            {B: [(0, P // 2), (P // 2 + 1, P // 2 - 1)], B + 1: [(1, P - 1)], B + 2: [(0, P - 1)]},
        ),
        "Free2": (2, {B: full}, [pb(B, k) for k in range(0, 10, 2)], {B: [(10, P - 10)]}),
        "Straddle2": (
            2,
            {B: [(P - 1, 1)], B + 1: [(0, 1)]},
            [pb(B, P - 1)],
            {B: [], B + 1: []},
        ),
        "Free5": (5, {B: full}, [pb(B, k) for k in range(0, 25, 5)], {B: [(25, P - 25)]}),
        "Free64": (64, {B: full}, [pb(B, 0), pb(B, 64), pb(B, 128)], {B: [(192, P - 192)]}),
        "Free65": (65, {B: full}, [pb(B, 0), pb(B, 65), pb(B, 130)], {B: [(195, P - 195)]}),
        "FreePallocChunkPages": (P, {B: full}, [pb(B, 0)], {B: []}),
        "StraddlePallocChunkPages": (
            P,
            {B: [(P // 2, P // 2)], B + 1: [(0, P // 2)]},
            [pb(B, P // 2)],
            {B: [], B + 1: []},
        ),
        "StraddlePallocChunkPages+1": (
            P + 1,
            {B: full, B + 1: full},
            [pb(B, P // 2)],
            {B: [(0, P // 2)], B + 1: [(P // 2 + 1, P // 2 - 1)]},
        ),
        "FreePallocChunkPages*2": (P * 2, {B: full, B + 1: full}, [pb(B, 0)], {B: [], B + 1: []}),
        "StraddlePallocChunkPages*2": (
            P * 2,
            {B: full, B + 1: full, B + 2: full},
            [pb(B, P // 2)],
            {B: [(0, P // 2)], B + 1: [], B + 2: [(P // 2, P // 2)]},
        ),
        "AllFreePallocChunkPages*7+5": (
            P * 7 + 5,
            {B + k: full for k in range(8)},
            [pb(B, 0)],
            {**{B + k: [] for k in range(7)}, B + 7: [(5, P - 5)]},
        ),
    }
    return t


_FREE = _free_cases()


@pytest.mark.parametrize("name", sorted(_FREE))
def test_page_alloc_free(name: str) -> None:
    npages, before, frees, after = _FREE[name]
    b = new_page_alloc(before)
    for addr in frees:
        b.free(addr, npages)
        b.checkSummaries()
    check_page_alloc(new_page_alloc(after), b)


def test_page_alloc_alloc_and_free() -> None:
    b = new_page_alloc({B + k: [] for k in range(8)})
    base = page_base(B, 0)
    hits = [(True, P * 8), (False, P * 8)] * 3 + [(True, 1), (False, 1), (True, P * 8)]
    for k, (is_alloc, npages) in enumerate(hits):
        if is_alloc:
            assert b.alloc(npages)[0] == base, f"alloc #{k + 1}"
        else:
            b.free(base, npages)


def test_page_alloc_empty_and_search_addr() -> None:
    p = PageAlloc()
    assert p.alloc(1) == (0, 0)  # nothing grown: searchAddr is maxSearchAddr
    p.grow(page_base(B, 0), PALLOC_CHUNK_BYTES)
    assert p.searchAddr == page_base(B, 0)
    # Fresh memory is scavenged: the first allocation reports all of it.
    assert p.alloc(3) == (page_base(B, 0), 3 * PS)
    # searchAddr becomes the first free page seen *before* allocating (a lower
    # bound), so it only moves past the run on the next search.
    assert p.searchAddr == page_base(B, 0)
    assert p.alloc(1) == (page_base(B, 3), PS)
    assert p.searchAddr == page_base(B, 3)
    p.free(page_base(B, 1), 1)
    assert p.searchAddr == page_base(B, 1)
    assert p.alloc(1) == (page_base(B, 1), 0)  # freed pages are not scavenged
    # Growing below the current searchAddr lowers it.
    p.grow(page_base(B - 4, 0), PALLOC_CHUNK_BYTES)
    assert p.searchAddr == page_base(B - 4, 0)
    assert p.alloc(2)[0] == page_base(B - 4, 0)


# ==========================================================================
# Property tests: pageAlloc against a flat brute-force model
# ==========================================================================


class FlatHeap:
    """Brute-force model: per grown chunk an in-use and a scavenged bitmap, nothing else."""

    def __init__(self) -> None:
        self.alloc: dict[int, int] = {}
        self.scav: dict[int, int] = {}

    def grow(self, ci: int) -> None:
        self.alloc[ci] = 0
        self.scav[ci] = (1 << P) - 1

    def segments(self) -> list[tuple[int, str]]:
        """Address-contiguous runs of grown chunks: (first chunk, '0'/'1' per page, 1 = in use)."""
        out: list[tuple[int, str]] = []
        for ci in sorted(self.alloc):
            s = "".join("1" if (self.alloc[ci] >> i) & 1 else "0" for i in range(P))
            if out and out[-1][0] + len(out[-1][1]) // P == ci:
                out[-1] = (out[-1][0], out[-1][1] + s)
            else:
                out.append((ci, s))
        return out

    def first_fit(self, npages: int) -> int:
        for ci, s in self.segments():
            k = s.find("0" * npages)
            if k >= 0:
                return chunkBase(ci) + k * PS
        return 0

    def pages(self, addr: int, npages: int) -> list[tuple[int, int]]:
        out = []
        for k in range(npages):
            a = addr + k * PS
            out.append((chunkIndex(a), chunkPageIndex(a)))
        return out

    def take(self, addr: int, npages: int) -> int:
        scav = 0
        for ci, i in self.pages(addr, npages):
            assert not (self.alloc[ci] >> i) & 1
            scav += (self.scav[ci] >> i) & 1
            self.alloc[ci] |= 1 << i
            self.scav[ci] &= ~(1 << i)
        return scav * PS

    def give(self, addr: int, npages: int) -> None:
        for ci, i in self.pages(addr, npages):
            assert (self.alloc[ci] >> i) & 1
            self.alloc[ci] &= ~(1 << i)

    def free_runs(self) -> list[tuple[int, int]]:
        """Free runs as (first page number in the offset view, length)."""
        runs = []
        for ci, s in self.segments():
            first = off(chunkBase(ci)) // PS
            for m in re.finditer("0+", s):
                runs.append((first + m.start(), m.end() - m.start()))
        return runs


def brute_summary(runs: list[tuple[int, int]], level: int, idx: int) -> tuple[int, int, int]:
    """(start, max, end) of the free pages inside summary[level][idx], from the free runs."""
    npages = 1 << LEVEL_LOG_PAGES[level]
    lo = idx << (LEVEL_SHIFT[level] - 13)
    hi = lo + npages
    start = most = end = 0
    for rs, rl in runs:
        a, b = max(rs, lo), min(rs + rl, hi)
        if a >= b:
            continue
        most = max(most, b - a)
        if a == lo:
            start = b - a
        if b == hi:
            end = b - a
    return start, most, end


def check_against_model(pa: PageAlloc, model: FlatHeap) -> None:
    assert set(pa.chunks) == set(model.alloc)
    for ci, chunk in pa.chunks.items():
        assert chunk.v == model.alloc[ci], f"in-use bits of chunk {ci:#x}"
        assert chunk.scavenged.v == model.scav[ci], f"scavenged bits of chunk {ci:#x}"
    runs = model.free_runs()
    for level in range(len(LEVEL_SHIFT)):
        shift_chunks = LEVEL_SHIFT[level] - 22
        entries = set(pa.summary[level]) | {ci >> shift_chunks for ci in model.alloc}
        for idx in entries:
            got = unpackPallocSum(pa.summary[level].get(idx, 0))
            assert got == brute_summary(runs, level, idx), f"summary[{level}][{idx:#x}]"
    pa.checkSummaries()  # also: every page below searchAddr is in use


_CHUNKS_AT_START = [B, B + 1, B + 0x41]
_GROWABLE = [B + 2, B - 1, B + 0x1000, B + 0x40]

_action = st.one_of(
    st.tuples(st.just("alloc"), st.integers(1, 20)),
    st.tuples(st.just("alloc"), st.integers(20, 700)),
    st.tuples(st.just("alloc"), st.integers(500, 1600)),
    st.tuples(st.just("free"), st.integers(0, 1 << 16)),
    st.tuples(st.just("free"), st.integers(0, 1 << 16)),
    st.tuples(st.just("grow"), st.sampled_from(_GROWABLE)),
    st.tuples(st.just("cache"), st.integers(0, 70)),
    st.tuples(st.just("scavenge"), st.sampled_from([PS, 5 * PS, 64 << 10, UINTPTR_MASK])),
)


@settings(max_examples=300, deadline=None)
@given(actions=st.lists(_action, min_size=1, max_size=50))
def test_page_alloc_first_fit_and_summaries_property(actions: list[tuple[str, int]]) -> None:
    """find returns the lowest free run; summaries equal a brute-force recomputation."""
    pa = PageAlloc()
    model = FlatHeap()
    for ci in _CHUNKS_AT_START:
        pa.grow(chunkBase(ci), PALLOC_CHUNK_BYTES)
        model.grow(ci)
    live: list[tuple[int, int]] = []
    for kind, arg in actions:
        if kind == "alloc":
            want = model.first_fit(arg)
            addr, scav = pa.alloc(arg)
            assert addr == want, f"alloc({arg}): got {addr:#x}, want {want:#x}"
            if addr:
                assert scav == model.take(addr, arg)
                live.append((addr, arg))
        elif kind == "free" and live:
            addr, n = live.pop(arg % len(live))
            pa.free(addr, n)
            model.give(addr, n)
        elif kind == "grow" and arg not in model.alloc:
            pa.grow(chunkBase(arg), PALLOC_CHUNK_BYTES)
            model.grow(arg)
        elif kind == "cache":
            first = model.first_fit(1)
            c = pa.allocToCache()
            if first == 0:
                assert c.empty() and c.base == 0
                continue
            block = first & ~(PAGE_CACHE_PAGES * PS - 1)
            ci = chunkIndex(block)
            pi = chunkPageIndex(block)
            assert c.base == block
            assert c.cache == ~(model.alloc[ci] >> pi) & M64
            scav_before = model.scav[ci]
            for k in range(64):
                if (c.cache >> k) & 1:
                    model.take(block + k * PS, 1)
            # Take some pages out of the cache, flush the rest back.
            for _ in range(arg % 8):
                n = 1 + arg % 5
                a, s = c.alloc(n)
                if a == 0:
                    break
                k0 = (a - block) // PS
                assert s == ((scav_before >> (pi + k0)) & ((1 << n) - 1)).bit_count() * PS
                live.append((a, n))
            cache_left = c.cache
            c.flush(pa)
            for k in range(64):
                if (cache_left >> k) & 1:
                    model.give(block + k * PS, 1)
                    if (scav_before >> (pi + k)) & 1:
                        model.scav[ci] |= 1 << (pi + k)
        elif kind == "scavenge":
            before = {ci: v for ci, v in model.scav.items()}
            released = pa.scavenge(arg, None, True)
            assert released % PS == 0
            gained = 0
            for ci, chunk in pa.chunks.items():
                new = chunk.scavenged.v
                assert new & before[ci] == before[ci], "scavenging never unscavenges"
                assert new & model.alloc[ci] == 0, "only free pages are scavenged"
                gained += (new & ~before[ci]).bit_count()
                model.scav[ci] = new
            assert gained * PS == released
            if arg == UINTPTR_MASK:
                for ci in model.alloc:
                    assert model.scav[ci] | model.alloc[ci] == (1 << P) - 1
        check_against_model(pa, model)
