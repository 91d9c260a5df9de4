"""What mallocgc does the same way in every version (malloc.go).

``nextFreeFast`` (a slot from the span's allocCache) is unchanged from Go
1.8 to Go 1.27, and every 0-byte allocation returns ``&zerobase``.
"""

from __future__ import annotations

from typing import Final

from goheap.runtime.common.mspan import MSpan
from goheap.runtime.common.wordmem import ctz64


def nextFreeFast(s: MSpan) -> int:
    """A free slot from the span's allocCache, or 0 if the slow path is needed."""
    aCache = s.allocCache
    if aCache == 0:
        return 0
    theBit = ctz64(aCache)
    result = s.freeindex + theBit
    if result < s.nelems:
        freeidx = result + 1
        if freeidx & 63 == 0 and freeidx != s.nelems:  # Go's freeidx%64 (an and, compiled)
            return 0
        s.allocCache = aCache >> (theBit + 1)
        s.freeindex = freeidx
        s.allocCount += 1
        return result * s.elemsize + s.startAddr
    return 0


# runtime.zerobase lives in the binary's BSS; any fixed non-heap address will do.
ZEROBASE: Final = 0x5A6C40
