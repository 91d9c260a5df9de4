"""goheap.runtime.go127.mpallocbits: pallocBits, pageBits, pallocSum and pallocData.

The cases of Go's mpallocbits_test.go, and of mgcscavenge_test.go for fillAligned
and findScavengeCandidate (defined on pallocData, in mpallocbits.py here), with the same
indices and expected results; property tests check find and summarize against
word-by-word references.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goheap.runtime.go127.mpallocbits import (
    FREE_CHUNK_SUM,
    NOT_FOUND,
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
from tests.go127_page_helpers import (
    M64,
    PS,
    P,
    inverted,
    make_bits,
    summarize_slow,
)

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
