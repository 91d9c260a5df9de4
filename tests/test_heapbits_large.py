"""heapBitsSetType for large objects, written a bounded chunk at a time."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goheap import Heap
from goheap.runtime.common.gotype import POINTER, Type
from goheap.runtime.go18 import mbitmap as hb
from goheap.runtime.go18.mgcmark import Marker


@pytest.mark.parametrize("chunk", [3, 7, 1 << 20])
def test_chunked_large_bitmap_equals_the_generic_encoding(chunk: int) -> None:
    rng = random.Random(chunk)
    buf = bytearray(1 << 16)
    view = memoryview(buf)

    def zero(off: int, n: int) -> None:
        view[off : off + n] = bytes(n)

    bits = hb.HeapBitmap(view, 0, len(buf), zero)
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


def test_huge_noscan_allocation_clears_its_bitmap_without_touching_it(make_heap) -> None:
    """Go 1.8's initSpan clears a 64 GiB span's 2 GiB of bitmap; the model gives the pages back."""
    import resource

    h: Heap = make_heap(gogc="off")
    bits = h.mheap.heapbits
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    x = h.malloc(64 << 30)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    # Go's own per-page table (h_spans, 8 B a page: 64 MiB here) is all that may scale.
    assert grown_kib < 256 << 10
    for addr in (x, x + (1 << 20), x + (64 << 30) - 8):
        assert bits.entry(addr) == 0
    assert not bits.hasPointers(x)
    h.check()


def test_huge_pointer_array_is_scanned_whole(make_heap) -> None:
    """scanobject walks a 256 MiB []*T to its last word (oblet by oblet)."""
    h: Heap = make_heap(gogc="off")
    node = Type("Node", 16, [0])
    arr = h.make(POINTER, (256 << 20) // 8)
    h.set_global("arr", arr)
    kept, lost = h.new(node), h.new(node)
    h.write_pointer(arr, (256 << 20) - 8, kept)
    h.gc()
    assert h.find_object(kept) is not None and h.find_object(lost) is None
    h.check()


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=2048, max_size=2048),
    start=st.integers(0, 3000),
    nwords=st.integers(1, 2000),
    nonzero=st.integers(0, (1 << 64) - 1),
)
def test_bulk_scan_walks_as_the_word_by_word_scan(
    data: bytes, start: int, nwords: int, nonzero: int
) -> None:
    """The numpy walk of long objects gives the per-word walk's pointers and length."""
    h = Heap(profile="go1.8")
    try:
        bits = h.mheap.heapbits
        top = bits.bitmap_size - 1
        bits.np_bm[top - len(data) + 1 : top + 1] = list(data)  # words 0 .. 4*len(data)-1
        words = h.mheap.mem.words
        for w in range(start, start + nwords):
            words[w] = (w * 0x9E3779B97F4A7C15 & nonzero) & ((1 << 64) - 1)
        m = Marker(h.mheap)
        bulk = m._scan_words_bulk(start, nwords)
        m.bulk_words = 1 << 62  # scan_words word by word, whatever the length
        each = m.scan_words(bits.arena_start + (start << 3), nwords << 3)
        assert bulk == each
    finally:
        h.close()
