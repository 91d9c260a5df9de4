"""Tests of the go1.27 page allocator modules (goheap.runtime.go127.mpa*, mpagecache, mranges,
marena).

Most tables are the cases of the Go runtime's own tests (mpallocbits_test.go,
mpagealloc_test.go, mpagecache_test.go, mranges_test.go, mgcscavenge_test.go),
restated here with the same chunk indices, page indices and expected results.
The property tests check the allocator against brute-force models.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goheap.errors import RuntimeThrow
from goheap.runtime.go127.marena import (
    HEAP_ARENA_BYTES,
    HEAP_ARENA_STRUCT_BYTES,
    HeapArenas,
    arenaIndex,
)
from goheap.runtime.go127.mpagealloc import (
    CHUNKS_L2_BYTES,
    LEVEL_LOG_PAGES,
    LEVEL_SHIFT,
    SUMMARY_L0_BITS,
    PageAlloc,
    ScavengeIndex,
    chunkBase,
    chunkIndex,
    chunkPageIndex,
)
from goheap.runtime.go127.mpagecache import PAGE_CACHE_PAGES, PageCache
from goheap.runtime.go127.mpallocbits import (
    FREE_CHUNK_SUM,
    NOT_FOUND,
    PAGE_SIZE,
    PALLOC_CHUNK_BYTES,
    PALLOC_CHUNK_PAGES,
    PallocBits,
    PallocData,
    fillAligned,
    findBitRange64,
    packPallocSum,
    sumEnd,
    sumMax,
    sumStart,
    unpackPallocSum,
)
from goheap.runtime.go127.mranges import (
    ARENA_BASE_OFFSET,
    MAX_OFF_ADDR,
    UINTPTR_MASK,
    AddrRange,
    AddrRanges,
    off,
)

P = PALLOC_CHUNK_PAGES
PS = PAGE_SIZE
M64 = (1 << 64) - 1
#: The tests' ``BaseChunkIdx``: the chunk at 0xc000 * pallocChunkBytes.
B = chunkIndex(0xC000 * PALLOC_CHUNK_BYTES)
BIG_JUMP = 0x100000  # chunk index offset of O(TiB)


def page_base(ci: int, pi: int) -> int:
    """``PageBase``."""
    return chunkBase(ci) + pi * PS


def make_bits(ranges: list[tuple[int, int]]) -> PallocBits:
    b = PallocBits()
    for i, n in ranges:
        b.allocRange(i, n)
    return b


def inverted(b: PallocBits) -> PallocBits:
    return PallocBits(~b.v & ((1 << P) - 1))


def summarize_slow(v: int) -> int:
    """Bit-by-bit reference for ``summarize`` (1 = in use)."""
    bits = [(v >> i) & 1 for i in range(P)]
    start = 0
    while start < P and bits[start] == 0:
        start += 1
    end = 0
    while end < P and bits[P - end - 1] == 0:
        end += 1
    most = run = 0
    for x in bits:
        run = run + 1 if x == 0 else 0
        most = max(most, run)
    return packPallocSum(start, most, end)


def new_page_alloc(
    chunks: dict[int, list[tuple[int, int]]],
    scav: dict[int, list[tuple[int, int]]] | None = None,
) -> PageAlloc:
    """The tests' ``NewPageAlloc``: grow each chunk, clear its scavenged bits, apply the ranges."""
    p = PageAlloc()
    for ci, init in chunks.items():
        addr = chunkBase(ci)
        p.grow(addr, PALLOC_CHUNK_BYTES)
        chunk = p.chunkOf(ci)
        chunk.scavenged.clearRange(0, P)
        p.scavIndex.alloc(ci, P)
        p.scavIndex.free(ci, 0, P)
        if scav is not None:
            for i, n in scav.get(ci, []):
                if n:
                    chunk.scavenged.setRange(i, n)
        for i, n in init:
            if n:
                chunk.allocRange(i, n)
                p.scavIndex.alloc(ci, n)
        p.update(addr, P, False, False)
    return p


def check_page_alloc(want: PageAlloc, got: PageAlloc) -> None:
    """The tests' ``checkPageAlloc``: same bounds, same in-use and scavenged bitmaps."""
    assert (got.start, got.end) == (want.start, want.end)
    assert got.chunksL2 == want.chunksL2
    for ci in sorted(set(got.chunks) | set(want.chunks)):
        if not got.start <= ci < got.end:
            continue
        g, w = got.tryChunkOf(ci), want.tryChunkOf(ci)
        assert g is not None and w is not None
        assert g.v == w.v, f"chunk {ci:#x} in-use bits differ: {diff_ranges(g.v, w.v)}"
        assert g.scavenged.v == w.scavenged.v, (
            f"chunk {ci:#x} scavenged bits differ: {diff_ranges(g.scavenged.v, w.scavenged.v)}"
        )


def diff_ranges(a: int, b: int) -> list[tuple[int, int]]:
    d = a ^ b
    out: list[tuple[int, int]] = []
    i = 0
    while d >> i:
        if (d >> i) & 1:
            j = i
            while (d >> j) & 1:
                j += 1
            out.append((i, j - i))
            i = j
        else:
            i += 1
    return out


# ==========================================================================
# mpallocbits_test.go
# ==========================================================================


@pytest.mark.parametrize(
    ("i", "n", "words"),
    [
        (0, 1, {0: 0x1}),
        (P - 1, 1, {7: 1 << 63}),
        (129, 5, {2: 0x3E}),
        (128, 128, {2: M64, 3: M64}),
        (0, 321, {0: M64, 1: M64, 2: M64, 3: M64, 4: M64, 5: 0x1}),
        (P - (64 * 3 + 1), 64 * 3 + 1, {7: M64, 6: M64, 5: M64, 4: 1 << 63}),
        (0, P, dict.fromkeys(range(8), M64)),
    ],
    ids=["OneLow", "OneHigh", "Inner", "Aligned", "Begin", "End", "All"],
)
def test_palloc_bits_alloc_range(i: int, n: int, words: dict[int, int]) -> None:
    want = [words.get(k, 0) for k in range(8)]
    assert make_bits([(i, n)]).words() == want


_POPCNT_CASES: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int, int]]]] = {
    "None": ([], [(0, 1, 0), (5, 3, 0), (2, 11, 0), (P // 4 + 1, P // 2, 0), (0, P, 0)]),
    "All": (
        [(0, P)],
        [(0, 1, 1), (5, 3, 3), (2, 11, 11), (P // 4 + 1, P // 2, P // 2), (0, P, P)],
    ),
    "Half": (
        [(P // 2, P // 2)],
        [
            (0, 1, 0),
            (5, 3, 0),
            (2, 11, 0),
            (P // 2 - 1, 1, 0),
            (P // 2, 1, 1),
            (P // 2 + 10, 1, 1),
            (P // 2 - 1, 2, 1),
            (P // 4, P // 4, 0),
            (P // 4, P // 4 + 1, 1),
            (P // 4 + 1, P // 2, P // 4 + 1),
            (0, P, P // 2),
        ],
    ),
    "OddBound": (
        [(0, 111)],
        [
            (0, 1, 1),
            (5, 3, 3),
            (2, 11, 11),
            (110, 2, 1),
            (99, 50, 12),
            (110, 1, 1),
            (111, 1, 0),
            (99, 1, 1),
            (120, 1, 0),
            (P // 2, P // 2, 0),
            (0, P, 111),
        ],
    ),
    "Scattered": (
        [
            (1, 3),
            (5, 1),
            (7, 1),
            (10, 2),
            (13, 1),
            (15, 4),
            (21, 1),
            (23, 1),
            (26, 2),
            (30, 5),
            (36, 2),
            (40, 3),
            (44, 6),
            (51, 1),
            (53, 2),
            (58, 3),
            (63, 1),
            (67, 2),
            (71, 10),
            (84, 1),
            (89, 7),
            (99, 2),
            (103, 1),
            (107, 2),
            (111, 1),
            (113, 1),
            (115, 1),
            (118, 1),
            (120, 2),
            (125, 5),
        ],
        [
            (0, 11, 6),
            (0, 64, 39),
            (13, 64, 40),
            (64, 64, 34),
            (0, 128, 73),
            (1, 128, 74),
            (0, P, 75),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(_POPCNT_CASES))
def test_palloc_bits_popcnt_range(name: str) -> None:
    init, checks = _POPCNT_CASES[name]
    b = make_bits(init)
    for i, n, want in checks:
        assert b.popcntRange(i, n) == want, (i, n)


_SUMMARIZE_CASES: dict[str, tuple[list[tuple[int, int]], tuple[int, int, int]]] = {
    "NoneFree": ([], (0, 0, 0)),
    "OnlyStart": ([(0, 10)], (10, 10, 0)),
    "OnlyEnd": ([(P - 40, 40)], (0, 40, 40)),
    "StartAndEnd": ([(0, 11), (P - 23, 23)], (11, 23, 23)),
    "StartMaxEnd": ([(0, 4), (50, 100), (P - 4, 4)], (4, 100, 4)),
    "OnlyMax": ([(1, 20), (35, 241), (P - 50, 30)], (0, 241, 0)),
    "MultiMax": ([(35, 2), (40, 5), (100, 5)], (0, 5, 0)),
    "One": ([(2, 1)], (0, 1, 0)),
    "AllFree": ([(0, P)], (P, P, P)),
}


@pytest.mark.parametrize("name", sorted(_SUMMARIZE_CASES))
def test_palloc_bits_summarize(name: str) -> None:
    free, want = _SUMMARIZE_CASES[name]
    b = inverted(make_bits(free))  # the table lists free ranges
    got = b.summarize()
    assert unpackPallocSum(got) == want
    assert got == packPallocSum(*want)


def test_palloc_bits_summarize_random() -> None:
    rng = random.Random(1)
    for _ in range(300):
        v = rng.getrandbits(P)
        b = PallocBits(v)
        assert b.summarize() == summarize_slow(v)
    # Sparse and dense patterns too (long runs).
    patterns = [
        0,
        M64,
        0xAA,
        0xAAAAAAAAAAAAAAAA,
        0x80000000AAAAAAAA,
        0xAAAAAAAA00000001,
        0xBBBBBBBBBBBBBBBB,
        0x80000000BBBBBBBB,
        0xBBBBBBBB00000001,
        0xCCCCCCCCCCCCCCCC,
        0x4444444444444444,
        0x4040404040404040,
        0x4000400040004000,
        0x1000404044CCAAFF,
    ]
    for pat in patterns:
        v = sum(pat << (64 * k) for k in range(8))
        assert PallocBits(v).summarize() == summarize_slow(v), hex(pat)


def test_palloc_sum_packing() -> None:
    assert unpackPallocSum(FREE_CHUNK_SUM) == (P, P, P)
    root_free = packPallocSum(1 << 21, 1 << 21, 1 << 21)
    assert root_free == 1 << 63
    assert (sumStart(root_free), sumMax(root_free), sumEnd(root_free)) == (1 << 21,) * 3
    s = packPallocSum(5, 300, 7)
    assert (sumStart(s), sumMax(s), sumEnd(s)) == (5, 300, 7)


_ALLOC_CASES: dict[str, tuple[list[tuple[int, int]], int, list[int], list[tuple[int, int]]]] = {
    # name: (before, npages, hits, after)
    "AllFree1": ([], 1, [0, 1, 2, 3, 4, 5], [(0, 6)]),
    "AllFree2": ([], 2, [0, 2, 4, 6, 8, 10], [(0, 12)]),
    "AllFree5": ([], 5, [0, 5, 10, 15, 20], [(0, 25)]),
    "AllFree64": ([], 64, [0, 64, 128], [(0, 192)]),
    "AllFree65": ([], 65, [0, 65, 130], [(0, 195)]),
    "NoneFree1": ([(0, P)], 1, [NOT_FOUND, NOT_FOUND], [(0, P)]),
    "NoneFree2": ([(0, P)], 2, [NOT_FOUND, NOT_FOUND], [(0, P)]),
    "NoneFree5": ([(0, P)], 5, [NOT_FOUND, NOT_FOUND], [(0, P)]),
    "NoneFree65": ([(0, P)], 65, [NOT_FOUND, NOT_FOUND], [(0, P)]),
    "ExactFit1": (
        [(0, P // 2 - 3), (P // 2 - 2, P // 2 + 2)],
        1,
        [P // 2 - 3, NOT_FOUND],
        [(0, P)],
    ),
    "ExactFit2": (
        [(0, P // 2 - 3), (P // 2 - 1, P // 2 + 1)],
        2,
        [P // 2 - 3, NOT_FOUND],
        [(0, P)],
    ),
    "ExactFit5": (
        [(0, P // 2 - 3), (P // 2 + 2, P // 2 - 2)],
        5,
        [P // 2 - 3, NOT_FOUND],
        [(0, P)],
    ),
    "ExactFit65": (
        [(0, P // 2 - 31), (P // 2 + 34, P // 2 - 34)],
        65,
        [P // 2 - 31, NOT_FOUND],
        [(0, P)],
    ),
    "SomeFree64": (
        [(0, 32), (64, 32), (100, P - 100)],
        64,
        [NOT_FOUND],
        [(0, 32), (64, 32), (100, P - 100)],
    ),
    "SomeFree161": ([(0, 185), (331, 1)], 161, [332], [(0, 185), (331, 162)]),
}


@pytest.mark.parametrize("name", sorted(_ALLOC_CASES))
def test_palloc_bits_alloc(name: str) -> None:
    before, npages, hits, after = _ALLOC_CASES[name]
    b = make_bits(before)
    for k, want in enumerate(hits):
        got, _ = b.find(npages, 0)
        assert got == want, f"find #{k + 1}"
        if want != NOT_FOUND:
            b.allocRange(got, npages)
    assert b.v == make_bits(after).v


_FREE_CASES: dict[str, tuple[list[tuple[int, int]], int, list[int], list[tuple[int, int]]]] = {
    # name: (beforeInv, npages, frees, afterInv)
    "NoneFree1": ([], 1, [0, 1, 2, 3, 4, 5], [(0, 6)]),
    "NoneFree2": ([], 2, [0, 2, 4, 6, 8, 10], [(0, 12)]),
    "NoneFree5": ([], 5, [0, 5, 10, 15, 20], [(0, 25)]),
    "SomeFree": ([(0, 32), (64, 32), (100, 1)], 1, [32], [(0, 33), (64, 32), (100, 1)]),
    "NoneFree64": ([], 64, [0, 64, 128], [(0, 192)]),
    "NoneFree65": ([], 65, [0, 65, 130], [(0, 195)]),
}


@pytest.mark.parametrize("name", sorted(_FREE_CASES))
def test_palloc_bits_free(name: str) -> None:
    before_inv, npages, frees, after_inv = _FREE_CASES[name]
    b = inverted(make_bits(before_inv))
    for i in frees:
        b.free(i, npages)
    assert b.v == inverted(make_bits(after_inv)).v


def test_find_bit_range64() -> None:
    def check(x: int, n: int, result: int) -> None:
        i = findBitRange64(x, n)
        if result == NOT_FOUND:
            assert i >= 64, (hex(x), n, i)
        else:
            assert i == result, (hex(x), n, i)

    for i in range(1, 65):
        check(M64, i, 0)
        check(0, i, NOT_FOUND)
    check(0x8000000000000000, 1, 63)
    check(0xC000010001010000, 2, 62)
    check(0xC000010001030000, 2, 16)
    check(0xE000030001030000, 3, 61)
    check(0xE000030001070000, 3, 16)
    check(0xFFFF03FF01070000, 16, 48)
    check(0xFFFF03FF0107FFFF, 16, 0)
    check(0x0FFF03FF01079FFF, 16, NOT_FOUND)


# -- find against a word-by-word reference of Go's three search loops --------


def _tz(x: int) -> int:
    return 64 if x == 0 else (x & -x).bit_length() - 1


def _lz(x: int) -> int:
    return 64 - x.bit_length()


def ref_find(words: list[int], npages: int, search_idx: int) -> tuple[int, int]:
    """Go's find1 / findSmallN / findLargeN, one 64-bit word at a time."""
    w0 = search_idx // 64
    if npages == 1:
        for i in range(w0, 8):
            if words[i] != M64:
                r = i * 64 + _tz(~words[i] & M64)
                return r, r
        return NOT_FOUND, NOT_FOUND
    new_search = NOT_FOUND
    if npages <= 64:
        end = 0
        for i in range(w0, 8):
            x = words[i]
            if x == M64:
                end = 0
                continue
            if new_search == NOT_FOUND:
                new_search = i * 64 + _tz(~x & M64)
            if end + _tz(x) >= npages:
                return i * 64 - end, new_search
            j = findBitRange64(~x & M64, npages)
            if j < 64:
                return i * 64 + j, new_search
            end = _lz(x)
        return NOT_FOUND, new_search
    start = NOT_FOUND
    size = 0
    for i in range(w0, 8):
        x = words[i]
        if x == M64:
            size = 0
            continue
        if new_search == NOT_FOUND:
            new_search = i * 64 + _tz(~x & M64)
        if size == 0:
            size = _lz(x)
            start = i * 64 + 64 - size
            continue
        s = _tz(x)
        if s + size >= npages:
            return start, new_search
        if s < 64:
            size = _lz(x)
            start = i * 64 + 64 - size
            continue
        size += 64
    if size < npages:
        return NOT_FOUND, new_search
    return start, new_search


def _bitmap_strategy() -> st.SearchStrategy[int]:
    word = st.one_of(
        st.just(0), st.just(M64), st.integers(0, M64), st.sampled_from([1, 1 << 63, 0xFF00FF])
    )
    return st.lists(word, min_size=8, max_size=8).map(
        lambda ws: sum(w << (64 * k) for k, w in enumerate(ws))
    )


@settings(max_examples=400, deadline=None)
@given(
    v=_bitmap_strategy(),
    npages=st.one_of(st.integers(1, 70), st.integers(1, P)),
    search_idx=st.integers(0, P - 1),
)
def test_palloc_bits_find_matches_word_reference(v: int, npages: int, search_idx: int) -> None:
    b = PallocBits(v)
    want = ref_find(b.words(), npages, search_idx)
    got = b.find(npages, search_idx)
    assert got[0] == want[0]
    if want[0] != NOT_FOUND:
        assert got[1] == want[1]


@settings(max_examples=200, deadline=None)
@given(v=_bitmap_strategy())
def test_palloc_bits_summarize_matches_slow(v: int) -> None:
    assert PallocBits(v).summarize() == summarize_slow(v)


# ==========================================================================
# mgcscavenge_test.go: fillAligned, findScavengeCandidate
# ==========================================================================


def fill_aligned_slow(x: int, m: int) -> int:
    if m == 1:
        return x
    out = 0
    for i in range(0, 64, m):
        if (x >> i) & ((1 << m) - 1):
            out |= ((1 << m) - 1) << i
    return out


def test_fill_aligned() -> None:
    rng = random.Random(7)
    m = 1
    while m <= 64:
        cases = [
            0x0000000000000000,
            0x00000000FFFFFFFF,
            0xFFFFFFFF00000000,
            0x8000000000000001,
            0xF00000000000000F,
            0xF00000010050000F,
            0xFFFFFFFFFFFFFFFF,
            0x0000000000000001,
            0x0000000000000002,
            0x0000000000000008,
            1 << (m - 1),
            (1 << m) & M64,
            0xB02B9EFFCF137016,
            0x3975A076A9FBFF18,
            0x0F8C88EC3B81506E,
            0x60F14D80EF2FA0E6,
        ]
        for _ in range(200):
            cases.append(rng.getrandbits(64))
            if m > 1:
                val = 0
                for n in range(0, 64, m):
                    if rng.getrandbits(1):
                        val |= (rng.getrandbits(64) & ((1 << m) - 1)) << n
                cases.append(val)
        for x in cases:
            assert fillAligned(x, m) == fill_aligned_slow(x, m), (hex(x), m)
        m *= 2


def make_palloc_data(alloc: list[tuple[int, int]], scavenged: list[tuple[int, int]]) -> PallocData:
    d = PallocData()
    for i, n in alloc:
        if n:
            d.allocRange(i, n)
    for i, n in scavenged:
        if n:
            d.scavenged.setRange(i, n)
    return d


def _scavenge_candidate_cases() -> dict[str, tuple]:
    HUGE = (2 << 20) // PS  # pages per 2 MiB huge page (the host's hpage_pmd_size)
    t: dict[str, tuple] = {
        # name: (alloc, scavenged, min, max, want (start, size))
        "MixedMin1": ([(0, 40), (42, P - 42)], [(0, 41), (42, P - 42)], 1, P, (41, 1)),
        "MultiMin1": ([(0, 63), (65, 20), (87, P - 87)], [(86, 1)], 1, P, (85, 1)),
    }
    m = 1
    while m <= 64:
        s = f"Min{m}"
        t["AllFree" + s] = ([], [], m, P, (0, P))
        t["AllScavenged" + s] = ([], [(0, P)], m, P, (0, 0))
        t["NoneFree" + s] = ([(0, P)], [(P // 2, P // 2)], m, P, (0, 0))
        t["StartFree" + s] = ([(m, P - m)], [], m, P, (0, m))
        t["EndFree" + s] = ([(0, P - m)], [], m, P, (P - m, m))
        t["Straddle64" + s] = ([(0, 64 - m), (64 + m, P - (64 + m))], [], m, 2 * m, (64 - m, 2 * m))
        t["BottomEdge64WithFull" + s] = (
            [(64, 64), (128 + 3 * m, P - (128 + 3 * m))],
            [(1, 10)],
            m,
            3 * m,
            (128, 3 * m),
        )
        t["BottomEdge64WithPocket" + s] = (
            [(64, 62), (127, 1), (128 + 3 * m, P - (128 + 3 * m))],
            [(1, 10)],
            m,
            3 * m,
            (128, 3 * m),
        )
        t["Max0" + s] = ([], [(0, P - m)], m, 0, (P - m, m))
        if m <= 8:
            t["OneFree"] = ([(0, 40), (40 + m, P - (40 + m))], [], m, P, (40, m))
            t["OneScavenged"] = ([(0, 40), (40 + m, P - (40 + m))], [(40, 1)], m, P, (0, 0))
        if m > 1:
            t["MaxUnaligned" + s] = ([], [(0, P - (m * 2 - 1))], m, m - 2, (P - m, m))
            t["SkipSmall" + s] = (
                [(0, 64 - m), (64, 5), (70, 11), (82, P - 82)],
                [],
                m,
                m,
                (64 - m, m),
            )
            t["SkipMisaligned" + s] = (
                [(0, 64 - m), (64, 63), (127 + m, P - (127 + m))],
                [],
                m,
                m,
                (64 - m, m),
            )
            t["MaxLessThan" + s] = ([], [(0, P - m)], m, 1, (P - m, m))
        m *= 2
    # Huge-page preserving cases (2 MiB huge pages = 256 runtime pages < 512).
    t["PreserveHugePageBottom"] = ([(HUGE + 2, P - (HUGE + 2))], [], 1, 3, (0, HUGE + 2))
    t["PreserveHugePageTop"] = ([(0, P - HUGE)], [], 1, 1, (P - HUGE, HUGE))
    return t


_SCAV_CAND = _scavenge_candidate_cases()


@pytest.mark.parametrize("name", sorted(_SCAV_CAND))
def test_palloc_data_find_scavenge_candidate(name: str) -> None:
    alloc, scavenged, mn, mx, want = _SCAV_CAND[name]
    d = make_palloc_data(alloc, scavenged)
    start, size = d.findScavengeCandidate(P - 1, mn, mx)
    if not (size == 0 and want[1] == 0):
        assert (start, size) == want


def test_find_scavenge_candidate_without_huge_pages() -> None:
    # With huge pages disabled the candidate is exactly max pages from the top.
    d = make_palloc_data([(0, P - 256)], [])
    assert d.findScavengeCandidate(P - 1, 1, 1, phys_huge_page_size=0) == (P - 1, 1)
    assert d.findScavengeCandidate(P - 1, 1, 1) == (P - 256, 256)


# ==========================================================================
# mranges_test.go
# ==========================================================================


def validate_addr_ranges(a: AddrRanges, *want: AddrRange) -> None:
    got = a.ranges
    assert [(r.base, r.limit) for r in got] == [(r.base, r.limit) for r in want]
    for k, r in enumerate(got):
        assert r.base < r.limit
        if k:
            assert got[k - 1].limit < r.base  # sorted, coalesced, disjoint
    assert a.totalBytes == sum(r.size() for r in want)


def test_addr_ranges_add() -> None:
    a = AddrRanges()
    a.add(AddrRange.make(512, 1024))
    validate_addr_ranges(a, AddrRange(512, 1024))
    a.add(AddrRange.make(1024, 2048))  # coalesce up
    validate_addr_ranges(a, AddrRange(512, 2048))
    a.add(AddrRange.make(4096, 8192))
    validate_addr_ranges(a, AddrRange(512, 2048), AddrRange(4096, 8192))
    a.add(AddrRange.make(3776, 4096))  # coalesce down
    validate_addr_ranges(a, AddrRange(512, 2048), AddrRange(3776, 8192))
    a.add(AddrRange.make(2048, 3776))  # both
    validate_addr_ranges(a, AddrRange(512, 8192))
    expected = [AddrRange(512, 8192)]
    for i in range(64):
        r = AddrRange.make(8192 + (i + 1) * 2048, 8192 + (i + 1) * 2048 + 10)
        a.add(r)
        expected.append(r)
        validate_addr_ranges(a, *expected)
    bottom: list[AddrRange] = []
    for i in range(63):
        r = AddrRange.make(8 + i * 8, 8 + i * 8 + 4)
        a.add(r)
        bottom.append(r)
        validate_addr_ranges(a, *bottom, *expected)
    # 128 ranges: the backing array doubled 16 -> 32 -> 64 -> 128.
    assert a.cap == 128
    assert a.persistent_bytes == (16 + 32 + 64 + 128) * 16


_LARGE = [AddrRange.make(5 + i * 5, 5 + i * 5 + 3) for i in range(100)]
_THREE = [AddrRange.make(6, 10), AddrRange.make(12, 16), AddrRange.make(19, 22)]
_FIND_SUCC = [
    ("Empty", 12, 0, []),
    ("OneBefore", 12, 0, [AddrRange.make(14, 16)]),
    ("OneWithin", 14, 1, [AddrRange.make(14, 16)]),
    ("OneAfterLimit", 16, 1, [AddrRange.make(14, 16)]),
    ("OneAfter", 17, 1, [AddrRange.make(14, 16)]),
    ("ThreeBefore", 3, 0, _THREE),
    ("ThreeAfter", 24, 3, _THREE),
    ("ThreeBetween", 11, 1, _THREE),
    ("ThreeWithin", 9, 1, _THREE),
    ("Zero", 0, 1, [AddrRange.make(0, 10)]),
    ("Max", UINTPTR_MASK, 1, [AddrRange.make(UINTPTR_MASK - 5, UINTPTR_MASK)]),
    ("LargeBefore", 2, 0, _LARGE),
    ("LargeAfter", 5 + len(_LARGE) * 5 + 30, len(_LARGE), _LARGE),
    ("LargeBetweenLow", 14, 2, _LARGE),
    ("LargeBetweenHigh", 249, 49, _LARGE),
    ("LargeWithinLow", 25, 5, _LARGE),
    ("LargeWithinHigh", 396, 79, _LARGE),
    ("LargeWithinMiddle", 250, 50, _LARGE),
]


@pytest.mark.parametrize(
    ("base", "expect", "ranges"), [pytest.param(*c[1:], id=c[0]) for c in _FIND_SUCC]
)
def test_addr_ranges_find_succ(base: int, expect: int, ranges: list[AddrRange]) -> None:
    assert AddrRanges(ranges).findSucc(base) == expect


def test_addr_range_helpers() -> None:
    r = AddrRange.make(0x1000, 0x5000)
    assert r.subtract(AddrRange(0x0, 0x2000)) == AddrRange(0x2000, 0x5000)
    assert r.subtract(AddrRange(0x4000, 0x9000)) == AddrRange(0x1000, 0x4000)
    assert r.subtract(AddrRange(0x0, 0x9000)).size() == 0
    with pytest.raises(RuntimeThrow):
        r.subtract(AddrRange(0x2000, 0x3000))
    assert r.removeGreaterEqual(0x3000) == AddrRange(0x1000, 0x3000)
    a = AddrRanges([AddrRange(0x1000, 0x2000), AddrRange(0x3000, 0x6000)])
    a.removeGreaterEqual(0x4000)
    assert [(x.base, x.limit) for x in a.ranges] == [(0x1000, 0x2000), (0x3000, 0x4000)]
    assert a.totalBytes == 0x2000
    assert a.findAddrGreaterEqual(0x2800) == (0x3000, True)
    assert a.findAddrGreaterEqual(0x5000) == (0, False)
    assert a.contains(0x1800) and not a.contains(0x2800)
    # Offset view on amd64: minOffAddr is below every user address, maxOffAddr above.
    assert off(ARENA_BASE_OFFSET) == 0
    assert off(MAX_OFF_ADDR) == (1 << 48) - 1
    with pytest.raises(RuntimeThrow):
        AddrRange.make(0x7FFFFFFFF000, ARENA_BASE_OFFSET + 0x1000)


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
# mgcscavenge_test.go: TestPageAllocScavenge, TestScavengeIndex
# ==========================================================================


def _scavenge_cases() -> dict[str, tuple]:
    mp = 1  # minPages = physPageSize / pageSize, at least 1 (4 KiB physical pages)
    t: dict[str, tuple] = {
        # name: (beforeAlloc, beforeScav, [(request, expect)], afterScav)
        "AllFreeUnscavExhaust": (
            {B: [], B + 1: [], B + 2: []},
            {B: [], B + 1: [], B + 2: []},
            [(UINTPTR_MASK, 3 * P * PS)],
            {B: [(0, P)], B + 1: [(0, P)], B + 2: [(0, P)]},
        ),
        "NoneFreeUnscavExhaust": (
            {B: [(0, P)], B + 1: [], B + 2: [(0, P)]},
            {B: [], B + 1: [(0, P)], B + 2: []},
            [(UINTPTR_MASK, 0)],
            {B: [], B + 1: [(0, P)], B + 2: []},
        ),
        "ScavHighestPageFirst": (
            {B: []},
            {B: [(mp, P - 2 * mp)]},
            [(1, mp * PS)],
            {B: [(mp, P - mp)]},
        ),
        "ScavMultiple": (
            {B: []},
            {B: [(mp, P - 2 * mp)]},
            [(mp * PS, mp * PS), (mp * PS, mp * PS)],
            {B: [(0, P)]},
        ),
        "ScavMultiple2": (
            {B: [], B + 1: []},
            {B: [(mp, P - 2 * mp)], B + 1: [(0, P - 2 * mp)]},
            [(2 * mp * PS, 2 * mp * PS), (mp * PS, mp * PS), (mp * PS, mp * PS)],
            {B: [(0, P)], B + 1: [(0, P)]},
        ),
        "ScavDiscontiguous": (
            {B: [], B + 0xE: []},
            {B: [(mp, P - 2 * mp)], B + 0xE: [(2 * mp, P - 2 * mp)]},
            [(2 * mp * PS, 2 * mp * PS), (UINTPTR_MASK, 2 * mp * PS), (UINTPTR_MASK, 0)],
            {B: [(0, P)], B + 0xE: [(0, P)]},
        ),
        "ScavAllVeryDiscontiguous": (
            {B: [], B + 0x1000: []},
            {B: [], B + 0x1000: []},
            [(UINTPTR_MASK, 2 * P * PS), (UINTPTR_MASK, 0)],
            {B: [(0, P)], B + 0x1000: [(0, P)]},
        ),
    }
    return t


_SCAV = _scavenge_cases()


@pytest.mark.parametrize("name", sorted(_SCAV))
def test_page_alloc_scavenge(name: str) -> None:
    before_alloc, before_scav, expect, after_scav = _SCAV[name]
    b = new_page_alloc(before_alloc, before_scav)
    for k, (request, want) in enumerate(expect):
        assert b.scavenge(request, None, True) == want, f"scavenge #{k + 1}"
        b.checkSummaries()
    check_page_alloc(new_page_alloc(before_alloc, after_scav), b)


class _IndexHarness:
    """The tests' ScavengeIndex wrapper: chunks [B, B+64) dense last generation, now empty."""

    def __init__(self, force: bool) -> None:
        self.force = force
        self.si = ScavengeIndex()
        self.si.minHeapIdx = B
        self.alloc_range(page_base(B, 0), page_base(B + 64, 0))
        self.si.nextGen()
        self.free_range(page_base(B, 0), page_base(B + 64, 0))
        for ci in range(B, B + 64):
            self.si.setEmpty(ci)
        for cursor in (self.si.searchAddrBg, self.si.searchAddrForce):
            addr, marked = cursor.Load()
            if marked:
                cursor.StoreUnmark(addr, addr)
            cursor.Clear()
        self.si.freeHWM = ARENA_BASE_OFFSET

    def _split(self, base: int, limit: int) -> list[tuple[int, int, int]]:
        sc, ec = chunkIndex(base), chunkIndex(limit - 1)
        si, ei = chunkPageIndex(base), chunkPageIndex(limit - 1)
        if sc == ec:
            return [(sc, si, ei + 1 - si)]
        out = [(sc, si, P - si)]
        out += [(c, 0, P) for c in range(sc + 1, ec)]
        out.append((ec, 0, ei + 1))
        return out

    def alloc_range(self, base: int, limit: int) -> None:
        for ci, _, n in self._split(base, limit):
            self.si.alloc(ci, n)

    def free_range(self, base: int, limit: int) -> None:
        for ci, pi, n in self._split(base, limit):
            self.si.free(ci, pi, n)

    def mark(self, base: int, limit: int) -> None:
        self.alloc_range(base, limit)
        self.free_range(base, limit)

    def find(self, want: int, want_off: int) -> None:
        got = self.si.find(self.force)
        assert got == (want, want_off)
        self.si.setEmpty(got[0])


def _index_cases() -> dict[str, tuple[Callable[[_IndexHarness], None], list[tuple[int, int]]]]:
    pb = page_base

    def marks(*ranges: tuple[int, int]) -> Callable[[_IndexHarness], None]:
        def f(h: _IndexHarness) -> None:
            for lo, hi in ranges:
                h.mark(lo, hi)

        return f

    return {
        "Uninitialized": (marks(), []),
        "OnePage": (marks((pb(B, 3), pb(B, 4))), [(B, 3)]),
        "FirstPage": (marks((pb(B, 0), pb(B, 1))), [(B, 0)]),
        "SeveralPages": (marks((pb(B, 9), pb(B, 14))), [(B, 13)]),
        "WholeChunk": (marks((pb(B, 0), pb(B + 1, 0))), [(B, P - 1)]),
        "LastPage": (marks((pb(B, P - 1), pb(B + 1, 0))), [(B, P - 1)]),
        "SevenChunksOffset": (
            marks((pb(B + 6, 11), pb(B + 13, 15))),
            [(B + 13, 14)] + [(i, P - 1) for i in range(B + 12, B + 5, -1)],
        ),
        "ThirtyTwoChunks": (
            marks((pb(B, 0), pb(B + 32, 0))),
            [(i, P - 1) for i in range(B + 31, B - 1, -1)],
        ),
        "ThirtyTwoChunksOffset": (
            marks((pb(B + 3, 0), pb(B + 35, 0))),
            [(i, P - 1) for i in range(B + 34, B + 2, -1)],
        ),
        "Mark": (
            marks(*[(pb(i, 0), pb(i + 1, 0)) for i in range(B, B + 32)]),
            [(i, P - 1) for i in range(B + 31, B - 1, -1)],
        ),
        "MarkIdempotentOneChunk": (
            marks((pb(B, 0), pb(B + 1, 0)), (pb(B, 0), pb(B + 1, 0))),
            [(B, P - 1)],
        ),
        "MarkIdempotentThirtyTwoChunks": (
            marks((pb(B, 0), pb(B + 32, 0)), (pb(B, 0), pb(B + 32, 0))),
            [(i, P - 1) for i in range(B + 31, B - 1, -1)],
        ),
        "MarkIdempotentThirtyTwoChunksOffset": (
            marks((pb(B + 4, 0), pb(B + 31, 0)), (pb(B + 5, 0), pb(B + 36, 0))),
            [(i, P - 1) for i in range(B + 35, B + 3, -1)],
        ),
        "TwoChunks": (marks((pb(B, 128), pb(B + 1, 128))), [(B + 1, 127), (B, P - 1)]),
        "TwoChunksOffset": (
            marks((pb(B + 7, 128), pb(B + 8, 129))),
            [(B + 8, 128), (B + 7, P - 1)],
        ),
    }


_INDEX = _index_cases()


@pytest.mark.parametrize("force", [False, True], ids=["Bg", "Force"])
@pytest.mark.parametrize("name", sorted(_INDEX))
def test_scavenge_index(name: str, force: bool) -> None:
    mark, finds = _INDEX[name]
    h = _IndexHarness(force)
    mark(h)
    if not force:
        h.find(0, 0)  # nothing before the next generation
        h.si.nextGen()
    for ci, off_ in finds:
        h.find(ci, off_)
    h.find(0, 0)


@pytest.mark.parametrize("force", [False, True], ids=["Bg", "Force"])
def test_scavenge_index_mark_interleaved(force: bool) -> None:
    h = _IndexHarness(force)
    for i in range(B, B + 32):
        h.mark(page_base(i, 0), page_base(i + 1, 0))
        if not force:
            h.si.nextGen()
        h.find(i, P - 1)
    h.find(0, 0)


def test_scavenge_skips_dense_chunks_unless_forced() -> None:
    # A chunk with >= 496 pages in use this generation is left alone by the
    # background scavenger, for this generation and (if touched) the next.
    p = new_page_alloc({B: [], B + 1: []})
    p.alloc(P + 500)  # all of B, 500 pages of B+1
    p.free(page_base(B, 0), P)  # B is empty again; B+1 stays dense
    p.free(page_base(B + 1, 0), 4)
    p.scavIndex.nextGen()
    released = p.scavenge(UINTPTR_MASK, None, False)
    assert released == P * PS  # only chunk B
    # Forced: the 16 free pages of B+1 (0..3 and 500..511).
    assert p.scavenge(UINTPTR_MASK, None, True) == 16 * PS


# ==========================================================================
# mpagecache_test.go
# ==========================================================================

_BASE = page_base(B, 0)
_CACHE_ALLOC = {
    # name: (cache, scav, [(npages, base, scav)])
    "Empty": (0, 0, [(n, 0, 0) for n in (1, 2, 3, 4, 5, 11, 12, 16, 27, 32, 43, 57, 64, 121)]),
    "Lo1": (0x1, 0x1, [(1, _BASE, PS), (1, 0, 0), (10, 0, 0)]),
    "Hi1": (1 << 63, 0x1, [(1, _BASE + 63 * PS, 0), (1, 0, 0), (10, 0, 0)]),
    "Swiss1": (
        0x20005555,
        0x5505,
        [
            (2, 0, 0),
            (1, _BASE, PS),
            (1, _BASE + 2 * PS, PS),
            (1, _BASE + 4 * PS, 0),
            (1, _BASE + 6 * PS, 0),
            (1, _BASE + 8 * PS, PS),
            (1, _BASE + 10 * PS, PS),
            (1, _BASE + 12 * PS, PS),
            (1, _BASE + 14 * PS, PS),
            (1, _BASE + 29 * PS, 0),
            (1, 0, 0),
            (10, 0, 0),
        ],
    ),
    "Lo2": (0x3, 0x2 << 62, [(2, _BASE, 0), (2, 0, 0), (1, 0, 0)]),
    "Hi2": (0x3 << 62, 0x3 << 62, [(2, _BASE + 62 * PS, 2 * PS), (2, 0, 0), (1, 0, 0)]),
    "Swiss2": (
        0x3333 << 31,
        0x3030 << 31,
        [
            (2, _BASE + 31 * PS, 0),
            (2, _BASE + 35 * PS, 2 * PS),
            (2, _BASE + 39 * PS, 0),
            (2, _BASE + 43 * PS, 2 * PS),
            (2, 0, 0),
        ],
    ),
    "Hi53": (
        ((1 << 53) - 1) << 10,
        ((1 << 16) - 1) << 10,
        [(53, _BASE + 10 * PS, 16 * PS), (53, 0, 0), (1, 0, 0)],
    ),
    "Full53": (
        M64,
        ((1 << 16) - 1) << 10,
        [(53, _BASE, 16 * PS), (53, 0, 0), (1, _BASE + 53 * PS, 0)],
    ),
    "Full64": (M64, M64, [(64, _BASE, 64 * PS), (64, 0, 0), (1, 0, 0)]),
    "FullMixed": (
        M64,
        M64,
        [
            (5, _BASE, 5 * PS),
            (7, _BASE + 5 * PS, 7 * PS),
            (1, _BASE + 12 * PS, PS),
            (23, _BASE + 13 * PS, 23 * PS),
            (63, 0, 0),
            (3, _BASE + 36 * PS, 3 * PS),
            (3, _BASE + 39 * PS, 3 * PS),
            (3, _BASE + 42 * PS, 3 * PS),
            (12, _BASE + 45 * PS, 12 * PS),
            (11, 0, 0),
            (4, _BASE + 57 * PS, 4 * PS),
            (4, 0, 0),
            (6, 0, 0),
            (36, 0, 0),
            (2, _BASE + 61 * PS, 2 * PS),
            (3, 0, 0),
            (1, _BASE + 63 * PS, PS),
            (4, 0, 0),
            (2, 0, 0),
            (62, 0, 0),
            (1, 0, 0),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(_CACHE_ALLOC))
def test_page_cache_alloc(name: str) -> None:
    cache, scav, hits = _CACHE_ALLOC[name]
    c = PageCache(_BASE, cache, scav)
    for k, (npages, base, want_scav) in enumerate(hits):
        assert c.alloc(npages) == (base, want_scav), f"alloc #{k}"


def _bits64_to_ranges(bits: int, base: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = size = 0
    for i in range(64):
        if bits & (1 << i):
            if size == 0:
                start = i + base
            size += 1
        elif size:
            out.append((start, size))
            size = 0
    if size:
        out.append((start, size))
    return out


def test_page_cache_flush() -> None:
    def run(base: int, cache: int, scav: int) -> None:
        b = new_page_alloc({B: [(base, 64)]}, {B: []})
        c = PageCache(page_base(B, base), cache, scav)
        c.flush(b)
        assert c.empty()
        want = new_page_alloc(
            {B: _bits64_to_ranges(~cache & M64, base)}, {B: _bits64_to_ranges(scav, base)}
        )
        check_page_alloc(want, b)
        b.checkSummaries()

    run(0, 0, 0)
    run(0, M64, M64)
    rng = random.Random(3)
    for _ in range(100):
        base = rng.randrange(P // 64) * 64
        cache = rng.getrandbits(64)
        run(base, cache, rng.getrandbits(64) & cache)


def _alloc_to_cache_cases() -> dict[str, tuple]:
    pb = page_base
    sums_per_phys_page = 4096 // 8
    bb = B & ~(sums_per_phys_page - 1)
    t: dict[str, tuple] = {
        # name: (beforeAlloc, beforeScav, hits [(base, cache, scav)], afterAlloc, afterScav)
        "ManyArena": (
            {B: [(0, P)], B + 1: [(0, P)], B + 2: [(0, P - 64)]},
            {B: [(0, P)], B + 1: [(0, P)], B + 2: []},
            [(pb(B + 2, P - 64), M64, 0)],
            {B: [(0, P)], B + 1: [(0, P)], B + 2: [(0, P)]},
            None,
        ),
        "Fail": ({B: [(0, P)]}, None, [(0, 0, 0)] * 3, {B: [(0, P)]}, None),
        "RetainScavBits": (
            {B: [(0, 1), (10, 2)]},
            {B: [(0, 4), (11, 1)]},
            [(pb(B, 0), ~(0x1 | (0x3 << 10)) & M64, 0x7 << 1)],
            {B: [(0, 64)]},
            {B: [(0, 1), (11, 1)]},
        ),
        "AllFree": (
            {B: []},
            {B: [(1, 1), (64, 64)]},
            [
                (pb(B, 0), M64, 0x2),
                (pb(B, 64), M64, M64),
                (pb(B, 128), M64, 0),
                (pb(B, 192), M64, 0),
            ],
            {B: [(0, 256)]},
            None,
        ),
        "NotContiguous": (
            {B: [(0, P)], B + 0xFF: [(0, 0)]},
            {B: [(0, P)], B + 0xFF: [(31, 67)]},
            [(pb(B + 0xFF, 0), M64, ((1 << 33) - 1) << 31)],
            {B: [(0, P)], B + 0xFF: [(0, 64)]},
            {B: [(0, P)], B + 0xFF: [(64, 34)]},
        ),
        "First": (
            {B: [(0, 32), (33, 31), (96, 32)]},
            {B: [(1, 4), (31, 5), (66, 2)]},
            [(pb(B, 0), 1 << 32, 1 << 32), (pb(B, 64), (1 << 32) - 1, 0x3 << 2)],
            {B: [(0, 128)]},
            None,
        ),
        "DiscontiguousMappedSumBoundary": (
            {bb + sums_per_phys_page - 1: [(0, P - 1)], bb + BIG_JUMP: [(1, P - 1)]},
            {bb + sums_per_phys_page - 1: [], bb + BIG_JUMP: []},
            [
                (pb(bb + sums_per_phys_page - 1, P - 64), 1 << 63, 0),
                (pb(bb + BIG_JUMP, 0), 1, 0),
                (0, 0, 0),
            ],
            {bb + sums_per_phys_page - 1: [(0, P)], bb + BIG_JUMP: [(0, P)]},
            None,
        ),
    }
    return t


_TO_CACHE = _alloc_to_cache_cases()


@pytest.mark.parametrize("name", sorted(_TO_CACHE))
def test_page_alloc_alloc_to_cache(name: str) -> None:
    before_alloc, before_scav, hits, after_alloc, after_scav = _TO_CACHE[name]
    b = new_page_alloc(before_alloc, before_scav)
    for base, cache, scav in hits:
        c = b.allocToCache()
        assert (c.base, c.cache, c.scav) == (base, cache, scav)
        b.checkSummaries()
    check_page_alloc(new_page_alloc(after_alloc, after_scav), b)


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


# ==========================================================================
# Heap arenas and growth (marena.py)
# ==========================================================================


def test_arena_hints_deterministic_layout() -> None:
    h = HeapArenas()
    assert [x.addr for x in h.arenaHints] == [(i << 40) | (0x00C0 << 32) for i in range(0x40)]
    assert [x.addr for x in h.userArenaHints] == [
        (i << 40) | (0x00C0 << 32) for i in range(0x40, 0x80)
    ]
    v, size = h.sysAlloc(1)
    assert (v, size) == (0xC000000000, HEAP_ARENA_BYTES)
    assert h.arenaHints[0].addr == 0xC000000000 + HEAP_ARENA_BYTES
    assert h.heapArenas == [arenaIndex(0xC000000000)]
    assert h.metadataSys == HEAP_ARENA_STRUCT_BYTES == 69648
    assert h.metadataPersistent == 4096  # first heapArenas array: one physical page
    v, size = h.sysAlloc(HEAP_ARENA_BYTES + 1)
    assert (v, size) == (0xC000000000 + HEAP_ARENA_BYTES, 2 * HEAP_ARENA_BYTES)
    assert h.metadataSys == 3 * HEAP_ARENA_STRUCT_BYTES


def test_heap_grow_whole_chunks_and_arenas() -> None:
    h = HeapArenas()
    pa = PageAlloc()
    base = 0xC000000000
    assert h.grow(1, pa) == (4 << 20, True)
    assert (h.curArena.base, h.curArena.end) == (base + (4 << 20), base + HEAP_ARENA_BYTES)
    assert h.grow(512, pa) == (4 << 20, True)
    assert h.grow(513, pa) == (8 << 20, True)  # rounded up to whole 4 MiB chunks
    # 48 MiB left in the first arena; 56 MiB needs a second, contiguous arena.
    assert h.grow(14 * 512, pa) == (56 << 20, True)
    assert (h.curArena.base, h.curArena.end) == (base + (72 << 20), base + (128 << 20))
    assert [(r.base, r.limit) for r in pa.inUse.ranges] == [(base, base + (72 << 20))]
    assert len(h.arenas) == 2
    # Everything grown is free and scavenged (released) until used.
    assert pa.freePages() == pa.scavengedPages() == (72 << 20) // PS


def test_heap_grow_discontiguous_hands_over_the_rest() -> None:
    h = HeapArenas()
    pa = PageAlloc()
    assert h.grow(1, pa) == (4 << 20, True)
    # The next reservation lands elsewhere (as if the hint's space were taken).
    far = 0x00C1 << 32
    h.arenaHints[0].addr = far
    growth, ok = h.grow(16 * 512, pa)  # 64 MiB: more than the 60 MiB left
    assert ok
    assert growth == (60 << 20) + (64 << 20)  # the old remainder + the ask
    assert (h.curArena.base, h.curArena.end) == (far + (64 << 20), far + (64 << 20))
    assert [(r.base, r.limit) for r in pa.inUse.ranges] == [
        (0xC000000000, 0xC000000000 + HEAP_ARENA_BYTES),
        (far, far + (64 << 20)),
    ]


def test_heap_grow_randomized_base() -> None:
    hint_bits, chunk_bits, pad = 0x00301, 5, 37 * PS + 100
    seed = (hint_bits << 44) | (chunk_bits << 40) | (pad << 18)
    h = HeapArenas(heap_rand_seed=seed)
    base = hint_bits << 26  # arena-aligned; prefix byte 0 here
    assert h.arenaHints[0].addr == base
    assert h.arenaHints[1].addr == (1 << 38) | base
    pa = PageAlloc()
    assert h.grow(1, pa) == (4 << 20, True)
    chunk = base + chunk_bits * PALLOC_CHUNK_BYTES
    assert [(r.base, r.limit) for r in pa.inUse.ranges] == [(chunk, chunk + PALLOC_CHUNK_BYTES)]
    # 37 padding pages: allocated and scavenged, so still released and never used.
    assert pa.chunkOf(chunkIndex(chunk)).v == (1 << 37) - 1
    assert pa.scavengedPages() == P
    assert pa.alloc(1) == (chunk + 37 * PS, PS)
    assert h.rand is not None and h.rand.remaining == 64 - 20 - 4 - 22
    # Later growth is not randomised again.
    assert h.grow(512, pa) == (4 << 20, True)
    assert pa.inUse.ranges[0].limit == chunk + 2 * PALLOC_CHUNK_BYTES


def test_alloc_needs_zero() -> None:
    h = HeapArenas()
    pa = PageAlloc()
    h.grow(3 * 8192, pa)  # two arenas
    a0 = 0xC000000000
    assert not h.allocNeedsZero(a0, 4)
    assert not h.allocNeedsZero(a0 + 4 * PS, 4)
    assert h.allocNeedsZero(a0 + 2 * PS, 1)  # below zeroedBase: used before
    # A run crossing into the second arena raises both zeroedBase marks.
    end0 = a0 + HEAP_ARENA_BYTES
    assert not h.allocNeedsZero(end0 - 2 * PS, 4)
    assert h.arenas[arenaIndex(end0)].zeroedBase == 2 * PS
    assert h.allocNeedsZero(end0, 1)


# ==========================================================================
# The probe's page-heap sequence (docs/go1.27-notes.md §4, pageheap.jsonl)
# ==========================================================================


class _MiniHeap:
    """The page part of mheap.allocSpan/freeSpan and its accounting, as the go1.27 heap will do."""

    def __init__(self) -> None:
        self.arenas = HeapArenas()
        self.pages = PageAlloc()
        self.pcache = PageCache()
        self.heap_in_use = self.heap_free = self.heap_released = self.in_stacks = 0

    @property
    def heap_sys(self) -> int:
        return self.heap_in_use + self.heap_free + self.heap_released

    def alloc_span(self, npages: int, stack: bool = False) -> int:
        base = scav = 0
        if npages < PAGE_CACHE_PAGES // 4:
            if self.pcache.empty():
                self.pcache = self.pages.allocToCache()
            base, scav = self.pcache.alloc(npages)
        if base == 0:
            base, scav = self.pages.alloc(npages)
            if base == 0:
                growth, ok = self.arenas.grow(npages, self.pages)
                assert ok
                self.heap_released += growth
                base, scav = self.pages.alloc(npages)
                assert base
        nbytes = npages * PS
        self.heap_released -= scav
        self.heap_free -= nbytes - scav
        if stack:
            self.in_stacks += nbytes
        else:
            self.heap_in_use += nbytes
        return base

    def free_span(self, base: int, npages: int) -> None:
        self.pages.free(base, npages)
        self.heap_in_use -= npages * PS
        self.heap_free += npages * PS

    def free_os_memory(self) -> None:
        r = self.pages.scavengeAll()
        self.heap_released += r
        self.heap_free -= r

    def check(self) -> None:
        # heapReleased is exactly the scavenged pages, in the allocator and in the P's cache.
        released_pages = self.pages.scavengedPages() + self.pcache.scavengedPages()
        assert self.heap_released == released_pages * PS
        free_pages = self.pages.freePages() + self.pcache.freePages()
        assert self.heap_free + self.heap_released == free_pages * PS


def test_probe_pageheap_sequence() -> None:
    h = _MiniHeap()
    for _ in range(8):
        h.alloc_span(4, stack=True)  # 32 stack pages (StackInuse 262144)
    for _ in range(42):
        h.alloc_span(1)  # 42 heap pages (HeapInuse 344064)
    h.check()
    assert h.heap_sys + h.in_stacks == 4 << 20
    # (HeapSys + StackInuse) after each large object, as measured.
    want_total = {1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4, 128: 4, 256: 8, 512: 12, 1024: 20}
    objs = []
    for npages, mib in want_total.items():
        objs.append((h.alloc_span(npages), npages))
        assert h.heap_sys + h.in_stacks == mib << 20, npages
        h.check()
    sys_before = h.heap_sys
    for base, npages in objs:
        h.free_span(base, npages)
    h.check()
    assert h.heap_sys == sys_before
    h.free_os_memory()
    h.check()
    assert h.heap_sys == sys_before
    # Every free page is released except unscavenged pages in this P's cache.
    cache_unscav = (h.pcache.cache & ~h.pcache.scav).bit_count() * PS
    assert h.heap_free == cache_unscav
    released = h.heap_released
    for _ in range(128):
        h.alloc_span(8)  # 64 KiB objects, through the page cache
    h.check()
    assert h.heap_sys == sys_before
    assert h.heap_released == released - (8 << 20)  # all 1024 pages were released ones
