"""runtime/common/gotype.py: Go types as the allocator sees them."""

from __future__ import annotations

import pytest

from goheap import Type
from goheap.errors import GoheapError
from goheap.runtime.common.gotype import MAX_TYPE_SIZE


def test_masks_and_ptrdata() -> None:
    t = Type("T", size=40, pointers=[24, 0, 8, 8])
    assert t.offsets == (0, 8, 24) and t.ptrdata == 32
    assert t.gcmask == 0b1011  # words 0, 1 and 3, as Go's gcdata bits
    assert Type("S", size=24).noscan and Type("S", size=24).gcmask == 0


def test_a_huge_type_costs_what_its_pointers_cost() -> None:
    """A 1 TiB type is built from its offsets (a mask of it was a MemoryError)."""
    big = Type("[1<<37]*T", size=1 << 40, pointers=[0, (1 << 40) - 8])
    assert big.ptrdata == 1 << 40 and big.offsets[-1] == (1 << 40) - 8
    many = Type("[1<<20]*T", size=8 << 20, pointers=range(0, 8 << 20, 8))
    assert many.gcmask == (1 << (1 << 20)) - 1


def test_beyond_the_address_space_is_refused() -> None:
    Type("edge", size=MAX_TYPE_SIZE)
    with pytest.raises(GoheapError, match=r"type T: size 281474976710664 is larger than the addr"):
        Type("T", size=MAX_TYPE_SIZE + 8)
