"""What every version's heap checker checks of ``MemStats`` itself (no version's structures)."""

from __future__ import annotations

from goheap.errors import HeapCheckError
from goheap.runtime.common.mstats import MemStats


def _fail(msg: str) -> None:
    raise HeapCheckError(msg)


def check_memstats(ms: MemStats) -> None:
    """What MemStats itself promises, whatever the version: Sys is the sum of
    the *Sys fields, HeapObjects = Mallocs - Frees, HeapAlloc <= HeapInuse."""
    parts = (
        ms.HeapSys
        + ms.StackSys
        + ms.MSpanSys
        + ms.MCacheSys
        + ms.BuckHashSys
        + ms.GCSys
        + ms.OtherSys
    )
    if ms.Sys != parts:
        _fail(f"Sys {ms.Sys} != sum of the *Sys fields {parts}")
    if ms.HeapAlloc > ms.HeapInuse:
        _fail(f"HeapAlloc {ms.HeapAlloc} > HeapInuse {ms.HeapInuse}")
    if ms.HeapObjects != ms.Mallocs - ms.Frees:
        _fail("HeapObjects != Mallocs - Frees")
