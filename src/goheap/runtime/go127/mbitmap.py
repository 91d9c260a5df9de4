"""Pointer/scalar metadata of Go 1.27 heap objects (``mbitmap.go``), and
Green Tea's span-inline mark bits (``mgcmark_greenteagc.go``).

What the Go code does
---------------------
There is no side bitmap any more. Where an object's pointer map lives
depends on its size (``gc.MinSizeForMallocHeader = 512``; exclusive, and a
size-class boundary, so it holds for both the request and the slot size):

* **small scan objects (<= 512 B)**: one bit per word (1 = pointer) in a
  bitmap at the **end of the span** (``spanHeapBitsRange``: ``nbytes/64``
  bytes -- 128 B for the one-page spans these classes use -- ending where
  the inline mark bits begin). ``initHeapBits`` clears it when the span is
  made (all ones for the 8-byte scan class, whose every word is a
  pointer); ``writeHeapBitsSmall`` writes the object's bits (the type's
  mask repeated for each element of an array) into one or two words and
  returns the scannable size (all of ``dataSize`` for pointer-sized
  elements, else ``PtrBytes`` of the last element plus ``Size_`` per
  earlier element).
* **scan objects > 512 B** (up to 32760 B): an 8-byte **malloc header**
  in the first word of the slot holds the ``*_type``; the caller gets
  ``slot + 8``. ``heapSetTypeSmallHeader`` returns the whole ``elemsize``
  as scannable.
* **large scan objects**: the type in ``span.largeType``; scannable
  ``elemsize``.
* **noscan objects**: nothing.

Green Tea (``GOEXPERIMENT=greenteagc``, the default) puts a 128-byte
``spanInlineMarkBits`` (63 B scans, 1 B ownership, 63 B marks, 1 B span
class) at the end of the first page of spans of 16..512-byte objects
(``gcUsesSpanInlineMarkBits``), scan and noscan; ``initInlineMarkBits``
zeroes it when the memory may be dirty and stores the span class.

What the model simplifies
-------------------------
Nothing in these bytes is simulated: they are written into the heap's real
memory at Go's addresses, so the collector can read them back. A
``*_type`` is an address in a ``TypeTable`` (types get addresses in a
fake rodata range in order of first use), since a ``Type`` is a Python
object. GC programs and the asan/race variants do not exist here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.wordmem import load8, load64, store8, store64

if TYPE_CHECKING:
    from goheap.runtime.common.arena import ArenaMemory
    from goheap.runtime.go127.mspan import MSpan

ptrBits: Final = 64
_MASK64: Final = (1 << 64) - 1
_PageSize: Final = 8192

#: Where type descriptors are placed (the binary's rodata; never in the heap).
TYPE_TABLE_BASE: Final = 0x4C0000
TYPE_TABLE_STRIDE: Final = 0x40


class TypeTable:
    """``*_type`` addresses for the malloc headers: one per Type, in order of first use."""

    def __init__(self) -> None:
        self._addr: dict[int, int] = {}
        self._type: dict[int, Type] = {}

    def addr_of(self, typ: Type) -> int:
        a = self._addr.get(typ.type_id)
        if a is None:
            a = TYPE_TABLE_BASE + TYPE_TABLE_STRIDE * len(self._addr)
            self._addr[typ.type_id] = a
            self._type[a] = typ
        return a

    def type_at(self, addr: int) -> Type | None:
        return self._type.get(addr)


class HeapBits:
    """The heap-bits and inline-mark-bits writers of one heap (see the module doc)."""

    def __init__(
        self,
        mem: ArenaMemory,
        min_size_for_malloc_header: int,
        malloc_header_size: int,
        inline_mark_bits_bytes: int,
        green_tea: bool,
    ) -> None:
        self.mem = mem
        self.words = mem.words
        self.arena_start = mem.arena_start
        self.minSizeForMallocHeader = min_size_for_malloc_header
        self.mallocHeaderSize = malloc_header_size
        self.inlineMarkBitsBytes = inline_mark_bits_bytes
        self.greenTea = green_tea
        self.types = TypeTable()
        # type id << 40 | dataSize -> (bit pattern, scanSize) for writeHeapBitsSmall.
        self._small: dict[int, tuple[int, int]] = {}
        self._lastTyp: Type | None = None  # the last lookup's key and result
        self._lastDataSize = 0
        self._lastPattern = (0, 0)
        # writeHeapBitsSmall's constants: where a one-page span's bitmap starts (from the
        # span's base; without and with inline mark bits), and for an object's bits within
        # one bitmap byte, that byte's other bits ((bits << 3) | shift -> mask).
        self._oneBitsOff = _PageSize - _PageSize // 64
        self._oneBitsOffInline = self._oneBitsOff - inline_mark_bits_bytes
        self._keep8 = [~(((1 << b) - 1) << k) & 0xFF for b in range(9) for k in range(8)]

    # --- predicates ---

    def heapBitsInSpan(self, userSize: int) -> bool:
        """``heapBitsInSpan``: the object's pointer bits live at the end of its span."""
        return userSize <= self.minSizeForMallocHeader

    def gcUsesSpanInlineMarkBits(self, size: int) -> bool:
        """``gcUsesSpanInlineMarkBits``: Green Tea keeps this span's marks inline."""
        return self.greenTea and size <= self.minSizeForMallocHeader and size >= 16

    # --- layout ---

    def spanHeapBitsRange(self, spanBase: int, spanSize: int, elemsize: int) -> tuple[int, int]:
        """``spanHeapBitsRange``: (address, bytes) of the span's heap bitmap."""
        size = spanSize // 8 // 8
        base = spanBase + spanSize - size
        if self.gcUsesSpanInlineMarkBits(elemsize):
            base -= self.inlineMarkBitsBytes
        return base, size

    def spanInlineMarkBitsFromBase(self, base: int) -> int:
        """``spanInlineMarkBitsFromBase``: address of the span's ``spanInlineMarkBits``."""
        return base + _PageSize - self.inlineMarkBitsBytes

    # --- span initialisation ---

    def initHeapBits(self, s: MSpan) -> None:
        """``mspan.initHeapBits``: clear (or, for 8-byte scan spans, fill) the bitmap."""
        noscan = s.spanclass & 1
        if not noscan and s.sizeclass == 1:
            base, size = self.spanHeapBitsRange(s.startAddr, s.npages * _PageSize, s.elemsize)
            off = base - self.arena_start
            self.mem.bytes[off : off + size] = b"\xff" * size
            self.mem.touch_range(base, size)
        elif not noscan and self.heapBitsInSpan(s.elemsize):
            base, size = self.spanHeapBitsRange(s.startAddr, s.npages * _PageSize, s.elemsize)
            off = base - self.arena_start
            self.mem.bytes[off : off + size] = bytes(size)
            self.mem.touch_range(base, size)
        if self.gcUsesSpanInlineMarkBits(s.elemsize):
            self.initInlineMarkBits(s)

    def initInlineMarkBits(self, s: MSpan) -> None:
        """``mspan.initInlineMarkBits``: zero the struct if the memory may be dirty; set class."""
        addr = self.spanInlineMarkBitsFromBase(s.startAddr)
        imb = addr - self.arena_start
        n = self.inlineMarkBitsBytes
        if s.needzero:
            self.mem.bytes[imb : imb + n] = bytes(n)
        self.mem.bytes[imb + n - 1] = s.spanclass
        self.mem.touch(addr + n - 1)

    def inlineMarkBitsClass(self, s: MSpan) -> int:
        """The ``class`` byte of the span's inline mark bits."""
        imb = self.spanInlineMarkBitsFromBase(s.startAddr) - self.arena_start
        return load8(self.mem.bytes, imb + self.inlineMarkBitsBytes - 1)

    # --- per-object type information ---

    def _pattern(self, dataSize: int, typ: Type) -> tuple[int, int]:
        if typ is self._lastTyp and dataSize == self._lastDataSize:
            return self._lastPattern  # the same type and size as the allocation before
        # (type, dataSize) as one int (a request is below 2^40): no key tuple per allocation.
        key = (typ.type_id << 40) | dataSize
        got = self._small.get(key)
        if got is None:
            if typ.size == 8:
                src = (1 << (dataSize // 8)) - 1
                scanSize = dataSize
            else:
                src0 = typ.gcmask
                src = src0
                scanSize = typ.ptrdata
                i = typ.size
                while i < dataSize:
                    src |= src0 << (i // 8)
                    scanSize += typ.size
                    i += typ.size
            got = self._small[key] = (src, scanSize)
        self._lastTyp = typ
        self._lastDataSize = dataSize
        self._lastPattern = got
        return got

    def writeHeapBitsSmall(self, s: MSpan, x: int, dataSize: int, typ: Type) -> int:
        """``mspan.writeHeapBitsSmall``: store x's pointer bits; return its scannable size."""
        src, scanSize = self._pattern(dataSize, typ)
        start = s.startAddr
        elemsize = s.elemsize
        # spanHeapBitsRange(start, pageSize, elemsize), for the sizes that get here.
        dstBase = start + (
            self._oneBitsOffInline if self.gcUsesSpanInlineMarkBits(elemsize) else self._oneBitsOff
        )
        o = (x - start) >> 3
        bits = elemsize >> 3
        k = o & 7
        if k + bits <= 8:
            # The object's bits lie in one byte of the bitmap (always so for 16- and 32-byte
            # objects): change that byte -- the bits the word store below changes, without
            # 64-bit integers (which the compiled build handles as Python objects).
            b = dstBase - self.arena_start + (o >> 3)
            mem = self.mem.bytes
            store8(mem, b, (load8(mem, b) & self._keep8[(bits << 3) | k]) | (src << k))
            return scanSize
        i = o >> 6
        j = o & 63
        words = self.words
        w = ((dstBase - self.arena_start) >> 3) + i
        if j + bits > ptrBits:
            bits0 = ptrBits - j
            bits1 = bits - bits0
            store64(words, w, (load64(words, w) & (_MASK64 >> bits0)) | ((src << j) & _MASK64))
            store64(
                words,
                w + 1,
                (load64(words, w + 1) & ~((1 << bits1) - 1) & _MASK64) | (src >> bits0),
            )
        else:
            store64(words, w, (load64(words, w) & ~(((1 << bits) - 1) << j) & _MASK64) | (src << j))
        return scanSize

    def heapBitsSmallForAddr(self, s: MSpan, addr: int) -> int:
        """``mspan.heapBitsSmallForAddr``: the pointer bits of the object at addr."""
        hbitsBase, _ = self.spanHeapBitsRange(s.startAddr, s.npages * _PageSize, s.elemsize)
        o = (addr - s.startAddr) >> 3
        bits = s.elemsize >> 3
        k = o & 7
        if k + bits <= 8:  # within one byte, as writeHeapBitsSmall writes it
            return (load8(self.mem.bytes, hbitsBase - self.arena_start + (o >> 3)) >> k) & (
                (1 << bits) - 1
            )
        i = o >> 6
        j = o & 63
        words = self.words
        w = ((hbitsBase - self.arena_start) >> 3) + i
        if j + bits > ptrBits:
            bits0 = ptrBits - j
            bits1 = bits - bits0
            return (load64(words, w) >> j) | ((load64(words, w + 1) & ((1 << bits1) - 1)) << bits0)
        return (load64(words, w) >> j) & ((1 << bits) - 1)

    def heapSetTypeNoHeader(self, x: int, dataSize: int, typ: Type, s: MSpan) -> int:
        """``heapSetTypeNoHeader``: heap bits in the span."""
        if not self.heapBitsInSpan(dataSize):
            raise RuntimeThrow("tried to write heap bits, but no heap bits in span")
        return self.writeHeapBitsSmall(s, x, dataSize, typ)

    def heapSetTypeSmallHeader(
        self, x: int, dataSize: int, typ: Type, header: int, s: MSpan
    ) -> int:
        """``heapSetTypeSmallHeader``: ``*header = typ``; all of the slot is scannable."""
        store64(self.words, (header - self.arena_start) >> 3, self.types.addr_of(typ))
        self.mem.touch(header)
        return s.elemsize

    def heapSetTypeLarge(self, x: int, dataSize: int, typ: Type, s: MSpan) -> int:
        """``heapSetTypeLarge``: the type goes in ``span.largeType``."""
        s.largeType = typ
        return s.elemsize

    def headerType(self, slot: int) -> Type | None:
        """The type a malloc header at ``slot`` names (None if it names none)."""
        return self.types.type_at(load64(self.words, (slot - self.arena_start) >> 3))
