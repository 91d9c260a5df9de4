"""Heap profiling of Go 1.27 (``mprof.go``, ``malloc.go`` ``profilealloc``/``nextSample``).

What the Go code does
---------------------
Each mcache counts ``nextSample`` down by the slot size of every
allocation (a tiny block counts 16; a carve-out from a block counts
nothing); when it goes negative, or ``MemProfileRate`` differs from the
mcache's ``memProfRate`` (so the first allocation of every mcache is
sampled when profiling is on), ``profilealloc`` records the object
(``mProf_Malloc``: a bucket per (stack, size) in ``buckhash``, sysAlloc'd
and persistentalloc'd to BuckHashSys; a ``specialprofile`` on the object,
OtherSys) and draws the next distance, ``fastexprand(MemProfileRate)``:
``q = cheaprandn(2^26) + 1``, ``int32(min(fastlog2(q) - 26, 0) * -ln 2 *
rate) + 1`` (0 for rate 1, ``MaxInt64`` for rate 0).

Counts go through ``memRecord``: ``future[3]`` cycles and ``active``. An
allocation is counted in ``future[(cycle+2)%3]``, a free (at sweep) in
``future[(cycle+1)%3]``; mark termination advances the cycle
(``mProf_NextCycle``) and then publishes ``future[cycle%3]`` into
``active`` (``mProf_Flush``); ``runtime.GC`` publishes the next one too
once sweeping is done (``mProf_PostSweep``). So the profile
(``runtime.MemProfile``: ``active``) lags the heap by up to two cycles.

The linker sets ``MemProfileRate = 0`` in programs that never read a heap
profile (``disableMemoryProfiling``); that is the profile's default here.

What the model simplifies
-------------------------
``cheaprand`` is per M in Go, seeded at random; here it is one wyrand state
with a fixed seed, so sampling is deterministic. Stacks are the names the
driver passes (``DEFAULT_STACK`` otherwise), at most ``max_stack`` deep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.runtime.common import mprof
from goheap.runtime.common.mprof import fastlog2

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap

MAX_INT64: Final = (1 << 63) - 1
CHEAPRAND_SEED: Final = 0x2545F491
_randomBitCount: Final = 26
_minusLog2: Final = -0.6931471805599453


class Bucket(mprof.Bucket):
    """A memProfile bucket with ``memRecord.future[3]`` ([allocs, frees] each)."""

    __slots__ = ("future",)

    def __init__(self, stack: tuple[str, ...], size: int) -> None:
        super().__init__(stack, size)
        self.future = [[0, 0], [0, 0], [0, 0]]


class MProf(mprof.MProf):
    """The heap profile and its sampler on a go1.27 heap."""

    bucket_class = Bucket  # memRecord with today's cycle ring
    pprof_legacy_text = False  # runtime/pprof writes profile.proto

    def __init__(self, h: MHeap, rate: int) -> None:
        super().__init__(h, rate)
        self.cheaprand_state = CHEAPRAND_SEED
        self.cycle = 0  # mProfCycle
        self.flushed = False

    def cheaprand(self) -> int:
        """wyrand on a 32-bit state, as ``cheaprand`` does on 64-bit hosts."""
        x = (self.cheaprand_state + 0x53C5CA59) & 0xFFFFFFFF
        self.cheaprand_state = x
        p = x * (x ^ 0x74743C1B)
        return ((p >> 32) ^ p) & 0xFFFFFFFF

    def cheaprandn(self, n: int) -> int:
        return (self.cheaprand() * n) >> 32

    def nextSample(self) -> int:
        rate = self.MemProfileRate
        if rate == 0:
            return MAX_INT64
        if rate == 1:
            return 0
        return self.fastexprand(rate)

    def fastexprand(self, mean: int) -> int:
        if mean > 0x7000000:
            mean = 0x7000000
        elif mean == 0:
            return 0
        q = self.cheaprandn(1 << _randomBitCount) + 1
        qlog = fastlog2(float(q)) - _randomBitCount
        if qlog > 0:
            qlog = 0.0
        return int(qlog * (_minusLog2 * float(mean))) + 1

    def mProf_Malloc(self, p: int, size: int, stack: tuple[str, ...]) -> None:
        b = self.stkbucket(stack[: self.h.profile.max_stack], size)
        assert isinstance(b, Bucket)
        b.future[(self.cycle + 2) % 3][0] += 1
        self.setprofilebucket(p, b)

    def mProf_Free(self, b: mprof.Bucket, size: int) -> None:
        assert isinstance(b, Bucket)
        b.future[(self.cycle + 1) % 3][1] += 1

    def mProf_NextCycle(self) -> None:
        self.cycle = (self.cycle + 1) & 0xFFFFFFFF
        self.flushed = False

    def mProf_Flush(self) -> None:
        if self.flushed:
            return
        self.flushed = True
        self._flushLocked(self.cycle % 3)

    def mProf_PostSweep(self) -> None:
        self._flushLocked((self.cycle + 1) % 3)

    def _flushLocked(self, index: int) -> None:
        for b in self.mbuckets:
            assert isinstance(b, Bucket)
            allocs, frees = b.future[index]
            if allocs or frees:
                b.allocs += allocs
                b.frees += frees
                b.alloc_bytes += allocs * b.size
                b.free_bytes += frees * b.size
                b.future[index] = [0, 0]

    def MemProfile(self, inuseZero: bool) -> list[mprof.Bucket]:
        """``memProfileInternal``: ``active`` after publishing the cycle in flight.

        If every ``active`` is still zero (no GC has completed), all three
        ``future`` cycles are added in, as Go does. Newest bucket first.
        """
        self._flushLocked(self.cycle % 3)  # mProf_FlushLocked(index)
        if all(b.allocs == 0 and b.frees == 0 for b in self.mbuckets):
            for c in range(3):
                self._flushLocked(c)
        return [b for b in reversed(self.mbuckets) if inuseZero or b.allocs != b.frees]
