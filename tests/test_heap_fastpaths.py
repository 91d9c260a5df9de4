"""The workloads' unchecked paths (Heap._new, Heap._init_pointer, Goroutine._hold) do what
the public, checked ones do with the same well-typed program: the same addresses, the same
words, the same roots and statistics -- and _new still refuses what new refuses."""

from __future__ import annotations

import pytest

from goheap import Heap, Type
from goheap.errors import GoheapError

NODE = Type("main.Node", size=16, pointers=[0, 8])
STACK = ("main.f", "main.main")


def _tree(h: Heap, depth: int, fast: bool) -> int:
    if depth == 0:
        return h._new(NODE, STACK) if fast else h.new(NODE, stack=STACK)
    left = _tree(h, depth - 1, fast)
    if fast:
        h.main._hold(left)
    else:
        h.main.push(left)
    right = _tree(h, depth - 1, fast)
    node = h._new(NODE, STACK) if fast else h.new(NODE, stack=STACK)
    if fast:
        h._init_pointer(node, 0, left)
        h._init_pointer(node, 8, right)
    else:
        h.write_pointer(node, 0, left)
        h.write_pointer(node, 8, right)
    h.main.pop()
    return node


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_fast_paths_build_the_same_heap(profile: str) -> None:
    got = []
    for fast in (False, True):
        with Heap(profile=profile, gogc=10) as h:
            roots = []
            for i in range(60):  # 1 MiB, all but the last four trees garbage
                r = _tree(h, 9, fast)
                if i >= 56:
                    h.main.push(r)
                    roots.append(r)
            words = [h.read_word(r, off) for r in roots for off in (0, 8)]
            ms = h.read_memstats()
            got.append((roots, words, h.main.stack, ms.Mallocs, ms.HeapAlloc, ms.NumGC))
            h.check()
    assert got[0] == got[1]
    assert got[0][5] > 0  # collections ran while the trees were built


def test_new_fast_path_refuses_what_new_refuses() -> None:
    huge = Type("main.Huge", size=1 << 40)
    h = Heap(profile="go1.8")
    with pytest.raises(GoheapError, match="out of memory"):
        h._new(huge, STACK)
    h.close()
    with pytest.raises(GoheapError, match="closed"):
        h._new(NODE, STACK)
