"""Go heap profiles (pprof): the data model, reading and writing.

:mod:`goheap.pprof.model` is what a heap profile says (:class:`HeapProfile`,
:class:`HeapSample`, :class:`Frame`); :func:`read_heap_profile` reads one from
``profile.proto`` (gzipped or not) or Go's legacy ``debug=1`` text, and
:func:`write_heap_profile` writes one as the gzipped ``profile.proto`` that
``go tool pprof`` reads. ``profile_pb2`` is generated from pprof's schema.
"""

from __future__ import annotations

from goheap.pprof.model import HEAP_SAMPLE_TYPES, Frame, HeapProfile, HeapSample
from goheap.pprof.reader import ProfileError, parse_heap_profile, read_heap_profile
from goheap.pprof.writer import heap_profile_proto, write_heap_profile

__all__ = [
    "HEAP_SAMPLE_TYPES",
    "Frame",
    "HeapProfile",
    "HeapSample",
    "ProfileError",
    "heap_profile_proto",
    "parse_heap_profile",
    "read_heap_profile",
    "write_heap_profile",
]
