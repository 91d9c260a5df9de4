"""Heap profiling (mprof.go, and the sampling in malloc.go).

mallocgc samples on average one allocation per ``MemProfileRate`` bytes
(512 KiB by default): each mcache counts ``next_sample`` down by the
allocated (rounded) size, and when it would go below zero the allocation is
recorded with ``mProf_Malloc`` and a new distance is drawn by
``nextSample``, an exponential variate computed, as in Go 1.8, from
``fastrand`` and the table-driven ``fastlog2``.

Go seeds each M's ``fastrand`` from ``cputicks()``; the model uses the
fixed seed Go falls back to (0x49f6428a), so sampling is deterministic.

A record is a *bucket* per (stack, size) holding Go's three generations of
counts (``recent_*``, ``prev_*`` and the published totals), rotated by
``mProf_GC`` after each collection, so the profile lags by up to two cycles
exactly as ``runtime.MemProfile`` does. The hash table (179999 entries,
sysAlloc'd) and each bucket (persistentalloc'd: header, stack words, a
memRecord) are charged to ``buckhash_sys``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Final

from goheap.runtime.common.specials import _KindSpecialProfile, addspecial

if TYPE_CHECKING:
    from goheap.runtime.common.heapview import HeapView

FASTRAND_SEED: Final = 0x49F6428A
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
    """A profile bucket: one (stack, size) and its memRecord counts."""

    __slots__ = (
        "alloc_bytes",
        "allocs",
        "free_bytes",
        "frees",
        "prev_alloc_bytes",
        "prev_allocs",
        "prev_free_bytes",
        "prev_frees",
        "recent_alloc_bytes",
        "recent_allocs",
        "recent_free_bytes",
        "recent_frees",
        "size",
        "stack",
    )

    def __init__(self, stack: tuple[str, ...], size: int) -> None:
        self.stack = stack
        self.size = size
        self.allocs = 0
        self.frees = 0
        self.alloc_bytes = 0
        self.free_bytes = 0
        self.prev_allocs = 0
        self.prev_frees = 0
        self.prev_alloc_bytes = 0
        self.prev_free_bytes = 0
        self.recent_allocs = 0
        self.recent_frees = 0
        self.recent_alloc_bytes = 0
        self.recent_free_bytes = 0

    def inuse_objects(self) -> int:
        return self.allocs - self.frees

    def inuse_bytes(self) -> int:
        return self.alloc_bytes - self.free_bytes


class MProf:
    """The heap profile and its sampler, for one heap."""

    bucket_class: type[Bucket] = Bucket  # what stkbucket makes (a version may extend it)
    # Go 1.8's runtime/pprof wrote heap profiles in the legacy text form only.
    pprof_legacy_text = True

    def __init__(self, h: HeapView[Any], rate: int) -> None:
        self.h = h
        self.MemProfileRate = rate
        self.fastrand_state = FASTRAND_SEED
        self.buckets: dict[tuple[tuple[str, ...], int], Bucket] = {}
        self.mbuckets: list[Bucket] = []  # allocation order (Go prepends; we append)
        self.buckhash_allocated = False

    def fastrand(self) -> int:
        """runtime·fastrand on amd64 (Go 1.8)."""
        x = (self.fastrand_state << 1) & 0xFFFFFFFF
        y = x ^ 0x88888EEF
        fr = x if y & 0x80000000 else y
        self.fastrand_state = fr
        return fr

    def nextSample(self) -> int:
        """Bytes until the next sampled allocation (exponential, mean = rate)."""
        period = self.MemProfileRate
        if period > 0x7000000:
            period = 0x7000000
        elif period == 0:
            return 0
        q = self.fastrand() % (1 << 26) + 1
        qlog = fastlog2(float(q)) - 26
        if qlog > 0:
            qlog = 0.0
        v = qlog * (-0.6931471805599453 * float(period))
        return int(v) + 1

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

    def mProf_Malloc(self, p: int, size: int, stack: tuple[str, ...]) -> None:
        b = self.stkbucket(stack[: self.h.profile.max_stack], size)
        b.recent_allocs += 1
        b.recent_alloc_bytes += size
        self.setprofilebucket(p, b)

    def setprofilebucket(self, p: int, b: Bucket) -> None:
        h = self.h
        s = h.specialprofilealloc.alloc(h._persistent())
        s.kind = _KindSpecialProfile
        s.payload = b
        if not addspecial(h, p, s):
            from goheap.errors import RuntimeThrow

            raise RuntimeThrow("setprofilebucket: profile already set")

    def mProf_Free(self, b: Bucket, size: int) -> None:
        b.prev_frees += 1
        b.prev_free_bytes += size

    def MemProfile(self, inuseZero: bool) -> list[Bucket]:
        """runtime.MemProfile's records: the buckets with published counts, newest first.

        If nothing is published yet (no GC has happened), Go 1.8 runs
        ``mProf_GC`` twice first so that a profile taken early is not empty;
        reading a profile so changes later reads, in Go as here. Buckets with
        nothing in use are left out unless ``inuseZero``.
        """
        if all(b.allocs == 0 and b.frees == 0 for b in self.mbuckets):
            self.mProf_GC()
            self.mProf_GC()
        # Go prepends to mbuckets (newest first); the model appends.
        return [b for b in reversed(self.mbuckets) if inuseZero or b.alloc_bytes != b.free_bytes]

    def mProf_GC(self) -> None:
        """Publish the previous cycle's counts and start a new generation."""
        for b in self.mbuckets:
            b.allocs += b.prev_allocs
            b.frees += b.prev_frees
            b.alloc_bytes += b.prev_alloc_bytes
            b.free_bytes += b.prev_free_bytes
            b.prev_allocs = b.recent_allocs
            b.prev_frees = b.recent_frees
            b.prev_alloc_bytes = b.recent_alloc_bytes
            b.prev_free_bytes = b.recent_free_bytes
            b.recent_allocs = 0
            b.recent_frees = 0
            b.recent_alloc_bytes = 0
            b.recent_free_bytes = 0
