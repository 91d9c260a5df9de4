"""Marsaglia's xorshift64 generator: the one source of pseudo-random numbers.

The workloads (churn, large, service) draw their sizes and keys from it,
written the same way in their Go twins (tests/oracle/internal/xorshift), so
both sides draw the very same numbers; the pprof what-if orders its
synthetic allocations with it. Compiled with the workloads (goheap.build).
"""

from __future__ import annotations

from typing import Final

from goheap.errors import GoheapError

DEFAULT_SEED: Final = 88172645463325252  # Marsaglia's example seed
MASK64: Final = (1 << 64) - 1


class XorShift64:
    """xorshift64 with shifts (13, 7, 17) on an unsigned 64-bit, non-zero state."""

    __slots__ = ("x",)

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        if not 0 < seed <= MASK64:
            raise GoheapError(f"seed must be between 1 and 2**64-1 (xorshift64), got {seed}")
        self.x = seed

    def next(self) -> int:
        x = self.x
        x ^= (x << 13) & MASK64
        x ^= x >> 7
        x ^= (x << 17) & MASK64
        self.x = x
        return x
