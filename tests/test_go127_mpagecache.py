"""goheap.runtime.go127.mpagecache: the per-P page cache, as Go's mpagecache_test.go."""

from __future__ import annotations

import random

import pytest

from goheap.runtime.go127.mpagecache import PageCache
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
