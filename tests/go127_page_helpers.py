"""What the go1.27 page-allocator tests share: Go's test exports (export_test.go) restated.

``B`` is the tests' ``BaseChunkIdx``; ``new_page_alloc`` and ``check_page_alloc``
are ``NewPageAlloc`` and ``checkPageAlloc``.
"""

from __future__ import annotations

from goheap.runtime.go127.mpagealloc import (
    PageAlloc,
    chunkBase,
    chunkIndex,
)
from goheap.runtime.go127.mpallocbits import (
    PAGE_SIZE,
    PALLOC_CHUNK_BYTES,
    PALLOC_CHUNK_PAGES,
    PallocBits,
    packPallocSum,
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
