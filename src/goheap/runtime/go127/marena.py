"""Heap arenas and heap growth (Go 1.27 ``malloc.go:mallocinit``/``mheap.sysAlloc``,
``mheap.go:mheap.grow``/``allocNeedsZero``).

What the Go code does
---------------------
* **Arenas.**  On 64-bit linux the heap is reserved in *heap arenas* of
  ``heapArenaBytes = 64 MiB``, each described by a ``heapArena`` (span
  table, ``pageInUse``/``pageMarks``/``pageSpecials``/
  ``pageUseSpanInlineMarkBits`` bitmaps, ``zeroedBase``) found through
  ``mheap.arenas``.  The ``heapArena`` struct (69648 bytes) is
  ``persistentalloc``'d, which for a block that large is a direct
  ``sysAlloc`` charged to ``gcMiscSys``; the arena's index is appended to
  ``mheap.heapArenas``, whose backing array is ``persistentalloc``'d
  (4 KiB first, doubling) from ``gcMiscSys`` too.
* **Hints** (``mallocinit``).  Reservations are attempted at hint
  addresses ``i<<40 | 0x00c0<<32`` for ``i = 0 .. 0x3f`` in that order (the
  hints ``0x40 .. 0x7f`` are for user arenas); a successful reservation
  advances its hint.  With ``GOEXPERIMENT=randomizedheapbase64`` (on by
  default on 64-bit in this release) the hints are derived from a random
  64-bit seed instead: 20 random bits choose an arena-aligned base; on the
  first growth 4 more bits move the start to a random 4 MiB chunk of the
  first arena, and 22 more choose 0..511 pages at its start that are marked
  allocated and scavenged (``pageAlloc.markRandomPaddingPages``), so they
  count in HeapSys and HeapReleased but are never used.
* **sysAlloc(n)** rounds ``n`` up to whole arenas and reserves them at the
  first usable hint.
* **grow(npage)**: ``ask = alignUp(npage, 512) * pageSize`` (whole palloc
  chunks).  If ``[curArena.base, curArena.end)`` lacks room, ``sysAlloc``
  more; contiguous space extends ``curArena``, otherwise the rest of the old
  space is handed to the page allocator first (counted in the growth) and
  the new space becomes current.  Then ``ask`` bytes at ``curArena.base``
  are mapped (``sysMap`` to ``heapReleased``) and given to
  ``pageAlloc.grow``.  The return value ``totalGrowth`` is what HeapSys and
  HeapReleased (and ``heapStats.released``) grow by.
* **allocNeedsZero**: each arena's ``zeroedBase`` is the high-water mark
  of pages ever handed out; memory above it is fresh from the OS and needs
  no zeroing.

What the model simplifies
-------------------------
* Address-space reservations always succeed at the hint (no other
  mappings collide), so the layout is the deterministic one: first arena at
  ``0xc000000000``, growing upward.  The randomised layout is available by
  passing ``heap_rand_seed`` (the 64-bit value ``bootstrapRand`` would
  return); the default (None) is the layout of
  ``GOEXPERIMENT=norandomizedheapbase64``, which the go1.27 profile uses by
  default (the real runtime's padding makes HeapSys at ``main`` vary by one
  chunk between runs; see docs/go1.27-notes.md §4 and §11).
* ``heapArena`` keeps only ``zeroedBase``; the span table and page bitmaps
  belong to the heap model.  Its size is :data:`HEAP_ARENA_STRUCT_BYTES`.
* The 32-bit pre-reservation (``mheap.arena``), the race-detector hint
  range and ``sysReserveAligned`` fallback (all hints failed) do not exist
  here.  The L2 arena map is ``sysAllocOS``'d in Go and counted in no
  statistic, so it is not counted here either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.go127.mpallocbits import (
    LOG_PALLOC_CHUNK_BYTES,
    PAGE_SIZE,
    PALLOC_CHUNK_BYTES,
    PALLOC_CHUNK_PAGES,
    PHYS_PAGE_SIZE,
)
from goheap.runtime.go127.mranges import ARENA_BASE_OFFSET, HEAP_ADDR_BITS, UINTPTR_MASK

if TYPE_CHECKING:
    from goheap.runtime.go127.mpagealloc import PageAlloc

#: ``logHeapArenaBytes`` / ``heapArenaBytes`` (64 MiB on linux/amd64).
LOG_HEAP_ARENA_BYTES: Final = 26
HEAP_ARENA_BYTES: Final = 1 << LOG_HEAP_ARENA_BYTES
#: ``pagesPerArena``.
PAGES_PER_ARENA: Final = HEAP_ARENA_BYTES // PAGE_SIZE
#: ``arenaL1Bits``, ``arenaL2Bits``, ``arenaBits`` on linux/amd64.
ARENA_L1_BITS: Final = 0
ARENA_L2_BITS: Final = HEAP_ADDR_BITS - LOG_HEAP_ARENA_BYTES - ARENA_L1_BITS
ARENA_BITS: Final = ARENA_L1_BITS + ARENA_L2_BITS
#: ``unsafe.Sizeof(heapArena{})``: spans (8 B x 8192) + four 1024-byte page bitmaps
#: + ``checkmarks`` pointer + ``zeroedBase``.
HEAP_ARENA_STRUCT_BYTES: Final = 8 * PAGES_PER_ARENA + 4 * (PAGES_PER_ARENA // 8) + 8 + 8
#: ``persistentalloc``'s threshold above which it calls ``sysAlloc`` directly.
PERSISTENT_MAX_BLOCK: Final = 64 << 10
#: The default hint prefix (``0x00c0 << 32``) and spacing (``1 << 40``).
ARENA_HINT_BASE: Final = 0x00C0 << 32
ARENA_HINT_STEP: Final = 1 << 40


def arenaIndex(p: int) -> int:
    """``arenaIndex``: the index of the heap arena containing address ``p``."""
    return ((p - ARENA_BASE_OFFSET) & UINTPTR_MASK) >> LOG_HEAP_ARENA_BYTES


@dataclass(slots=True)
class ArenaHint:
    """``arenaHint``: where to try the next reservation (``down``: grow below ``addr``)."""

    addr: int
    down: bool = False


@dataclass(slots=True)
class HeapArena:
    """``heapArena`` (only ``zeroedBase``, relative to the arena base, is modelled)."""

    index: int
    zeroedBase: int = 0


class HeapRandBits:
    """``heapRandSeed`` / ``nextHeapRandBits``: bits consumed from the top of a 64-bit seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed & UINTPTR_MASK
        self.remaining = 64

    def next(self, bits: int) -> int:
        """The next ``bits`` bits of the seed."""
        if bits > self.remaining:
            raise RuntimeThrow("not enough heapRandSeed bits remaining")
        r = self.seed >> (64 - bits)
        self.seed = (self.seed << bits) & UINTPTR_MASK
        self.remaining -= bits
        return r


@dataclass(slots=True)
class CurArena:
    """``mheap.curArena``: the reserved space the heap is growing into."""

    base: int = 0
    end: int = 0


@dataclass
class HeapArenas:
    """The mheap's arena state: ``arenaHints``, ``arenas``, ``heapArenas``, ``curArena``.

    ``metadataSys`` counts the bytes ``sysAlloc``'d for ``heapArena``
    structs (``gcMiscSys`` and ``mappedReady``); ``metadataPersistent`` the
    bytes ``persistentalloc``'d for the ``heapArenas`` list (moved from
    ``other_sys`` to ``gcMiscSys``).
    """

    heap_rand_seed: int | None = None
    phys_page_size: int = PHYS_PAGE_SIZE
    arenaHints: list[ArenaHint] = field(default_factory=list)
    userArenaHints: list[ArenaHint] = field(default_factory=list)
    arenas: dict[int, HeapArena] = field(default_factory=dict)
    heapArenas: list[int] = field(default_factory=list)
    heapArenasCap: int = 0
    curArena: CurArena = field(default_factory=CurArena)
    metadataSys: int = 0
    metadataPersistent: int = 0
    rand: HeapRandBits | None = None

    def __post_init__(self) -> None:
        self.mallocinit()

    def mallocinit(self) -> None:
        """Build the hint lists as ``mallocinit`` does on 64-bit linux."""
        rand_base = 0
        rand_prefix = 0
        prefix_mask = ~(0xFF << (HEAP_ADDR_BITS - 8)) & UINTPTR_MASK
        if self.heap_rand_seed is not None:
            self.rand = HeapRandBits(self.heap_rand_seed)
            rand_addr_bits = HEAP_ADDR_BITS - 1 - 1  # one more bit dropped on amd64
            top_bits = rand_addr_bits - LOG_HEAP_ARENA_BYTES
            rand_base = self.rand.next(top_bits) << (rand_addr_bits - top_bits)
            rand_base = (rand_base + HEAP_ARENA_BYTES - 1) & ~(HEAP_ARENA_BYTES - 1)
            rand_prefix = (rand_base >> (rand_addr_bits - 8)) & 0xFF
        heap: list[ArenaHint] = []
        user: list[ArenaHint] = []
        for i in range(0x7F, -1, -1):
            if self.rand is not None:
                prefix = ((rand_prefix + i) & 0xFF) << (HEAP_ADDR_BITS - 1 - 1 - 8)
                p = prefix | (rand_base & prefix_mask)
            else:
                p = (i << 40) | ARENA_HINT_BASE
            # Each hint is pushed on the front of its list.
            (user if i > 0x3F else heap).insert(0, ArenaHint(p))
        self.arenaHints = heap
        self.userArenaHints = user

    def sysAlloc(self, n: int) -> tuple[int, int]:
        """Reserve at least ``n`` bytes of whole arenas at a hint: ``(v, size)``, or ``(0, 0)``."""
        n = (n + HEAP_ARENA_BYTES - 1) & ~(HEAP_ARENA_BYTES - 1)
        hints = self.arenaHints
        v = 0
        size = 0
        while hints:
            hint = hints[0]
            p = hint.addr
            if hint.down:
                p -= n
            usable = p >= 0 and p + n <= UINTPTR_MASK and arenaIndex(p + n - 1) < 1 << ARENA_BITS
            if usable:
                # The model's reservations always land where they are asked to.
                v = p
                if not hint.down:
                    p += n
                hint.addr = p
                size = n
                break
            hints.pop(0)
        if size == 0:
            return 0, 0
        if arenaIndex(v) >= 1 << ARENA_BITS or arenaIndex(v + size - 1) >= 1 << ARENA_BITS:
            raise RuntimeThrow("memory reservation exceeds address space limit")
        for ri in range(arenaIndex(v), arenaIndex(v + size - 1) + 1):
            if ri in self.arenas:
                raise RuntimeThrow("arena already initialized")
            self.metadataSys += HEAP_ARENA_STRUCT_BYTES
            if len(self.heapArenas) == self.heapArenasCap:
                nbytes = 2 * self.heapArenasCap * 8 or self.phys_page_size
                self.metadataPersistent += nbytes
                self.heapArenasCap = nbytes // 8
            self.heapArenas.append(ri)
            self.arenas[ri] = HeapArena(ri)
        return v, size

    def grow(self, npage: int, pages: PageAlloc) -> tuple[int, bool]:
        """``mheap.grow``: add at least ``npage`` pages to ``pages``.

        Returns ``(totalGrowth, ok)``; the caller adds ``totalGrowth`` to
        HeapReleased (``gcController.heapReleased``) and to
        ``heapStats.released``.
        """
        cur = self.curArena
        first_grow = cur.base == 0
        ask = ((npage + PALLOC_CHUNK_PAGES - 1) // PALLOC_CHUNK_PAGES) * PALLOC_CHUNK_PAGES
        ask *= PAGE_SIZE
        phys = self.phys_page_size
        total = 0
        end = cur.base + ask
        n_base = (end + phys - 1) & ~(phys - 1)
        if n_base > cur.end:
            av, asize = self.sysAlloc(ask)
            if av == 0:
                return 0, False
            if av == cur.end:
                cur.end = av + asize
            else:
                size = cur.end - cur.base
                if size != 0:
                    pages.grow(cur.base, size)
                    total += size
                cur.base = av
                cur.end = av + asize
                if first_grow and self.rand is not None:
                    bits = LOG_HEAP_ARENA_BYTES - LOG_PALLOC_CHUNK_BYTES
                    offset = self.rand.next(bits)
                    cur.base = (cur.base | (offset << LOG_PALLOC_CHUNK_BYTES)) & ~(
                        PALLOC_CHUNK_BYTES - 1
                    )
            n_base = (cur.base + ask + phys - 1) & ~(phys - 1)
        v = cur.base
        cur.base = n_base
        pages.grow(v, n_base - v)
        total += n_base - v
        if first_grow and self.rand is not None:
            rand_offset = self.rand.next(LOG_PALLOC_CHUNK_BYTES)
            npad = (rand_offset & ~(PAGE_SIZE - 1)) // PAGE_SIZE
            if npad:
                pages.markRandomPaddingPages(v, npad)
        return total, True

    def allocNeedsZero(self, base: int, npage: int) -> bool:
        """Whether ``[base, base+npage*pageSize)`` was used before (and must be zeroed)."""
        need_zero = False
        while npage > 0:
            ha = self.arenas[arenaIndex(base)]
            arena_base = base % HEAP_ARENA_BYTES
            if arena_base < ha.zeroedBase:
                need_zero = True
            arena_limit = min(arena_base + npage * PAGE_SIZE, HEAP_ARENA_BYTES)
            if arena_limit > ha.zeroedBase:
                ha.zeroedBase = arena_limit
            base += arena_limit - arena_base
            npage -= (arena_limit - arena_base) // PAGE_SIZE
        return need_zero
