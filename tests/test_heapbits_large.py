"""heapBitsSetType for large objects, written a bounded chunk at a time."""

from __future__ import annotations

import random

import pytest

from goheap import Heap
from goheap.runtime.common.gotype import POINTER, Type
from goheap.runtime.go18 import mbitmap as hb


@pytest.mark.parametrize("chunk", [3, 7, 1 << 20])
def test_chunked_large_bitmap_equals_the_generic_encoding(chunk: int) -> None:
    rng = random.Random(chunk)
    buf = bytearray(1 << 16)
    bits = hb.HeapBitmap(memoryview(buf), 0, len(buf))
    for _ in range(150):
        nd = rng.randint(1, 9)
        offs = sorted(rng.sample(range(nd), rng.randint(1, nd)))
        typ = Type("T", nd * 8, [o * 8 for o in offs])
        count = rng.randint(1, 60000 // typ.size)
        data = count * typ.size
        size = max(40960, -(-data // 8192) * 8192)
        bits.np_bm[:] = 0
        bits._set_large(0, size, data, typ, chunk_bytes=chunk)
        chunked = bytes(bits.np_bm)
        bits.np_bm[:] = 0
        pat = hb._pack(hb.object_entries(typ, size, data), 0)
        top = bits.byte_index(0)
        bits.bm[top - pat.nbytes + 1 : top + 1] = pat.data
        assert chunked == bytes(bits.np_bm), (typ, count, size)


def test_huge_pointerful_allocation_stays_small(make_heap) -> None:
    import resource

    h: Heap = make_heap(gogc="off")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    x = h.make(POINTER, (4 << 30) // 8)  # a 4 GiB []unsafe.Pointer
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    # Its bitmap is 128 MiB (2 bits a word); nothing else may scale with it.
    assert grown_kib < 200 << 10
    assert h.mheap.heapbits.pointer_words(x, 64) == list(range(0, 64, 8))
    last = x + (4 << 30) - 16
    assert h.mheap.heapbits.entry(last) == 0b11 and h.mheap.heapbits.entry(last + 8) == 0b11
    h.check()
