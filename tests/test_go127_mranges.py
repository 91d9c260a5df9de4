"""goheap.runtime.go127.mranges: addrRange and addrRanges, as Go's mranges_test.go."""

from __future__ import annotations

import pytest

from goheap.errors import RuntimeThrow
from goheap.runtime.go127.mranges import (
    ARENA_BASE_OFFSET,
    MAX_OFF_ADDR,
    UINTPTR_MASK,
    AddrRange,
    AddrRanges,
    off,
)

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
