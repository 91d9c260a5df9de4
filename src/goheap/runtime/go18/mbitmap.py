"""The heap bitmap (mbitmap.go), Go 1.8 layout.

Two bits describe each 8-byte heap word: a *pointer* bit ("this word holds a
pointer") and a *scan* bit ("keep scanning: more pointers may follow"). Four
words share a bitmap byte: the low nibble holds their pointer bits, the high
nibble their scan bits, slot ``w % 4`` for word ``w``. The bitmap lies just
below ``arena_start`` and grows downward: word ``w`` of the arena (counted
from ``arena_start``) is described by the byte at ``arena_start - w/4 - 1``.

Encoding of an object's entries (what ``heapBitsSetType`` leaves behind):

- words of the pointer prefix (``ptrdata``, repeated for each array element
  up to the last element's prefix): pointer bit from the type's mask, scan
  bit 1 -- except word 1, whose high bit is the *checkmark* bit (0 outside
  checkmark mode);
- every later word of the object: 0 0, the "dead" marker: nothing more to
  scan;
- 8-byte objects are left as ``initSpan`` set them (pointer + scan) since on
  64-bit they always hold a pointer; noscan objects only get their first
  word cleared (``heapBitsSetTypeNoScan``), which is all the collector reads.

Go's bit-buffer mechanics and GC programs (``runGCProg``) are not modelled:
the bits they produce are computed directly from the pointer mask, which
gives the same bitmap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np

from goheap.runtime.common.gotype import Type
from goheap.runtime.common.wordmem import load8, store8

bitPointer: Final = 1
bitScan: Final = 1 << 4
bitPointerAll: Final = 0x0F
bitScanAll: Final = 0xF0

# Patterns of objects up to this size are cached per (type, size, dataSize, shift).
_CACHE_MAX_SIZE: Final = 32768
# Larger objects (always page-aligned: shift 0) are written a chunk of bitmap
# bytes at a time, so memory stays bounded whatever the object's size.
_CHUNK_BYTES: Final = 1 << 20


class _Pattern:
    """An object's bitmap bytes in memory order (lowest address first)."""

    __slots__ = ("data", "hi_mask", "lo_mask", "nbytes", "single_mask", "single_val")

    def __init__(self, asc: bytes, first_mask: int, last_mask: int) -> None:
        # asc[k] describes words 4k..4k+3 of the object's first bitmap byte
        # onward; memory order is the reverse (the bitmap grows down).
        self.nbytes = len(asc)
        self.data = bytes(reversed(asc))
        # The object's first byte is the highest address, its last the lowest.
        self.hi_mask = first_mask
        self.lo_mask = last_mask
        self.single_mask = first_mask & last_mask
        self.single_val = asc[0] if asc else 0


def object_entries(typ: Type, size: int, dataSize: int) -> np.ndarray:
    """The 2-bit entry (bit 0 pointer, bit 1 scan) of each word of an object."""
    nwords = size // 8
    ndata = typ.size // 8
    count = dataSize // typ.size
    totalptr = ((count - 1) * typ.size + typ.ptrdata) // 8
    i = np.arange(nwords)
    live = i < totalptr
    mask = np.zeros(ndata, dtype=np.uint8)
    mask[np.array(typ.offsets, dtype=np.int64) // 8] = 1
    ptr = np.where(live, mask[i % ndata], 0).astype(np.uint8)
    scan = (live & (i != 1)).astype(np.uint8)
    entries: np.ndarray = ptr | (scan << 1)
    return entries


def _pack(entries: np.ndarray, shift: int) -> _Pattern:
    n = len(entries)
    total = shift + n
    nbytes = (total + 3) // 4
    slots = np.zeros(nbytes * 4, dtype=np.uint8)
    owned = np.zeros(nbytes * 4, dtype=np.uint8)
    slots[shift:total] = entries
    owned[shift:total] = 1
    s = slots.reshape(nbytes, 4)
    o = owned.reshape(nbytes, 4)
    weights = np.array([1, 2, 4, 8], dtype=np.uint8)
    ptr_nib = ((s & 1) * weights).sum(axis=1)
    scan_nib = (((s >> 1) & 1) * weights).sum(axis=1)
    own_nib = (o * weights).sum(axis=1)
    asc = (ptr_nib | (scan_nib << 4)).astype(np.uint8).tobytes()
    own = (own_nib | (own_nib << 4)).astype(np.uint8)
    return _Pattern(asc, int(own[0]), int(own[-1]))


class HeapBitmap:
    """Reads and writes the heap bitmap of one heap."""

    def __init__(
        self,
        bitmap: memoryview,
        arena_start: int,
        bitmap_size: int,
        zero: Callable[[int, int], None],
    ) -> None:
        self.bm = bitmap
        self._zero = zero  # clears (index, n) bytes of bm: ArenaMemory.zero_bitmap
        self.arena_start = arena_start
        self.bitmap_size = bitmap_size
        self._cache: dict[int, _Pattern] = {}  # see setType
        # setType of a 16-byte object: its byte's other entries, by the word's shift.
        self._keep16 = [~(0x33 << shift) & 0xFF for shift in range(4)]
        self.np_bm = np.frombuffer(bitmap, dtype=np.uint8)  # the same bytes, for bulk work

    def release(self) -> None:
        """Drop the numpy view, so that the mapping under it can be closed."""
        self.np_bm = np.zeros(0, dtype=np.uint8)

    def byte_index(self, addr: int) -> int:
        """Index in ``bm`` of the byte describing the word at addr."""
        return self.bitmap_size - ((addr - self.arena_start) >> 5) - 1

    def entry(self, addr: int) -> int:
        """The word's entry: bit 0 = pointer, bit 1 = scan/checkmark."""
        shift = ((addr - self.arena_start) >> 3) & 3
        b = load8(self.bm, self.byte_index(addr)) >> shift
        return (b & 1) | ((b >> 3) & 2)

    def isPointerWord(self, x: int, addr: int) -> bool:
        """Whether scanobject, scanning the object at x, reads the word at addr as a pointer.

        It reads words from x on and stops at the first one, other than word
        1 (whose scan bit is the checkmark), with its scan bit clear; so the
        word must have its pointer bit set and no dead word may come before
        it (words past an object's dead marker keep stale bits).
        """
        bm = self.bm
        a = addr - self.arena_start
        if not (load8(bm, self.bitmap_size - (a >> 5) - 1) >> ((a >> 3) & 3)) & bitPointer:
            return False
        k = (addr - x) >> 3
        if k == 0:
            return True
        w0 = (x - self.arena_start) >> 3
        if not (load8(bm, self.bitmap_size - (w0 >> 2) - 1) >> (w0 & 3)) & bitScan:
            return False  # a pointer-free object: word 0 is dead
        if k <= 64:
            return all(self.entry(x + (i << 3)) & 2 for i in range(2, k))
        return self._scan_bits_set(w0 + 2, w0 + k)

    def _scan_bits_set(self, wa: int, wb: int) -> bool:
        """Whether every arena word in [wa, wb) has its scan bit set (wa < wb).

        The words that share a bitmap byte with the ends one by one, the whole
        bytes between at once (a scan nibble of 0xF): a pointer store into a
        large array costs a pass over a quarter of its bitmap bytes.
        """
        bm = self.bm
        top = self.bitmap_size - 1
        while wa < wb and wa & 3:
            if not (load8(bm, top - (wa >> 2)) >> (wa & 3)) & bitScan:
                return False
            wa += 1
        while wb > wa and wb & 3:
            wb -= 1
            if not (load8(bm, top - (wb >> 2)) >> (wb & 3)) & bitScan:
                return False
        if wa < wb:  # whole bytes: words wa..wb-1 lie in bytes top-((wb-1)>>2) .. top-(wa>>2)
            lo = top - ((wb - 1) >> 2)
            return not bool((self.np_bm[lo : top - (wa >> 2) + 1] < bitScanAll).any())
        return True

    def initSpan(self, base: int, total: int, elemsize: int) -> None:
        """Clear the span's bitmap; 8-byte classes get pointer+scan everywhere."""
        nbyte = total >> 5
        hi = self.byte_index(base)
        lo = hi - nbyte + 1
        if elemsize == 8:
            self.np_bm[lo : hi + 1] = 0xFF
        else:
            self._zero(lo, nbyte)

    def setTypeNoScan(self, x: int) -> None:
        """heapBitsSetTypeNoScan: mark the first word scalar and dead."""
        shift = ((x - self.arena_start) >> 3) & 3
        i = self.byte_index(x)
        store8(self.bm, i, load8(self.bm, i) & ~((bitPointer | bitScan) << shift) & 0xFF)

    def setType(self, x: int, size: int, dataSize: int, typ: Type) -> None:
        """heapBitsSetType: record which words of the new object hold pointers."""
        if size == 8:
            return  # initSpan already marked the word pointer+scan
        off = x - self.arena_start
        shift = (off >> 3) & 3
        if size == 16:
            # Two words (Go's size == 2*PtrSize case), both in one bitmap byte: pointer bits
            # from the mask (a 2-element array of pointers: both), scan bit on word 0 only
            # (word 1's is the checkmark) -- what the general encoding below gives them.
            ptrs = 3 if typ.size == 8 else typ.gcmask & 3
            i = self.bitmap_size - (off >> 5) - 1  # byte_index(x), on the hottest path
            bm = self.bm
            store8(bm, i, (load8(bm, i) & self._keep16[shift]) | ((ptrs | bitScan) << shift))
            return
        if size > _CACHE_MAX_SIZE:
            # Not cached. A large object is page-aligned (shift 0): written in chunks.
            if shift == 0:
                self._set_large(x, size, dataSize, typ)
                return
            pat = _pack(object_entries(typ, size, dataSize), shift)
        else:
            # (type, size, dataSize, shift) as one int (dataSize <= size < 2^16 here):
            # no key tuple to build, hash and free on every allocation.
            key = (((((typ.type_id << 16) | size) << 16) | dataSize) << 2) | shift
            cached = self._cache.get(key)
            if cached is None:
                cached = _pack(object_entries(typ, size, dataSize), shift)
                self._cache[key] = cached
            pat = cached
        bm = self.bm
        hi = self.byte_index(x)
        if pat.nbytes == 1:
            m = pat.single_mask
            store8(bm, hi, (load8(bm, hi) & ~m & 0xFF) | (pat.single_val & m))
            return
        lo = hi - pat.nbytes + 1
        old_hi = load8(bm, hi)
        old_lo = load8(bm, lo)
        bm[lo : hi + 1] = pat.data
        if pat.hi_mask != 0xFF:
            m = pat.hi_mask
            store8(bm, hi, (old_hi & ~m & 0xFF) | (load8(bm, hi) & m))
        if pat.lo_mask != 0xFF:
            m = pat.lo_mask
            store8(bm, lo, (old_lo & ~m & 0xFF) | (load8(bm, lo) & m))

    def _set_large(
        self, x: int, size: int, dataSize: int, typ: Type, chunk_bytes: int = _CHUNK_BYTES
    ) -> None:
        """setType for a word-aligned large object, a bounded chunk at a time.

        Its entries repeat every lcm(type words, 4) words up to the last
        element's pointer prefix (``totalptr``); the rest of the object stays
        as initSpan left it (0 0, dead). Word 1's scan bit is the checkmark
        bit, 0 as ever.
        """
        ndata = typ.size // 8
        count = dataSize // typ.size
        totalptr = ((count - 1) * typ.size + typ.ptrdata) // 8
        period_words = math.lcm(ndata, 4)
        mask = np.zeros(ndata, dtype=np.uint8)
        mask[np.array(typ.offsets, dtype=np.int64) // 8] = 1
        ptr = mask[np.arange(period_words) % ndata].reshape(-1, 4)
        weights = np.array([1, 2, 4, 8], dtype=np.uint8)
        period = ((ptr * weights).sum(axis=1) | 0xF0).astype(np.uint8)  # ascending bytes
        full = totalptr // 4  # bitmap bytes whose four words all lie in the prefix
        hi = self.byte_index(x)
        bm = self.np_bm
        for b0 in range(0, full, chunk_bytes):
            b1 = min(full, b0 + chunk_bytes)
            start = b0 % len(period)
            reps = (start + b1 - b0 + len(period) - 1) // len(period)
            chunk = np.tile(period, reps)[start : start + b1 - b0]
            bm[hi - b1 + 1 : hi - b0 + 1] = chunk[::-1]
        rest = totalptr - full * 4
        if rest:  # the byte where the prefix ends: only its first words are live
            words = np.arange(full * 4, full * 4 + rest)
            nib = int(((mask[words % ndata]) * weights[:rest]).sum())
            live = (1 << rest) - 1
            bm[hi - full] = nib | (live << 4)
        if totalptr > 1:
            bm[hi] &= ~(bitScan << 1) & 0xFF

    def pointer_words(self, x: int, size: int) -> list[int]:
        """Offsets of the pointer words scanobject would visit in [x, x+size).

        Follows scanobject: stop at the first word (other than word 1) whose
        scan bit is clear; report the words whose pointer bit is set.
        """
        out: list[int] = []
        bm = self.bm
        start = x - self.arena_start
        for i in range(size >> 3):
            w = (start >> 3) + i
            b = load8(bm, self.bitmap_size - (w >> 2) - 1) >> (w & 3)
            if i != 1 and not (b & bitScan):
                break
            if b & bitPointer:
                out.append(i << 3)
        return out

    def hasPointers(self, x: int) -> bool:
        """heapBits.hasPointers: the first word's scan bit."""
        return bool(self.entry(x) & 2)
