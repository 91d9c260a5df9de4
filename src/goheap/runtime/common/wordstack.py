"""A stack of uint64 words in native memory: a goroutine's stack slots, a mark queue.

Go keeps these in plain memory: a goroutine's frames on its stack, the
collector's grey objects in ``workbuf``s (``obj [n]uintptr`` and ``nobj``).
A Python list of addresses would box each one into a new Python int in
the compiled build (and free it again when popped); here the words are a
buffer of the stack's own (a bytearray seen as a ``Q`` memoryview, twice as
large when full), read and written through the native kernel, and ``n``
of them are in use.
"""

from __future__ import annotations

from goheap.runtime.common.wordmem import load64, store64


class WordStack:
    """Words pushed and popped at the top; ``n`` of them, bottom first."""

    __slots__ = ("_cap", "_words", "n")

    def __init__(self, capacity: int = 64) -> None:
        self._cap = max(capacity, 1)  # len(_words), kept: len() is a generic call when compiled
        self._words: memoryview = memoryview(bytearray(8 * self._cap)).cast("Q")
        self.n = 0

    def push(self, v: int) -> None:
        """Put v (0 <= v < 2^64) on top."""
        if self.n == self._cap:
            self._grow()
        store64(self._words, self.n, v)
        self.n += 1

    def pop(self) -> int:
        """Take the top word off and return it (the stack is not empty)."""
        self.n -= 1
        v: int = load64(self._words, self.n)
        return v

    def drop(self, k: int) -> None:
        """Take the top k words off (0 <= k <= n)."""
        self.n -= k

    def get(self, i: int) -> int:
        """Word i from the bottom (0 <= i < n)."""
        v: int = load64(self._words, i)
        return v

    def set(self, i: int, v: int) -> None:
        """Word i from the bottom is now v (0 <= i < n)."""
        store64(self._words, i, v)

    def tolist(self) -> list[int]:
        """The words in use, bottom first."""
        words: list[int] = self._words[: self.n].tolist()
        return words

    def _grow(self) -> None:
        """Twice the room, the words kept."""
        n = self._cap
        words = memoryview(bytearray(16 * n)).cast("Q")
        words[:n] = self._words
        self._words = words
        self._cap = 2 * n
