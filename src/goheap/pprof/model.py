"""What goheap knows of a heap profile, independent of how it was stored.

A Go heap profile (``runtime/pprof``'s ``heap`` / ``allocs`` profile, or
``/debug/pprof/heap``) is a list of samples, one per (allocation stack, slot
size). Each carries four values, in Go's order and spelling:

``alloc_objects`` / ``alloc_space``
    everything allocated at that stack since the program started;
``inuse_objects`` / ``inuse_space``
    what of it the last completed collection found still allocated.

What the profile records, and what that limits:

* Go writes the values already *scaled for sampling*: with
  ``MemProfileRate = r`` it records about one allocation per ``r`` bytes and
  multiplies each count by ``1 / (1 - exp(-size/r))`` (``scaleHeapSample``).
  Only ``MemProfileRate = 1`` gives exact counts. ``period`` is that rate.
* The numeric label ``bytes`` is the *slot* size Go charged (the size class,
  plus the malloc header on go1.22+ for pointerful objects above 512 B), not
  the size the program asked for. Rounding waste inside a slot cannot be
  read from a profile.
* The in-use figures lag: they are as of the last *completed* GC cycle, not
  the moment the profile was written.

The reader (``goheap.pprof.reader``) builds a :class:`HeapProfile` from
``profile.proto`` or the legacy text form; the writer turns one back into a
``profile.proto`` that ``go tool pprof`` reads; ``goheap.pprof.sim`` builds
one from the simulator's own profile buckets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: The largest value of Go's int64: profile.proto's values and the runtime's counters.
INT64_MAX = (1 << 63) - 1

# Go's heap-profile sample types, in the order runtime/pprof writes them.
HEAP_SAMPLE_TYPES: tuple[tuple[str, str], ...] = (
    ("alloc_objects", "count"),
    ("alloc_space", "bytes"),
    ("inuse_objects", "count"),
    ("inuse_space", "bytes"),
)


def sample_weight(size: float, rate: int) -> float:
    """How many objects of ``size`` bytes one recorded at ``MemProfileRate = rate`` stands
    for: ``1 / (1 - exp(-size/rate))``, the inverse of its chance to be sampled.

    Go computes ``1 - math.Exp(-x)`` in float64; below x of about 1.1e-16
    (a period some 1e17 times the object) that rounds to 0 and Go's scale is
    +Inf. There ``-expm1(-x)``, the same quantity without the cancellation,
    gives the finite weight (about ``rate / size``); a count it scales past
    int64 is the reader's to refuse. ``size`` must be positive.
    """
    x = float(size) / float(rate)
    chance = 1 - math.exp(-x)
    if chance == 0.0:
        chance = -math.expm1(-x)
    return 1 / chance


def scale_heap_sample(count: int, size: int, rate: int) -> tuple[int, int]:
    """runtime/pprof's ``scaleHeapSample``: (objects, bytes) estimated unsampled.

    ``count`` objects of ``size`` bytes in all were recorded at
    ``MemProfileRate = rate``: an object of the average size was recorded
    with probability ``1 - exp(-avg/rate)``, so each value is divided by it
    (float64, truncated toward zero, as Go's ``int64(float64(v) * scale)``).
    Rate 1 or less means every allocation was recorded: nothing to scale.
    pprof's reader of the legacy text form scales with the same formula.
    """
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return count, size
    scale = sample_weight(float(size) / float(count), rate)
    return int(float(count) * scale), int(float(size) * scale)


@dataclass(frozen=True)
class Frame:
    """One line of a call stack: ``function`` at ``file:line``.

    ``file`` is ``""`` and ``line`` is 0 when the profile does not say.
    """

    function: str
    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        if self.file:
            return f"{self.function} {self.file}:{self.line}"
        return self.function


@dataclass
class HeapSample:
    """One allocation site and slot size, with its four (scaled) values.

    ``stack`` is leaf first, as pprof stores it (``stack[0]`` is the function
    that called ``new``/``make``; runtime frames above it are already
    dropped by Go). ``size`` is the ``bytes`` label, or ``None`` when the
    profile has none (then ``alloc_space / alloc_objects`` is the best guess).
    ``pcs`` are the stack's location addresses in profile.proto (one per
    Location, so an inlined call shares its caller's), or () when not
    known; they tell two call sites on one line apart (:mod:`goheap.pprof.diff`
    matches samples as pprof does, by location), and are not compared.
    """

    stack: tuple[Frame, ...]
    alloc_objects: int
    alloc_space: int
    inuse_objects: int
    inuse_space: int
    size: int | None = None
    pcs: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @property
    def site(self) -> Frame | None:
        """The allocation site: the leaf frame, or None for an empty stack."""
        return self.stack[0] if self.stack else None

    def slot_size(self) -> int | None:
        """The ``bytes`` label, else the average object size, else None."""
        if self.size is not None:
            return self.size
        if self.alloc_objects > 0:
            return self.alloc_space // self.alloc_objects
        if self.inuse_objects > 0:
            return self.inuse_space // self.inuse_objects
        return None


@dataclass
class HeapProfile:
    """A whole heap profile.

    ``period`` is ``MemProfileRate`` (bytes between samples on average;
    1 means every allocation was recorded). ``source`` names where it was
    read from (a path, or ``"<simulator>"``), ``encoding`` how: ``"proto"``,
    ``"proto.gz"`` or ``"legacy"`` (the ``debug=1`` text form).
    """

    samples: list[HeapSample] = field(default_factory=list)
    period: int = 512 * 1024
    period_type: tuple[str, str] = ("space", "bytes")
    time_nanos: int = 0
    duration_nanos: int = 0
    comments: list[str] = field(default_factory=list)
    source: str = ""
    encoding: str = "proto.gz"

    def value_fault(self) -> str | None:
        """What makes the values impossible for a Go heap profile, or None.

        Go's values are int64 (profile.proto's, and the counters behind
        them), so no scaled value or total may exceed int64; and a sample's
        in-use objects and bytes are a part of its allocations
        (``InUseBytes = AllocBytes - FreeBytes``), never more, where the
        profile has allocation columns at all.
        """
        has_alloc = any(s.alloc_objects or s.alloc_space for s in self.samples)
        for k, s in enumerate(self.samples):
            values = (s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space)
            for (name, _), v in zip(HEAP_SAMPLE_TYPES, values, strict=True):
                if v > INT64_MAX:
                    return (
                        f"sample {k}: {name} {v} is beyond int64"
                        f" (scaled at MemProfileRate {self.period:,}?)"
                    )
            if has_alloc and (s.inuse_objects > s.alloc_objects or s.inuse_space > s.alloc_space):
                return (
                    f"sample {k}: in use ({s.inuse_objects} objects, {s.inuse_space} B) "
                    f"is more than allocated ({s.alloc_objects} objects, {s.alloc_space} B)"
                )
        for name, total in self.totals().items():
            if total > INT64_MAX:
                return f"total {name} {total} is beyond int64"
        return None

    def totals(self) -> dict[str, int]:
        """The four values summed over all samples, keyed by Go's names."""
        t = {name: 0 for name, _ in HEAP_SAMPLE_TYPES}
        for s in self.samples:
            t["alloc_objects"] += s.alloc_objects
            t["alloc_space"] += s.alloc_space
            t["inuse_objects"] += s.inuse_objects
            t["inuse_space"] += s.inuse_space
        return t
