"""spanSet (Go 1.27 ``mspanset.go``): the FIFO sets mcentral keeps its spans in.

What the Go code does
---------------------
A ``spanSet`` is a lock-free two-level FIFO: a *spine* (an array of block
pointers, ``spanSetInitSpineCap = 256`` entries at first, doubled when
full) of *blocks* of ``spanSetBlockEntries = 512`` span pointers. ``push``
takes the next tail slot, adding a block (and growing the spine) when the
slot starts a new block; ``pop`` takes the head slot. A block whose 512
slots have all been popped goes back to the global ``spanSetBlockPool``
(an lfstack) for reuse by any set; ``reset`` (at the start of sweeping,
on an empty set) frees the partly popped head block and zeroes the
indices.

Memory: the spine is ``persistentalloc(cap*8, cpu.CacheLineSize,
&memstats.gcMiscSys)`` (the old spine is leaked when it grows); a block is
``persistentalloc(sizeof(spanSetBlock), max(CacheLineSize, tagAlign),
&memstats.gcMiscSys)`` -- 512 pointers after a header padded to
``tagAlign = 512`` bytes (lfstack pointers are tagged in the low 9 bits),
4608 bytes -- taken only when the pool is empty. So GCSys grows by 6656
bytes the first time a span set is pushed to, as the live runtime shows.

What the model simplifies
-------------------------
No atomics or spin loops (one thread); the spine is a Python list and a
block a list of 512 slots. Addresses of spines and blocks are not kept,
but each allocation goes through ``persistentalloc`` with Go's size,
alignment, stat and the running P's chunk, so OtherSys and GCSys move as
Go's do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from goheap.errors import RuntimeThrow

if TYPE_CHECKING:
    from goheap.runtime.go127.mspan import MSpan


PAlloc = Callable[[int, int], None]


class SpanSetBlock:
    """``spanSetBlock``: 512 span slots and the count of those popped."""

    __slots__ = ("popped", "spans")

    def __init__(self, entries: int) -> None:
        self.popped = 0
        self.spans: list[MSpan | None] = [None] * entries


class SpanSetBlockAlloc:
    """``spanSetBlockAlloc``: the global pool of free blocks (an lfstack: LIFO).

    ``persistentalloc(size, align)`` is the heap's persistentalloc on the
    running P, charging ``gcMiscSys``. The pool also carries the sizes every
    span set shares (Go's constants): entries per block, the block's size
    and alignment, the first spine capacity and the spine's alignment.
    """

    def __init__(
        self,
        entries: int,
        block_bytes: int,
        block_align: int,
        spine_init_cap: int,
        spine_align: int,
        persistentalloc: PAlloc,
    ) -> None:
        self.entries = entries
        self.block_bytes = block_bytes
        self.block_align = block_align
        self.spine_init_cap = spine_init_cap
        self.spine_align = spine_align
        self.persistentalloc = persistentalloc
        self.stack: list[SpanSetBlock] = []
        self.allocated = 0  # blocks ever persistentalloc'd

    def alloc(self) -> SpanSetBlock:
        if self.stack:
            return self.stack.pop()
        self.persistentalloc(self.block_bytes, self.block_align)
        self.allocated += 1
        return SpanSetBlock(self.entries)

    def free(self, block: SpanSetBlock) -> None:
        block.popped = 0
        self.stack.append(block)


class SpanSet:
    """``spanSet``: a FIFO of spans (push at the tail, pop at the head)."""

    __slots__ = ("head", "name", "pool", "spine", "spineCap", "tail")

    def __init__(self, name: str, pool: SpanSetBlockAlloc) -> None:
        self.name = name
        self.pool = pool
        self.spine: list[SpanSetBlock | None] = []  # len(spine) is Go's spineLen
        self.spineCap = 0
        self.head = 0
        self.tail = 0

    def push(self, s: MSpan) -> None:
        """Add s at the tail."""
        cursor = self.tail
        self.tail += 1
        entries = self.pool.entries
        top, bottom = divmod(cursor, entries)
        if top < len(self.spine):
            block = self.spine[top]
            assert block is not None
        else:
            if len(self.spine) == self.spineCap:
                newCap = self.spineCap * 2 or self.pool.spine_init_cap
                self.pool.persistentalloc(newCap * 8, self.pool.spine_align)
                self.spineCap = newCap
            block = self.pool.alloc()
            self.spine.append(block)
        block.spans[bottom] = s

    def pop(self) -> MSpan | None:
        """Take the span at the head, or None if the set is empty."""
        head = self.head
        if head >= self.tail:
            return None
        entries = self.pool.entries
        top, bottom = divmod(head, entries)
        if len(self.spine) <= top:
            return None
        self.head = head + 1
        block = self.spine[top]
        assert block is not None
        s = block.spans[bottom]
        if s is None:
            raise RuntimeThrow(f"{self.name}: popped an empty slot")
        block.spans[bottom] = None
        block.popped += 1
        if block.popped == entries:
            self.spine[top] = None
            self.pool.free(block)
        return s

    def reset(self) -> None:
        """Clear an empty set: free the partly popped head block, zero the indices."""
        if self.head < self.tail:
            raise RuntimeThrow(f"attempt to clear non-empty span set {self.name}")
        top = self.head // self.pool.entries
        if top < len(self.spine):
            block = self.spine[top]
            if block is not None:
                if block.popped == 0:
                    raise RuntimeThrow("span set block with unpopped elements found in reset")
                if block.popped == self.pool.entries:
                    raise RuntimeThrow("fully empty unfreed span set block found in reset")
                self.spine[top] = None
                self.pool.free(block)
        self.head = self.tail = 0
        self.spine = []

    def __len__(self) -> int:
        return self.tail - self.head

    def __iter__(self) -> Iterator[MSpan]:
        """The spans in the set, head to tail (for inspection and check())."""
        entries = self.pool.entries
        for i in range(self.head, self.tail):
            block = self.spine[i // entries]
            assert block is not None
            s = block.spans[i % entries]
            assert s is not None
            yield s

    def __repr__(self) -> str:
        return self.name
