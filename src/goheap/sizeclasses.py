"""Size classes: a Python re-implementation of Go's ``mksizeclasses`` generator.

Go's runtime never allocates a small object (at most ``maxSmallSize`` = 32 KiB)
with exactly the requested size.  It rounds the request up to one of a few
dozen *size classes*, and carves spans of one or more 8 KiB pages into equal
slots of that size.  The table of classes is not written by hand: the program
``mksizeclasses.go`` computes it and emits ``sizeclasses.go``.  This module
runs the same computation in Python, for a chosen Go version, and exposes the
resulting tables together with the lookups the runtime performs on them.

How the generator works
-----------------------

1. **Candidate sizes and alignment.**  Class 0 is a placeholder (size 0, no
   pages) meaning "not a small object".  Candidate sizes are then visited in
   increasing order, starting at 8 and advancing by a step ``align`` that
   starts at 8.  Whenever the candidate is a power of two the step is
   recomputed: 256 from 2048 upwards, one eighth of the size from 128 upwards,
   and 16 from a small threshold upwards (16 in Go 1.8, 32 in modern Go).  The
   new step only applies to the *next* candidate, so the power of two itself
   is always visited.  The finer steps keep round-up waste low for small sizes;
   the coarser ones keep the class count small for large sizes.

2. **Span size (the 12.5 % rule).**  For each candidate, the span length is the
   smallest whole number of pages for which the unusable tail of the span
   (``span % size``) is no more than an eighth of the span.

3. **Merge rule.**  If the previous real class uses the same number of pages
   *and* packs the same number of objects into them, a separate class would
   buy nothing: the previous class simply grows to the candidate size instead
   of a new class being added.

4. **Widening pass.**  Afterwards every class is grown to the largest size that
   still fits the same number of objects into the same span, rounded down to a
   multiple of ``largeSizeDiv`` (128) so that the 128-byte-granular lookup
   table remains exact.  (Example: 8448 bytes, 6 objects in 7 pages, becomes
   9472 bytes, still 6 objects in 7 pages.)  The result must contain exactly
   the number of classes the version expects (67 in Go 1.8, 68 today); the
   generator refuses to proceed otherwise.

5. **Division magic.**  The garbage collector often needs the index of the
   object containing a byte offset in a span, i.e. ``offset // size``.  To
   avoid a hardware divide each class carries precomputed constants:

   * *Go 1.8* stores a ``divMagic`` struct ``{shift, shift2, mul, baseMask}``.
     ``shift`` removes the power-of-two factor of the size; then the smallest
     ``shift2 = k`` is searched such that with ``mul = ceil(2**k / d)`` (``d``
     the odd part of the size) ``(n * mul) >> k == n // d`` for every
     pre-shifted offset ``n`` of the span.  ``mul`` must fit in 16 bits and
     ``mul * n`` in 32 bits.  For power-of-two sizes ``baseMask`` is
     ``65536 - size``; ``mspan.objIndex`` then just shifts.
   * *Modern Go* stores a single 32-bit ``divMul = ^uint32(0)/size + 1`` and
     computes ``(offset * divMul) >> 32``.  The generator proves (with the
     Lemire/Kaser/Kurz bound on the number of fractional bits) that 32 bits
     suffice for every offset up to and including the span length, then checks
     the formula exhaustively.

   Both generators verify their magic by brute force over every offset.  Here
   the same verdict is reached by testing only the largest offset of each
   quotient (``q*d + d - 1``, clipped to the span): the estimate is monotone in
   the offset and never below the true quotient, so it is right for every
   offset exactly when it is right for those.

6. **Lookup tables.**  ``size_to_class8[i]`` is the smallest class whose size
   is at least ``8*i`` (``i`` in ``0..128``), and ``size_to_class128[i]`` the
   smallest class whose size is at least ``1024 + 128*i``.  ``mallocgc`` uses
   the first for requests up to 1016 bytes and the second above that.

Where the versions differ
-------------------------

* Go 1.8 switches to a 16-byte step at size 16, so it never visits 24 and has
  67 classes.  Modern Go keeps the 8-byte step until 32 (the heap bitmap only
  requires 16-byte alignment from 32 bytes on), which adds a 24-byte class:
  68 classes, and every class number above 2 is shifted up by one.
* The division magic changed form (see above) and the runtime's ``objIndex``
  changed with it.
* Modern ``roundupsize`` knows about the 8-byte malloc header that pointerful
  objects larger than 512 bytes carry, and treats requests above
  ``maxSmallSize - 8`` as large; Go 1.8 has no such header.
* Modern ``sizeclasses.go`` prints a richer comment block (tail waste, the
  worst-case total waste of each class, and the guaranteed object alignment,
  followed by a table of the smallest size reaching each alignment); Go 1.8
  printed only class, bytes/obj, bytes/span, objects and waste bytes.
  :func:`format_go_table` prints the modern block for both versions, since
  every column is a function of the sizes alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = [
    "DIVMAGIC_GO18",
    "DIVMAGIC_MUL32",
    "GO18_SPEC",
    "GO127_SPEC",
    "PROFILES",
    "DivMagic",
    "SizeClassSpec",
    "SizeClasses",
    "for_profile",
    "format_go_table",
    "generate",
    "to_json_dict",
]

_UINT32_MAX = (1 << 32) - 1
_UINT64_MASK = (1 << 64) - 1

# Division-magic variants.
DIVMAGIC_GO18 = "shift-mul16"  # divMagic{shift, shift2, mul, baseMask}
DIVMAGIC_MUL32 = "mul32"  # divMul = ^uint32(0)/size + 1


@dataclass(frozen=True)
class SizeClassSpec:
    """Generator parameters for one Go version."""

    name: str
    page_shift: int
    max_small_size: int
    small_size_div: int
    small_size_max: int
    large_size_div: int
    num_size_classes: int
    # First step between candidate sizes (minHeapAlign; a literal 8 in Go 1.8).
    min_heap_align: int
    # Smallest power-of-two size from which the candidate step becomes 16.
    align16_min_size: int
    # Which division magic the version's generator and runtime use.
    div_magic: str
    # Modern Go: pointerful objects above min_size_for_malloc_header carry an
    # inline header of malloc_header_size bytes.  Both 0 for Go 1.8.
    malloc_header_size: int
    min_size_for_malloc_header: int
    tiny_size: int
    # The layout of the comment block mksizeclasses writes: "go1.8" (five
    # columns, "waste bytes") or "modern" (tail/max waste, min align, alignments).
    comment_layout: str = "modern"

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift


GO18_SPEC = SizeClassSpec(
    name="go1.8",
    page_shift=13,
    max_small_size=32768,
    small_size_div=8,
    small_size_max=1024,
    large_size_div=128,
    num_size_classes=67,
    min_heap_align=8,
    align16_min_size=16,
    div_magic=DIVMAGIC_GO18,
    malloc_header_size=0,
    min_size_for_malloc_header=0,
    tiny_size=16,
    comment_layout="go1.8",
)

GO127_SPEC = SizeClassSpec(
    name="go1.27",
    page_shift=13,
    max_small_size=32768,
    small_size_div=8,
    small_size_max=1024,
    large_size_div=128,
    num_size_classes=68,
    min_heap_align=8,
    align16_min_size=32,
    div_magic=DIVMAGIC_MUL32,
    malloc_header_size=8,
    min_size_for_malloc_header=512,  # goarch.PtrSize * goarch.PtrBits on 64-bit
    tiny_size=16,
)

PROFILES: dict[str, SizeClassSpec] = {GO18_SPEC.name: GO18_SPEC, GO127_SPEC.name: GO127_SPEC}


@dataclass(frozen=True)
class DivMagic:
    """Go 1.8's per-class division constants (``divMagic`` in sizeclasses.go)."""

    shift: int
    shift2: int
    mul: int
    base_mask: int


@dataclass(frozen=True)
class SizeClasses:
    """The generated tables for one Go version, with the runtime's lookups."""

    spec: SizeClassSpec
    class_to_size: tuple[int, ...]
    class_to_allocnpages: tuple[int, ...]
    class_to_divmagic: tuple[DivMagic, ...] | tuple[int, ...]
    size_to_class8: tuple[int, ...]
    size_to_class128: tuple[int, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_to_size)

    def divmagic(self, c: int) -> DivMagic:
        """Go 1.8's division constants of class c (a table of DivMagic)."""
        m = self.class_to_divmagic[c]
        assert isinstance(m, DivMagic), "this profile's divMagic is a multiplier (divmul)"
        return m

    def divmul(self, c: int) -> int:
        """Modern Go's ``divMul`` of class c (a table of ints)."""
        m = self.class_to_divmagic[c]
        assert isinstance(m, int), "this profile's divMagic is Go 1.8's (divmagic)"
        return m

    # -- lookups -----------------------------------------------------------

    def _check_class(self, c: int) -> None:
        if not 0 < c < len(self.class_to_size):
            raise ValueError(f"size class {c} out of range 1..{len(self.class_to_size) - 1}")

    def _lookup(self, size: int) -> int:
        spec = self.spec
        if size <= spec.small_size_max - 8:
            return self.size_to_class8[(size + spec.small_size_div - 1) // spec.small_size_div]
        return self.size_to_class128[
            (size - spec.small_size_max + spec.large_size_div - 1) // spec.large_size_div
        ]

    def size_to_class(self, size: int) -> int:
        """Size class for a small request, via the two lookup tables (0 < size <= 32768)."""
        if not 0 < size <= self.spec.max_small_size:
            raise ValueError(f"size {size} is not a small size (1..{self.spec.max_small_size})")
        return self._lookup(size)

    def roundupsize(self, size: int, noscan: bool = True) -> int:
        """Bytes mallocgc hands out for a request of ``size`` bytes, as Go's roundupsize.

        Small requests round up to their class size; large ones to a page multiple
        (returning ``size`` unchanged if that would overflow a 64-bit uintptr).
        For modern Go, ``noscan=False`` models a pointerful object: above 512
        bytes its 8-byte malloc header is taken into account (and subtracted
        again from the result, as the runtime does).  Go 1.8 ignores ``noscan``.
        """
        if not 0 <= size <= _UINT64_MASK:
            raise ValueError(f"size {size} is not a valid uintptr")
        spec = self.spec
        page_size = spec.page_size
        if spec.malloc_header_size == 0:
            # Go 1.8.
            if size < spec.max_small_size:
                return self.class_to_size[self._lookup(size)]
            if size + page_size > _UINT64_MASK:
                return size
            return (size + page_size - 1) & ~(page_size - 1)
        if size <= spec.max_small_size - spec.malloc_header_size:
            req = size
            if not noscan and req > spec.min_size_for_malloc_header:
                req += spec.malloc_header_size
            return self.class_to_size[self._lookup(req)] - (req - size)
        req = size + page_size - 1
        if req > _UINT64_MASK:
            return size
        return req & ~(page_size - 1)

    def small_slot(self, size: int, noscan: bool = True) -> tuple[int, int] | None:
        """(size class, slot bytes) mallocgc gives a small request; None for a large one.

        The slot is what the object takes in its span: on modern Go a
        pointerful object above 512 bytes has its 8-byte malloc header in it
        (the class is chosen for size + 8), and every request above
        ``maxSmallSize - mallocHeaderSize`` is large. Go 1.8 has no header.
        """
        spec = self.spec
        if not 0 < size <= spec.max_small_size - spec.malloc_header_size:
            return None
        if not noscan and spec.malloc_header_size and size > spec.min_size_for_malloc_header:
            size += spec.malloc_header_size
        c = self._lookup(size)
        return c, self.class_to_size[c]

    # -- per-class figures -------------------------------------------------

    def span_bytes(self, c: int) -> int:
        """Bytes in one span of class ``c``."""
        self._check_class(c)
        return self.class_to_allocnpages[c] << self.spec.page_shift

    def nelems(self, c: int) -> int:
        """Objects per span of class ``c``."""
        return self.span_bytes(c) // self.class_to_size[c]

    def tail_waste(self, c: int) -> int:
        """Bytes at the end of a span of class ``c`` too small for another object."""
        span = self.span_bytes(c)
        return span - self.class_to_size[c] * (span // self.class_to_size[c])

    def max_waste(self, c: int) -> float:
        """Worst-case waste of class ``c`` in percent, as the modern comment block prints it.

        Every object holds the smallest request that maps to the class (one byte
        more than the previous class's size), and the tail is wasted too.
        """
        span = self.span_bytes(c)
        size = self.class_to_size[c]
        prev_size = self.class_to_size[c - 1]
        objects = span // size
        waste = (size - prev_size - 1) * objects + self.tail_waste(c)
        return 100 * (waste / span)

    def min_align(self, c: int) -> int:
        """Alignment every object of class ``c`` is guaranteed (capped at a page)."""
        self._check_class(c)
        return 1 << _align_bits(self.class_to_size[c], self.spec.page_shift)

    def alignment_table(self) -> tuple[tuple[int, int, int], ...]:
        """Rows ``(alignment, bits, min obj size)`` of the modern comment block.

        For each alignment, the smallest size such that it and every larger
        class are at least that aligned; alignments sharing a size with the
        next one are folded into it.
        """
        page_shift = self.spec.page_shift
        min_aligns = [0] * (page_shift + 1)
        for size in self.class_to_size[1:]:
            bits = _align_bits(size, page_shift)
            for i in range(len(min_aligns)):
                if i > bits:
                    min_aligns[i] = 0
                elif min_aligns[i] == 0:
                    min_aligns[i] = size
        rows: list[tuple[int, int, int]] = []
        for bits, size in enumerate(min_aligns):
            if size == 0:
                break
            if bits + 1 < len(min_aligns) and size == min_aligns[bits + 1]:
                continue
            rows.append((1 << bits, bits, size))
        return tuple(rows)

    def obj_index(self, c: int, offset: int) -> int:
        """Index of the object containing byte ``offset`` of a class-``c`` span.

        Computed with the version's division magic exactly as the runtime's
        ``mspan.objIndex`` does.  Valid offsets are those the version's
        generator verified: ``0 <= offset < span`` for Go 1.8,
        ``0 <= offset <= span`` for modern Go.
        """
        span = self.span_bytes(c)
        magic = self.class_to_divmagic[c]
        if isinstance(magic, DivMagic):
            if not 0 <= offset < span:
                raise ValueError(f"offset {offset} outside span of {span} bytes")
            if offset == 0:
                return 0
            if magic.base_mask != 0:
                return offset >> magic.shift
            return (((offset >> magic.shift) * magic.mul) & _UINT64_MASK) >> magic.shift2
        if not 0 <= offset <= span:
            raise ValueError(f"offset {offset} outside span of {span} bytes")
        return ((offset * magic) & _UINT64_MASK) >> 32


# -- the generator ---------------------------------------------------------


def _power_of_two(x: int) -> bool:
    return x != 0 and x & (x - 1) == 0


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


def _align_bits(size: int, page_shift: int) -> int:
    return min(_trailing_zeros(size), page_shift)


def _make_classes(spec: SizeClassSpec) -> tuple[list[int], list[int]]:
    """Steps 1-4: class sizes and page counts, class 0 included."""
    page_size = spec.page_size
    sizes = [0]
    npages_list = [0]
    align = spec.min_heap_align
    size = align
    while size <= spec.max_small_size:
        if _power_of_two(size):
            if size >= 2048:
                align = 256
            elif size >= 128:
                align = size // 8
            elif size >= spec.align16_min_size:
                align = 16
        if not _power_of_two(align):
            raise AssertionError(f"incorrect alignment {align}")

        alloc_size = page_size
        while alloc_size % size > alloc_size // 8:
            alloc_size += page_size
        npages = alloc_size // page_size

        if (
            len(sizes) > 1
            and npages == npages_list[-1]
            and alloc_size // size == alloc_size // sizes[-1]
        ):
            sizes[-1] = size
        else:
            sizes.append(size)
            npages_list.append(npages)
        size += align

    for i in range(1, len(sizes)):
        span = npages_list[i] * page_size
        new_size = (span // (span // sizes[i])) & ~(spec.large_size_div - 1)
        if new_size > sizes[i]:
            sizes[i] = new_size

    if len(sizes) != spec.num_size_classes:
        raise ValueError(
            f"{spec.name}: number of size classes has changed "
            f"({len(sizes)}, expected {spec.num_size_classes})"
        )
    return sizes, npages_list


def _magic_exact(d: int, max_n: int, mul: int, shift: int) -> bool:
    """Whether ``(n * mul) >> shift == n // d`` for every ``0 <= n <= max_n``.

    Requires ``mul >= 2**shift / d``: the estimate is then never below the
    true quotient and is non-decreasing in ``n``, so checking the largest
    ``n`` of each quotient suffices.
    """
    for q in range(max_n // d + 1):
        n = min(q * d + d - 1, max_n)
        if (n * mul) >> shift != q:
            return False
    return True


def _divmagic_go18(size: int, npages: int, page_size: int) -> DivMagic:
    """Go 1.8's computeDivMagic."""
    if size == 0:
        return DivMagic(0, 0, 0, 0)
    d = size
    max_n = npages * page_size - 1
    base_mask = 0
    if _power_of_two(d):
        if max_n >= 1 << 16:
            raise ValueError(f"size {size}: max too big for power of two size")
        base_mask = (1 << 16) - d
    shift = 0
    while d % 2 == 0:
        shift += 1
        d >>= 1
        max_n >>= 1
    k = 0
    while True:
        mul = ((1 << k) + d - 1) // d
        if _magic_exact(d, max_n, mul, k):
            break
        k += 1
    if mul >= 1 << 16:
        raise ValueError(f"size {size}: mul too big")
    if mul * max_n >= 1 << 32:
        raise ValueError(f"size {size}: mul*max too big")
    return DivMagic(shift=shift, shift2=k, mul=mul, base_mask=base_mask)


def _divmul_mul32(size: int, npages: int, page_size: int) -> int:
    """Modern computeDivMagic: check 32 fractional bits suffice, return divMul."""
    if size == 0:
        return 0
    max_n = npages * page_size
    n_bits = max_n.bit_length()
    if _power_of_two(size):
        f = size.bit_length() - 1
    else:
        ell = 0
        while size > ((1 << (n_bits + ell)) % size) + (1 << ell):
            ell += 1
        f = n_bits + ell
    if f > 32:
        raise ValueError(f"size {size}: size class requires more than 32 bits of precision")
    div_mul = (_UINT32_MAX // size + 1) & _UINT32_MAX
    if not _magic_exact(size, max_n, div_mul, 32):
        raise ValueError(f"size {size}: bad 32-bit multiply magic")
    return div_mul


def _smallest_class(sizes: list[int], size: int) -> int:
    for j, s in enumerate(sizes):
        if s >= size:
            return j
    raise ValueError(f"no size class holds {size} bytes")


def generate(spec: SizeClassSpec) -> SizeClasses:
    """Run the mksizeclasses algorithm of ``spec``'s Go version."""
    sizes, npages = _make_classes(spec)
    page_size = spec.page_size
    pairs = list(zip(sizes, npages, strict=True))
    divmagic: tuple[DivMagic, ...] | tuple[int, ...]
    if spec.div_magic == DIVMAGIC_GO18:
        divmagic = tuple(_divmagic_go18(s, n, page_size) for s, n in pairs)
    elif spec.div_magic == DIVMAGIC_MUL32:
        divmagic = tuple(_divmul_mul32(s, n, page_size) for s, n in pairs)
    else:
        raise ValueError(f"unknown division magic variant {spec.div_magic!r}")
    class8 = tuple(
        _smallest_class(sizes, i * spec.small_size_div)
        for i in range(spec.small_size_max // spec.small_size_div + 1)
    )
    class128 = tuple(
        _smallest_class(sizes, spec.small_size_max + i * spec.large_size_div)
        for i in range((spec.max_small_size - spec.small_size_max) // spec.large_size_div + 1)
    )
    return SizeClasses(
        spec=spec,
        class_to_size=tuple(sizes),
        class_to_allocnpages=tuple(npages),
        class_to_divmagic=divmagic,
        size_to_class8=class8,
        size_to_class128=class128,
    )


@functools.lru_cache(maxsize=8)
def for_profile(name: str) -> SizeClasses:
    """The (cached) size-class tables of a named profile."""
    spec = PROFILES.get(name)
    if spec is None:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r} (known: {known})")
    return generate(spec)


def format_go_table(table: SizeClasses) -> str:
    """The comment block at the top of the version's sizeclasses.go, without ``// ``.

    Go 1.8 prints five columns (class, bytes/obj, bytes/span, objects, waste
    bytes). Modern Go prints class rows (class, bytes/obj, bytes/span,
    objects, tail waste, max waste, min align), a blank line, then the
    alignment table.  Blank separator lines
    are empty strings; the text ends with a newline.
    """
    if table.spec.comment_layout == "go1.8":
        rows = [
            f"{'class':<5}  {'bytes/obj':<9}  {'bytes/span':<10}  {'objects':<7}  "
            f"{'waste bytes':<11}"
        ]
        for c in range(1, table.num_classes):
            rows.append(
                f"{c:5d}  {table.class_to_size[c]:9d}  {table.span_bytes(c):10d}  "
                f"{table.nelems(c):7d}  {table.tail_waste(c):11d}"
            )
        return "\n".join(rows) + "\n"
    lines = [
        f"{'class':<5}  {'bytes/obj':<9}  {'bytes/span':<10}  {'objects':<7}  "
        f"{'tail waste':<10}  {'max waste':<9}  {'min align':<9}"
    ]
    for c in range(1, table.num_classes):
        lines.append(
            f"{c:5d}  {table.class_to_size[c]:9d}  {table.span_bytes(c):10d}  "
            f"{table.nelems(c):7d}  {table.tail_waste(c):10d}  "
            f"{table.max_waste(c):8.2f}%  {table.min_align(c):9d}"
        )
    lines.append("")
    lines.append(f"{'alignment':<9}  {'bits':<4}  {'min obj size':<12}")
    for align, bits, size in table.alignment_table():
        lines.append(f"{align:9d}  {bits:4d}  {size:12d}")
    return "\n".join(lines) + "\n"


def to_json_dict(table: SizeClasses) -> dict[str, object]:
    """The tables in the layout of the project's ``*_sizeclasses.json`` data files."""
    return {
        "profile": table.spec.name,
        "class_to_size": list(table.class_to_size),
        "class_to_allocnpages": list(table.class_to_allocnpages),
        "size_to_class8": list(table.size_to_class8),
        "size_to_class128": list(table.size_to_class128),
    }
