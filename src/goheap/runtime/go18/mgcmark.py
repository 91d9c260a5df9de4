"""Marking (mgcmark.go): roots, the grey queue, greyobject and scanobject.

How the model marks, and why it gives Go's survivors:

Go 1.8 marks concurrently with the mutator; its hybrid write barrier keeps
every object that was reachable when marking started (a
snapshot-at-the-beginning) and allocation during marking is black. The
model takes that snapshot literally: at the start of marking it runs the
whole tri-colour trace at once -- roots are shaded, grey objects are popped
from a work queue and scanned word by word as the heap bitmap describes
them (``scanobject``), their referents shaded (``greyobject``) -- and
records the scan work it took. The *cost* of that work is then paid over
the concurrent phase on the virtual clock, by the background mark worker
and by mark assists, and marking ends (mark termination) when all of it has
been paid. Objects allocated meanwhile are marked at allocation
(``gcmarknewobject``). So the marked set is exactly "reachable at mark
start + allocated during marking", and pointer writes or root drops during
marking cannot change it, as the barrier guarantees in Go.

Two ways to know liveness, giving the same marked set, ``bytesMarked`` and
``scanWork`` for the same program:

- *graph mode* traces real pointers from the roots (globals, goroutine
  stack slots, the finalizer queue, the P's tiny blocks);
- *lifetime mode* marks every allocated object the driver has not declared
  dead (``MSpan.deadBits``), then counts scan work with the same
  ``scanobject`` bitmap walk.

``bytesMarked`` counts each marked object's slot size once, plus, as Go's
``markrootSpans`` does, the size of every object that carries a finalizer
(scanned so that what it points to survives, without marking the object
itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import numpy as np

from goheap.runtime.common.scanpieces import (
    PIECE_MIN,
    ScanPieces,
    maxObletBytes,
    oblets_handed_off,
)
from goheap.runtime.common.specials import KindSpecialFinalizer
from goheap.runtime.common.wordmem import bit, load8, load64, setbit
from goheap.runtime.common.wordstack import WordStack
from goheap.runtime.go18.mspan import MSpanInUse

if TYPE_CHECKING:
    from goheap.runtime.common.specials import SpecialRecord
    from goheap.runtime.go18.mheap import MHeap
    from goheap.runtime.go18.mspan import MSpan


# From this many words on, scan_words reads the bitmap and the words in bulk
# (numpy) rather than one word at a time: the same walk, the same result, in
# time that no longer grows word by word in Python (a 1 GiB pointer array
# scans in a fraction of a second instead of minutes).
_BULK_WORDS: Final = 256

# A bitmap byte describes four words: word j's pointer bit is bit j, its scan
# bit is bit 4+j. Shifting by 0..3 brings each word's two bits to bits 0 and 4.
_NIBBLE_SHIFTS: Final = np.arange(4, dtype=np.uint8)


class MarkResult:
    """What one mark phase found: the work to pay for and the bytes marked."""

    __slots__ = ("bytesMarked", "objects", "pieces", "scanWork", "shared")

    def __init__(self) -> None:
        self.bytesMarked = 0
        self.scanWork = 0
        self.objects = 0
        self.pieces = ScanPieces()  # the large objects' place in scanWork
        self.shared = 0  # of scanWork, what other Ps' workers could take (scanobject)


class Marker:
    """The grey queue and the marking primitives for one heap."""

    def __init__(self, h: MHeap) -> None:
        self.h = h
        self.words = h.mem.words
        self.arena_start = h.arena_start
        self.arena_used = h.arena_used
        self.bm = h.heapbits.bm
        self.bitmap_size = h.heapbits.bitmap_size
        self.grey = WordStack()  # gcWork: grey objects' addresses, in native memory
        self.result = MarkResult()
        # From this many words on, scan_words walks in bulk (tests raise it to
        # compare the bulk walk with the word-by-word one).
        self.bulk_words = _BULK_WORDS

    # --- primitives ---

    def scan_words(self, b: int, n: int) -> tuple[list[int], int]:
        """scanobject's walk of [b, b+n): (pointer values found, bytes walked).

        Word by word for short objects (``_walk``); from ``bulk_words`` words
        on, ``_scan_words_bulk``.
        """
        start_word = (b - self.arena_start) >> 3
        nwords = n >> 3
        if nwords >= self.bulk_words:
            return self._scan_words_bulk(start_word, nwords)
        ptrs: list[int] = []
        return ptrs, self._walk(start_word, nwords, ptrs)

    def _walk(self, start_word: int, nwords: int, ptrs: list[int] | None) -> int:
        """The word-by-word walk of nwords words from start_word; the bytes walked.

        Each non-nil word in a pointer slot goes to ptrs, or, when ptrs is
        None, straight to ``shade`` as it is found (Go's scanobject loop, with
        no list of the values between).
        """
        bm = self.bm
        top = self.bitmap_size - 1
        words = self.words
        i = 0
        while i < nwords:
            w = start_word + i
            bits = load8(bm, top - (w >> 2)) >> (w & 3)
            if i != 1 and not bits & 0x10:
                break
            if bits & 1:
                v = load64(words, w)
                if v:
                    if ptrs is None:
                        self.shade(v)
                    else:
                        ptrs.append(v)
            i += 1
        return i << 3

    def _scan_words_bulk(self, start_word: int, nwords: int) -> tuple[list[int], int]:
        """scan_words over nwords arena words from start_word, with numpy.

        The bitmap grows down, so the bytes of ascending words are read in
        reverse; each byte is spread into its four words' entries (bit 0 =
        pointer, bit 4 = scan). The walk stops at the first word, other than
        word 1 (whose scan bit is the checkmark), with its scan bit clear.
        """
        top = self.bitmap_size - 1
        first_byte = start_word >> 2
        last_byte = (start_word + nwords - 1) >> 2
        raw = self.h.heapbits.np_bm[top - last_byte : top - first_byte + 1][::-1]
        skip = start_word & 3
        entries = ((raw[:, None] >> _NIBBLE_SHIFTS) & 0x11).reshape(-1)[skip : skip + nwords]
        dead = np.flatnonzero((entries & 0x10) == 0)
        if dead.size and dead[0] == 1:
            dead = dead[1:]  # word 1's scan bit is the checkmark, never the end
        walked = int(dead[0]) if dead.size else nwords
        slots = np.flatnonzero(entries[:walked] & 1)
        if not slots.size:
            return [], walked << 3
        words = np.frombuffer(
            self.h.mem.bytes, dtype=np.uint64, count=walked, offset=start_word << 3
        )
        values = words[slots]
        return values[values != 0].tolist(), walked << 3

    def scanobject(self, b: int, elemsize: int, shade: bool = True) -> None:
        """Scan an object, shading what it points to (unless shade is False).

        Objects over 128 KiB are scanned as oblets, as Go 1.8 does: each
        oblet adds its length to bytesMarked and the bytes it walks (up to
        the dead marker) to scanWork.

        Its scan work is *shared* -- work another P's mark worker could
        have taken (``MarkResult.shared``) -- unless it is one large object
        (``PIECE_MIN`` units of scan work or more) of at most
        ``balanceMin + 1`` oblets: its drainer scans that alone, and what
        it queues behind the first oblet is too little for
        ``gcWork.balance`` to hand off. Small objects come many at a time
        (the referents of a scanned object, a tree's nodes), which balance
        hands half of to the global queue; so do the queued oblets of a
        larger array. Simplified: the rule reads each object's size, not
        the queue it waits in, so graph and lifetime mode (which has no
        queue) split the same heap alike; a list of small objects, which Go
        drains one object at a time on one P, counts as shared.
        """
        res = self.result
        step = maxObletBytes if elemsize > maxObletBytes else elemsize
        many_oblets = oblets_handed_off(elemsize)
        off = 0
        while off < elemsize:
            n = min(step, elemsize - off)
            if shade and n >> 3 < self.bulk_words:
                walked = self._walk((b + off - self.arena_start) >> 3, n >> 3, None)
            else:
                ptrs, walked = self.scan_words(b + off, n)
                if shade:
                    for p in ptrs:
                        self.shade(p)
            res.bytesMarked += n
            res.scanWork += walked
            if walked >= PIECE_MIN:
                res.pieces.add(res.scanWork, walked)
                if many_oblets:
                    res.shared += walked
            else:
                res.shared += walked
            off += n

    def shade(self, p: int) -> None:
        """greyobject for the object containing p (if it is a heap object)."""
        h = self.h
        if p < self.arena_start or p >= h.arena_used:
            return
        s = h.spans[(p - self.arena_start) >> 13]
        if s is None or s.state != MSpanInUse or p >= s.limit or p < s.startAddr:
            return
        idx = s.objIndex(p) if s.sizeclass else 0
        if s.isFree(idx):
            return
        if bit(s.gcmarkBits, idx):
            return
        s.gcmarkBits = setbit(s.gcmarkBits, idx)
        base = s.startAddr + idx * s.elemsize
        if not self._has_pointers(base):
            # A noscan object goes straight to black.
            self.result.bytesMarked += s.elemsize
            self.result.objects += 1
            return
        self.result.objects += 1
        self.grey.push(base)

    def _has_pointers(self, base: int) -> bool:
        w = (base - self.arena_start) >> 3
        return bool((load8(self.bm, self.bitmap_size - 1 - (w >> 2)) >> (w & 3)) & 0x10)

    def drain(self) -> None:
        """gcDrain: scan grey objects until the queue is empty."""
        h = self.h
        grey = self.grey
        while grey.n:
            b = grey.pop()
            s = h.spans[(b - self.arena_start) >> 13]
            assert s is not None
            self.scanobject(b, s.elemsize)

    # --- roots ---

    def mark_roots(self, roots: Iterable[int]) -> None:
        for p in roots:
            if p:
                self.shade(p)

    def markrootSpans(self) -> None:
        """Scan every object with a finalizer (not marking it) and keep its referents."""
        h = self.h
        for s in h.sweepSpans[(h.sweepgen // 2) % 2].spans:
            if s is None or s.state != MSpanInUse or s.specials is None:
                continue
            sp: SpecialRecord | None = s.specials
            while sp is not None:
                if sp.kind == KindSpecialFinalizer:
                    p = s.startAddr + (sp.offset // s.elemsize) * s.elemsize
                    self.scanobject(p, s.elemsize)
                sp = sp.next

    def _mark_slot_lifetime(self, s: MSpan, idx: int) -> None:
        """Lifetime mode: mark slot idx and count what scanobject would."""
        s.gcmarkBits = setbit(s.gcmarkBits, idx)
        base = s.startAddr + idx * s.elemsize
        self.result.objects += 1
        if self._has_pointers(base):
            self.scanobject(base, s.elemsize, shade=False)
        else:
            self.result.bytesMarked += s.elemsize

    def mark_lifetime_object(self, p: int) -> None:
        """Lifetime mode: mark the object at p (a finalizer-queue entry) if unmarked."""
        s = self.h.spanOf(p)
        if s is None or s.state != MSpanInUse:
            return
        idx = s.objIndex(p) if s.sizeclass else 0
        if not (s.gcmarkBits >> idx) & 1:
            self._mark_slot_lifetime(s, idx)

    def mark_lifetime(self) -> None:
        """Lifetime mode: mark every allocated object not declared dead."""
        for s in self.h.sweepSpans[(self.h.sweepgen // 2) % 2].spans:
            if s is None or s.state != MSpanInUse:
                continue
            # Only slot idx's own mark bit changes below (scanobject does not shade here),
            # so what to skip is read once per span.
            skip = s.deadBits | s.gcmarkBits
            for idx in s.allocated_indices():
                if not bit(skip, idx):
                    self._mark_slot_lifetime(s, idx)
