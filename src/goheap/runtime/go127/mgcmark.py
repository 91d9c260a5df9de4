"""Marking in Go 1.27 (``mgcmark.go``, ``mgcmark_greenteagc.go``): what survives, and the work.

How the model marks, and why it gives Go's survivors
----------------------------------------------------
As for Go 1.8 (``goheap.runtime.go18.mgcmark``), the model takes the snapshot
that the hybrid write barrier preserves literally: at the start of the mark
phase it runs the whole trace at once, then the collector pays its scan
work over the concurrent phase on the virtual clock (background workers,
assists). Objects allocated meanwhile are marked black at allocation
(``gcmarknewobject``). So the marked set is exactly "reachable at mark
start + allocated during marking", and pointer writes or root drops during
marking cannot change it, as the barrier guarantees in Go.

Green Tea changes how marking is *scheduled*, not what is marked:

* **Where the marks live.** Spans of 16..512-byte objects
  (``gcUsesSpanInlineMarkBits``) keep their marks in the 128-byte
  ``spanInlineMarkBits`` at the end of their page -- 63 bytes of ``scans``,
  the ``owned`` byte, 63 bytes of ``marks``, the class byte -- written here
  into the span's real memory; the sweeper merges them into ``gcmarkBits``
  (``moveInlineMarks``). Other spans (8-byte objects, objects above 512
  bytes, large objects) use ``gcmarkBits`` (a Python int on the span).
* **Two queues.** A pointer into an inline-mark span sets its mark bit and
  queues the *span* (FIFO, once while queued: ``tryDeferToSpanScan``);
  pointer-free objects go black at once. Other objects are greyed onto the
  object stack (LIFO, ``greyobject``). The drain takes objects first, then
  spans (``gcDrain``); a span scan takes every object marked since it was
  queued (``spanSetScans``). The model runs the same two queues.
* **Scan work** (the pacer's units). ``scanObject`` (headered, large,
  8-byte and finalizer-carrying objects) counts the bytes up to its last
  pointer slot, per 128 KiB oblet for large objects; a span scan counts, for
  the objects it scans, ``objects * elemsize`` when it scans densely
  (``ScanSpanPacked``: AVX-512 hardware and at least ``nelems/8`` objects)
  and otherwise the bytes up to each object's last pointer word
  (``scanObjectsSmall``, and the one-object fast path ``scanObjectSmall``).
  Which objects a span scan finds together depends on the interleaving of
  marking with the mutator; the model counts each span as scanned **once
  per cycle with all its marked objects** (Green Tea's best batching). This
  makes the work independent of the order of the trace, so the graph and
  lifetime modes give the same numbers.
* Stack scan work is the stack bytes scanned, globals work the data+bss
  bytes; both come from the profile (the runtime's own goroutines and
  binary are not modelled) plus 8 bytes per goroutine stack slot.

``bytesMarked`` counts each marked object's slot once (the span scan's
``objsMarked*elemsize``, ``scanObject``'s ``n``, the noscan fast paths), plus
-- as ``markrootSpans``' ``gcScanFinalizer`` does -- the size of every
pointerful object that carries a finalizer, scanned so that what it points
to survives, without marking the object itself.

``pageMarks`` (what the page reclaimer reads) is set where Go sets it:
``greyobject``, a span scan with more than one object (``spanSetScans``;
the one-object fast path does not), black allocation -- not for
pointer-free inline-mark spans, which the reclaimer therefore sweeps (and
keeps) as Go's does.

Two ways to know liveness, giving the same marks, bytesMarked and scan work
for the same program: *graph mode* traces real pointers from the roots
(globals, goroutine stack slots, the finalizer queue, the runtime's own
objects, the P's tiny blocks, the object being returned by the allocation
that started the cycle); *lifetime mode* marks every allocated object the
driver has not declared dead (``MSpan.deadBits``) and computes the same
scan work per object.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from goheap.runtime.common.gotype import Type
from goheap.runtime.common.scanpieces import (
    PIECE_MIN,
    ScanPieces,
    maxObletBytes,
    oblets_handed_off,
)
from goheap.runtime.common.specials import KindSpecialFinalizer
from goheap.runtime.common.wordmem import bit as bitOf  # shade has a local `bit`
from goheap.runtime.common.wordmem import load8, load64, setbit, store8, store64
from goheap.runtime.go127.mspan import mSpanInUse

if TYPE_CHECKING:
    from goheap.runtime.common.specials import SpecialRecord
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mspan import MSpan

_PageShift: Final = 13
_PageWords: Final = (1 << _PageShift) >> 3
_MASK64: Final = (1 << 64) - 1


# --- inline mark bits (spanInlineMarkBits at the end of the span's page) ------------


def imbWord(h: MHeap, s: MSpan) -> int:
    """Index in ``mem.words`` of the first word of s's ``spanInlineMarkBits`` (the scans)."""
    return ((s.startAddr - h.arena_start) >> 3) + _PageWords - (h.inlineMarkBitsBytes >> 3)


def inlineMarks(h: MHeap, s: MSpan) -> int:
    """The ``marks`` bitmap (504 bits) of s's inline mark bits."""
    w = imbWord(h, s) + (h.inlineMarkBitsBytes >> 4)
    words = h.mem.words
    v = 0
    for i in range(h.inlineMarkBitsBytes >> 4):
        v |= load64(words, w + i) << (64 * i)
    return v & ((1 << ((h.inlineMarkBitsBytes >> 1) - 1) * 8) - 1)


def inlineScans(h: MHeap, s: MSpan) -> int:
    """The ``scans`` bitmap (504 bits) of s's inline mark bits."""
    w = imbWord(h, s)
    words = h.mem.words
    v = 0
    for i in range(h.inlineMarkBitsBytes >> 4):
        v |= load64(words, w + i) << (64 * i)
    return v & ((1 << ((h.inlineMarkBitsBytes >> 1) - 1) * 8) - 1)


def gcmarknewobject(h: MHeap, s: MSpan, x: int) -> None:
    """Allocate black: set x's mark (and, inline, its scanned bit) and the page mark."""
    idx = s.objIndex(x) if s.sizeclass else 0
    if h.heapBits.gcUsesSpanInlineMarkBits(s.elemsize):
        # A byte at a time: the bits of the words' `|= 1 << (idx & 63)`, without the 64-bit
        # integers a compiled build keeps as Python objects.
        b = (imbWord(h, s) << 3) + (idx >> 3)
        bit = 1 << (idx & 7)
        mem = h.mem.bytes
        store8(mem, b, load8(mem, b) | bit)  # scans: no need to scan the new object
        m = b + ((h.inlineMarkBitsBytes >> 4) << 3)
        store8(mem, m, load8(mem, m) | bit)  # marks
    else:
        s.gcmarkBits = setbit(s.gcmarkBits, idx)
    page = (s.startAddr - h.arena_start) >> _PageShift
    if page != h.lastPageMark:  # (if the page's mark is clear: set it)
        h.lastPageMark = page
        h.pageMarks.add(page)


# --- pointer maps (typePointers) -------------------------------------------------------


class _TypeLayout:
    __slots__ = ("offs", "offset_set", "size", "words_per_elem")

    def __init__(self, typ: Type) -> None:
        self.size = typ.size
        self.offs = typ.pointer_offsets()
        self.offset_set = frozenset(self.offs)
        self.words_per_elem = typ.size >> 3


_layouts: Final[dict[int, _TypeLayout]] = {}


def _layout(typ: Type) -> _TypeLayout:
    lay = _layouts.get(typ.type_id)
    if lay is None:
        lay = _layouts[typ.type_id] = _TypeLayout(typ)
    return lay


def _tiled(h: MHeap, typ: Type, e0: int, lo: int, hi: int, values: bool) -> tuple[list[int], int]:
    """Pointer slots of typ tiled from e0, within [lo, hi): (non-nil values, scanSize from lo)."""
    lay = _layout(typ)
    S = lay.size
    if S == 0 or not lay.offs:
        return [], 0
    words = h.mem.words
    A = h.arena_start
    vals: list[int] = []
    last = -1
    if S == 8:  # an array of pointers
        a = max(lo, e0)
        if hi > a:
            if values:
                vals = [v for v in words[(a - A) >> 3 : (hi - A) >> 3] if v]
            last = hi - 8
    else:
        step = S >> 3
        for o in lay.offs:
            first = lo - e0 - o
            k0 = 0 if first <= 0 else -(-first // S)
            k1 = (hi - 8 - e0 - o) // S
            if k1 < k0:
                continue
            a0 = e0 + k0 * S + o
            if values:
                w0 = (a0 - A) >> 3
                vals.extend(v for v in words[w0 : w0 + (k1 - k0) * step + 1 : step] if v)
            a1 = e0 + k1 * S + o
            if a1 > last:
                last = a1
    return vals, (last - lo + 8 if last >= 0 else 0)


def _tiledType(h: MHeap, s: MSpan, base: int) -> tuple[Type | None, int]:
    """(type, first element's address) of an object whose span has no heap bits.

    The malloc header's type for a small object (base: its slot), the
    span's ``largeType`` for a large one (base may be any of its oblets).
    """
    if s.sizeclass != 0:
        return h.heapBits.headerType(base), base + h.mallocHeaderSize
    return s.largeType, s.startAddr


def scanObjectRange(
    h: MHeap, s: MSpan, b: int, n: int, values: bool = True
) -> tuple[list[int], int]:
    """``scanObject``'s walk of [b, b+n) of an object of s: (pointer values, scanSize).

    b is the object's base (the slot, header included) or, for a large
    object, an oblet's start. Values are the non-nil words in pointer slots.
    """
    if s.spanclass & 1:
        return [], 0
    hb = h.heapBits
    size = s.elemsize
    if hb.heapBitsInSpan(size):
        bits = hb.heapBitsSmallForAddr(s, b)
        if not bits:
            return [], 0
        vals: list[int] = []
        if values:
            words = h.mem.words
            w0 = (b - h.arena_start) >> 3
            x = bits
            while x:
                low = x & -x
                v = load64(words, w0 + low.bit_length() - 1)
                if v:
                    vals.append(v)
                x ^= low
        return vals, bits.bit_length() << 3
    typ, e0 = _tiledType(h, s, b)
    if typ is None:
        return [], 0
    return _tiled(h, typ, e0, b, b + n, values)


def isPointerSlot(h: MHeap, s: MSpan, base: int, addr: int) -> bool:
    """Whether scanObject, scanning the object at base, reads the word at addr as a pointer.

    The same sources as ``scanObjectRange``: nothing in a noscan span; the
    span's heap bits for small scan objects; the malloc header's type, or
    the span's ``largeType``, tiled over the object from its first element.
    """
    if s.spanclass & 1:
        return False
    hb = h.heapBits
    if hb.heapBitsInSpan(s.elemsize):
        return (hb.heapBitsSmallForAddr(s, base) >> ((addr - base) >> 3)) & 1 == 1
    typ, e0 = _tiledType(h, s, base)
    if typ is None or typ.size == 0 or addr < e0:
        return False
    return (addr - e0) % typ.size in _layout(typ).offset_set


def objectPointers(h: MHeap, base: int, size: int) -> list[int]:
    """The non-nil pointers the collector would find in the object at base (all oblets)."""
    s = h.spanOfHeap(base)
    if s is None or s.spanclass & 1:
        return []
    return scanObjectRange(h, s, base, min(size, s.elemsize))[0]


# --- the trace ---------------------------------------------------------------------------


class MarkResult:
    """What one mark phase found: bytes marked and scan work by kind."""

    __slots__ = (
        "bytesMarked",
        "globalsScanWork",
        "heapScanWork",
        "objects",
        "pieces",
        "shared",
        "spanScanWork",
        "stackScanWork",
    )

    def __init__(self) -> None:
        self.bytesMarked = 0
        self.heapScanWork = 0
        self.stackScanWork = 0
        self.globalsScanWork = 0
        self.objects = 0  # objects marked (for the cost model)
        self.pieces = ScanPieces()  # the large objects' place in heapScanWork
        # Of heapScanWork, what other Ps' idle workers could take: Green Tea's
        # span scans (their queues are stolen from), small objects and the
        # oblets of large arrays (Marker.scanObject).
        self.shared = 0
        # Of heapScanWork, Green Tea's span scans (small objects: finishSpans).
        self.spanScanWork = 0

    @property
    def scanWork(self) -> int:
        return self.heapScanWork + self.stackScanWork + self.globalsScanWork


class Marker:
    """The object stack, the span queue and the marking primitives for one cycle."""

    def __init__(self, h: MHeap, dense: bool, tracing: bool = True) -> None:
        self.h = h
        self.tracing = tracing  # graph mode: scanning shades what it finds
        self.words = h.mem.words
        self.bytes = h.mem.bytes
        self.A = h.arena_start
        self.spans = h.spans
        self.hb = h.heapBits
        self.green = h.greenTea
        self.dense = dense
        self.marksOff = h.inlineMarkBitsBytes >> 4  # words from scans to marks
        self.imbOff = _PageWords - (h.inlineMarkBitsBytes >> 3)
        self.grey: list[int] = []  # object stack (LIFO)
        self.spanq: deque[MSpan] = deque()  # span queue (FIFO)
        # Scan spans with inline marks: span -> [objects scanned, sparse scan work].
        self.spanWork: dict[MSpan, list[int]] = {}
        self.pageMarks = h.pageMarks
        self.result = MarkResult()

    # --- marking primitives ---

    def shade(self, p: int) -> None:
        """``tryDeferToSpanScan`` or ``findObject`` + ``greyobject`` for a pointer p."""
        A = self.A
        h = self.h
        if p < A or p >= h.arena_used:
            return
        s = self.spans[(p - A) >> _PageShift]
        if s is None or s.state != mSpanInUse or p >= s.limit or p < s.startAddr:
            return
        idx = ((p - s.startAddr) * s.divMul) >> 32 if s.sizeclass else 0
        if idx >= s.freeindex and not bitOf(s.allocBits, idx):
            return  # a free slot: nothing a program can reach
        size = s.elemsize
        if self.green and 16 <= size <= 512:
            # The marks word's bit idx & 63, a byte at a time (as gcmarknewobject): no
            # 64-bit integers, which the compiled build keeps as Python objects.
            mem = self.bytes
            b = ((((s.startAddr - A) >> 3) + self.imbOff + self.marksOff) << 3) + (idx >> 3)
            bit = 1 << (idx & 7)
            v = load8(mem, b)
            if v & bit:
                return
            store8(mem, b, v | bit)
            res = self.result
            res.objects += 1
            if s.spanclass & 1:
                res.bytesMarked += size
                return
            pend = s.gcPending
            if pend is None:
                s.gcPending = [idx]
                self.spanq.append(s)
            else:
                pend.append(idx)
            return
        if bitOf(s.gcmarkBits, idx):
            return
        s.gcmarkBits = setbit(s.gcmarkBits, idx)
        self.pageMarks.add((s.startAddr - A) >> _PageShift)
        res = self.result
        res.objects += 1
        if s.spanclass & 1:
            res.bytesMarked += size
            return
        self.grey.append(s.startAddr + idx * size)

    def scanObject(self, b: int) -> None:
        """``scanObject``: scan the object (or oblet) at b; large objects split into oblets.

        Its scan work is shared (``MarkResult.shared``: another P's idle
        worker could take it) unless it is one large object (``PIECE_MIN``
        units of scan work or more) of at most ``balanceMin + 1`` oblets,
        which its drainer scans alone: small objects come many at a time, and
        ``gcWork.balance`` hands half of a drainer's cache to the global queue
        once it holds more than ``balanceMin``; so do a larger array's queued
        oblets. Simplified, as in Go 1.8's model: the rule reads sizes, not
        queue depths, so lifetime mode (which has no queue) splits a heap as
        graph mode does.
        """
        shade = self.tracing
        s = self.spans[(b - self.A) >> _PageShift]
        assert s is not None
        n = s.elemsize
        if n > maxObletBytes:
            base = s.startAddr
            if b == base:
                self.grey.extend(range(b + maxObletBytes, base + n, maxObletBytes))
            n = min(base + n - b, maxObletBytes)
        vals, scanSize = scanObjectRange(self.h, s, b, n, shade)
        res = self.result
        res.bytesMarked += n
        res.heapScanWork += scanSize
        if scanSize >= PIECE_MIN:
            res.pieces.add(res.heapScanWork, scanSize)
            if oblets_handed_off(s.elemsize):
                res.shared += scanSize
        else:
            res.shared += scanSize
        if shade:
            for v in vals:
                if v < b or v >= b + n:
                    self.shade(v)

    def scanSpan(self, s: MSpan) -> None:
        """``scanSpan``: scan every object of s marked since it was queued."""
        idxs = s.gcPending
        assert idxs is not None
        s.gcPending = None
        words = self.words
        w = ((s.startAddr - self.A) >> 3) + self.imbOff
        hb = self.hb
        size = s.elemsize
        base = s.startAddr
        work = self.spanWork.get(s)
        if work is None:
            work = self.spanWork[s] = [0, 0]
        sparse = 0
        A = self.A
        mem = self.bytes
        for idx in idxs:
            sb = (w << 3) + (idx >> 3)  # scans |= marks: the word's bit idx & 63, by bytes
            store8(mem, sb, load8(mem, sb) | 1 << (idx & 7))
            b = base + idx * size
            bits = hb.heapBitsSmallForAddr(s, b)
            if bits:
                sparse += bits.bit_length() << 3
                w0 = (b - A) >> 3
                x = bits
                while x:
                    low = x & -x
                    v = load64(words, w0 + low.bit_length() - 1)
                    if v:
                        # Go gathers the span's pointers in gcw.ptrBuf and greys them
                        # after the loop; shade reads nothing the loop writes (scans,
                        # heap bits, words), so greying each as found is the same
                        # sequence of shades, without a list of boxed values.
                        self.shade(v)
                    x ^= low
        work[0] += len(idxs)
        work[1] += sparse

    def drain(self) -> None:
        """``gcDrain``: objects first (LIFO), then spans (FIFO), until both are empty."""
        grey = self.grey
        spanq = self.spanq
        while grey or spanq:
            if grey:
                self.scanObject(grey.pop())
            else:
                self.scanSpan(spanq.popleft())

    def finishSpans(self) -> None:
        """Count the span scans: dense or sparse work, bytes marked, page marks."""
        res = self.result
        A = self.A
        for s, (nobj, sparse) in self.spanWork.items():
            res.bytesMarked += nobj * s.elemsize
            work = (
                nobj * s.elemsize if self.dense and nobj >= 2 and nobj >= s.nelems // 8 else sparse
            )
            res.heapScanWork += work
            res.spanScanWork += work
            res.shared += work  # span queues are stolen from (spanQueueSteal)
            if nobj >= 2:
                self.pageMarks.add((s.startAddr - A) >> _PageShift)
        self.spanWork.clear()

    # --- roots ---

    def markRoots(self, roots: Iterable[int]) -> None:
        for p in roots:
            if p:
                self.shade(p)

    def markrootSpans(self, spans: Iterable[MSpan]) -> None:
        """``gcScanFinalizer`` for every finalizer special: scan the object, do not mark it."""
        for s in spans:
            if s.state != mSpanInUse or s.specials is None or s.spanclass & 1:
                continue
            sp: SpecialRecord | None = s.specials
            while sp is not None:
                if sp.kind == KindSpecialFinalizer:
                    p = s.startAddr + (sp.offset // s.elemsize) * s.elemsize
                    self.scanObject(p)
                sp = sp.next

    # --- lifetime mode ---

    def markLifetimeObject(self, p: int) -> None:
        """Mark the object holding p (a root the driver does not track) and count its work."""
        s = self.h.spanOfHeap(p)
        if s is None:
            return
        idx = s.objIndex(p) if s.sizeclass else 0
        self._markSlotsLifetime(s, 1 << idx)

    def markLifetime(self, spans: Iterable[MSpan]) -> None:
        """Mark every allocated object that the driver has not declared dead."""
        for s in spans:
            if s.state != mSpanInUse:
                continue
            n = s.nelems
            alloc = (s.allocBits | ((1 << s.freeindex) - 1)) & ((1 << n) - 1)
            live = alloc & ~s.deadBits
            if live:
                self._markSlotsLifetime(s, live)

    def _markSlotsLifetime(self, s: MSpan, slots: int) -> None:
        size = s.elemsize
        res = self.result
        A = self.A
        if self.green and 16 <= size <= 512:
            words = self.words
            w = ((s.startAddr - A) >> 3) + self.imbOff + self.marksOff
            marked = 0
            for i in range((s.nelems + 63) >> 6):
                marked |= load64(words, w + i) << (64 * i)
            new = slots & ~marked
            if not new:
                return
            for i in range((s.nelems + 63) >> 6):
                chunk = (new >> (64 * i)) & _MASK64
                if chunk:
                    store64(words, w + i, load64(words, w + i) | chunk)
            cnt = new.bit_count()
            res.objects += cnt
            if s.spanclass & 1:
                res.bytesMarked += cnt * size
                return
            ws = ((s.startAddr - A) >> 3) + self.imbOff
            for i in range((s.nelems + 63) >> 6):
                chunk = (new >> (64 * i)) & _MASK64
                if chunk:
                    store64(words, ws + i, load64(words, ws + i) | chunk)
            work = self.spanWork.get(s)
            if work is None:
                work = self.spanWork[s] = [0, 0]
            hb = self.hb
            sparse = 0
            x = new
            while x:
                low = x & -x
                bits = hb.heapBitsSmallForAddr(s, s.startAddr + (low.bit_length() - 1) * size)
                sparse += bits.bit_length() << 3
                x ^= low
            work[0] += cnt
            work[1] += sparse
            return
        new = slots & ~s.gcmarkBits
        if not new:
            return
        s.gcmarkBits |= new
        self.pageMarks.add((s.startAddr - A) >> _PageShift)
        cnt = new.bit_count()
        res.objects += cnt
        if s.spanclass & 1:
            res.bytesMarked += cnt * size
            return
        x = new
        while x:
            low = x & -x
            b = s.startAddr + (low.bit_length() - 1) * size
            x ^= low
            off = 0
            while off < size:
                n = min(size - off, maxObletBytes)
                _, scanSize = scanObjectRange(self.h, s, b + off, n, values=False)
                res.bytesMarked += n
                res.heapScanWork += scanSize
                if scanSize >= PIECE_MIN:
                    res.pieces.add(res.heapScanWork, scanSize)
                    if oblets_handed_off(size):
                        res.shared += scanSize  # as scanObject
                else:
                    res.shared += scanSize
                off += n
