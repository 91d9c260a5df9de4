"""The trace scanners (goheap.trace.scan) decode exactly what msgpack and orjson decode.

Each input is read twice, with the scanners (``reader._scan``) and without
them (every record through the general decoder): the records, where each
starts, the error and where it is, and the reader's counts must be the
same. Both builds run these (interpreted, the scanners are only slower).
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goheap import Heap
from goheap.trace import MAGIC, Replayer, TraceError, open_trace_bytes
from goheap.trace.format import BY_OP, OP_ALLOC, OP_DEAD, OP_END
from goheap.trace.scan import BATCH_RECORDS

HEADER = {"goheap_trace": 2, "workload": "scan"}


def decode(data: bytes, scan: bool) -> tuple[Any, ...]:
    """Everything a reader tells of data: records and positions, the error, the counts."""
    reader = open_trace_bytes(data, "t")
    reader._scan = scan
    out = []
    error = None
    try:
        for rec in reader.records():
            out.append((rec, reader.where()))
    except TraceError as e:
        error = (str(e), e.offset, e.line)
    return out, error, reader.count, reader.ended, reader.truncated, reader.where()


def same_both_ways(data: bytes) -> tuple[Any, ...]:
    got = decode(data, True)
    assert got == decode(data, False)
    return got


def uint(v: int, width: int) -> bytes:
    """v as a msgpack unsigned int of `width` bytes (0: a positive fixint)."""
    if width == 0:
        return bytes([v])
    return bytes([{1: 0xCC, 2: 0xCD, 4: 0xCE, 8: 0xCF}[width]]) + v.to_bytes(width, "big")


_WIDTHS = [(0, 128), (1, 1 << 8), (2, 1 << 16), (4, 1 << 32), (8, 1 << 64)]
_VALUES = st.one_of(
    st.integers(0, 300),
    st.integers(0, (1 << 64) - 1),
    st.sampled_from([(1 << 62) - 1, 1 << 62, (1 << 63) - 1, 1 << 63, -1, -200]),
    st.sampled_from([None, True, "x", [1], {"a": 1}]),
)


@st.composite
def binary_record(draw: st.DrawFn) -> bytes:
    """One msgpack record, often of an unusual (non-minimal) integer encoding."""
    op = draw(st.one_of(st.integers(0, 23), st.sampled_from([OP_ALLOC, OP_DEAD, OP_END])))
    n = draw(st.integers(0, 9))
    fields = [draw(_VALUES) for _ in range(n)]
    if draw(st.booleans()):
        return msgpack.packb([op, *fields])
    out = bytes([0x90 + n + 1]) + bytes([op])
    for v in fields:
        if type(v) is int and 0 <= v < 1 << 64:
            least = (
                0 if v < 128 else 1 if v < 256 else 2 if v < 1 << 16 else 4 if v < 1 << 32 else 8
            )
            out += uint(v, draw(st.sampled_from([w for w in (0, 1, 2, 4, 8) if w >= least])))
        else:
            out += msgpack.packb(v)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(binary_record(), max_size=12),
    cut=st.integers(0, 6),
    noise=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(0, 255))),
)
def test_binary_scan_decodes_as_msgpack(
    records: list[bytes], cut: int, noise: tuple[int, int] | None
) -> None:
    head = MAGIC + msgpack.packb(HEADER)
    data = bytearray(head + b"".join(records))
    if noise is not None and len(data) > len(head):
        data[len(head) + noise[0] % (len(data) - len(head))] = noise[1]
    same_both_ways(bytes(data[: max(len(head), len(data) - cut)]))


_JSON_VALUES = st.one_of(
    st.integers(0, 10**19),
    st.sampled_from([-1, 0, 10**18 - 1, 10**18, None, True, "x", [1]]),
)


_ODD_LINES = ["", "  ", "{", "[1]", '{"ev":"gc"}\r', '{"ev":"adv","ns":007}']


@st.composite
def ndjson_line(draw: st.DrawFn) -> str:
    """One line, often as TraceWriter writes it, sometimes spaced, reordered or odd."""
    spec = draw(st.sampled_from(BY_OP))
    fields = [f.name for f in spec.fields] + ["later"]
    chosen = [f for f in fields if draw(st.integers(0, 3))]
    if draw(st.integers(0, 4)) == 0:
        chosen = draw(st.permutations(chosen))
    obj: dict[str, Any] = {"ev": draw(st.sampled_from([spec.name, spec.name, "nope"]))}
    for f in chosen:
        obj[f] = draw(_JSON_VALUES)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return json.dumps(obj)  # spaces
    if kind == 1:
        return draw(
            st.sampled_from(["", "  ", "{", "[1]", '{"ev":"gc"}\r', '{"ev":"adv","ns":007}'])
        )
    text = json.dumps(obj, separators=(",", ":"))
    if kind == 2 and obj["ev"] == "end":
        return f'{{"ev":"end","events":{draw(st.integers(0, 20))}}}'
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(ndjson_line(), max_size=12), newline=st.booleans())
def test_ndjson_scan_decodes_as_orjson(lines: list[str], newline: bool) -> None:
    text = "\n".join([json.dumps(HEADER), *lines]) + "\n" * newline
    same_both_ways(text.encode())


@pytest.mark.parametrize(
    "line",
    [
        '{"ev":"alloc","id":1,"size":48}',
        '{"ev":"alloc","id":1,"size":48,"type":null}',
        '{"ev":"alloc","id":1,"size":48,"stack":3}',
        '{"ev":"alloc","size":48,"id":1}',
        '{"ev":"alloc","id":1,"id":2,"size":48}',
        '{"ev":"alloc","id":01,"size":48}',
        '{"ev":"alloc","id":1,"size":-48}',
        '{"ev":"alloc","id":1,"size":48.0}',
        '{"ev":"alloc","id":1,"size":1e3}',
        '{"ev":"alloc","id":1,"size":99999999999999999999}',
        '{"ev":"alloc","id":1}',
        '{"ev":"alloc","size":48}',
        '{"ev":"alloc" ,"id":1,"size":48}',
        '{"ev":"allocx","id":1,"size":48}',
        '{"ev":"dead","id":7}',
        '{"ev":"gc"}',
        '{"ev":"gcpct","gogc":-1}',
        '{"ev":"end","events":0}',
        '{"ev":"end","events":1}',
    ],
)
def test_ndjson_lines_both_ways(line: str) -> None:
    for body in (line, f'{{"ev":"gc"}}\n{line}\n{{"ev":"gc"}}', f"{line}\n{line}"):
        same_both_ways((json.dumps(HEADER) + "\n" + body + "\n").encode())


def test_batches_are_bounded_and_positions_exact() -> None:
    """Over several batches and chunks: every record, where each starts, as msgpack says."""
    recs = [[OP_ALLOC, i, 16 + i % 70_000] for i in range(3 * BATCH_RECORDS)]
    recs += [[OP_DEAD, i] for i in range(0, 3 * BATCH_RECORDS, 3)]
    data = MAGIC + msgpack.packb(HEADER)
    offsets = []
    for rec in recs:
        offsets.append(len(data))
        data += msgpack.packb(rec)
    got, error, count, *_ = same_both_ways(data)
    assert error is None and count == len(recs)
    assert [r for r, _ in got] == recs
    assert [w for _, w in got] == [f"t byte {o}" for o in offsets]


@pytest.mark.parametrize("fmt", ["binary", "ndjson"])
def test_replay_the_same_both_ways(fmt: str) -> None:
    """A lifetime churn of small and large objects, replayed with and without the scanners."""
    recs: list[list[Any]] = []
    ring: list[int | None] = [None] * 300
    x = 7
    for oid in range(20_000):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        recs.append([OP_ALLOC, oid, 1 + (x >> 33) % (70_000 if x % 20 == 0 else 3000)])
        old = ring[oid % 300]
        if old is not None:
            recs.append([OP_DEAD, old])
        ring[oid % 300] = oid
    recs.append([OP_DEAD, 0])  # dead already: an error at the last record
    if fmt == "binary":
        data = MAGIC + msgpack.packb(HEADER) + b"".join(msgpack.packb(r) for r in recs)
    else:
        lines = [json.dumps(HEADER)]
        for r in recs:
            spec = BY_OP[r[0]]
            ev = {"ev": spec.name} | {f.name: v for f, v in zip(spec.fields, r[1:], strict=False)}
            lines.append(json.dumps(ev, separators=(",", ":")))
        data = ("\n".join(lines) + "\n").encode()
    results = []
    for scan in (True, False):
        with Heap(profile="go1.8", liveness="lifetime") as h:
            reader = open_trace_bytes(data, "t")
            reader._scan = scan
            rp = Replayer(h)
            with pytest.raises(TraceError) as info:
                rp.replay(reader)
            ms = h.read_memstats()
            results.append((str(info.value), rp.count, ms.Mallocs, ms.Frees, ms.HeapInuse))
    assert results[0] == results[1]
    assert "id 0 is dead" in results[0][0] and results[0][1] == len(recs) - 1
