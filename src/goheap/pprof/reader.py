"""Reading Go heap profiles into a :class:`~goheap.pprof.model.HeapProfile`.

Three encodings, told apart by their first bytes:

``proto.gz``
    ``profile.proto`` compressed with gzip (``1f 8b``): what
    ``pprof.WriteHeapProfile`` and ``/debug/pprof/heap`` give. Several gzip
    members one after another are read as one stream, as Go's gzip reader
    does; anything else after the last member is an error.
``proto``
    the same message, uncompressed.
``legacy``
    the text form ``runtime/pprof`` writes with ``debug=1`` (gzipped or not)::

        heap profile: 1000: 16000 [1500: 72000] @ heap/1048576
        1000: 16000 [1000: 16000] @ 0x4e6ec5 0x4e73b9 0x44ace7 0x483d01
        #	0x4e6ec4	main.allocSmall+0x44	main.go:28
        ...

    The header's rate is ``2 * MemProfileRate`` (``heap/RATE2``). The counts
    in this form are *not* scaled for sampling; they are scaled here the way
    pprof's legacy parser does (``scaleHeapSample`` of profile/legacy_profile.go,
    with ``period = RATE2 / 2``), so that a :class:`HeapProfile`'s values mean
    the same ("scaled", as Go's proto writer gives them) whatever the file.
    pprof's other legacy heap headers are read as pprof reads them:
    ``heap_v2/R`` and ``heapz_v2/R`` (rate R, scaled), ``heapprofile``
    (period 1, unscaled). The ``# runtime.MemStats`` block is skipped.

From ``profile.proto``: the sample types must include Go's four heap types
(``alloc_objects/count``, ``alloc_space/bytes``, ``inuse_objects/count``,
``inuse_space/bytes``), in any order, other types being ignored. A profile
with only the in-use pair (``inuse_objects``/``inuse_space``, or pprof's
two-column ``objects``/``space``) is read with the alloc values 0, and a
comment starting with ``goheap:`` says so. The numeric label ``bytes`` is
:attr:`HeapSample.size`. Stacks are leaf first; a Location with several
Lines (inlined calls) gives several frames, the inlined callee first; a
Location without Lines gives ``Frame("0x<address>")``.

Every fault in the input, whatever the bytes, is one :class:`ProfileError`
whose one-line message names the source and what is wrong.
"""

from __future__ import annotations

import os
import re
import zlib
from itertools import chain
from typing import NoReturn

from goheap.errors import GoheapError
from goheap.pprof import profile_pb2
from goheap.pprof.model import INT64_MAX, Frame, HeapProfile, HeapSample, scale_heap_sample

# A decompressed (or plain) profile larger than this is refused: a heap
# profile of a million samples is a few hundred MiB at most, and a gzip bomb
# must not exhaust memory before we notice.
MAX_PROFILE_BYTES = 1 << 30
_CHUNK = 16 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_INUSE_ONLY_NOTE = (
    "goheap: the profile has only in-use sample types ({types}); "
    "alloc_objects and alloc_space are read as 0"
)


class ProfileError(GoheapError):
    """A heap profile that cannot be read or written; the message names the source."""


def read_heap_profile(path: str | os.PathLike[str]) -> HeapProfile:
    """Read a heap profile file (proto.gz, proto or legacy text)."""
    source = os.fspath(path)
    try:
        size = os.stat(source).st_size
        if size > MAX_PROFILE_BYTES:
            raise ProfileError(
                f"{source}: {size} bytes is too large for a heap profile "
                f"(limit {MAX_PROFILE_BYTES >> 20} MiB)"
            )
        with open(source, "rb") as f:
            data = f.read(MAX_PROFILE_BYTES + 1)  # a pipe or device has no st_size
    except ProfileError:
        raise
    except IsADirectoryError:
        raise ProfileError(f"{source}: is a directory, not a heap profile") from None
    except OSError as e:
        raise ProfileError(f"{source}: cannot read it ({e.strerror or e})") from None
    return parse_heap_profile(data, source)


def parse_heap_profile(data: bytes, source: str) -> HeapProfile:
    """Decode a heap profile from bytes; ``source`` names it in errors and in the result."""
    source = one_line(str(source))
    raw = bytes(data)
    if not raw:
        raise ProfileError(f"{source}: empty file, not a heap profile")
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(
            f"{source}: more than {MAX_PROFILE_BYTES >> 20} MiB is too large for a heap profile"
        )
    compressed = raw[:2] == _GZIP_MAGIC
    if compressed:
        raw = _gunzip(raw, source)
        if not raw:
            raise ProfileError(f"{source}: gzip data decompresses to nothing")
    if raw[:4096].lstrip()[:13] == b"heap profile:":
        profile = _LegacyParser(raw, source).parse()
    elif (text := _text_start(raw)) is not None:
        raise ProfileError(f"{source}: not a heap profile (text starting {text!r})")
    else:
        profile = _ProtoReader(raw, source, "proto.gz" if compressed else "proto").parse()
    fault = profile.value_fault()
    if fault is not None:
        raise ProfileError(f"{source}: {fault}")
    return profile


# --- bytes -------------------------------------------------------------------


def one_line(s: str, limit: int = 200) -> str:
    """s on one line (control characters escaped), cut to limit characters."""
    if not s.isprintable():
        s = s.encode("unicode_escape").decode("ascii")
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _text_start(raw: bytes) -> str | None:
    """The first line if the data starts like text (printable ASCII), else None."""
    head = raw[:64]
    if len(head) < 4 or any((b < 0x20 and b not in (9, 10, 13)) or b > 0x7E for b in head):
        return None
    return one_line(head.decode("ascii").strip().split("\n", 1)[0], 60)


def _gunzip(raw: bytes, source: str) -> bytes:
    """Decompress every gzip member of raw; refuse more than MAX_PROFILE_BYTES out."""
    out: list[bytes] = []
    total = 0
    rest = raw
    try:
        while rest:
            if rest[:2] != _GZIP_MAGIC:
                raise ProfileError(f"{source}: {len(rest)} bytes of trailing data after gzip data")
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            buf = rest
            while not d.eof:
                chunk = d.decompress(buf, _CHUNK)
                if not chunk and len(d.unconsumed_tail) == len(buf):
                    raise ProfileError(f"{source}: truncated gzip data")
                buf = d.unconsumed_tail
                total += len(chunk)
                if total > MAX_PROFILE_BYTES:
                    raise ProfileError(
                        f"{source}: gzip data decompresses to more than "
                        f"{MAX_PROFILE_BYTES >> 20} MiB; refusing it (decompression bomb?)"
                    )
                out.append(chunk)
            rest = d.unused_data
    except zlib.error as e:
        raise ProfileError(f"{source}: corrupt gzip data ({one_line(str(e))})") from None
    return b"".join(out)


def _int(text: str, what: str) -> int:
    """A decimal int64 (text matched by an ASCII [0-9] pattern), else ValueError naming what."""
    if len(text) > 20 or abs(n := int(text)) > INT64_MAX:
        raise ValueError(f"{what} {text[:24]} is out of the int64 range")
    return n


# --- profile.proto -------------------------------------------------------------


class _ProtoReader:
    """One profile.proto message turned into a HeapProfile, checking every reference."""

    def __init__(self, raw: bytes, source: str, encoding: str) -> None:
        self.raw = raw
        self.source = source
        self.encoding = encoding
        self.strings: list[str] = []

    def fail(self, what: str) -> NoReturn:
        raise ProfileError(f"{self.source}: {one_line(what, 300)}")

    def string(self, index: int, what: str) -> str:
        """string_table[index], or a ProfileError naming the field that held it."""
        if 0 <= index < len(self.strings):
            return self.strings[index]
        self.fail(
            f"{what}: string index {index} out of range "
            f"(string_table has {len(self.strings)} entries)"
        )

    def parse(self) -> HeapProfile:
        try:
            p = profile_pb2.Profile.FromString(self.raw)
        except Exception as e:  # DecodeError; a pure-Python backend may raise others
            what = (
                "gzip data is not a profile.proto message"
                if self.encoding == "proto.gz"
                else "not a heap profile: neither gzip, legacy text nor a profile.proto message"
            )
            self.fail(f"{what} ({e.__class__.__name__}: {e})")
        strings = self.strings = list(p.string_table)
        if not strings:
            self.fail("not a profile.proto message (empty string_table; index 0 must be '')")
        if strings[0] != "":
            self.fail(f"string_table[0] is {strings[0][:40]!r}, must be ''")
        s = self.string

        types = [
            (s(vt.type, f"sample_type[{i}].type"), s(vt.unit, f"sample_type[{i}].unit"))
            for i, vt in enumerate(p.sample_type)
        ]
        cols, comments = self.columns(types)
        period_type = ("", "")
        if p.HasField("period_type"):
            vt = p.period_type
            period_type = (s(vt.type, "period_type.type"), s(vt.unit, "period_type.unit"))
        if p.period < 0:
            self.fail(f"period {p.period} is negative")
        comments += [s(c, f"comment[{i}]") for i, c in enumerate(p.comment)]
        for field in ("drop_frames", "keep_frames", "default_sample_type", "doc_url"):
            s(getattr(p, field), field)
        for i, m in enumerate(p.mapping):
            s(m.filename, f"mapping[{i}].filename")
            s(m.build_id, f"mapping[{i}].build_id")

        locations = self.locations(p, self.functions(p))
        samples = self.samples(p, len(types), cols, locations)
        return HeapProfile(
            samples=samples,
            period=p.period,
            period_type=period_type,
            time_nanos=p.time_nanos,
            duration_nanos=p.duration_nanos,
            comments=comments,
            source=self.source,
            encoding=self.encoding,
        )

    def columns(self, types: list[tuple[str, str]]) -> tuple[list[int], list[str]]:
        """Where the four heap values are among the sample's values (-1: absent, read as 0)."""
        where: dict[str, int] = {}
        for i, (name, _) in enumerate(types):
            where.setdefault(name, i)
        listed = ", ".join(f"{t}/{u}" for t, u in types) or "none"
        want = {
            "alloc_objects": "count",
            "alloc_space": "bytes",
            "inuse_objects": "count",
            "inuse_space": "bytes",
            "objects": "count",
            "space": "bytes",
        }
        four = ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space")
        if all(n in where for n in four):
            names: tuple[str, ...] = four
        elif (
            "inuse_objects" in where
            and "inuse_space" in where
            and not ("alloc_objects" in where or "alloc_space" in where)
        ):
            names = ("", "", "inuse_objects", "inuse_space")
        elif "objects" in where and "space" in where and not any(n in where for n in four):
            names = ("", "", "objects", "space")  # pprof's two-column legacy heap profile
        elif any(n in where for n in four):
            missing = ", ".join(n for n in four if n not in where)
            self.fail(f"sample type mismatch: a heap profile needs {missing} too (has {listed})")
        else:
            self.fail(f"not a heap profile (sample types: {listed})")
        for name in names:
            if name and types[where[name]][1] != want[name]:
                unit = types[where[name]][1]
                self.fail(f"sample type mismatch: {name} has unit {unit!r}, want {want[name]!r}")
        comments = []
        if not names[0]:
            comments.append(_INUSE_ONLY_NOTE.format(types=f"{names[2]}, {names[3]}"))
        return [where[n] if n else -1 for n in names], comments

    def functions(self, p: profile_pb2.Profile) -> dict[int, tuple[str, str]]:
        """Function id -> (name, filename)."""
        s = self.string
        funcs: dict[int, tuple[str, str]] = {}
        for i, f in enumerate(p.function):
            if f.id == 0:
                self.fail(f"function[{i}] has id 0 (ids must be nonzero)")
            if f.id in funcs:
                self.fail(f"function[{i}]: duplicate function id {f.id}")
            name = s(f.name, f"function {f.id} name")
            system_name = s(f.system_name, f"function {f.id} system_name")
            funcs[f.id] = (name or system_name, s(f.filename, f"function {f.id} filename"))
        return funcs

    def locations(
        self, p: profile_pb2.Profile, funcs: dict[int, tuple[str, str]]
    ) -> dict[int, tuple[Frame, ...]]:
        """Location id -> its frames, inlined callee first."""
        frames: dict[tuple[str, str, int], Frame] = {}
        locs: dict[int, tuple[Frame, ...]] = {}
        for i, loc in enumerate(p.location):
            if loc.id == 0:
                self.fail(f"location[{i}] has id 0 (ids must be nonzero)")
            if loc.id in locs:
                self.fail(f"location[{i}]: duplicate location id {loc.id}")
            out = []
            for j, ln in enumerate(loc.line):
                if ln.function_id == 0:
                    key = (f"0x{loc.address:x}", "", 0)
                else:
                    fn = funcs.get(ln.function_id)
                    if fn is None:
                        self.fail(
                            f"location {loc.id} line {j}: function id {ln.function_id} "
                            "has no Function"
                        )
                    key = (fn[0], fn[1], ln.line)
                frame = frames.get(key)
                if frame is None:
                    frame = frames[key] = Frame(*key)
                out.append(frame)
            if not out:
                out.append(Frame(f"0x{loc.address:x}"))
            locs[loc.id] = tuple(out)
        return locs

    def samples(
        self,
        p: profile_pb2.Profile,
        ntypes: int,
        cols: list[int],
        locs: dict[int, tuple[Frame, ...]],
    ) -> list[HeapSample]:
        """Every sample, checked: value count, location ids, labels, no negative values."""
        s = self.string
        bytes_keys = {i for i, x in enumerate(self.strings) if x == "bytes"}
        ia, ib, ic, id_ = cols
        addresses = {loc.id: loc.address for loc in p.location}
        names = ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space")
        get = locs.__getitem__
        out: list[HeapSample] = []
        append = out.append
        for k, smp in enumerate(p.sample):
            v = list(smp.value)
            if len(v) != ntypes:
                self.fail(f"sample {k} has {len(v)} values, want {ntypes} (one per sample type)")
            v.append(0)  # v[-1]: the value of an absent column
            vals = (v[ia], v[ib], v[ic], v[id_])
            if min(vals) < 0:
                name = names[min(range(4), key=vals.__getitem__)]
                self.fail(
                    f"sample {k}: {name} {min(vals)} is negative: a difference of two "
                    "profiles (?seconds=N, pprof -base); analyze the two snapshots with "
                    "--base OLD instead"
                )
            lids = smp.location_id
            try:
                if len(lids) == 1:
                    stack = get(lids[0])
                else:
                    stack = tuple(chain.from_iterable(map(get, lids)))
            except KeyError as e:
                self.fail(f"sample {k}: location id {e.args[0]} has no Location")
            size = None
            for lab in smp.label:
                if lab.key in bytes_keys and lab.str == 0 and size is None:
                    if lab.num < 0:
                        self.fail(f"sample {k}: label bytes={lab.num} is negative")
                    size = lab.num
                s(lab.key, f"sample {k} label key")
                s(lab.str, f"sample {k} label str")
                s(lab.num_unit, f"sample {k} label num_unit")
            pcs = tuple(map(addresses.__getitem__, lids))
            append(HeapSample(stack, vals[0], vals[1], vals[2], vals[3], size, pcs))
        return out


# --- the legacy text form --------------------------------------------------------

_HEADER_RE = re.compile(
    r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] *@ *([a-z_0-9]*)/?(\d*)", re.ASCII
)
_SAMPLE_RE = re.compile(r"(-?\d+): *(-?\d+) *\[ *(-?\d+): *(-?\d+) *\] *@([ x0-9a-f]*)", re.ASCII)
_ADDRESS_RE = re.compile(r"0x[0-9a-f]{1,16}", re.ASCII)
_FRAME_RE = re.compile(r"#\s+0x([0-9a-f]{1,16})(?:\s+(.*?))?\s*", re.ASCII)
_FILE_LINE_RE = re.compile(r"(.+):([0-9]{1,12})", re.ASCII)
_FUNC_OFFSET_RE = re.compile(r"\+0x[0-9a-f]+$", re.ASCII)
_MAP_SENTINELS = ("--- Memory map: ---", "MAPPED_LIBRARIES:")

# (four scaled values, addresses, size, the frames read so far)
_Pending = tuple[list[int], list[int], "int | None", list[Frame]]


class _LegacyParser:
    """The debug=1 text form: header, sample lines, each followed by its '#' frames."""

    def __init__(self, raw: bytes, source: str) -> None:
        self.lines = raw.decode("utf-8", errors="replace").splitlines()
        self.source = source
        self.lineno = 0
        self.frames: dict[tuple[str, str, int], Frame] = {}

    def fail(self, what: str) -> NoReturn:
        raise ProfileError(f"{self.source}:{self.lineno}: {one_line(what, 300)}")

    def parse(self) -> HeapProfile:
        lines = self.lines
        first = next(i for i, line in enumerate(lines) if line.strip())
        period, scaled = self.header(first)
        samples: list[HeapSample] = []
        frames: list[Frame] | None = None  # the '#' frames of the sample being read
        pending: _Pending | None = None
        known: dict[str, Frame] = {}
        for i in range(first + 1, len(lines)):
            self.lineno = i + 1
            line = lines[i].strip()
            if not line:
                frames = None
                continue
            if line[0] == "#":
                if frames is not None:
                    frame = known.get(line)  # the same PC recurs in many stacks
                    if frame is None:
                        m = _FRAME_RE.fullmatch(line)
                        if m is None:
                            frames = None  # a comment (# runtime.MemStats ...) ends the frames
                            continue
                        frame = known[line] = self.frame(m)
                    frames.append(frame)
                continue
            if any(sentinel in line for sentinel in _MAP_SENTINELS):
                break
            if pending is not None:
                samples.append(self.sample(pending))
            frames = []
            pending = (*self.sample_line(line, period if scaled else 1), frames)
        if pending is not None:
            samples.append(self.sample(pending))
        return HeapProfile(
            samples=samples,
            period=period,
            period_type=("space", "bytes"),
            source=self.source,
            encoding="legacy",
        )

    def header(self, i: int) -> tuple[int, bool]:
        """(period, whether counts are scaled) from 'heap profile: ... @ heap/RATE2'."""
        self.lineno = i + 1
        header = self.lines[i].strip()
        m = _HEADER_RE.fullmatch(header)
        if m is None:
            self.fail(f"malformed legacy heap profile header {header[:80]!r}")
        kind, rate_text = m.group(5), m.group(6)
        try:
            for g in range(1, 5):
                _int(m.group(g), "header count")
            rate = _int(rate_text, "header rate") if rate_text else 0
        except ValueError as e:
            self.fail(str(e))
        if kind == "heap":  # Go writes 2 * MemProfileRate, as early C++ profilers did
            return rate // 2, True
        if kind in ("heap_v2", "heapz_v2"):
            return rate, True
        if kind == "heapprofile":
            return 1, False
        if kind.startswith(("growth", "fragmentation")):
            self.fail(f"not a heap allocation profile (legacy {kind} profile)")
        self.fail(f"unknown legacy heap profile kind {kind!r} (want heap/RATE)")

    def sample_line(self, line: str, rate: int) -> tuple[list[int], list[int], int | None]:
        """(four scaled values, addresses, size) of one 'N: B [N: B] @ 0x...' line."""
        m = _SAMPLE_RE.fullmatch(line)
        if m is None:
            self.fail(f"malformed sample line {line[:80]!r}")
        try:
            inuse_n, inuse_b, alloc_n, alloc_b = (_int(m.group(g), "count") for g in range(1, 5))
        except ValueError as e:
            self.fail(str(e))
        addrs = m.group(5).split()
        for a in addrs:
            if _ADDRESS_RE.fullmatch(a) is None:
                self.fail(
                    f"malformed address {a[:40]!r} in sample line (want 0x and 1-16 hex digits)"
                )
        for n, b, what in ((inuse_n, inuse_b, "inuse"), (alloc_n, alloc_b, "allocation")):
            if n < 0 or b < 0:
                self.fail(f"{what} count {n} or bytes {b} is negative")
            if n == 0 and b != 0:
                self.fail(f"{what} count is 0 but {what} bytes is {b}")
        if alloc_n:
            size: int | None = alloc_b // alloc_n
        elif inuse_n:
            size = inuse_b // inuse_n
        else:
            size = None
        values = [
            *scale_heap_sample(alloc_n, alloc_b, rate),
            *scale_heap_sample(inuse_n, inuse_b, rate),
        ]
        return values, [int(a, 16) for a in addrs], size

    def frame(self, m: re.Match[str]) -> Frame:
        """One '#\\t0xPC\\tfunc+0xOFF\\tfile:line' line (columns aligned with tabs)."""
        pc, rest = m.group(1), m.group(2)
        if not rest:  # a PC without symbol information
            key = (f"0x{int(pc, 16):x}", "", 0)
        else:
            parts = [p.strip() for p in rest.split("\t") if p.strip()]
            if len(parts) == 1:  # tabs lost (copied text?): space-separated
                parts = parts[0].split()
            if len(parts) == 1:
                key = (_FUNC_OFFSET_RE.sub("", parts[0]), "", 0)
            else:
                fl = _FILE_LINE_RE.fullmatch(parts[-1])
                if fl is None:
                    self.fail(f"malformed stack frame {m.group(0)[:80]!r} (want func file:line)")
                name = _FUNC_OFFSET_RE.sub("", " ".join(parts[:-1]))
                key = (name, fl.group(1), int(fl.group(2)))
        frame = self.frames.get(key)
        if frame is None:
            frame = self.frames[key] = Frame(*key)
        return frame

    def sample(self, pending: _Pending) -> HeapSample:
        """The sample; without '#' frames, the stack is the addresses (call PCs: PC-1)."""
        values, addrs, size, frames = pending
        stack = tuple(frames) or tuple(Frame(f"0x{max(a - 1, 0):x}") for a in addrs)
        return HeapSample(stack, values[0], values[1], values[2], values[3], size)
