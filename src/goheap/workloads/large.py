"""large: a window of W slots cycling through large (>32 KiB) pointer-free objects.

The Go program it mirrors (tests/oracle/large/main.go), with churn's
xorshift64 ``next()``::

    func nextLarge() int {
        k := next() % 7
        lo := 40960 << k                  // 40 KiB, 80 KiB, ... 2.5 MiB
        hi := min(2*lo, 4194304)          // capped at 4 MiB
        return lo + int(next()%uint64(hi-lo+1))
    }

    slots = make([]unsafe.Pointer, w)     // a global: live to the end
    for i := 0; i < steps; i++ {
        b := make([]byte, nextLarge())    // always a large object: its own span
        slots[i%w] = unsafe.Pointer(&b[0])
    }

Every object is larger than 32 KiB, so each takes its own span straight
from the page heap (``largeAlloc``): this workload exercises ``mheap``'s
free lists, ``freelarge`` best fit, coalescing and heap growth. Mallocs is
exactly ``1 + steps``; TotalAlloc is the window's class size plus every
size rounded up to whole 8 KiB pages.
"""

from __future__ import annotations

from collections.abc import Iterator

from goheap.heap import Heap
from goheap.workloads.base import Param, Workload
from goheap.workloads.churn import draw_sizes, run_ring, seed_param
from goheap.xorshift import DEFAULT_SEED, XorShift64


def next_size(rng: XorShift64) -> int:
    """large's object sizes: a power-of-two band [40 KiB << k, 2x) capped at 4 MiB."""
    k = rng.next() % 7
    lo = 40960 << k
    hi = min(2 * lo, 4194304)
    return lo + rng.next() % (hi - lo + 1)


def large_sizes(steps: int, seed: int = DEFAULT_SEED) -> Iterator[int]:
    """The sizes large allocates, in order."""
    rng = XorShift64(seed)
    return draw_sizes(rng, next_size, steps)


def run_large(heap: Heap, params: dict[str, int]) -> dict[str, int]:
    return run_ring(heap, params["window"], large_sizes(params["steps"], params["seed"]))


LARGE = Workload(
    name="large",
    summary="a window of W slots; each step allocates a 40 KiB..4 MiB object into the next slot",
    module=__name__,
    params=(
        Param("window", 16, "slots (large objects kept alive at once)", minimum=1, maximum=1 << 28),
        Param("steps", 10000, "allocations", minimum=0, maximum=1 << 40, length=True),
        seed_param(),
    ),
    run=run_large,
    declares_deaths=True,
)
