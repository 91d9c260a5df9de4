"""retain: allocate N objects of S bytes and keep them all alive.

The Go program it mirrors (tests/oracle/retain/main.go)::

    keep := make([]unsafe.Pointer, count)
    for i := range keep {
        if pointers {
            keep[i] = unsafe.Pointer(&make([]unsafe.Pointer, (size+7)/8)[0])
        } else {
            keep[i] = unsafe.Pointer(&make([]byte, size)[0])
        }
    }

With ``pointers=0`` each object is a pointer-free ``[]byte`` (tiny-allocated
below 16 bytes); with ``pointers=1`` it is ``ceil(size/8)`` pointer words.
"""

from __future__ import annotations

from typing import Final

from goheap.errors import GoheapError
from goheap.heap import Heap
from goheap.runtime.common.gotype import POINTER
from goheap.workloads.base import Param, Workload

STACK_KEEP: Final = ("main.main", "runtime.main", "runtime.goexit")
STACK_OBJ: Final = ("main.alloc", "main.main", "runtime.main", "runtime.goexit")


def run_retain(heap: Heap, params: dict[str, int]) -> dict[str, int]:
    size = params["size"]
    count = params["count"]
    pointers = params["pointers"]
    if pointers not in (0, 1):
        raise GoheapError(f"--param pointers={pointers}: must be 0 or 1")
    keep = heap.make(POINTER, count, stack=STACK_KEEP)
    if keep != heap.mheap.zerobase:
        heap.g.push(keep)  # `keep` is a live local of main
    for i in range(count):
        if pointers:
            obj = heap.make(POINTER, (size + 7) // 8, stack=STACK_OBJ)
        else:
            obj = heap.malloc(size, None, stack=STACK_OBJ)
        heap.write_pointer(keep, i * 8, obj)
    return {"keep": keep}


RETAIN = Workload(
    name="retain",
    summary="one []unsafe.Pointer of COUNT slots, then COUNT objects of SIZE bytes kept in it",
    module=__name__,
    params=(
        Param("size", 64, "bytes per object", minimum=1, maximum=1 << 36),
        Param("count", 10000, "number of objects", minimum=0, maximum=1 << 32, length=True),
        Param("pointers", 0, "1: objects are all pointer words; 0: pointer-free bytes", 0, 1),
    ),
    run=run_retain,
    declares_deaths=True,
    addresses=("keep",),
)
