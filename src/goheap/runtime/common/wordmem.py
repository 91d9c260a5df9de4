"""Word and byte loads and stores of the arena and the heap bitmap, and bit tests of the
span bitmaps: the native kernel.

The heap's memory is an ``mmap`` seen through memoryviews (``ArenaMemory``):
``words`` (format ``Q``, one item per 8-byte word) and ``bytes``/``bitmap``
(format ``B``). The hot paths read and write them through these four
functions instead of subscripts:

- ``load64(words, i)`` is ``words[i]`` and ``store64(words, i, v)`` is
  ``words[i] = v``;
- ``load8(b, i)`` is ``b[i]`` and ``store8(b, i, v)`` is ``b[i] = v``.

``bit(x, i)`` is ``(x >> i) & 1``, a test of an int bitmap,
``setbit(x, i)`` is ``x | (1 << i)``, the bitmap with bit i set, and
``ctz64(x)`` is sys.Ctz64, the index of x's lowest set bit (64 for 0).

That is all they are, and all they are in pure Python (there the four
are ``operator.getitem`` and ``operator.setitem``: one C call, no Python
frame; ``bit``, ``setbit`` and ``ctz64`` are the expressions in functions). Their point is the
compiled build: ``python -m goheap.build`` teaches mypyc to emit each call
as an inline C function (``wordmem.h``) that reads or writes the word in
place, where a subscript would box the index and the value into Python
ints and go through the memoryview's generic item
protocol -- most of what a compiled allocation cost (issue 12). The C path
is taken only for what it does exactly like the subscript: a live,
writable, C-contiguous one-dimensional memoryview of the right format, an
index in range and a value that fits; anything else (a negative index, a
value of 2^62 or more, a released view) goes through the subscript itself,
so results and errors are the same in every build. ``tests/test_wordmem.py``
checks that against the memoryview in both builds.

If a future mypyc cannot take the primitives, the build says so and the
compiled code calls these functions instead: slower, the same numbers.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING


def load64(words: memoryview, i: int) -> int:
    """``words[i]``: the uint64 word at index i of a ``Q`` memoryview."""
    v: int = words[i]
    return v


def store64(words: memoryview, i: int, v: int) -> None:
    """``words[i] = v``."""
    words[i] = v


def load8(b: memoryview, i: int) -> int:
    """``b[i]``: the byte at index i of a ``B`` memoryview."""
    v: int = b[i]
    return v


def store8(b: memoryview, i: int, v: int) -> None:
    """``b[i] = v``."""
    b[i] = v


def bit(x: int, i: int) -> int:
    """``(x >> i) & 1``: bit i of an int bitmap (a span's ``allocBits``, ``gcmarkBits``).

    Compiled, a bitmap of more than 62 bits is a Python int, and the shift
    makes a new one for every test; the C reads the bit from the int's
    digits in place (non-negative x and i, CPython 3.11's int layout;
    anything else takes the expression itself).
    """
    return (x >> i) & 1


def ctz64(x: int) -> int:
    """sys.Ctz64: the count of trailing zeros of a 64-bit value, 64 for 0 (``allocCache``).

    Compiled, an allocCache with bit 62 or 63 set (every fresh span's) is a
    Python int, and ``x & -x`` makes two new ones per call; the C counts in
    place (non-negative x, CPython 3.11's int layout; anything else takes
    the expression itself).
    """
    if x == 0:
        return 64
    return (x & -x).bit_length() - 1


def setbit(x: int, i: int) -> int:
    """``x | (1 << i)``: an int bitmap with bit i set (a mark, ``s.gcmarkBits |= 1 << idx``).

    Compiled, a bitmap of more than 62 bits is a Python int and the
    expression makes two new ones (``1 << i``, then the or); the C makes only
    the result, a copy of x's digits with the bit set, and none when the bit
    is set already (non-negative x and i, CPython 3.11's int layout; anything
    else takes the expression itself).
    """
    return x | (1 << i)


if not TYPE_CHECKING:
    # Interpreted, a builtin does the same in one C call (no Python frame).
    load64 = load8 = operator.getitem
    store64 = store8 = operator.setitem

#: The C functions mypyc emits for these calls, by function (see goheap.build).
PRIMITIVES = {
    "load64": "GoheapMem_Load64",
    "store64": "GoheapMem_Store64",
    "load8": "GoheapMem_Load8",
    "store8": "GoheapMem_Store8",
    "bit": "GoheapMem_Bit",
    "setbit": "GoheapMem_SetBit",
    "ctz64": "GoheapMem_Ctz64",
}
HEADER = "wordmem.h"
