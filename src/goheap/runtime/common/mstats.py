"""The statistics types every version shares (mstats.go).

``SysStat`` is one ``*_sys`` counter (Go passes them by pointer); OS
mappings anywhere in the runtime are charged to one. ``MemStats`` is what
``runtime.ReadMemStats`` returns: its fields have not changed since Go 1.8,
so both versions fill the same record, each as its own ``mstats.go`` does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


class SysStat:
    """One ``*_sys`` counter (Go passes these as ``*uint64``)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value = 0

    def inc(self, n: int) -> None:
        self.value += n

    def dec(self, n: int) -> None:
        if n > self.value:
            raise AssertionError(f"runtime: stat underflow: {self.name} {self.value} - {n}")
        self.value -= n

    def __repr__(self) -> str:
        return f"{self.name}={self.value}"


@dataclass
class BySizeEntry:
    Size: int
    Mallocs: int
    Frees: int


@dataclass
class MemStats:
    """runtime.MemStats, as Go 1.8 defined it and later versions kept it (Go's field names)."""

    Alloc: int = 0
    TotalAlloc: int = 0
    Sys: int = 0
    Lookups: int = 0
    Mallocs: int = 0
    Frees: int = 0
    HeapAlloc: int = 0
    HeapSys: int = 0
    HeapIdle: int = 0
    HeapInuse: int = 0
    HeapReleased: int = 0
    HeapObjects: int = 0
    StackInuse: int = 0
    StackSys: int = 0
    MSpanInuse: int = 0
    MSpanSys: int = 0
    MCacheInuse: int = 0
    MCacheSys: int = 0
    BuckHashSys: int = 0
    GCSys: int = 0
    OtherSys: int = 0
    NextGC: int = 0
    LastGC: int = 0
    PauseTotalNs: int = 0
    PauseNs: list[int] = field(default_factory=lambda: [0] * 256)
    PauseEnd: list[int] = field(default_factory=lambda: [0] * 256)
    NumGC: int = 0
    NumForcedGC: int = 0
    GCCPUFraction: float = 0.0
    EnableGC: bool = True
    DebugGC: bool = False
    BySize: list[BySizeEntry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RunningStats(Protocol):
    """The running counters every version's ``memstats`` (``MStats``) keeps."""

    heap_alloc_now: int  # bytes of allocated slots now (HeapAlloc without a walk)
    peak_heap_alloc: int
    peak_heap_inuse: int
    peak_heap_sys: int
    numgc: int
