"""Closing a heap while something still views its memory (a profiler's frame, say)."""

from __future__ import annotations

import numpy as np
import pytest

from goheap import Heap
from goheap.errors import GoheapError


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_close_with_a_view_still_alive_is_not_an_error(profile: str) -> None:
    """Dask's sampling profiler can hold a frame whose numpy array views the arena."""
    h = Heap(profile=profile)
    x = h.malloc(64)
    kept = np.frombuffer(h.runtime.mheap.mem.bytes, dtype=np.uint64, count=8)
    h.close()  # the mapping stays until `kept` goes; closing does not fail
    assert kept.shape == (8,)
    with pytest.raises(GoheapError):
        h.read_word(x, 0)  # closed all the same
    del kept
