"""Ps of Go 1.27 (``runtime2.go`` ``p``): what the allocator keeps per P.

Besides the mcache and the persistentalloc chunk of every version, a
modern P has a **page cache** (``pcache``, a ``pageCache``: 64 pages of
one chunk that small span allocations take without the heap lock) and an
**mspan cache** (``mspancache``: up to 128 mspan structs; refilled 64 at a
time from ``spanalloc``, so MSpanInuse moves in steps of 64 * 160 bytes).
The collector keeps per P the fractional worker's mark time of this cycle
(``gcFractionalMarkTime``) and whether the Green Tea ``gcw.ptrBuf`` was
made. The model runs one OS thread; the P the mutator runs on is the
heap's ``curp``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goheap.runtime.common import proc
from goheap.runtime.go127.mcache import MCache
from goheap.runtime.go127.mpagecache import PageCache

if TYPE_CHECKING:
    from goheap.runtime.go127.mspan import MSpan


class P(proc.P[MCache]):
    __slots__ = ("gcFractionalMarkTime", "gcwPtrBuf", "mspancache", "pcache")

    def __init__(self, pid: int, mcache: MCache | None = None) -> None:
        super().__init__(pid, mcache)
        self.pcache = PageCache()
        self.mspancache: list[MSpan] = []  # buf[:len]
        self.gcFractionalMarkTime = 0
        self.gcwPtrBuf = False
