"""Writing a :class:`~goheap.pprof.model.HeapProfile` as ``profile.proto``.

The layout is runtime/pprof's ``writeHeapProto`` (protomem.go):

* ``period_type`` ``space/bytes`` and ``period`` = ``MemProfileRate``;
* the four sample types in Go's order: ``alloc_objects/count``,
  ``alloc_space/bytes``, ``inuse_objects/count``, ``inuse_space/bytes``;
* per sample its four values as they are (a HeapProfile's values are
  already scaled for sampling) and, when the size is known, the numeric label
  ``bytes`` (no unit, as Go writes it);
* Functions with ``name`` = ``system_name`` and ``filename``; one Location per
  distinct frame, ids from 1 in order of first use, address 0 (a model has
  no PCs) -- except a frame named ``0x<hex>`` (lower case, no leading
  zeros) with no file and line, which was an
  unsymbolized Location and is written back as one, with that address and no
  Line;
* the string table starting with ``""``, strings in order of first use.

Frames do not say which of them were inlined into which, so every frame is
its own Location; reading the profile back gives the same frames. No Mapping
is written: every Location that has a Line is already symbolized, and
``go tool pprof`` reads such a profile without a binary.
"""

from __future__ import annotations

import gzip
import os
import re

from goheap.outputs import write_bytes
from goheap.pprof import profile_pb2
from goheap.pprof.model import HEAP_SAMPLE_TYPES, Frame, HeapProfile
from goheap.pprof.reader import ProfileError

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# How the reader names an unsymbolized Location: "0x%x" of its address.
_ADDRESS_RE = re.compile(r"0x(?:0|[1-9a-f][0-9a-f]{0,15})", re.ASCII)


class _Strings:
    """The string table: "" at index 0, each string once, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {"": 0}

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.index)
        return i


def heap_profile_proto(profile: HeapProfile) -> bytes:
    """The profile as a serialized (uncompressed) ``profile.proto`` message."""
    try:
        return _build(profile).SerializeToString()
    except ProfileError:
        raise
    except (TypeError, ValueError) as e:  # a str that is not UTF-8, a line that is not an int
        where = profile.source or "<profile>"
        raise ProfileError(f"{where}: cannot write a heap profile: {e}") from None


def _build(profile: HeapProfile) -> profile_pb2.Profile:
    where = profile.source or "<profile>"

    def fail(what: str) -> ProfileError:
        return ProfileError(f"{where}: cannot write a heap profile: {what}")

    for name in ("period", "time_nanos", "duration_nanos"):
        v = getattr(profile, name)
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise fail(f"{name} {v} is out of the int64 range")
    if profile.period < 0:
        raise fail(f"period {profile.period} is negative")

    st = _Strings()
    p = profile_pb2.Profile()
    if profile.period_type != ("", ""):
        p.period_type.type = st(profile.period_type[0])
        p.period_type.unit = st(profile.period_type[1])
    p.period = profile.period
    for t, u in HEAP_SAMPLE_TYPES:
        p.sample_type.add(type=st(t), unit=st(u))
    bytes_key = st("bytes")

    funcs: dict[tuple[str, str], int] = {}
    locs: dict[Frame, int] = {}
    add_sample = p.sample.add
    Label = profile_pb2.Label
    for k, smp in enumerate(profile.samples):
        values = [smp.alloc_objects, smp.alloc_space, smp.inuse_objects, smp.inuse_space]
        if min(values) < 0 or max(values) > _INT64_MAX:
            bad = next(v for v in values if not 0 <= v <= _INT64_MAX)
            name = HEAP_SAMPLE_TYPES[values.index(bad)][0]
            raise fail(f"sample {k}: {name} {bad} is negative or beyond int64")
        ids = []
        for frame in smp.stack:
            lid = locs.get(frame)
            if lid is None:
                lid = locs[frame] = len(locs) + 1
                loc = p.location.add(id=lid)
                if _ADDRESS_RE.fullmatch(frame.function) and not frame.file and not frame.line:
                    loc.address = int(frame.function, 16)
                else:
                    fkey = (frame.function, frame.file)
                    fid = funcs.get(fkey)
                    if fid is None:
                        fid = funcs[fkey] = len(funcs) + 1
                        name_index = st(frame.function)
                        p.function.add(
                            id=fid,
                            name=name_index,
                            system_name=name_index,
                            filename=st(frame.file),
                        )
                    if not _INT64_MIN <= frame.line <= _INT64_MAX:
                        raise fail(f"sample {k}: frame {frame}: line out of the int64 range")
                    loc.line.add(function_id=fid, line=frame.line)
            ids.append(lid)
        if smp.size is None:
            add_sample(location_id=ids, value=values)
        else:
            if not 0 <= smp.size <= _INT64_MAX:
                raise fail(f"sample {k}: size {smp.size} is negative or beyond int64")
            add_sample(location_id=ids, value=values, label=[Label(key=bytes_key, num=smp.size)])
    p.time_nanos = profile.time_nanos
    p.duration_nanos = profile.duration_nanos
    p.comment.extend(st(c) for c in profile.comments)
    p.string_table.extend(st.index)
    return p


def write_heap_profile(profile: HeapProfile, path: str | os.PathLike[str]) -> None:
    """Write the profile gzipped, as Go does (gzip.BestSpeed, no file name, mtime 0).

    A failure to write is one GoheapError and leaves no partial file.
    """
    data = gzip.compress(heap_profile_proto(profile), compresslevel=1, mtime=0)
    write_bytes(path, data)  # whole or not at all
