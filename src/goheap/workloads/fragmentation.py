"""fragmentation: keep one small object per span, drop the rest (golang/go#18896).

golang/go#18896, "runtime: heap fragmentation leads to high HeapInUse
usage": a span is returned to the page heap only when *every* object in it
is free, so a few survivors scattered over many spans pin all of them.
The Go program it mirrors (tests/oracle/fragmentation/main.go)::

    // nelems: objects per span of size's size class (8 KiB*npages / class size)
    var all []unsafe.Pointer               // a global: live to the end

    all = make([]unsafe.Pointer, count)
    for i := range all {
        b := make([]byte, size)            // pointer-free, size not constant: heap
        all[i] = unsafe.Pointer(&b[0])
    }
    for i := range all {
        if i%nelems != 0 {
            all[i] = nil                   // drop all but every nelems-th object
        }
    }
    runtime.GC()
    report(HeapAlloc, HeapInuse)           // all is still live

The objects are allocated one after another into fresh spans of one size
class, so every span holds one run of ``nelems`` consecutive objects and so
exactly one survivor: after the GC, ``ceil(count/nelems)`` spans stay in use
for ``ceil(count/nelems)`` objects. HeapInuse exceeds HeapAlloc by
``spans * (span bytes - class size)``: with the defaults (64-byte objects,
128 to an 8 KiB span) HeapInuse is 128 times what the survivors occupy.

``size`` must be at least 16 (smaller pointer-free objects share 16-byte
blocks through the tiny allocator) and at most 32768 (larger objects have a
span each anyway); nelems is the runtime's objects per pointer-free span
(``Runtime.objects_per_span``: with Go 1.27's Green Tea inline mark bits,
126 for 64-byte objects instead of 128).
"""

from __future__ import annotations

from typing import Final

from goheap.errors import GoheapError
from goheap.heap import Heap
from goheap.runtime.common.gotype import POINTER
from goheap.workloads.base import Param, Workload

STACK_ALL: Final = ("main.main", "runtime.main", "runtime.goexit")
STACK_OBJ: Final = ("main.alloc", "main.main", "runtime.main", "runtime.goexit")


def objects_per_span(heap: Heap, size: int) -> tuple[int, int, int]:
    """(class size, span bytes, nelems) of size's size class in heap's profile."""
    prof = heap.profile
    if not prof.tiny_size <= size <= prof.max_small_size:
        raise GoheapError(
            f"fragmentation: size={size} must be between {prof.tiny_size} and "
            f"{prof.max_small_size} (a small, non-tiny object)"
        )
    sc = prof.sizeclasses
    c = sc.size_to_class(size)
    return sc.class_to_size[c], sc.span_bytes(c), heap.runtime.objects_per_span(c, noscan=True)


def run_fragmentation(heap: Heap, params: dict[str, int]) -> dict[str, int]:
    size, count = params["size"], params["count"]
    class_size, span_bytes, nelems = objects_per_span(heap, size)
    all_ = heap.make(POINTER, count, stack=STACK_ALL)
    heap.g.push(all_)  # `all` is live to the end
    for i in range(count):
        heap.write_pointer(all_, 8 * i, heap.malloc(size, None, stack=STACK_OBJ))
    for i in range(count):
        if i % nelems:
            obj = heap.read_pointer(all_, 8 * i)
            heap.write_pointer(all_, 8 * i, 0)
            heap.dead(obj)
    heap.gc()
    ms = heap.read_memstats()
    kept = -(-count // nelems)
    return {
        "class_size": class_size,
        "span_bytes": span_bytes,
        "nelems": nelems,
        "kept": kept,
        "HeapAlloc": ms.HeapAlloc,
        "HeapInuse": ms.HeapInuse,
    }


FRAGMENTATION = Workload(
    name="fragmentation",
    summary="COUNT objects of SIZE bytes, one kept per span, then a GC (golang/go#18896)",
    module=__name__,
    params=(
        Param("size", 64, "bytes per object (16..32768)", minimum=1, maximum=1 << 36),
        Param("count", 100000, "objects allocated", minimum=1, maximum=1 << 32, length=True),
    ),
    run=run_fragmentation,
    declares_deaths=True,
)
