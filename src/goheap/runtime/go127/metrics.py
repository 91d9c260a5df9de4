"""runtime/metrics of Go 1.27 (``metrics.go``): the memory and GC metrics.

What the Go code does
---------------------
``metrics.Read`` computes each metric from aggregates read *without*
stopping the world and *without* flushing mcaches: ``heapStatsAggregate``
(the consistent ``heapStats`` plus derived totals; ``inObjects`` is
allocated minus freed bytes over the counts flushed so far, so objects in
spans still cached are not in it yet), ``sysStatsAggregate`` (the Sys
counters, ``heapGoal()``, cycle counts) and ``gcStatsAggregate`` (the
pacer's scan estimates). The memory classes partition everything mapped:

* ``/memory/classes/heap/objects`` = inObjects;
  ``/memory/classes/heap/unused`` = inHeap - inObjects (so objects + unused
  is HeapInuse at any moment); ``/memory/classes/heap/free`` = committed -
  inHeap - inStacks - inWorkBufs (free and not released);
  ``/memory/classes/heap/released`` = released;
  ``/memory/classes/heap/stacks`` = inStacks;
* ``/memory/classes/metadata/{mspan,mcache}/{inuse,free}``,
  ``/memory/classes/metadata/other`` = inWorkBufs + gcMiscSys,
  ``/memory/classes/os-stacks``, ``/memory/classes/other``,
  ``/memory/classes/profiling/buckets``, and ``/memory/classes/total``
  (= MemStats.Sys).

``/gc/heap/allocs``, ``frees`` and ``objects`` leave the tiny carve-outs out
(``/gc/heap/tiny/allocs:objects`` has them); ``allocs-by-size`` and
``frees-by-size`` are histograms over the size classes (bucket bounds
``size+1``) with large objects in the last, unbounded bucket.

What the model simplifies
-------------------------
The CPU, scheduler, mutex and sync metrics have no meaning here and are
left out. Histograms are ``{"buckets": [...], "counts": [...]}`` (Go's
``Float64Histogram``; ``math.inf`` for the open bound).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goheap.runtime.go127.mgc import GC
    from goheap.runtime.go127.mheap import MHeap


def sizeClassBuckets(class_to_size: tuple[int, ...]) -> list[float]:
    """The bucket boundaries of the by-size histograms."""
    return [1.0] + [float(s + 1) for s in class_to_size[1:]] + [math.inf]


def readMetrics(h: MHeap, gc: GC) -> dict[str, Any]:
    """Every supported metric, by Go's name (see the module doc)."""
    st = h.stats
    hs = st.heapStats
    ctl = h.controller
    sizes = h.sizeclasses.class_to_size
    allocated, freed, nalloc, nfree = hs.totals(sizes)
    inObjects = allocated - freed
    buckets = sizeClassBuckets(sizes)
    mspan_sys = st.mspan_sys.value
    mcache_sys = st.mcache_sys.value
    gcmisc = st.gcMiscSys.value
    total = (
        hs.committed
        + hs.released
        + st.stacks_sys.value
        + mspan_sys
        + mcache_sys
        + st.buckhash_sys.value
        + gcmisc
        + st.other_sys.value
    )
    heapScan = ctl.heapScan
    stackScan = ctl.lastStackScan
    globalsScan = ctl.globalsScan
    return {
        "/gc/cycles/automatic:gc-cycles": st.numgc - st.numforcedgc,
        "/gc/cycles/forced:gc-cycles": st.numforcedgc,
        "/gc/cycles/total:gc-cycles": st.numgc,
        "/gc/gogc:percent": ctl.gcPercent & ((1 << 64) - 1),
        "/gc/gomemlimit:bytes": ctl.memoryLimit,
        "/gc/heap/allocs-by-size:bytes": {
            "buckets": buckets,
            "counts": [*hs.smallAllocCount[1:], hs.largeAllocCount],
        },
        "/gc/heap/allocs:bytes": allocated,
        "/gc/heap/allocs:objects": nalloc,
        "/gc/heap/frees-by-size:bytes": {
            "buckets": buckets,
            "counts": [*hs.smallFreeCount[1:], hs.largeFreeCount],
        },
        "/gc/heap/frees:bytes": freed,
        "/gc/heap/frees:objects": nfree,
        "/gc/heap/goal:bytes": ctl.heapGoal(),
        "/gc/heap/live:bytes": ctl.heapMarked,
        "/gc/heap/objects:objects": nalloc - nfree,
        "/gc/heap/tiny/allocs:objects": hs.tinyAllocCount,
        "/gc/limiter/last-enabled:gc-cycle": gc.limiter.lastEnabledCycle,
        "/gc/scan/globals:bytes": globalsScan,
        "/gc/scan/heap:bytes": heapScan,
        "/gc/scan/stack:bytes": stackScan,
        "/gc/scan/total:bytes": heapScan + stackScan + globalsScan,
        "/memory/classes/heap/free:bytes": hs.committed - hs.inHeap - hs.inStacks - hs.inWorkBufs,
        "/memory/classes/heap/objects:bytes": inObjects,
        "/memory/classes/heap/released:bytes": hs.released,
        "/memory/classes/heap/stacks:bytes": hs.inStacks,
        "/memory/classes/heap/unused:bytes": hs.inHeap - inObjects,
        "/memory/classes/metadata/mcache/free:bytes": mcache_sys - h.cachealloc.inuse,
        "/memory/classes/metadata/mcache/inuse:bytes": h.cachealloc.inuse,
        "/memory/classes/metadata/mspan/free:bytes": mspan_sys - h.spanalloc.inuse,
        "/memory/classes/metadata/mspan/inuse:bytes": h.spanalloc.inuse,
        "/memory/classes/metadata/other:bytes": hs.inWorkBufs + gcmisc,
        "/memory/classes/os-stacks:bytes": st.stacks_sys.value,
        "/memory/classes/other:bytes": st.other_sys.value,
        "/memory/classes/profiling/buckets:bytes": st.buckhash_sys.value,
        "/memory/classes/total:bytes": total,
        "/sched/gomaxprocs:threads": gc.procs,
    }
