"""Traces: recording, both encodings, exact replay, errors, fuzzing, bounded memory.

The central property: replaying a recorded trace under the profile it was
recorded with gives exactly the results of running the program (MemStats,
every GC cycle, peaks, the per-class table, the span map, the timeline).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goheap import Heap, Type
from goheap.runner import RunOptions, Session, run_workload
from goheap.trace import (
    FORMAT_VERSION,
    MAGIC,
    Replayer,
    TraceError,
    TraceRecorder,
    TraceWriter,
    encode_records,
    make_header,
    open_trace,
    open_trace_bytes,
    record_workload,
    replay_into,
)
from goheap.trace.format import (
    BOOL,
    BY_OP,
    INT,
    INTS,
    MAX_LINE,
    OP_ALLOC,
    OP_DEAD,
    OP_GC,
    OP_PTR,
    OP_PUSH,
    OP_STACK,
    OP_TYPE,
    READ_CHUNK,
    SINT,
    STR,
    STRS,
)
from goheap.workloads import WORKLOADS

# Small parameters (and a GOGC that gives a few cycles) for every workload.
SMALL: dict[str, tuple[list[str], int]] = {
    "binarytrees": (["depth=8"], 1),
    "retain": (["count=30000", "size=256", "pointers=1"], 50),
    "churn": (["k=100", "steps=10000"], 100),
    "large": (["window=4", "steps=300"], 100),
    "finalizers": (["count=2000"], 100),
    "service": (["requests=3000", "capacity=200", "keys=5000"], 50),
    "fragmentation": (["count=20000", "size=64"], 100),
}
HEADER = make_header("test", {}, liveness_events=True)


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A run's results without what legitimately differs (wall time, names)."""
    out = dict(result)
    for key in ("sim", "result", "workload", "params", "trace"):
        out.pop(key, None)
    return out


def replay_results(path: str | Path, *, profile: str = "go1.8", **kw: Any) -> dict[str, Any]:
    reader = open_trace(path)
    session = Session(RunOptions(profile=profile, **kw))
    try:
        replay_into(session.heap, reader)
        return session.results("replay", {})
    finally:
        session.close()


_RUNS: dict[tuple[str, str], dict[str, Any]] = {}


def plain_run(name: str, liveness: str) -> dict[str, Any]:
    key = (name, liveness)
    if key not in _RUNS:
        params, gogc = SMALL.get(name, ([], 100))
        _RUNS[key] = run_workload(name, params, profile="go1.8", gogc=gogc, liveness=liveness)
    return _RUNS[key]


# --- exact round trips ---------------------------------------------------------------


@pytest.mark.parametrize("liveness", ["graph", "lifetime"])
@pytest.mark.parametrize("fmt", ["ndjson", "binary"])
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_replay_is_exact(tmp_path: Path, name: str, fmt: str, liveness: str) -> None:
    params, gogc = SMALL.get(name, ([], 100))
    path = tmp_path / f"{name}.{fmt}"
    recorded = record_workload(
        name, params, path, fmt=fmt, profile="go1.8", gogc=gogc, liveness=liveness
    )
    assert recorded["trace"]["events"] > 0
    plain = plain_run(name, liveness)
    # Recording changes nothing the heap does ...
    assert comparable(recorded) == comparable(plain)
    # ... and replaying gives every number again.
    replayed = replay_results(path, gogc=gogc, liveness=liveness)
    assert replayed["memstats"] == plain["memstats"]
    assert replayed["gc"] == plain["gc"]
    assert comparable(replayed) == comparable(plain)
    with open_trace(path) as reader:
        assert reader.encoding == fmt
        assert reader.header["workload"] == name
        assert reader.header["goheap_trace"] == FORMAT_VERSION == 3


MEDIUM: dict[str, list[str]] = {
    "binarytrees": ["depth=12"],
    "retain": ["count=200000", "size=24", "pointers=1"],
    "churn": ["k=1000", "steps=200000"],
    "large": ["window=16", "steps=3000"],
    "finalizers": ["count=20000"],
    "service": ["requests=30000"],
    "fragmentation": ["count=200000"],
}


@pytest.mark.slow
@pytest.mark.parametrize("liveness", ["graph", "lifetime"])
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_replay_is_exact_medium(tmp_path: Path, name: str, liveness: str) -> None:
    """Larger parameters, GOGC=100, two Ps: many more cycles, still exact."""
    params = MEDIUM.get(name, [])
    path = tmp_path / "t.bin.gz"
    recorded = record_workload(name, params, path, profile="go1.8", procs=2, liveness=liveness)
    replayed = replay_results(path, procs=2, liveness=liveness)
    assert comparable(replayed) == comparable(recorded)


def test_some_workloads_collect() -> None:
    """The small parameters still exercise the collector."""
    for name in ("binarytrees", "retain", "churn", "large", "finalizers", "service"):
        if name in WORKLOADS:
            assert plain_run(name, "graph")["gc"], name


def test_graph_trace_replays_in_lifetime_mode(tmp_path: Path) -> None:
    """A program that declares its deaths: its graph-mode trace runs in lifetime mode."""
    name = "churn" if "churn" in WORKLOADS else None
    path = tmp_path / "g.ndjson"
    if name is None:  # pragma: no cover - churn is built in
        pytest.skip("no churn workload")
    params, gogc = SMALL[name]
    recorded = record_workload(
        name, params, path, fmt="ndjson", profile="go1.8", gogc=gogc, liveness="graph"
    )
    lifetime = replay_results(path, gogc=gogc, liveness="lifetime")
    assert lifetime["memstats"] == recorded["memstats"]
    assert lifetime["gc"] == recorded["gc"]
    assert comparable(lifetime) == comparable(plain_run(name, "lifetime"))


@pytest.mark.parametrize("fmt", ["ndjson", "binary"])
def test_gzip_both_encodings(tmp_path: Path, fmt: str) -> None:
    params, gogc = SMALL["churn"]
    path = tmp_path / f"churn.{fmt}.gz"
    recorded = record_workload("churn", params, path, fmt=fmt, profile="go1.8", gogc=gogc)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    with open_trace(path) as reader:
        assert reader.compressed and reader.encoding == fmt
    assert comparable(replay_results(path, gogc=gogc)) == comparable(recorded)


def test_binary_is_smaller_and_same_events(tmp_path: Path) -> None:
    params, gogc = SMALL["service"]
    for fmt in ("ndjson", "binary"):
        record_workload("service", params, tmp_path / fmt, fmt=fmt, profile="go1.8", gogc=gogc)
    text = list(open_trace(tmp_path / "ndjson"))
    binary = list(open_trace(tmp_path / "binary"))
    assert text == binary
    assert (tmp_path / "binary").stat().st_size * 2 < (tmp_path / "ndjson").stat().st_size
    assert (tmp_path / "binary").read_bytes()[:8] == MAGIC


# --- a hand-written program using every event ------------------------------------------

T = Type("main.T", size=32, pointers=[0, 16])
STACK = ("main.work", "main.main")


def kitchen_sink(h: Heap) -> None:
    """Globals, goroutines on two Ps, tiny and interior pointers, finalizers, settings."""
    a = h.new(T, stack=STACK)
    h.set_global("main.root", a)
    tiny1 = h.malloc(8)
    tiny2 = h.malloc(4)  # shares tiny1's 16-byte block
    h.write_pointer(a, 0, tiny2)  # a pointer to a tiny sub-object
    arr = h.make(T, 10)
    h.write_pointer(a, 16, arr + 64)  # an interior pointer
    h.write_word(arr, 8, 12345)
    h.write_pointer(arr + 32, 0, a)  # a store through an interior address
    h.set_finalizer(tiny1, lambda _: None)
    h.set_global("main.tmp", tiny1)
    h.drop_global("main.tmp")

    def worker(h: Heap, g: Any) -> Iterator[None]:
        keep = h.new(T)
        g.push(keep)
        for i in range(4000):
            x = h.malloc(16 + (i * 37) % 700)
            g.push(x)
            if i % 3 == 0:
                g.set(0, h.new(T))
            if len(g.stack) > 20:
                g.pop(10)
            yield

    h.go(worker)
    h.go(worker, p=1)
    h.run()
    h.read_memstats()
    h.set_gc_percent(50)
    for i in range(3000):
        h.malloc(48, p=1)
        if i % 10 == 0:
            h.compute(40_000)  # the program's own work between allocations
    h.advance(3 * 60 * 1_000_000_000)  # past the 2-minute forced GC
    h.free_os_memory()
    h.set_global("main.root", 0)
    h.gc()
    h.malloc(0)
    h.set_gc_percent(-1)


def run_program(
    program: Callable[[Heap], None], trace: Path | None, fmt: str = "binary", **kw: Any
) -> dict[str, Any]:
    session = Session(RunOptions(profile="go1.8", **kw))
    try:
        rec = None
        if trace is not None:
            rec = TraceRecorder(TraceWriter(trace, fmt=fmt, header=HEADER))
            rec.attach(session.heap)
        program(session.heap)
        if rec is not None:
            rec.close()
        out = session.results("program", {})
        out["finalizers_ran"] = session.heap.finalizers.ran
        return out
    finally:
        session.close()


@pytest.mark.parametrize("fmt", ["ndjson", "binary"])
def test_every_event_round_trips(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "sink"
    plain = run_program(kitchen_sink, None, procs=2, gogc=20)
    recorded = run_program(kitchen_sink, path, fmt, procs=2, gogc=20)
    assert comparable(recorded) == comparable(plain)
    assert plain["gc"] and plain["finalizers_ran"] == 1
    kinds = {ev["ev"] for ev in open_trace(path)}
    assert kinds >= {"type", "stack", "alloc", "ptr", "gset", "gdrop", "push", "pop", "sset"}
    assert kinds >= {"fin", "gc", "freeos", "gcpct", "adv", "go", "sched", "stats", "word"}
    assert "cpu" in kinds

    session = Session(RunOptions(profile="go1.8", procs=2, gogc=20))
    try:
        replay_into(session.heap, open_trace(path))
        session.heap.check()
        replayed = session.results("program", {})
        replayed["finalizers_ran"] = session.heap.finalizers.ran
    finally:
        session.close()
    assert comparable(replayed) == comparable(plain)


BOX = Type("main.Box", size=24, pointers=[8])


def cleanups_program(h: Heap) -> None:
    """runtime.AddCleanup with a pointer argument, with none, on an interior
    pointer, and Cleanup.Stop: on go1.27, in either liveness mode."""
    keep = h.make(BOX, 64)
    h.set_global("main.keep", keep)
    ids = []
    for i in range(300):
        o = h.new(BOX, stack=STACK)
        arg = h.malloc(40 + i % 50) if i % 3 else 0
        ids.append(h.add_cleanup(o + (8 if i % 7 == 0 else 0), lambda _: None, arg))
        if i % 5 == 0:
            h.write_pointer(keep, 24 * (i % 64) + 8, o)  # some stay reachable
        else:
            h.dead(o)
        if arg:
            h.dead(arg)
        if i % 11 == 0:
            h.stop_cleanup(ids[i // 2])
        for _ in range(20):
            h.dead(h.malloc(200))
    h.gc()
    h.gc()


@pytest.mark.parametrize("liveness", ["graph", "lifetime"])
def test_cleanups_record_and_replay(tmp_path: Path, liveness: str) -> None:
    path = tmp_path / "cleanups.ndjson"

    def run(trace: Path | None) -> tuple[dict[str, Any], int]:
        session = Session(RunOptions(profile="go1.27", liveness=liveness, gogc=25))
        try:
            rec = None
            if trace is not None:
                rec = TraceRecorder(TraceWriter(trace, fmt="ndjson", header=HEADER))
                rec.attach(session.heap)
            cleanups_program(session.heap)
            if rec is not None:
                rec.close()
            return session.results("program", {}), session.heap.finalizers.cleanups.ran
        finally:
            session.close()

    plain, ran = run(None)
    recorded, ran_recorded = run(path)
    assert comparable(recorded) == comparable(plain) and ran_recorded == ran
    assert ran > 100  # most cleanups ran
    events = list(open_trace(path))
    assert sum(ev["ev"] == "cleanup" for ev in events) == 300
    assert sum(ev["ev"] == "cstop" for ev in events) == 28
    # The argument boxes are the runtime's: the trace has no 'alloc' for them.
    assert sum(ev["ev"] == "alloc" for ev in events) == 1 + 300 + 200 + 300 * 20

    session = Session(RunOptions(profile="go1.27", liveness=liveness, gogc=25))
    try:
        replay_into(session.heap, open_trace(path))
        session.heap.check()
        replayed = session.results("program", {})
        assert session.heap.finalizers.cleanups.ran == ran
    finally:
        session.close()
    assert comparable(replayed) == comparable(plain)


def test_cleanup_trace_errors() -> None:
    recs = [[OP_ALLOC, 0, 24], [21, 0]]
    with Heap(profile="go1.27") as h, pytest.raises(TraceError, match="cleanup 0 is not defined"):
        replay_into(h, open_trace_bytes(encode_records(recs)))
    recs = [[OP_ALLOC, 0, 24], [20, 0, None, None, 8]]
    with Heap(profile="go1.27") as h, pytest.raises(TraceError, match="'arg_off' without 'arg'"):
        replay_into(h, open_trace_bytes(encode_records(recs)))
    recs = [[OP_ALLOC, 0, 24], [20, 0]]
    with Heap(profile="go1.8") as h, pytest.raises(TraceError, match="not modelled"):
        replay_into(h, open_trace_bytes(encode_records(recs)))


def test_recording_a_replay_gives_the_same_trace(tmp_path: Path) -> None:
    first = tmp_path / "first.ndjson"
    run_program(kitchen_sink, first, "ndjson", procs=2, gogc=20)
    second = tmp_path / "second.ndjson"
    with Heap(profile="go1.8", procs=2, gogc=20) as h:
        rec = TraceRecorder(TraceWriter(second, fmt="ndjson", header=HEADER))
        rec.attach(h)
        replay_into(h, open_trace(first))
        rec.close()
    assert list(open_trace(first)) == list(open_trace(second))


def test_timestamps_idle_until_then() -> None:
    recs = [[OP_ALLOC, 0, 64], [OP_ALLOC, 1, 64, None, None, None, None, 5_000_000_000]]
    with Heap(profile="go1.8") as h:
        t0 = h.clock.now
        replay_into(h, open_trace_bytes(encode_records(recs)))
        assert h.clock.now - t0 >= 5_000_000_000
        assert h.read_memstats().Mallocs == 2


def test_alloc_names_goroutine_and_p() -> None:
    text = "\n".join(
        json.dumps(e)
        for e in [
            HEADER,
            {"ev": "alloc", "id": 3, "size": 64, "g": 7, "p": 3},
            {"ev": "push", "g": 7, "to": 3},
            {"ev": "sched", "g": 0},
            {"ev": "gc"},
        ]
    )
    with Heap(profile="go1.8", procs=2) as h:
        replay_into(h, open_trace_bytes(text.encode()))
        assert len(h.goroutines) == 2 and h.goroutines[1].stack
        assert h.g is h.main
        assert h.read_memstats().HeapObjects == 1  # kept by goroutine 7's stack


# --- readers and writers -----------------------------------------------------------------


def test_events_as_dicts_and_writer_by_name() -> None:
    buf = io.BytesIO()
    with TraceWriter(buf, fmt="ndjson", header=HEADER) as w:
        w.event("type", tid=0, name="T", size=16, ptrs=[8])
        w.event("alloc", id=0, size=32, type=0)
        w.event("ptr", obj=0, off=8)
        w.end()
        with pytest.raises(TraceError, match="no field 'bogus'"):
            w.event("gc", bogus=1)
    reader = open_trace_bytes(buf.getvalue())
    assert reader.header["workload"] == "test"
    assert list(reader) == [
        {"ev": "type", "tid": 0, "name": "T", "size": 16, "ptrs": [8]},
        {"ev": "alloc", "id": 0, "size": 32, "type": 0},
        {"ev": "ptr", "obj": 0, "off": 8},
    ]
    assert reader.ended


def test_reader_ignores_unknown_keys_and_extra_fields() -> None:
    text = json.dumps(HEADER | {"future": 1}) + "\n" + '{"ev":"gc","later":true}\n\n'
    assert list(open_trace_bytes(text.encode())) == [{"ev": "gc"}]
    data = MAGIC + msgpack.packb(HEADER) + msgpack.packb([OP_GC, "extra"])
    assert list(open_trace_bytes(data)) == [{"ev": "gc"}]


def test_streaming_does_not_read_ahead(tmp_path: Path) -> None:
    """The reader holds one chunk at a time, whatever the file's size."""
    path = tmp_path / "big.bin"
    with TraceWriter(path, header=HEADER) as w:
        for i in range(50_000):
            w.record(OP_ALLOC, i, 32)
    reader = open_trace(path)
    it = reader.records()
    next(it)
    assert reader._fed <= 1 << 16  # one 64 KiB chunk so far
    assert sum(1 for _ in it) == 49_999


# --- malformed input: one TraceError, at the right place ---------------------------------


def ndjson(*events: dict[str, Any] | str) -> bytes:
    lines = [json.dumps(HEADER)]
    lines += [e if isinstance(e, str) else json.dumps(e) for e in events]
    return ("\n".join(lines) + "\n").encode()


A0 = {"ev": "alloc", "id": 0, "size": 48}


@pytest.mark.parametrize(
    ("events", "where", "message"),
    [
        ([A0, '{"ev": "alloc", "id": 1,'], "line 3", "not valid JSON"),
        ([A0, A0 | {"ev": "frobnicate"}], "line 3", "unknown event 'frobnicate'"),
        ([A0, {"id": 1, "size": 8}], "line 3", "no 'ev'"),
        ([A0, "[1, 2]"], "line 3", "expected a JSON object"),
        (
            [A0, {"ev": "alloc", "id": 1}],
            "line 3",
            "'alloc' event needs a non-negative integer 'size'",
        ),
        (
            [A0, {"ev": "alloc", "id": 1, "size": "abc"}],
            "line 3",
            "'alloc' event needs a non-negative integer 'size', got 'abc'",
        ),
        ([A0, {"ev": "alloc", "id": 1, "size": -5}], "line 3", "got -5"),
        ([A0, {"ev": "ptr", "obj": 0, "off": 0, "to": 7}], "line 3", "id 7 was never allocated"),
        ([A0, {"ev": "dead", "id": 0}, {"ev": "push", "g": 0, "to": 0}], "line 4", "id 0 is dead"),
        ([A0, A0], "line 3", "id 0 is not greater than the previous id 0"),
        (
            [A0, {"ev": "alloc", "id": 1, "size": 8, "type": 4}],
            "line 3",
            "type id 4 is not defined",
        ),
        ([A0, {"ev": "ptr", "obj": 0, "off": 3, "to": 0}], "line 3", "offset 3"),
        ([A0, {"ev": "pop", "g": 0}], "line 3", "cannot pop"),
        ([A0, {"ev": "gdrop", "name": "x"}], "line 3", "no global named 'x'"),
        ([A0, {"ev": "end", "events": 5}], "line 3", "'end' event counts 5 events but 1"),
        ([A0, {"ev": "end", "events": 1}, {"ev": "gc"}], "line 4", "follows the 'end'"),
        ([A0, {"ev": "type", "tid": 0, "name": "T", "size": 8, "ptrs": [8]}], "line 3", "offset"),
        # Numbers beyond what Go holds them in: one error at once, never a hang.
        ([A0, {"ev": "adv", "ns": 2**63}], "line 3", "past Go's int64 nanotime"),
        ([A0, A0 | {"id": 1, "t": 2**63}], "line 3", "past Go's int64 nanotime"),
        ([A0, {"ev": "gcpct", "gogc": 2**31}], "line 3", "outside Go's int32 gcPercent"),
        (
            [A0, {"ev": "type", "tid": 0, "name": "T", "size": 2**49, "ptrs": []}],
            "line 3",
            "larger than the address space",
        ),
        ([A0, A0 | {"id": 1, "size": 2**40}], "line 3", "runtime: out of memory: cannot alloc"),
    ],
)
def test_malformed_ndjson(events: list[Any], where: str, message: str) -> None:
    with Heap(profile="go1.8", liveness="lifetime") as h:
        with pytest.raises(TraceError) as info:
            replay_into(h, open_trace_bytes(ndjson(*events), "trace.ndjson"))
        assert str(info.value).startswith(f"trace.ndjson {where}: "), str(info.value)
        assert message in str(info.value)
        assert info.value.line == int(where.split()[1])
        h.check()  # the heap is consistent: the events before the bad one applied
        assert h.read_memstats().Mallocs == 1


def test_ndjson_lines_across_read_chunks() -> None:
    """Lines are read 64 KiB at a time: one longer than a chunk, and lines split between two."""
    frames = [f"main.f{i}" for i in range(12_000)]  # one line of about 130 KiB
    events: list[dict[str, Any] | str] = [{"ev": "stack", "sid": 0, "frames": frames}]
    events += [{"ev": "alloc", "id": i, "size": 16 + i % 100, "stack": 0} for i in range(5_000)]
    events += ["", "  "]  # blank lines are allowed anywhere
    events += [{"ev": "dead", "id": i} for i in range(0, 5_000, 2)]
    data = ndjson(*events)
    assert len(data) > 3 * READ_CHUNK
    reader = open_trace_bytes(data)
    recs = list(reader.records())
    assert len(recs) == 1 + 5_000 + 2_500
    assert recs[0] == [OP_STACK, 0, frames]
    assert recs[1] == [OP_ALLOC, 0, 16, None, None, None, 0]
    assert recs[-1] == [OP_DEAD, 4_998]
    assert reader.where() == f"<trace> line {1 + len(events)}"  # the header is line 1
    # The last line needs no newline.
    assert list(open_trace_bytes(data.rstrip(b"\n")).records())[-1] == [OP_DEAD, 4_998]


@pytest.mark.parametrize("newline", [True, False])
def test_ndjson_line_too_long_after_the_lines_before_it(newline: bool) -> None:
    """A line of MAX_LINE bytes or more is an error at its number; the lines before it count."""
    data = ndjson(A0, {"ev": "gc"}) + b" " * (MAX_LINE + 10) + b"\n" * newline + b'{"ev":"gc"}\n'
    with Heap(profile="go1.8", liveness="lifetime") as h:
        with pytest.raises(TraceError) as info:
            replay_into(h, open_trace_bytes(data, "trace.ndjson"))
        assert str(info.value) == f"trace.ndjson line 4: line longer than {MAX_LINE} bytes"
        assert h.read_memstats().Mallocs == 1 and len(h.cycles) == 1  # both events applied
    short = ndjson(A0) + b" " * (MAX_LINE - 1) + b"\n"  # one byte short of the limit: blank
    assert len(list(open_trace_bytes(short).records())) == 1


def binary(*records: list[Any]) -> tuple[bytes, list[int]]:
    """A binary trace and the byte offset of each record."""
    out = MAGIC + msgpack.packb(HEADER)
    offsets = []
    for rec in records:
        offsets.append(len(out))
        out += msgpack.packb(rec)
    return out, offsets


@pytest.mark.parametrize(
    ("records", "bad", "message"),
    [
        ([[OP_ALLOC, 0, 48], [99, 1]], 1, "unknown opcode 99"),
        ([[OP_ALLOC, 0, 48], ["alloc", 1]], 1, "unknown opcode 'alloc'"),
        ([[OP_ALLOC, 0, 48], {"ev": 1}], 1, "expected a record"),
        ([[OP_ALLOC, 0, 48], [OP_ALLOC, 1]], 1, "needs a non-negative integer 'size'"),
        ([[OP_ALLOC, 0, 48], [OP_ALLOC, 1, "abc"]], 1, "got 'abc'"),
        ([[OP_ALLOC, 0, 48], [OP_PTR, 5, 0]], 1, "id 5 was never allocated"),
        ([[OP_ALLOC, 0, 48], [OP_DEAD, 0], [OP_DEAD, 0]], 2, "id 0 is dead"),
        ([[OP_ALLOC, 0, 48], [OP_TYPE, 0, "T", 16, [0, "x"]]], 1, "'ptrs'"),
    ],
)
def test_malformed_binary(records: list[Any], bad: int, message: str) -> None:
    data, offsets = binary(*records)
    with Heap(profile="go1.8", liveness="lifetime") as h:
        with pytest.raises(TraceError) as info:
            replay_into(h, open_trace_bytes(data, "trace.bin"))
        assert str(info.value).startswith(f"trace.bin byte {offsets[bad]}: "), str(info.value)
        assert message in str(info.value)
        assert info.value.offset == offsets[bad]
        h.check()
        assert h.read_memstats().Mallocs == 1


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_truncated_binary(cut: int) -> None:
    data, offsets = binary([OP_ALLOC, 0, 48], [OP_ALLOC, 1, 300], [OP_ALLOC, 2, 70000])
    with Heap(profile="go1.8") as h:
        with pytest.raises(TraceError) as info:
            replay_into(h, open_trace_bytes(data[:-cut], "trace.bin"))
        assert str(info.value).startswith(f"trace.bin byte {offsets[2]}: truncated record")
        assert h.read_memstats().Mallocs == 2


def test_truncated_gzip_and_bad_gzip() -> None:
    data, _ = binary([OP_ALLOC, 0, 48], [OP_GC])
    with pytest.raises(TraceError, match="corrupt gzip data"):
        list(open_trace_bytes(gzip.compress(data)[:-6], "t.gz"))
    with pytest.raises(TraceError) as info:
        list(open_trace_bytes(b"\x1f\x8b\x08\x00garbage-garbage", "t.gz"))
    assert str(info.value).startswith("t.gz: corrupt gzip data")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"hello world\n", "not a goheap trace"),
        (b'{"goheap_trace": 4}\n', "version 4 is not supported"),
        (b'{"workload": "x"}\n', "needs 'goheap_trace'"),
        (b'{"goheap_trace": "1"}\n', "'goheap_trace' must be int"),
        (b"{nope\n", "the header is not valid JSON"),
        (MAGIC, "ends before the header"),
        (MAGIC + msgpack.packb([1, 2]), "the header must be an object"),
        # Numbers beyond what Go holds them in.
        (b'{"goheap_trace": 2, "memlimit": 1' + b"0" * 30 + b"}\n", "'memlimit' must be int"),
        (b'{"goheap_trace": 2, "memlimit": 9223372036854775808}\n', r"outside 0 to 2\^63-1 bytes"),
        (b'{"goheap_trace": 2, "gogc": 2147483648}\n', "outside Go's int32 gcPercent"),
        (b'{"goheap_trace": 2, "procs": 0}\n', r"'procs' 0 is outside 1 to 2\^31-1"),
    ],
)
def test_bad_headers(data: bytes, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        open_trace_bytes(data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read"):
        open_trace(tmp_path / "nope.trace")


# --- fuzzing --------------------------------------------------------------------------


def _sample_trace(fmt: str) -> bytes:
    recs: list[list[Any]] = [
        [OP_TYPE, 0, "T", 16, [0, 8]],
        [1, 0, ["main.f", "main.main"]],
        [OP_ALLOC, 0, 16, 0, None, None, 0],
        [OP_PUSH, 0, 0],
        [OP_ALLOC, 1, 5],
        [OP_ALLOC, 2, 7, None, 0],
        [OP_PTR, 0, 8, 1, 2],
        [4, "g", 2],
        [OP_DEAD, 1],
        [13, 50],
        [14, 1000],
        [OP_GC],
        [17],
    ]
    return encode_records(recs, fmt=fmt, header=HEADER)


SAMPLES = {
    "ndjson": _sample_trace("ndjson"),
    "binary": _sample_trace("binary"),
    "gzip": gzip.compress(_sample_trace("binary"), mtime=0),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(SAMPLES)),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from("sdi")),
        min_size=1,
        max_size=6,
    ),
    cut=st.none() | st.integers(0, 10_000),
)
def test_fuzz_reader_raises_only_trace_errors(
    kind: str, edits: list[tuple[int, int, str]], cut: int | None
) -> None:
    data = bytearray(SAMPLES[kind])
    for pos, byte, op in edits:
        i = pos % (len(data) + 1)
        if op == "s" and i < len(data):
            data[i] = byte
        elif op == "d" and i < len(data):
            del data[i]
        else:
            data.insert(i, byte)
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    try:
        reader = open_trace_bytes(bytes(data), "fuzz")
        for _ in reader:
            pass
    except TraceError:
        pass


# Wrong values for any field. Integers stay below 2**41: an 'adv' of 2**64 ns is
# valid, and the model would spend hours running a forced GC every 2 minutes.
_GARBAGE = st.sampled_from([None, -1, "x", True, 1.5, [0, "a"], {"a": 1}, 1 << 40])
_KIND_VALUES: dict[str, st.SearchStrategy[Any]] = {
    INT: st.integers(0, 12),
    SINT: st.integers(-2, 200),
    STR: st.sampled_from(["main.T", "g1", "g2", ""]),
    BOOL: st.booleans(),
    INTS: st.lists(st.sampled_from([0, 8, 16, 24]), max_size=3),
    STRS: st.lists(st.sampled_from(["main.f", "main.main"]), max_size=3),
}
_SPECIAL: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("alloc", "size"): st.sampled_from([0, 1, 5, 8, 12, 16, 32, 48, 64, 96, 500, 40_000]),
    ("ptr", "off"): st.sampled_from([0, 8, 16]),
    ("type", "size"): st.sampled_from([0, 8, 16, 24, 32]),
    ("adv", "ns"): st.integers(0, 10**10),
    ("word", "val"): st.integers(0, (1 << 64) - 1),
}


_ID_FIELDS = {"id", "obj", "to"}
_OPS = [spec for spec in BY_OP if spec.name != "end"]
_WEIGHTS = [6 if spec.name in ("alloc", "ptr") else 1 for spec in _OPS]


_PRELUDE: list[list[Any]] = [
    [OP_TYPE, 0, "main.T", 16, [0, 8]],
    [OP_TYPE, 1, "main.U", 32, [8]],
    [OP_TYPE, 2, "main.B", 8, []],
    [1, 0, ["main.f", "main.main"]],
    [1, 1, ["main.g"]],
    [OP_ALLOC, 0, 16, 0],
    [OP_ALLOC, 1, 48],
    [OP_ALLOC, 2, 64, 1, None, None, 1],
]
_REFS: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("alloc", "type"): st.sampled_from([0, 0, 1, 2, 9]),
    ("alloc", "stack"): st.integers(0, 1),
    ("type", "tid"): st.integers(3, 40),
    ("stack", "sid"): st.integers(2, 40),
}


@st.composite
def _plausible_records(draw: st.DrawFn) -> list[list[Any]]:
    """A program of mostly well-formed records: ids allocated in order, then used."""
    allocated = 3
    records: list[list[Any]] = list(_PRELUDE)
    choices = [s for s, w in zip(_OPS, _WEIGHTS, strict=True) for _ in range(w)]
    for _ in range(draw(st.integers(0, 60))):
        spec = draw(st.sampled_from(choices))
        rec: list[Any] = [spec.op]
        for f in spec.fields:
            key = (spec.name, f.name)
            if not f.required and draw(st.integers(0, 3)) == 0:
                value = None
            elif draw(st.integers(0, 40)) == 0:
                value = draw(_GARBAGE)
            elif key == ("alloc", "id"):
                value = allocated
                allocated += 1
            elif f.name in _ID_FIELDS:
                value = draw(st.integers(0, max(allocated - 1, 0)))
            elif key in _REFS:
                value = draw(_REFS[key])
            else:
                value = draw(_SPECIAL.get(key, _KIND_VALUES[f.kind]))
            rec.append(value)
        records.append(rec)
    return records


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=_plausible_records(),
    liveness=st.sampled_from(["graph", "lifetime"]),
)
def test_fuzz_replay_raises_only_trace_errors(records: list[list[Any]], liveness: str) -> None:
    """Any sequence of records: applied, or one TraceError, and the heap intact."""
    with Heap(profile="go1.8", procs=2, liveness=liveness) as h:
        rp = Replayer(h)
        try:
            # Through the binary reader, which checks the shape.
            rp.replay(open_trace_bytes(encode_records(records), "fuzz"))
        except TraceError as e:
            assert e.offset is not None
        h.check()


# --- bounded memory --------------------------------------------------------------------


def churn_records(
    steps: int, ring: int, *, deaths: bool, rooted: bool, smallest: int = 8
) -> Iterator[list[Any]]:
    """A churn-like program: a ring of `ring` slots, each step replacing one object."""
    x = 88172645463325252
    mask = (1 << 64) - 1
    if rooted:
        yield [OP_TYPE, 0, "[]unsafe.Pointer", 8, [0]]
        yield [OP_ALLOC, 0, 8 * ring, 0]
        yield [OP_PUSH, 0, 0]
    slots: list[int | None] = [None] * ring
    for i in range(steps):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        oid = i + 1
        yield [OP_ALLOC, oid, smallest + x % 3000]
        if rooted:
            yield [OP_PTR, 0, 8 * (i % ring), oid]
        old = slots[i % ring]
        if deaths and old is not None:
            yield [OP_DEAD, old]
        slots[i % ring] = oid


@pytest.mark.parametrize(
    ("liveness", "deaths", "rooted"),
    [("lifetime", True, False), ("graph", True, True), ("graph", False, True)],
)
def test_id_maps_stay_bounded(liveness: str, deaths: bool, rooted: bool) -> None:
    steps, ring = 60_000, 200
    sizes: list[int] = []
    with Heap(profile="go1.8", liveness=liveness) as h:
        rp = Replayer(h, purge_min=2_000)

        def check(_: int) -> None:
            sizes.append(len(rp.id2addr))
            assert len(rp.addr2id) <= len(rp.id2addr)

        # Tiny objects only where the heap handles them (test_lifetime_tiny_block_reused).
        smallest = 8 if liveness == "graph" else 16
        records = churn_records(steps, ring, deaths=deaths, rooted=rooted, smallest=smallest)
        rp.apply(records, progress=check)
        assert h.read_memstats().Mallocs == steps + (1 if rooted else 0)
        sizes.append(len(rp.id2addr))
        sizes.append(rp.peak_ids)
    assert max(sizes) <= 4 * 2_000 + 2 * ring, sizes


def test_recorder_id_map_stays_bounded(tmp_path: Path) -> None:
    """Graph mode, no deaths declared: the recorder forgets freed objects by itself."""

    def program(h: Heap) -> None:
        ring = h.make(Type("unsafe.Pointer", 8, [0]), 100)
        h.g.push(ring)
        for i in range(40_000):
            h.write_pointer(ring, 8 * (i % 100), h.malloc(16 + (i * 7919) % 3000))

    with Heap(profile="go1.8") as h:
        rec = TraceRecorder(TraceWriter(tmp_path / "t.bin", header=HEADER), purge_min=1_000)
        rec.attach(h)
        program(h)
        # Unswept garbage is still allocated, so the map follows HeapObjects, not live data
        assert rec.purges > 0
        assert max(rec.peak_ids, len(rec.addr2id)) < 10_000
        h.gc()
        rec.purge()
        assert len(rec.addr2id) == 101  # the ring and what it holds
        rec.close()
    assert replay_results(tmp_path / "t.bin")["memstats"]["Mallocs"] == 40_001


def test_lifetime_tiny_block_reused() -> None:
    recs = [[OP_ALLOC, 0, 8], [OP_DEAD, 0], [OP_ALLOC, 1, 4], [OP_GC], [OP_DEAD, 1]]
    with Heap(profile="go1.8", liveness="lifetime") as h:
        replay_into(h, open_trace_bytes(encode_records(recs)))
        assert h.read_memstats().Mallocs == 2


@pytest.mark.slow
def test_long_lifetime_trace_bounded(tmp_path: Path) -> None:
    """Two million events stream through in bounded memory."""
    import tracemalloc

    path = tmp_path / "long.bin"
    with TraceWriter(path, header=HEADER) as w:
        for rec in churn_records(1_000_000, 1000, deaths=True, rooted=False, smallest=16):
            w.record(rec[0], *rec[1:])
    tracemalloc.start()
    try:
        with Heap(profile="go1.8", liveness="lifetime") as h:
            rp = Replayer(h)
            peaks: list[int] = []
            rp.replay(open_trace(path), progress=lambda _: peaks.append(len(rp.id2addr)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert max(peaks) <= 1001
    assert peak < 64 << 20


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"\xc1", r"byte \d+: record 1 is not valid msgpack \(byte 0xc1 or another byte"),
        (b"\x91" * 2000, r"record 1 is not valid msgpack \(arrays or maps nested deeper"),
        (b"\x81\x01\x02", r"record 1 is not valid msgpack \(int is not allowed for map key"),
    ],
)
def test_msgpack_errors_say_what_and_where(tail: bytes, message: str) -> None:
    """msgpack raises some errors with no message: the reader says what, which and where."""
    data = encode_records([]) + tail
    with pytest.raises(TraceError, match=message) as err, open_trace_bytes(data) as r:
        list(r)
    assert err.value.offset == len(encode_records([]))


def test_a_bad_binary_header_is_named() -> None:
    with pytest.raises(TraceError, match=r"byte 8: the header is not valid msgpack \(byte 0xc1"):
        open_trace_bytes(MAGIC + b"\xc1")
