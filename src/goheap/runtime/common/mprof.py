"""Heap profiling as every version does it (mprof.go): buckets and the sampler's log.

A record is a *bucket* per (stack, size); its published counts (what
``runtime.MemProfile`` returns: ``allocs``, ``frees`` and their bytes) are
here, and each version's ``memRecord`` adds the generations it publishes
from. ``stkbucket`` charges the hash table (sysAlloc'd) and each bucket
(persistentalloc'd: header, stack words, a memRecord) to ``buckhash_sys``;
``setprofilebucket`` ties a sampled object to its bucket with a special.
``fastlog2`` is the table-driven log both versions' ``nextSample`` uses.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.common.specials import KindSpecialProfile, addspecial

if TYPE_CHECKING:
    from goheap.runtime.common.heapview import HeapView

_FASTLOG_NUM_BITS: Final = 5
# fastlog2Table as Go 1.8 ships it (fastlog2table.go, made by mkfastlog2table.go
# with Go's own log2): log2(1 + i/32). Recomputing it with math.log2 gives a
# different last bit in 13 entries, so the values are Go's, written out.
_FASTLOG2_TABLE: Final = [
    0.0,
    0.0443941193584535,
    0.08746284125033943,
    0.12928301694496647,
    0.16992500144231248,
    0.2094533656289499,
    0.24792751344358555,
    0.28540221886224837,
    0.3219280948873623,
    0.3575520046180837,
    0.39231742277876036,
    0.4262647547020979,
    0.4594316186372973,
    0.4918530963296748,
    0.5235619560570128,
    0.5545888516776374,
    0.5849625007211563,
    0.6147098441152082,
    0.6438561897747247,
    0.6724253419714956,
    0.7004397181410922,
    0.7279204545631992,
    0.7548875021634686,
    0.7813597135246596,
    0.8073549220576042,
    0.8328900141647417,
    0.8579809951275721,
    0.8826430493618412,
    0.9068905956085185,
    0.9307373375628862,
    0.9541963103868752,
    0.9772799234999164,
    1.0,
]

DEFAULT_STACK: Final[tuple[str, ...]] = ("main.main", "runtime.main", "runtime.goexit")


def fastlog2(x: float) -> float:
    """Go's fastlog2: table lookup on the top mantissa bits, then interpolation."""
    bits: int = struct.unpack("<Q", struct.pack("<d", x))[0]
    x_exp = ((bits >> 52) & 0x7FF) - 1023
    idx = (bits >> (52 - _FASTLOG_NUM_BITS)) % (1 << _FASTLOG_NUM_BITS)
    scale = (bits >> (52 - _FASTLOG_NUM_BITS - 20)) % (1 << 20)
    low = _FASTLOG2_TABLE[idx]
    high = _FASTLOG2_TABLE[idx + 1]
    return x_exp + low + (high - low) * scale * (1.0 / (1 << 20))


class Bucket:
    """A profile bucket: one (stack, size) and its published counts."""

    __slots__ = ("alloc_bytes", "allocs", "free_bytes", "frees", "size", "stack")

    def __init__(self, stack: tuple[str, ...], size: int) -> None:
        self.stack = stack
        self.size = size
        self.allocs = 0
        self.frees = 0
        self.alloc_bytes = 0
        self.free_bytes = 0

    def inuse_objects(self) -> int:
        return self.allocs - self.frees

    def inuse_bytes(self) -> int:
        return self.alloc_bytes - self.free_bytes


class MProf:
    """The heap profile of one heap: its buckets; the sampler is the version's."""

    bucket_class: type[Bucket] = Bucket  # what stkbucket makes (the version's memRecord)
    pprof_legacy_text = False  # does runtime/pprof write the legacy text form?

    def __init__(self, h: HeapView[Any], rate: int) -> None:
        self.h = h
        self.MemProfileRate = rate
        self.buckets: dict[tuple[tuple[str, ...], int], Bucket] = {}
        self.mbuckets: list[Bucket] = []  # allocation order (Go prepends; we append)
        self.buckhash_allocated = False

    def nextSample(self) -> int:
        """Bytes until the next sampled allocation (exponential, mean = rate)."""
        raise NotImplementedError

    def stkbucket(self, stack: tuple[str, ...], size: int) -> Bucket:
        h = self.h
        if not self.buckhash_allocated:
            h.os.sysAlloc(self.h.profile.buck_hash_size * 8, h.stats.buckhash_sys)
            self.buckhash_allocated = True
        key = (stack, size)
        b = self.buckets.get(key)
        if b is None:
            nbytes = h.profile.sizeof_bucket_header + len(stack) * 8 + h.profile.sizeof_memrecord
            h.palloc.alloc(nbytes, 0, h.stats.buckhash_sys, h._persistent())
            b = self.bucket_class(stack, size)
            self.buckets[key] = b
            self.mbuckets.append(b)
        return b

    def setprofilebucket(self, p: int, b: Bucket) -> None:
        h = self.h
        s = h.specialprofilealloc.alloc(h._persistent())
        s.kind = KindSpecialProfile
        s.payload = b
        if not addspecial(h, p, s):
            raise RuntimeThrow("setprofilebucket: profile already set")

    def mProf_Malloc(self, p: int, size: int, stack: tuple[str, ...]) -> None:
        """Record a sampled allocation of size bytes at p."""
        raise NotImplementedError

    def mProf_Free(self, b: Bucket, size: int) -> None:
        """Count the free (at sweep) of a sampled object of bucket b."""
        raise NotImplementedError

    def MemProfile(self, inuseZero: bool) -> list[Bucket]:
        """runtime.MemProfile's records: the buckets with published counts, newest first."""
        raise NotImplementedError
