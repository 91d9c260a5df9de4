"""goheap.runtime.go127.marena: heap arenas, their hints and growth."""

from __future__ import annotations

from goheap.runtime.go127.marena import (
    HEAP_ARENA_BYTES,
    HEAP_ARENA_STRUCT_BYTES,
    HeapArenas,
    arenaIndex,
)
from goheap.runtime.go127.mpagealloc import (
    PageAlloc,
    chunkIndex,
)
from goheap.runtime.go127.mpallocbits import (
    PALLOC_CHUNK_BYTES,
)
from tests.go127_page_helpers import (
    PS,
    P,
)

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
