"""What sweeping does the same way in every version (mgcsweep.go).

``sweepSpecials`` is the specials loop of ``mspan.sweep``: a finalizer
special of an unmarked object resurrects it for one more cycle and queues
the finalizer; the other specials of a dead object are freed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goheap.runtime.common.specials import KindSpecialFinalizer

if TYPE_CHECKING:
    from goheap.runtime.common.heapview import HeapView, S
    from goheap.runtime.common.specials import SpecialRecord


def sweepSpecials(h: HeapView[S], s: S, size: int) -> None:
    """Specials of unmarked objects: resurrect-and-queue finalizers, free the rest."""
    prev: SpecialRecord | None = None
    sp = s.specials
    while sp is not None:
        objIndex = sp.offset // size
        if (s.gcmarkBits >> objIndex) & 1:
            prev = sp
            sp = sp.next
            continue
        endOffset = objIndex * size + size
        hasFin = False
        t: SpecialRecord | None = sp
        while t is not None and t.offset < endOffset:
            if t.kind == KindSpecialFinalizer:
                s.gcmarkBits |= 1 << objIndex  # resurrect for one more cycle
                hasFin = True
                break
            t = t.next
        while sp is not None and sp.offset < endOffset:
            if sp.kind == KindSpecialFinalizer or not hasFin:
                y = sp
                sp = sp.next
                if prev is None:
                    s.specials = sp
                else:
                    prev.next = sp
                y.next = None
                h.freespecial(y, s.startAddr + y.offset, size)
            else:
                prev = sp
                sp = sp.next
