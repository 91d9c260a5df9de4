"""A census of a heap: where its bytes are, by size class, by span, by liveness.

These read the runtime structures (``mheap.allspans``, span bits, the heap
bitmap) without changing them, and return JSON-able data for the run
results and the reports:

- ``class_table``: per size class, the in-use spans and what fills them;
- ``span_map``: every span of the arena, for the heap-map picture;
- ``breakdown``: viewcore's familiar tree -- HeapSys = in-use spans (live
  objects, garbage not yet swept, free slots, tail waste) + free spans
  (retained, released) -- with the size-class rounding inside live bytes.

"Live" means reachable now: in graph mode, traced from the roots (globals,
goroutine stack slots) and from objects that carry a finalizer (they and
what they reach outlive the next cycle); in lifetime mode, allocated and
not declared dead. The rounding figure is an estimate: Go keeps no
requested size per object, so each class's live objects are charged the
class's mean rounding over all allocations made in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from goheap.runtime.common.mspan import MSpan
from goheap.runtime.common.specials import KindSpecialFinalizer

if TYPE_CHECKING:
    from goheap.heap import Heap

_PageShift = 13


def _inuse_spans(heap: Heap) -> list[MSpan]:
    return heap.runtime.inuse_spans()


def live_objects(heap: Heap) -> dict[int, set[int]] | None:
    """The live objects now, as {id(span): set of object indices}.

    None when the profile cannot yet say which words of an object are
    pointers (``Runtime.object_pointers``): liveness is then unknown.
    """
    live: dict[int, set[int]] = {}
    spans = _inuse_spans(heap)
    if heap.liveness == "lifetime":
        for s in spans:
            idxs = {i for i in s.allocated_indices() if not (s.deadBits >> i) & 1}
            if idxs:
                live[id(s)] = idxs
        return live
    pointers = heap.runtime.object_pointers
    todo: list[int] = list(heap.roots())
    for s in spans:  # what markrootSpans keeps: objects with finalizers
        sp = s.specials
        while sp is not None:
            if sp.kind == KindSpecialFinalizer:
                todo.append(s.startAddr + (sp.offset // s.elemsize) * s.elemsize)
            sp = sp.next
    while todo:
        ref = heap.find_object(todo.pop())
        if ref is None:
            continue
        seen = live.setdefault(id(ref.span), set())
        if ref.index in seen:
            continue
        seen.add(ref.index)
        try:
            todo.extend(pointers(ref.base, ref.size))
        except NotImplementedError:
            return None
    return live


def class_table(heap: Heap, live: dict[int, set[int]] | None = None) -> list[dict[str, Any]]:
    """Per size class (0: large objects): objects in use, spans, bytes, waste.

    ``tail_waste_bytes`` is all of a span that no slot covers: for go1.27 that
    includes what Green Tea reserves at the span's end (inline mark bits and
    the heap bits of small scan spans).
    """
    sc = heap.profile.sizeclasses
    rows: dict[int, dict[str, Any]] = {}
    for s in _inuse_spans(heap):
        cl = s.sizeclass
        row = rows.get(cl)
        if row is None:
            row = rows[cl] = {
                "class": cl,
                "size": sc.class_to_size[cl] if cl else 0,
                "npages": sc.class_to_allocnpages[cl] if cl else 0,
                "spans": 0,
                "objects": 0,
                "live_objects": 0,
                "inuse_bytes": 0,
                "live_bytes": 0,
                "span_bytes": 0,
                "free_slot_bytes": 0,
                "tail_waste_bytes": 0,
            }
        span_bytes = s.npages << _PageShift
        row["spans"] += 1
        row["objects"] += s.allocCount
        row["inuse_bytes"] += s.allocCount * s.elemsize
        row["span_bytes"] += span_bytes
        row["free_slot_bytes"] += (s.nelems - s.allocCount) * s.elemsize
        row["tail_waste_bytes"] += span_bytes - s.nelems * s.elemsize
        if live is not None:
            n = len(live.get(id(s), ()))
            row["live_objects"] += n
            row["live_bytes"] += n * s.elemsize
    return [rows[c] for c in sorted(rows)]


def span_map(heap: Heap) -> dict[str, Any]:
    """Every span of the arena: [start page, npages, state, sizeclass, nelems, allocCount].

    Free pages come as runs (state ``free`` or ``released``, class 0).
    """
    h = heap.mheap
    out: list[list[Any]] = []
    for s in _inuse_spans(heap):
        start = (s.startAddr - h.arena_start) >> _PageShift
        out.append([start, s.npages, "inuse", s.sizeclass, s.nelems, s.allocCount])
    for start, npages, released in heap.runtime.free_page_runs():
        out.append([start, npages, "released" if released else "free", 0, 0, 0])
    out.sort()
    return {
        "arena_start": h.arena_start,
        "page_size": 1 << _PageShift,
        "pages": (h.arena_used - h.arena_start) >> _PageShift,
        "list": out,
    }


def _mean_rounding(heap: Heap) -> dict[int, float]:
    """Per size class, the mean bytes of a slot its request did not fill, over all allocations.

    A slot's malloc header (go1.27, pointerful objects above 512 B) counts as
    unfilled: it is not the program's data.
    """
    sc = heap.profile.sizeclasses
    tiny = heap.profile.tiny_size
    waste: dict[int, float] = {}
    count: dict[int, int] = {}
    for noscan, requested in ((True, heap.requested), (False, heap.requested_scan)):
        for size, n in requested.items():
            slot = sc.small_slot(size, noscan)
            if slot is None or (noscan and size < tiny):
                continue  # zerobase, large objects (their own rounding), tiny blocks
            cl, slot_size = slot
            waste[cl] = waste.get(cl, 0.0) + (slot_size - size) * n
            count[cl] = count.get(cl, 0) + n
    return {cl: waste[cl] / count[cl] for cl in waste}


def breakdown(
    heap: Heap, live: dict[int, set[int]] | Literal["trace"] | None = "trace"
) -> dict[str, int]:
    """HeapSys split as viewcore splits it; the parts add up exactly.

    ``live`` is what ``live_objects`` returned (by default it is called).
    When liveness is unknown (None) every allocated object counts as live
    and ``liveness_known`` is 0.
    """
    if live == "trace":
        live = live_objects(heap)
    known = live is not None
    rounding = _mean_rounding(heap)
    out = dict.fromkeys(
        (
            "live_bytes",
            "live_objects",
            "garbage_bytes",
            "garbage_objects",
            "free_slot_bytes",
            "tail_waste_bytes",
        ),
        0,
    )
    round_est = 0.0
    for s in _inuse_spans(heap):
        n_live = len(live.get(id(s), ())) if live is not None else s.allocCount
        out["live_objects"] += n_live
        out["live_bytes"] += n_live * s.elemsize
        out["garbage_objects"] += s.allocCount - n_live
        out["garbage_bytes"] += (s.allocCount - n_live) * s.elemsize
        out["free_slot_bytes"] += (s.nelems - s.allocCount) * s.elemsize
        out["tail_waste_bytes"] += (s.npages << _PageShift) - s.nelems * s.elemsize
        round_est += n_live * rounding.get(s.sizeclass, 0.0)
    snap = heap.runtime.snapshot()
    out["rounding_bytes_est"] = round(round_est)
    out["HeapSys"] = snap.heap_sys
    out["HeapInuse"] = snap.heap_inuse
    out["HeapIdle"] = snap.heap_sys - snap.heap_inuse
    out["released_bytes"] = snap.heap_released
    out["retained_bytes"] = out["HeapIdle"] - snap.heap_released
    out["liveness_known"] = int(known)
    return out
