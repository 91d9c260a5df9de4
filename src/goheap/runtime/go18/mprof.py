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

from typing import TYPE_CHECKING, Final

from goheap.runtime.common import mprof
from goheap.runtime.common.mprof import fastlog2

if TYPE_CHECKING:
    from goheap.runtime.go18.mheap import MHeap

FASTRAND_SEED: Final = 0x49F6428A


class Bucket(mprof.Bucket):
    """A Go 1.8 bucket: the published counts and the two generations behind them."""

    __slots__ = (
        "prev_alloc_bytes",
        "prev_allocs",
        "prev_free_bytes",
        "prev_frees",
        "recent_alloc_bytes",
        "recent_allocs",
        "recent_free_bytes",
        "recent_frees",
    )

    def __init__(self, stack: tuple[str, ...], size: int) -> None:
        super().__init__(stack, size)
        self.prev_allocs = 0
        self.prev_frees = 0
        self.prev_alloc_bytes = 0
        self.prev_free_bytes = 0
        self.recent_allocs = 0
        self.recent_frees = 0
        self.recent_alloc_bytes = 0
        self.recent_free_bytes = 0


class MProf(mprof.MProf):
    """The heap profile and its sampler, for one Go 1.8 heap."""

    bucket_class = Bucket
    # Go 1.8's runtime/pprof wrote heap profiles in the legacy text form only.
    pprof_legacy_text = True

    def __init__(self, h: MHeap, rate: int) -> None:
        super().__init__(h, rate)
        self.fastrand_state = FASTRAND_SEED

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

    def mProf_Malloc(self, p: int, size: int, stack: tuple[str, ...]) -> None:
        b = self.stkbucket(stack[: self.h.profile.max_stack], size)
        assert isinstance(b, Bucket)
        b.recent_allocs += 1
        b.recent_alloc_bytes += size
        self.setprofilebucket(p, b)

    def mProf_Free(self, b: mprof.Bucket, size: int) -> None:
        assert isinstance(b, Bucket)
        b.prev_frees += 1
        b.prev_free_bytes += size

    def MemProfile(self, inuseZero: bool) -> list[mprof.Bucket]:
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
            assert isinstance(b, Bucket)
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
