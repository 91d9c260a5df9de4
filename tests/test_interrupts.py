"""SIGINT and SIGTERM: workers end with the command, and an interrupted record keeps a valid trace.

Issue 15, item 5: SIGTERM to ``compare`` orphaned its workers, SIGINT to
the parent alone took two minutes to act, and an interrupted ``record``
left a partial trace (once a gzip one with a bad checksum).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from goheap.cli import main
from goheap.interrupts import Interrupted, deferred_signals, safe_point, signals_call
from goheap.trace import TraceError, open_trace, open_trace_bytes
from goheap.trace.writer import TraceWriter, encode_records

GOHEAP = [sys.executable, "-m", "goheap.cli"]
LONG = ["--param", "steps=50000000"]  # minutes of work: it only ends by the signal


#: The commands a test started: the fixture below ends any still running.
SPAWNED: list[subprocess.Popen[str]] = []


def spawn(cmd: list[str]) -> subprocess.Popen[str]:
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    SPAWNED.append(p)
    return p


@pytest.fixture(autouse=True)
def _no_leftovers():
    """A test that fails halfway leaves no command, and no worker of one, running."""
    yield
    while SPAWNED:
        p = SPAWNED.pop()
        if p.poll() is None:
            for child in children(p.pid):
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
            p.kill()
            p.communicate()


def wait_for(cond, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def gone(pid: int) -> bool:
    """The process has ended (a zombie no parent reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def stop(p: subprocess.Popen[str], signum: int) -> tuple[float, str]:
    """Send the signal; (seconds until the process ended, its stderr)."""
    t0 = time.monotonic()
    p.send_signal(signum)
    try:
        _, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    return time.monotonic() - t0, err


PROFILE = Path(__file__).parent / "data" / "pprof" / "rate512k.pb.gz"
POOLS = {
    "compare": ["compare", "churn", *LONG, "--gogc", "50,100", "-j", "2"],
    "what-if": ["analyze", str(PROFILE), "--gogc", "50,100", "--budget", "60000000", "-j", "2"],
}


@pytest.mark.parametrize(
    ("command", "signum"),
    [("compare", signal.SIGTERM), ("compare", signal.SIGINT), ("what-if", signal.SIGTERM)],
)
def test_the_worker_processes_end_with_the_command(command: str, signum: int) -> None:
    """The signal goes to the parent alone, as `kill` sends it; the workers go with it."""
    p = spawn([*GOHEAP, *POOLS[command], "--json", os.devnull])
    wait_for(lambda: len(children(p.pid)) == 2, "two workers")
    workers = children(p.pid)
    time.sleep(0.3)  # both are running their run
    seconds, err = stop(p, signum)
    assert p.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == f"goheap: interrupted ({signal.Signals(signum).name})"
    assert seconds < 5
    wait_for(lambda: all(gone(w) for w in workers), "the workers to end", timeout=5)


def _stop_after_first(n: int) -> None:
    raise Interrupted(signal.SIGTERM)


def test_an_ended_pool_leaves_no_manager_thread_for_exit_to_wake() -> None:
    """After an interrupt the pool's manager thread has ended, its wakeup pipe closed.

    At exit ``concurrent.futures`` writes to the wakeup pipe of every manager
    thread still on record; one still ending closes that pipe under the write
    and Python prints a "Bad file descriptor" traceback under the one-line
    message (CI, the what-if SIGTERM case above, once in some tens of runs).
    """
    import threading
    from concurrent.futures.process import _ExecutorManagerThread

    from goheap.parallel import map_processes

    with pytest.raises(Interrupted):
        map_processes(time.sleep, [0.0, 30.0, 30.0], 2, _stop_after_first)
    managers = [t for t in threading.enumerate() if isinstance(t, _ExecutorManagerThread)]
    assert managers == []


def _record(tmp_path: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    out = tmp_path / name
    p = spawn([*GOHEAP, "record", "churn", *LONG, "-o", str(out)])
    wait_for(lambda: any(tmp_path.iterdir()), "the recording to start")
    time.sleep(1.0)  # some thousands of records, in the middle of the run
    return p, out


@pytest.mark.parametrize(
    ("name", "signum"),
    [("c.trace", signal.SIGINT), ("c.ndjson.gz", signal.SIGTERM), ("c.trace.gz", signal.SIGINT)],
)
def test_an_interrupted_record_keeps_a_readable_trace(
    tmp_path: Path, capsys, name: str, signum: int
) -> None:
    p, out = _record(tmp_path, name)
    _, err = stop(p, signum)
    assert p.returncode == 128 + signum, err
    lines = err.splitlines()
    assert len(lines) == 1 and "marked truncated" in lines[0] and str(out) in lines[0], err
    assert [f.name for f in tmp_path.iterdir()] == [name]  # no temporary file left
    if name.endswith(".gz"):
        gzip.decompress(out.read_bytes())  # whole, its checksum right
    reader = open_trace(out)
    n = sum(1 for _ in reader.records())
    assert n > 1000 and reader.ended and reader.truncated
    rc = main(["replay", str(out), "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert rc == 0
    assert err.count("the recording was cut short") == 1 and f"its {n:,} events" in err


def test_a_record_that_cannot_be_written_leaves_no_trace(tmp_path: Path) -> None:
    """A full disk mid-recording (here: a file-size limit) is one error, and no file."""

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    out = tmp_path / "c.trace"
    p = subprocess.run(
        [*GOHEAP, "record", "churn", "--param", "steps=200000", "-o", str(out)],
        capture_output=True, text=True, timeout=60, preexec_fn=small_files,
    )  # fmt: skip
    assert p.returncode == 2, p.stderr
    assert p.stderr.splitlines() == [f"goheap: error: cannot write {out}: File too large"]
    assert list(tmp_path.iterdir()) == []


class _SignalsInsideWrite(io.BytesIO):
    """A file whose writes (while ``hit``) are hit by SIGINT, in the middle of the write."""

    hit = True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        n = super().write(data[:1])
        if self.hit:
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs before this write returns
        return n + super().write(data[1:])


def test_a_signal_never_cuts_a_record_in_two() -> None:
    buf = _SignalsInsideWrite()
    buf.hit = False
    w = TraceWriter(buf, fmt="ndjson")
    buf.hit = True
    with signals_call(w.on_signal), pytest.raises(Interrupted):
        w.event("gc")
    buf.hit = False
    assert w.count == 1  # the record is whole, and counted
    w.end(truncated=True)
    w.close()
    reader = open_trace_bytes(buf.getvalue())
    assert [r[0] for r in reader.records()] == [11] and reader.truncated


def test_truncated_is_an_optional_boolean_of_end() -> None:
    assert not open_trace_bytes(encode_records([[11], [19, 1]])).truncated
    ok = open_trace_bytes(encode_records([[11], [19, 1, True]]))
    assert list(ok.records()) == [[11]] and ok.ended and ok.truncated
    bad = open_trace_bytes(encode_records([[11], [19, 1, 1]]))
    with pytest.raises(TraceError, match="'end' event needs true or false 'truncated'"):
        list(bad.records())


def test_a_simulation_takes_a_signal_at_its_next_safe_point() -> None:
    """Inside deferred_signals nothing is raised where the signal lands (compiled code may be
    running a C-API call there); the next safe point, or the block's end, raises it."""
    reached = []
    with pytest.raises(Interrupted) as caught, deferred_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler has run by now
        reached.append("after the signal")
        safe_point()
        reached.append("after the safe point")
    assert reached == ["after the signal"] and caught.value.signum == signal.SIGTERM
    with pytest.raises(Interrupted) as caught, deferred_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert caught.value.signum == signal.SIGINT  # raised at the end of the block
    with deferred_signals():
        safe_point()  # nothing pending: nothing raised


def test_a_timeline_sample_is_a_safe_point() -> None:
    from goheap import Heap
    from goheap.timeline import Timeline

    with Heap() as h:
        timeline = Timeline(h)
        with pytest.raises(Interrupted), deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            for _ in range(100_000):
                h.malloc(64)  # GCs start and end: samples
            pytest.fail("the interrupt was not taken at a sample")
        timeline.detach()
