"""The native kernel (runtime/common/wordmem): exactly the memoryview subscripts it replaces.

In the compiled build the heap's loads and stores run as inline C
(``wordmem.h``); in the pure build they are ``operator.getitem``/``setitem``.
Each test runs in whichever build the suite runs (``.ci/run`` runs both) and
checks against the memoryview itself: the fast path (a short index in range,
a value below 2^62) and the paths handed back to the subscript (values of
2^62 and more, errors).
"""

from __future__ import annotations

import mmap

import pytest

from goheap import Heap
from goheap.errors import GoheapError
from goheap.runtime.common import wordmem
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.malloc import nextFreeFast
from goheap.runtime.go18.mbitmap import bitPointer, bitScan

# Below the tagged-int limit, at it, above it, the top bit, the largest word.
WORDS = [0, 1, 0xC420000000, (1 << 62) - 1, 1 << 62, 1 << 63, (1 << 64) - 1]


def _views() -> tuple[mmap.mmap, memoryview, memoryview]:
    m = mmap.mmap(-1, 4096)
    b = memoryview(m)
    return m, b, b.cast("Q")


@pytest.mark.parametrize("v", WORDS)
def test_load64_store64_are_the_subscript(v: int) -> None:
    m, b, w = _views()
    wordmem.store64(w, 3, v)
    assert w[3] == v and wordmem.load64(w, 3) == v
    assert int.from_bytes(b[24:32], "little") == v
    w.release()
    b.release()
    m.close()


def test_load8_store8_are_the_subscript() -> None:
    m, b, w = _views()
    for i, v in ((0, 0), (1, 0x5A), (4095, 0xFF)):
        wordmem.store8(b, i, v)
        assert b[i] == v and wordmem.load8(b, i) == v
    assert wordmem.load8(b, -1) == b[-1] == 0xFF  # negative indexes as the subscript has them
    w.release()
    b.release()
    m.close()


def test_errors_are_the_subscripts() -> None:
    m, b, w = _views()
    for bad in (
        lambda: wordmem.load64(w, 512),
        lambda: wordmem.store64(w, 512, 0),
        lambda: wordmem.store64(w, 0, -1),
        lambda: wordmem.store64(w, 0, 1 << 64),
        lambda: wordmem.store8(b, 0, 256),
        lambda: wordmem.load8(b, 4096),
    ):
        with pytest.raises((IndexError, ValueError, OverflowError, TypeError)):
            bad()
    ro = memoryview(bytes(8)).cast("Q")
    with pytest.raises(TypeError):
        wordmem.store64(ro, 0, 1)
    w.release()
    with pytest.raises(ValueError):
        wordmem.load64(w, 0)  # a released view: Python's error, not a stale read
    b.release()
    m.close()


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_heap_words_round_trip_every_width(profile: str) -> None:
    """write_word/read_word (compiled: the C kernel) against the arena's own memoryview."""
    pair = Type("main.Pair", size=16, pointers=[])
    with Heap(profile=profile) as h:
        x = h.malloc(16, pair)
        mem = h.mheap.mem
        for v in WORDS:
            h.write_word(x, 8, v)
            assert h.read_word(x, 8) == v
            assert mem.words[(x + 8 - mem.arena_start) >> 3] == v
        with pytest.raises(GoheapError):
            h.write_word(x, 8, 1 << 64)


def test_go18_bitmap_bytes_through_the_kernel() -> None:
    """heapBitsSetTypeNoScan clears one word's pointer and scan bits, and only those."""
    with Heap(profile="go1.8") as h:
        x = h.malloc(48)  # noscan: setTypeNoScan ran on x
        hb = h.mheap.heapbits
        i = hb.byte_index(x)
        shift = ((x - hb.arena_start) >> 3) & 3
        hb.bm[i] = 0xFF
        hb.setTypeNoScan(x)
        assert hb.bm[i] == 0xFF & ~((bitPointer | bitScan) << shift)
        assert hb.entry(x) == 0
        y = h.new(Type("main.P", size=8, pointers=[0]))
        assert h.find_object(y) is not None and hb.entry(y) == 3  # 8-byte class: pointer+scan


# Short ints and longs (one, two and many 30-bit digits), at and around the digit edges.
BITMAPS = [0, 1, 0b1011, (1 << 62) - 1, 1 << 62, (1 << 64) - 1, (1 << 512) - 1, 0x5A << 300, 3**300]
BITS = [0, 1, 29, 30, 31, 59, 60, 61, 62, 63, 64, 299, 300, 306, 511, 512, 10**6]


@pytest.mark.parametrize("x", BITMAPS)
def test_bit_is_the_shift(x: int) -> None:
    """bit(x, i) (compiled: read from the int's digits) is (x >> i) & 1 at every edge."""
    for i in BITS:
        assert wordmem.bit(x, i) == (x >> i) & 1, (x, i)


def test_bit_hands_the_rest_to_the_shift() -> None:
    for x, i in ((-1, 0), (-6, 1), (-(1 << 100), 100), (1 << 70, 1 << 70)):
        assert wordmem.bit(x, i) == (x >> i) & 1
    with pytest.raises(ValueError):
        wordmem.bit(5, -1)  # a negative shift count, as the expression has it


@pytest.mark.parametrize("x", BITMAPS)
def test_setbit_is_the_or(x: int) -> None:
    for i in BITS:
        assert wordmem.setbit(x, i) == x | (1 << i), (x, i)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_dead_bits_set_through_the_kernel(profile: str) -> None:
    """Heap.dead's setbit (compiled: the C, from the int's digits) is the or at every edge.

    A span of 16-byte objects (512 on go1.8, 496 beside go1.27's inline bits), all
    allocated; its deadBits set to each bitmap in turn (short, one- and many-digit longs,
    the bit already set or not), then one slot declared dead.
    """
    node = Type("main.Node", size=16, pointers=[0, 8])
    with Heap(profile=profile, liveness="lifetime", gogc="off") as h:
        objs = [h.new(node) for _ in range(512)]
        s = h.find_object(objs[0])
        assert s is not None and s.span.nelems == (512 if profile == "go1.8" else 496)
        span = s.span
        for x in BITMAPS:
            for i in (0, 1, 29, 30, 31, 59, 60, 61, 62, 63, 64, 299, 300, 306, span.nelems - 1):
                span.deadBits = x
                h.dead(span.startAddr + 16 * i)
                assert span.deadBits == x | (1 << i), (x, i)


def test_setbit_hands_the_rest_to_the_or() -> None:
    for x, i in ((-1, 0), (-6, 3), (-(1 << 100), 100), (1 << 70, 200)):
        assert wordmem.setbit(x, i) == x | (1 << i)
    with pytest.raises(ValueError):
        wordmem.setbit(5, -1)  # a negative shift count, as the expression has it


# allocCache values: short ints, bit 62 or 63 set (longs in the compiled build), full.
CACHES = [
    1,
    0b1010,
    1 << 61,
    1 << 62,
    1 << 63,
    (1 << 64) - 1,
    ((1 << 64) - 1) ^ ((1 << 40) - 1),
    3 << 62,
]


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_ctz64_through_nextFreeFast(profile: str) -> None:
    """nextFreeFast's ctz64 (compiled: the C, from the int's digits) is the expression.

    The span's freeindex and allocCache are set by hand; the slot nextFreeFast hands
    out is the cache's lowest set bit (none at bit 63: the slot after it would start
    the next 64, which only the slow path refills).
    """
    node = Type("main.Node", size=16, pointers=[0, 8])
    h = Heap(profile=profile, gogc="off")
    ref = h.find_object(h.new(node))
    assert ref is not None
    s = ref.span
    for cache in CACHES:
        s.freeindex, s.allocCache = 0, cache
        low = (cache & -cache).bit_length() - 1
        got = nextFreeFast(s)
        if low == 63:
            assert (got, s.freeindex, s.allocCache) == (0, 0, cache)
        else:
            assert got == s.startAddr + low * s.elemsize, hex(cache)
            assert (s.freeindex, s.allocCache) == (low + 1, cache >> (low + 1))
    s.allocCache = 0
    assert nextFreeFast(s) == 0
    for x in (0, 1, 8, 1 << 62, 1 << 63, (1 << 64) - 1, 1 << 100, -8):
        assert wordmem.ctz64(x) == (64 if x == 0 else (x & -x).bit_length() - 1)
