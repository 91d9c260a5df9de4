"""Go 1.27's mark on two Ps: which work the other P's idle worker can reach.

Go 1.27's ``findRunnable`` starts an idle mark worker only where
``gcMarkWorkAvailable`` sees global work -- root jobs, full work buffers,
Green Tea's span queues -- and what a drain found stays in its own P's
cache. ``gcWork.balance`` makes a cache global once it holds more than four
objects; a ring of pointers to pointer-free objects queues nothing (they go
straight to black). The instrumented runtime (benchmarks/RESULTS.md, "Go
1.27's marks event by event"): in 183 background cycles of the churn twin
at -k 10000 on two Ps the other P ran 333 fractional stints and 17 idle
ones, and gctrace's idle column is 0 in the median cycle, its background
column not.
"""

from __future__ import annotations

import re
import statistics

from goheap import Heap
from goheap.runtime.common.gotype import POINTER
from goheap.runtime.go127.mgcmark import Marker
from goheap.validate.sim import hold_harness
from goheap.workloads import get_workload


def _mark(h: Heap, root: int) -> tuple[int, int]:
    """The snapshot trace from root alone: (heap scan work, of it shared)."""
    m = Marker(h.mheap, dense=False)
    m.markRoots([root])
    m.drain()
    m.finishSpans()
    return m.result.heapScanWork, m.result.shared


def test_an_array_of_pointer_free_objects_is_one_drainers_work() -> None:
    with Heap(profile="go1.27") as h:
        ring = h.make(POINTER, 10_000)
        for i in range(10_000):
            h.write_pointer(ring, 8 * i, h.malloc(64, None))
        work, shared = _mark(h, ring)
        assert work >= 80_000 and shared == 0


def test_a_large_arrays_oblets_are_shared_beyond_four() -> None:
    """A 1 MiB array queues seven 128 KiB oblets behind its first, which balance
    hands off; a 512 KiB one three, which stay."""
    with Heap(profile="go1.27") as h:
        big = h.make(POINTER, 1 << 17)
        assert _mark(h, big) == (1 << 20, 1 << 20)
    with Heap(profile="go1.27") as h:
        half = h.make(POINTER, 1 << 16)
        assert _mark(h, half) == (1 << 19, 0)


def test_the_other_ps_idle_worker_rarely_marks_churn() -> None:
    """gctrace's "assist/background/idle ms cpu": at two Ps the churn twin's other P
    marks as its fractional worker, and its idle worker finds little global work."""
    with Heap(profile="go1.27", procs=2, gctrace=True) as h:
        hold_harness(h)
        w = get_workload("churn")
        w.run(h, {**w.defaults(), "k": 10_000, "steps": 200_000})
        cpu = [
            re.search(r"\+([\d.]+)/([\d.]+)/([\d.]+)\+[\d.]+ ms cpu", c.gctrace)
            for c in h.cycles
            if not c.forced
        ]
        background = [float(m.group(2)) for m in cpu if m]
        idle = [float(m.group(3)) for m in cpu if m]
        assert len(idle) > 10
        # Go: idle 0 ms and background 0.42 ms in the median cycle. The model's idle
        # workers take the little shared work left after the fractional share
        # (the other P's own runtime objects): at most a tenth of it.
        assert statistics.median(idle) <= 0.1 * statistics.median(background)
