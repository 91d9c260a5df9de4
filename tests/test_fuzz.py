"""Fuzz suites on a fixed seed: hostile input is one clear error, never a traceback.

Each suite is hypothesis with ``derandomize=True`` (the same examples on
every run, so CI cannot fail by chance) and a bounded example count, so
the default suite stays fast. A longer run, for an audit:

    HYPOTHESIS_FUZZ_EXAMPLES=5000 GOHEAP_PURE=1 python -m pytest tests/test_fuzz.py

(any count; the examples are then drawn afresh, not derandomized).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from goheap import Heap, Type
from goheap.cli import main
from goheap.errors import GoheapError
from goheap.pprof.reader import parse_heap_profile
from goheap.trace import encode_records, open_trace_bytes, replay_into
from goheap.trace.format import BY_OP
from goheap.workloads import parse_params
from goheap.workloads.churn import CHURN

_LONG = int(os.environ.get("HYPOTHESIS_FUZZ_EXAMPLES", "0"))
DATA = Path(__file__).parent / "data"


def fuzz(examples: int) -> Any:
    """Settings of one suite: fixed seed and ``examples`` examples, or a long fresh run."""
    return settings(
        max_examples=_LONG or examples,
        derandomize=not _LONG,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


def assert_one_line_error(rc: int, err: str) -> None:
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("goheap: error: "), err
    assert "Traceback" not in err


# --- the CLI ---------------------------------------------------------------------

_VALUES = st.one_of(
    st.sampled_from(["", "-1", "0x10", "1_000", "1e3", "10**12", "9" * 30, "nan", "off", "-"]),
    st.text(max_size=12),
    st.integers(-(2**70), 2**70).map(str),
)


@fuzz(40)
@given(
    option=st.sampled_from(["--gogc", "--memlimit", "--procs", "--param", "--memprofilerate"]),
    value=_VALUES,
)
def test_cli_run_bad_values(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A hostile option value: refused in one line (exit 2), or a tiny run that works."""
    # A short run (500 steps): a hostile value that is accepted, such as a memory
    # limit of a few bytes, makes the collector run at almost every step. A number
    # of steps the parser accepts is a run of that length: nothing hostile, only long.
    args = ["run", "churn", "--param", "k=2", "--json", os.devnull]
    if option == "--param":
        with contextlib.suppress(GoheapError):
            assume(parse_params(CHURN, [f"steps={value}"])["steps"] <= 500)
        args += ["--param", f"steps={value}"]
    else:
        args += ["--param", "steps=500", option, value]
    rc = main(args)
    err = capsys.readouterr().err
    if rc != 0:
        assert_one_line_error(rc, err)


# --- traces ----------------------------------------------------------------------

NODE = Type("Node", size=16, pointers=[0, 8])
_FIELD = st.one_of(
    st.integers(-3, 40),
    st.integers(-(2**64), 2**64),
    st.sampled_from([0xC000000000, 0xC000002000, 1 << 62, 1 << 63]),
    st.text(max_size=4),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-2, 2**40), max_size=3),
)


@st.composite
def records(draw: st.DrawFn) -> list[list[Any]]:
    """Records with real opcodes and fields anywhere from plausible to hostile."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        spec = draw(st.sampled_from(BY_OP))
        n = draw(st.integers(max(spec.min_len - 1, 0), spec.max_len))
        out.append([spec.op, *(draw(_FIELD) for _ in range(n))])
    return out


def _replay(data: bytes, profile: str) -> None:
    with Heap(profile=profile) as h:
        try:
            with open_trace_bytes(data) as r:
                replay_into(h, r)
        except GoheapError:
            pass
        h.check()


@fuzz(60)
@given(recs=records(), profile=st.sampled_from(["go1.8", "go1.27"]))
def test_fuzzed_records_replay_or_fail_cleanly(recs: list[list[Any]], profile: str) -> None:
    try:
        data = encode_records(recs)
    except (GoheapError, TypeError, ValueError, OverflowError):
        return  # the writer refused to encode it: nothing to read
    _replay(data, profile)


@fuzz(60)
@given(
    cut=st.integers(0, 64),
    flips=st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)), max_size=4),
    tail=st.binary(max_size=24),
)
def test_mutated_trace_bytes_fail_cleanly(
    cut: int, flips: list[tuple[int, int]], tail: bytes
) -> None:
    data = bytearray(encode_records([]))
    for pos, byte in flips:
        if pos < len(data):
            data[pos] = byte
    _replay(bytes(data[: len(data) - cut % 8]) + tail, "go1.8")


# --- heap profiles ---------------------------------------------------------------

_PROFILES = [p.read_bytes() for p in sorted((DATA / "pprof").glob("rate*"))]


@fuzz(60)
@given(
    which=st.integers(0, len(_PROFILES) - 1),
    flips=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 1 << 16),
)
def test_mutated_heap_profiles_fail_cleanly(
    which: int, flips: list[tuple[int, int]], cut: int
) -> None:
    raw = bytearray(_PROFILES[which])
    for pos, byte in flips:
        raw[pos % len(raw)] = byte
    data = bytes(raw[: max(1, len(raw) - cut % len(raw))])
    with contextlib.suppress(GoheapError):
        parse_heap_profile(data, "fuzzed")


# --- the API, step by step with check() ------------------------------------------

_STEP = st.one_of(
    st.tuples(st.just("malloc"), st.sampled_from([0, 1, 8, 16, 48, 4096, 40000, 1 << 20])),
    st.tuples(st.just("new"), st.just(0)),
    st.tuples(st.just("link"), st.integers(0, 50)),
    st.tuples(st.just("root"), st.integers(0, 50)),
    st.tuples(st.just("drop"), st.integers(0, 50)),
    st.tuples(st.just("gc"), st.just(0)),
    st.tuples(st.just("advance"), st.sampled_from([1, 10**6, 10**9, 3 * 60 * 10**9])),
    # Numbers no Go program can pass: negative, or past int64.
    st.tuples(st.just("bad"), st.integers(-(2**65), -1) | st.integers(2**63, 2**65)),
)


@fuzz(30)
@given(profile=st.sampled_from(["go1.8", "go1.27"]), steps=st.lists(_STEP, min_size=1, max_size=40))
def test_random_api_steps_keep_every_invariant(profile: str, steps: list[tuple[str, int]]) -> None:
    with Heap(profile=profile) as h:
        objs: list[int] = []
        for op, arg in steps:
            if op == "malloc":
                objs.append(h.malloc(arg))
            elif op == "new":
                objs.append(h.new(NODE))
            elif op == "link" and len(objs) >= 2:
                a, b = objs[arg % len(objs)], objs[-1]
                if h.find_object(a) and h.find_object(b):
                    # A pointer-free object: refused, as Go's types would.
                    with contextlib.suppress(GoheapError):
                        h.write_pointer(a, 0, b)
            elif op == "root" and objs:
                x = objs[arg % len(objs)]
                if h.find_object(x):
                    h.set_global(f"g{arg}", x)
            elif op == "drop" and f"g{arg}" in h.globals:
                h.drop_global(f"g{arg}")
            elif op == "gc":
                h.gc()
            elif op == "advance":
                h.advance(arg)
            elif op == "bad":
                for call, args in (
                    (h.malloc, (arg,)),
                    (h.advance, (arg,)),
                    (h.write_word, (arg, 0, 1)),
                    (h.set_gc_percent, (arg,)),
                ):
                    with contextlib.suppress(GoheapError):
                        call(*args)
            h.check()
