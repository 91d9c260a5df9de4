"""What the recorder's and the replayer's address-to-id maps share: when an address is stale.

Both keep one entry per live object and purge entries whose address is no
longer where an object starts (the object was freed, or its memory now
belongs to another). An object starts at its slot, at the slot plus a malloc
header (modern Go gives pointerful objects over 512 B their address after an
8-byte header), or anywhere in a 16-byte tiny block, which holds several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from goheap.heap import Heap

TINY_BLOCK = 16


def stale(heap: Heap, pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (id, address) pairs whose address no longer starts an allocated object."""
    find = heap.find_object
    header = heap.profile.sizeclasses.spec.malloc_header_size
    gone = []
    for oid, a in pairs:
        ref = find(a)
        if ref is None or (a != ref.base and ref.size != TINY_BLOCK and a != ref.base + header):
            gone.append((oid, a))
    return gone


def prune_tiny_interior(
    tiny_interior: dict[int, list[tuple[int, int]]], current: Callable[[int, int], bool]
) -> None:
    """Keep only the (address, id) entries of each tiny block that are still current."""
    for base in list(tiny_interior):
        kept = [(a, i) for a, i in tiny_interior[base] if current(a, i)]
        if kept:
            tiny_interior[base] = kept
        else:
            del tiny_interior[base]
