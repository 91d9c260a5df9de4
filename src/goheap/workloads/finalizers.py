"""finalizers: N objects with finalizers, all dropped, then three forced GCs.

The Go program it mirrors (tests/oracle/finalizers/main.go)::

    type Obj struct {
        id   int64
        next *Obj        // the one pointer, at offset 8
        pad  [2]int64
    }                    // 32 bytes: size class 32, scanned

    var ran atomic.Int64
    var objs []*Obj          // a global: live to the end

    objs = make([]*Obj, count)
    for i := range objs {
        o := &Obj{id: int64(i)}
        runtime.SetFinalizer(o, func(*Obj) { ran.Add(1) })
        objs[i] = o
    }
    for i := range objs {
        objs[i] = nil     // the last reference to objs[i] is gone
    }
    for j := 0; j < 3; j++ {
        runtime.GC()      // then yield until the finalizer goroutine ran them all
        report(ran.Load(), HeapObjects, HeapAlloc, HeapInuse)
    }

What Go does, and the model with it: the first GC finds the objects
unreachable, but an object with a finalizer is *resurrected* for one more
cycle (mark bit set by the sweeper, finalizer queued); the finalizers run
after that GC, so after it every finalizer has run and all N objects are
still allocated. The second GC frees them. The third has nothing left to
do. So, with the slice still live: HeapObjects is 1+N, 1, 1 after the three
collections and the finalizer count N, N, N.

Lifetime mode expresses this exactly: ``heap.dead(o)`` declares that the
*program* is done with ``o``; the runtime still resurrects it for its
finalizer as it does in graph mode (the finalizer special keeps it one
more cycle), so both modes give the same numbers.
"""

from __future__ import annotations

from typing import Any, Final

from goheap.heap import Heap
from goheap.runtime.common.gotype import POINTER, Type
from goheap.workloads.base import Param, Workload

OBJ: Final = Type("main.Obj", size=32, pointers=[8])
STACK: Final = ("main.main", "runtime.main", "runtime.goexit")


def run_finalizers(heap: Heap, params: dict[str, int]) -> dict[str, Any]:
    count = params["count"]
    g = heap.g
    ran = [0]

    def finalizer(_: int) -> None:
        ran[0] += 1

    objs = heap.make(POINTER, count, stack=STACK)
    g.push(objs)  # `objs` stays live to the end (runtime.KeepAlive)
    for i in range(count):
        o = heap.new(OBJ, stack=STACK)
        heap.write_word(o, 0, i)  # o.id = i
        heap.set_finalizer(o, finalizer)
        heap.write_pointer(objs, 8 * i, o)
    for i in range(count):
        o = heap.read_pointer(objs, 8 * i)
        heap.write_pointer(objs, 8 * i, 0)
        heap.dead(o)
    after_gc = []
    for _ in range(3):
        heap.gc()
        ms = heap.read_memstats()
        after_gc.append(
            {
                "finalizers_run": ran[0],
                "HeapObjects": ms.HeapObjects,
                "HeapAlloc": ms.HeapAlloc,
                "HeapInuse": ms.HeapInuse,
            }
        )
    return {"finalizers_set": count, "after_gc": after_gc}


FINALIZERS = Workload(
    name="finalizers",
    summary="COUNT 32-byte objects with finalizers, dropped, then three runtime.GC()s",
    module=__name__,
    params=(Param("count", 10000, "objects with a finalizer", minimum=1, maximum=1 << 28),),
    run=run_finalizers,
    declares_deaths=True,
)
