"""goheap.runtime.go127.mpagealloc: pageAlloc.scavenge and the scavenge index.

The cases of Go's mgcscavenge_test.go (TestPageAllocScavenge, TestScavengeIndex).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from goheap.runtime.go127.mpagealloc import (
    ScavengeIndex,
    chunkIndex,
    chunkPageIndex,
)
from goheap.runtime.go127.mranges import (
    ARENA_BASE_OFFSET,
    UINTPTR_MASK,
)
from tests.go127_page_helpers import (
    PS,
    B,
    P,
    check_page_alloc,
    new_page_alloc,
    page_base,
)

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
