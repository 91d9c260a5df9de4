"""goheap: the Go runtime's memory allocator and GC'd heap, as a faithful model."""

from goheap.errors import GoheapError
from goheap.heap import Heap, ObjectRef
from goheap.profiles import PROFILES, get_profile
from goheap.runtime.gotype import BYTE, POINTER, Type
from goheap.runtime.mstats import BySizeEntry, MemStats

__version__ = "0.1.0"

__all__ = [
    "BYTE",
    "POINTER",
    "PROFILES",
    "BySizeEntry",
    "GoheapError",
    "Heap",
    "MemStats",
    "ObjectRef",
    "Type",
    "get_profile",
]
