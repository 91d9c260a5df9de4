"""Heap.check: a pointer the program can reach must lead into an allocated object."""

from __future__ import annotations

import pytest

from goheap import Heap, Type
from goheap.errors import HeapCheckError

NODE = Type("Node", size=16, pointers=[0, 8])


def _store_raw(h: Heap, addr: int, value: int) -> None:
    """A store the API would refuse or the collector would never see: memory, directly."""
    h.mheap.mem.words[(addr - h.mheap.arena_start) >> 3] = value


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_a_dangling_pointer_in_a_reachable_object_fails_check(profile: str) -> None:
    with Heap(profile=profile) as h:
        a = h.new(NODE)
        h.set_global("a", a)
        gone = h.new(NODE)  # unreachable: the next GC frees it
        h.gc()
        h.gc()
        assert h.find_object(gone) is None
        h.check()
        _store_raw(h, a + 8, gone)
        with pytest.raises(HeapCheckError, match=r"the object at 0x[0-9a-f]+ \(reachable"):
            h.check()


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_a_chain_of_live_pointers_passes(profile: str) -> None:
    with Heap(profile=profile) as h:
        prev = 0
        for _ in range(200):
            x = h.new(NODE)
            h.write_pointer(x, 0, prev)
            h.set_global("head", x)
            prev = x
        h.gc()
        h.check()


def test_a_dangling_root_fails_check() -> None:
    with Heap(profile="go1.8") as h:
        x = h.new(NODE)
        h.set_global("x", x)
        h.drop_global("x")
        h.gc()
        h.gc()
        h.globals["x"] = x  # behind the API's back: set_global refuses it
        with pytest.raises(HeapCheckError, match=r"a root holds 0x[0-9a-f]+, which points into no"):
            h.check()


def test_lifetime_mode_does_not_trace_pointers() -> None:
    """A lifetime program declares deaths; a stale pointer it keeps is its own business."""
    with Heap(profile="go1.8", liveness="lifetime") as h:
        a = h.new(NODE)
        b = h.new(NODE)
        h.write_pointer(a, 0, b)
        h.dead(b)
        h.gc()
        h.gc()
        h.check()
