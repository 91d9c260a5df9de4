"""gcSweepBuf (mgcsweepbuf.go): a stack of spans for the sweeper.

Go stores the spans in 512-entry blocks reached through a growable spine;
blocks and spines come from persistentalloc (charged to ``gc_sys``, 64-byte
aligned) and are never freed. This model keeps the spans in a Python list
and performs the same persistentalloc calls at the same moments, so GCSys
and OtherSys move as in Go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goheap.runtime.common.mfixalloc import PersistentAlloc, PersistentAllocator
from goheap.runtime.common.mstats import SysStat

if TYPE_CHECKING:
    from goheap.runtime.go18.mspan import MSpan


class GCSweepBuf:
    def __init__(
        self,
        palloc: PersistentAllocator,
        gc_sys: SysStat,
        block_entries: int,
        init_spine_cap: int,
        cache_line: int,
    ) -> None:
        self.palloc = palloc
        self.gc_sys = gc_sys
        self.block_entries = block_entries
        self.init_spine_cap = init_spine_cap
        self.cache_line = cache_line
        self.spans: list[MSpan | None] = []
        self.spineLen = 0  # blocks allocated
        self.spineCap = 0

    def push(self, s: MSpan, persistent: PersistentAlloc) -> None:
        cursor = len(self.spans)
        top = cursor // self.block_entries
        if top >= self.spineLen:
            if self.spineLen == self.spineCap:
                new_cap = self.spineCap * 2 if self.spineCap else self.init_spine_cap
                self.palloc.alloc(new_cap * 8, self.cache_line, self.gc_sys, persistent)
                self.spineCap = new_cap
            self.palloc.alloc(self.block_entries * 8, self.cache_line, self.gc_sys, persistent)
            self.spineLen += 1
        self.spans.append(s)

    def pop(self) -> MSpan | None:
        """Take the most recently pushed span, or None when empty."""
        while self.spans:
            s = self.spans.pop()
            if s is not None:
                return s
        return None

    def __len__(self) -> int:
        return len(self.spans)
