"""SIGINT and SIGTERM: workers end with the command, and an interrupted record keeps a valid trace.

Issue 15, item 5: SIGTERM to ``compare`` orphaned its workers, and SIGINT
to the parent alone took two minutes to act.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

GOHEAP = [sys.executable, "-m", "goheap.cli"]
LONG = ["--param", "steps=50000000"]  # minutes of work: it only ends by the signal


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


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_compare_ends_its_workers_promptly(signum: int, status: int) -> None:
    """The signal goes to the parent alone, as `kill` sends it; the workers go with it."""
    cmd = [*GOHEAP, "compare", "churn", *LONG, "--gogc", "50,100", "-j", "2"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(children(p.pid)) == 2, "two workers")
    workers = children(p.pid)
    time.sleep(0.3)  # both are running their run
    seconds, err = stop(p, signum)
    assert p.returncode == status, err
    assert err.splitlines() == [f"goheap: interrupted ({signal.Signals(signum).name})"]
    assert seconds < 5
    wait_for(lambda: all(gone(w) for w in workers), "the workers to end", timeout=5)
