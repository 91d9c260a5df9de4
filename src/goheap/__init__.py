"""goheap: the Go runtime's memory allocator and GC'd heap, as a faithful model."""

from goheap import _native

# Compiled (mypyc) or pure Python: decided before any compiled module can be imported.
_native.select()

from goheap.errors import GoheapError  # noqa: E402

try:
    from goheap.heap import Heap, ObjectRef
except ImportError as e:
    if not _native.selected_compiled():
        raise
    _native.fall_back(e)
    from goheap.heap import Heap, ObjectRef
from goheap.profiles import PROFILES, get_profile  # noqa: E402
from goheap.runtime.common.gotype import BYTE, POINTER, Type  # noqa: E402
from goheap.runtime.common.mstats import BySizeEntry, MemStats  # noqa: E402

__version__ = "0.1.0"


def build_status() -> _native.BuildStatus:
    """Which build of the runtime is running: compiled with mypyc, or pure Python and why."""
    return _native.status()


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
    "build_status",
    "get_profile",
]
