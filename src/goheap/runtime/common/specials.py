"""Special records (mheap.go ``special``, ``addspecial``, ``removespecial``).

A special is metadata attached to one object: a finalizer
(``KindSpecialFinalizer``) or a heap-profile bucket
(``KindSpecialProfile``). Each span keeps a singly linked list of them,
sorted by (offset, kind), so a finalizer record comes before a profile
record for the same object. Records come from two fixallocs (charged to
``other_sys``), allocated under ``speciallock``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import GoheapError

if TYPE_CHECKING:
    from goheap.runtime.common.heapview import HeapView, S
    from goheap.runtime.common.mspan import MSpan

KindSpecialFinalizer: Final = 1
KindSpecialProfile: Final = 2


class SpecialRecord:
    """special + specialfinalizer/specialprofile: kind, offset and payload."""

    __slots__ = ("kind", "next", "offset", "payload")

    def __init__(self) -> None:
        self.next: SpecialRecord | None = None
        self.offset = 0
        self.kind = 0
        # The finalizer (a Finalizer record) or the profile bucket.
        self.payload: object = None


def addspecial(h: HeapView[S], p: int, s: SpecialRecord, force: bool = False) -> bool:
    """Attach s to the object at p; False if one of that kind is there already.

    ``force`` (Go 1.24+, cleanups) attaches it anyway, before the one there:
    an object may carry any number of specials of that kind.
    """
    span = h.lookupMaybe(p)
    if span is None:
        raise GoheapError(f"addspecial on invalid pointer {p:#x}")
    h.ensureSwept(span)
    offset = p - span.startAddr
    kind = s.kind
    prev: SpecialRecord | None = None
    t = span.specials
    while t is not None:
        if offset == t.offset and kind == t.kind:
            if not force:
                return False
            break
        if offset < t.offset or (offset == t.offset and kind < t.kind):
            break
        prev = t
        t = t.next
    s.offset = offset
    s.next = t
    if prev is None:
        span.specials = s
    else:
        prev.next = s
    return True


def removespecial(h: HeapView[S], p: int, kind: int) -> SpecialRecord | None:
    """Detach and return the special of this kind on the object at p, if any."""
    span = h.lookupMaybe(p)
    if span is None:
        raise GoheapError(f"removespecial on invalid pointer {p:#x}")
    h.ensureSwept(span)
    offset = p - span.startAddr
    prev: SpecialRecord | None = None
    t = span.specials
    while t is not None:
        if t.offset == offset and t.kind == kind:
            if prev is None:
                span.specials = t.next
            else:
                prev.next = t.next
            t.next = None
            return t
        prev = t
        t = t.next
    return None


def specials_of(span: MSpan) -> list[SpecialRecord]:
    out: list[SpecialRecord] = []
    t = span.specials
    while t is not None:
        out.append(t)
        t = t.next
    return out


def newSpecialRecord() -> SpecialRecord:
    """A zeroed special record: what the specials' fixallocs hand out first."""
    return SpecialRecord()
