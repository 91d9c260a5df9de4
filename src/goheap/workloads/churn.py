"""churn: a ring of K pointer slots, each step replacing one slot's object.

The Go program it mirrors (tests/oracle/churn/main.go)::

    var x uint64 = seed                  // xorshift64 state
    func next() uint64 {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return x
    }
    func nextSize() int {
        u := next() % 100
        switch {
        case u < 70: return 16 + int(next()%49)      // 16..64 bytes
        case u < 95: return 65 + int(next()%1984)    // 65..2048 bytes
        default:     return 4096 + int(next()%61441) // 4 KiB..64 KiB (some large)
        }
    }

    var ring []unsafe.Pointer            // a global: live to the end

    ring = make([]unsafe.Pointer, k)     // one scan object of k*8 bytes
    for i := 0; i < steps; i++ {
        b := make([]byte, nextSize())    // pointer-free; on the heap (size not constant)
        ring[i%k] = unsafe.Pointer(&b[0]) // the previous occupant becomes garbage
    }

Here the ring is held in a stack slot of main for the whole run (a root
either way, and still live when the workload returns); the object a slot
held is dead from the moment the slot is overwritten. Mallocs is exactly
``1 + steps``.

The program's own work in a step (the size draw, the ring store, and the
twin's report counting the allocation) takes CPU that the runtime's costs
do not include: each step charges the twin's measured figure
(``PROGRAM_NS``, ``Heap.compute``) before its allocation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Final

from goheap.heap import Heap
from goheap.runtime.common.gotype import POINTER
from goheap.workloads.base import Param, Workload, program_ns
from goheap.xorshift import DEFAULT_SEED, MASK64, XorShift64

STACK_RING: Final = ("main.main", "runtime.main", "runtime.goexit")
STACK_OBJ: Final = ("main.alloc", "main.main", "runtime.main", "runtime.goexit")

#: The Go twin's own CPU per step, ns, by profile: its size draw, the ring
#: store and its report's tick, everything outside the runtime. Measured on the
#: twins' CPU profiles (``benchmarks/program_work.py``, churn100k-gogc100, 30
#: runs: 16.7 +- 1.1 and 12.1 +- 0.9 ns; benchmarks/RESULTS.md, session 22).
PROGRAM_NS: Final[dict[str, float]] = {"go1.8": 17, "go1.27": 12}


def next_size(rng: XorShift64) -> int:
    """churn's object sizes: 70% 16..64 B, 25% 65..2048 B, 5% 4..64 KiB (nextSize)."""
    u = rng.next() % 100
    if u < 70:
        return 16 + rng.next() % 49
    if u < 95:
        return 65 + rng.next() % 1984
    return 4096 + rng.next() % 61441


def seed_param() -> Param:
    return Param("seed", DEFAULT_SEED, "xorshift64 seed (non-zero)", minimum=1, maximum=MASK64)


def run_ring(heap: Heap, slots: int, sizes: Iterable[int]) -> dict[str, int]:
    """The ring program shared by churn and large: returns the bytes requested.

    Each step computes for ``PROGRAM_NS`` first (large's loop is churn's but
    for the size draw, and its own runs are too short to measure).
    """
    work = round(program_ns(heap, PROGRAM_NS))
    compute = heap.compute
    g = heap.g
    ring = heap.make(POINTER, slots, stack=STACK_RING)
    g.push(ring)  # `ring` is a live local of main to the end
    requested = 0
    n = 0
    for i, size in enumerate(sizes):
        off = (i % slots) * 8
        old = heap.read_pointer(ring, off)
        if work:
            compute(work)
        obj = heap.malloc(size, None, stack=STACK_OBJ)
        heap.write_pointer(ring, off, obj)
        if old:
            heap.dead(old)  # the ring held the only reference
        requested += size
        n += 1
    return {"requested_bytes": requested, "live_objects": min(slots, n)}


def draw_sizes(rng: XorShift64, draw: Callable[[XorShift64], int], steps: int) -> Iterator[int]:
    """``steps`` sizes drawn by ``draw``, one at a time as the program asks.

    A generator function, not a generator expression: compiled by mypyc, a
    generator expression passed on was drawn whole before the first
    allocation (50 M sizes before anything happened, and no event at which
    an interrupt could act).
    """
    for _ in range(steps):
        yield draw(rng)


def churn_sizes(steps: int, seed: int = DEFAULT_SEED) -> Iterator[int]:
    """The sizes churn allocates, in order."""
    rng = XorShift64(seed)  # checks the seed before anything is allocated
    return draw_sizes(rng, next_size, steps)


def run_churn(heap: Heap, params: dict[str, int]) -> dict[str, int]:
    return run_ring(heap, params["k"], churn_sizes(params["steps"], params["seed"]))


CHURN = Workload(
    name="churn",
    summary="a ring of K slots; each step allocates a mixed-size object into the next slot",
    module=__name__,
    params=(
        Param("k", 1000, "ring slots (objects kept alive at once)", minimum=1, maximum=1 << 28),
        Param("steps", 100000, "allocations", minimum=0, maximum=1 << 40, length=True),
        seed_param(),
    ),
    run=run_churn,
    declares_deaths=True,
)
