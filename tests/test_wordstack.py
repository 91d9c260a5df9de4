"""WordStack (runtime/common/wordstack): a stack of uint64 words, as a list of them would be.

Checked against a list doing the same, in whichever build the suite runs:
growth past the first buffer, words of every width (the kernel's fast path
below 2^62, its slow path above), and a goroutine's slots on top of it.
"""

from __future__ import annotations

import pytest

from goheap import Heap, Type
from goheap.errors import GoheapError
from goheap.runtime.common.wordstack import WordStack

WORDS = [0, 1, 0xC420000000, (1 << 62) - 1, 1 << 62, 1 << 63, (1 << 64) - 1]


def test_push_pop_grow_like_a_list() -> None:
    st = WordStack(capacity=2)
    ref: list[int] = []
    for i in range(300):
        v = WORDS[i % len(WORDS)] ^ i
        st.push(v)
        ref.append(v)
        if i % 7 == 6:
            assert st.pop() == ref.pop()
        if i % 50 == 49:
            st.drop(3)
            del ref[-3:]
    assert st.n == len(ref) and st.tolist() == ref
    st.set(5, 1 << 63)
    ref[5] = 1 << 63
    assert [st.get(i) for i in range(st.n)] == ref
    while ref:
        assert st.pop() == ref.pop()
    assert st.n == 0 and st.tolist() == []


def test_a_word_must_fit() -> None:
    st = WordStack()
    for bad in (-1, 1 << 64):
        with pytest.raises((ValueError, OverflowError)):
            st.push(bad)


def test_goroutine_slots_grow_past_the_first_buffer() -> None:
    """200 slots held, read, overwritten and popped through the goroutine's own methods."""
    node = Type("main.Node", size=16, pointers=[0, 8])
    with Heap(profile="go1.8") as h:
        g = h.main
        objs = [h.new(node) for _ in range(200)]
        for i, x in enumerate(objs):
            assert g.push(x) == i
        assert g.stack == objs and g.get(150) == objs[150]
        g.set(150, 0)
        assert g.stack == [*objs[:150], 0, *objs[151:]]
        assert g.pop(50) == 0  # the last slot dropped: slot 150
        assert g.stack == objs[:150]
        assert g.pop(100) == objs[50] and g.stack == objs[:50]
        with pytest.raises(GoheapError):
            g.pop(len(g.stack) + 1)
