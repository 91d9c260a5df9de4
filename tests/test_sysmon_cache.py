"""Sysmon.preempt_at's cache of its last two answers is invisible: the same answers as
computing afresh, through rephases."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from goheap.runtime.common.sysmon import Sysmon


def _fresh(s: Sysmon, scheduled: int) -> int:
    t = Sysmon(s.origin)
    t.ramped = s.ramped
    return t.preempt_at(scheduled)


@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.one_of(  # a few repeated times, so that questions come back
                st.sampled_from([0, 1_000_000, 10_000_000, 25_000_000, 60_000_000]),
                st.integers(min_value=0, max_value=400_000_000),
            ),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_cached_answers_equal_fresh_ones(steps: list[tuple[bool, int]]) -> None:
    s = Sysmon(0)
    for rephase, t in steps:
        if rephase:
            s.rephase(t)
        else:
            assert s.preempt_at(t) == _fresh(s, t)
            assert s.preempt_at(t) == _fresh(s, t)  # now from the cache
