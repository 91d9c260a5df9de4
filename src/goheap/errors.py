"""The one exception type a user of goheap sees.

Every mistake a user can make (a bad size, an unknown profile, a pointer
into nothing) raises :class:`GoheapError` with a one-line message that says
what is wrong and where. The CLI prints that line and exits with status 2;
anything else escaping is a bug in goheap, not in the user's input.
"""

from __future__ import annotations


class GoheapError(ValueError):
    """A user-facing error: bad input, impossible parameter, misuse of the API."""


class RuntimeThrow(RuntimeError):
    """The model hit a state the Go runtime would `throw` on.

    This is an internal invariant failure (a bug in goheap or a corrupted
    heap), never a user mistake. The message names the Go function and
    condition, as Go's throw text does.
    """


class HeapCheckError(AssertionError):
    """A heap invariant does not hold (``Heap.check()``): a bug in goheap, not in its input."""
