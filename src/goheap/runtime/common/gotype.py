"""Go types as the allocator sees them (type.go ``_type``).

The allocator needs three things of a type: its ``size``, its ``ptrdata``
(the length of the prefix that can hold pointers) and its pointer mask
(``gcdata``: one bit per word of that prefix). ``Type`` builds them from a
list of pointer offsets, e.g. ``Type("Node", size=16, pointers=[0, 8])``.
A type without pointers is *noscan*: its objects go to the tiny allocator
(below 16 bytes) and are never scanned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Final

from goheap.errors import GoheapError

PTR_SIZE: Final = 8


#: Go's heapAddrBits on amd64: no object, so no type the allocator sees, is larger.
MAX_TYPE_SIZE: Final = 1 << 48


class Type:
    """A Go type: size, alignment and where its pointers are.

    Built in time and memory proportional to the pointer offsets given, not
    to the type's size: the word masks (``gcmask``) are derived on first
    use.
    """

    __slots__ = ("_gcmask", "align", "name", "offsets", "ptrdata", "size", "type_id")

    _next_id: ClassVar[int] = 1

    def __init__(
        self, name: object, size: object, pointers: object = (), align: object = 0
    ) -> None:
        # Arguments typed object and checked: a bad one is a GoheapError, compiled or not.
        if not isinstance(name, str):
            raise GoheapError(f"a type's name must be a string, got {name!r}")
        if not isinstance(size, int) or size < 0:
            raise GoheapError(f"type {name}: size must be a non-negative integer, got {size!r}")
        if size > MAX_TYPE_SIZE:
            raise GoheapError(
                f"type {name}: size {size} is larger than the address space (2^48 bytes)"
            )
        if not isinstance(align, int) or align < 0:
            raise GoheapError(f"type {name}: align must be a non-negative integer, got {align!r}")
        if not isinstance(pointers, Iterable):
            raise GoheapError(f"type {name}: pointers must be offsets, got {pointers!r}")
        given = list(pointers)
        for off in given:
            if not isinstance(off, int):
                raise GoheapError(
                    f"type {name}: pointer offset {off!r} must be a multiple of 8 "
                    f"inside the type's {size} bytes"
                )
        offs: list[int] = sorted(set(given))
        for off in offs:
            if off < 0 or off % PTR_SIZE != 0 or off + PTR_SIZE > size:
                raise GoheapError(
                    f"type {name}: pointer offset {off!r} must be a multiple of 8 "
                    f"inside the type's {size} bytes"
                )
        if offs and size % PTR_SIZE:
            # A struct holding a pointer is 8-aligned, so Go rounds its size to 8.
            raise GoheapError(
                f"type {name}: a type with pointers has a size that is a multiple of 8 "
                f"(Go pads it), got {size}"
            )
        self.name = name
        self.size = size
        self.align = align or (PTR_SIZE if offs or size % 8 == 0 else _natural_align(size))
        # The byte offsets of the pointer words, ascending.
        self.offsets: tuple[int, ...] = tuple(offs)
        self.ptrdata = offs[-1] + PTR_SIZE if offs else 0
        self._gcmask = -1  # not derived yet
        self.type_id = Type._next_id
        Type._next_id += 1

    @property
    def gcmask(self) -> int:
        """The pointer mask as an int, bit i = word i (Go's gcdata bytes, little-endian)."""
        if self._gcmask < 0:
            bits = bytearray((self.ptrdata // PTR_SIZE + 7) // 8)
            for off in self.offsets:
                w = off // PTR_SIZE
                bits[w >> 3] |= 1 << (w & 7)
            self._gcmask = int.from_bytes(bits, "little")
        return self._gcmask

    @property
    def noscan(self) -> bool:
        """kindNoPointers: the type holds no pointers."""
        return self.ptrdata == 0

    def pointer_offsets(self) -> list[int]:
        return list(self.offsets)

    def __repr__(self) -> str:
        return f"Type({self.name!r}, size={self.size}, pointers={self.pointer_offsets()})"


def _natural_align(size: int) -> int:
    for a in (8, 4, 2):
        if size % a == 0:
            return a
    return 1


# The element types Go's own builtins allocate: []byte and []unsafe.Pointer.
BYTE: Final = Type("uint8", 1)
POINTER: Final = Type("unsafe.Pointer", 8, pointers=[0])
