"""Every command's outputs: checked together and against the inputs before any work, written whole.

Issue 15, items 3 and 4: outputs that replaced each other or the input,
``-`` taken for a file name, an output dropped without a word, and write
failures found only after the work, leaving a 0-byte file behind.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from goheap.cli import main

RUN = ["run", "retain", "--param", "count=10"]
RECORD = ["record", "retain", "--param", "count=10"]
PROFILE = Path(__file__).parent / "data" / "pprof" / "rate512k.pb.gz"


def one_error(capsys, argv: list[str], message: str) -> None:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, err
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("goheap: error:"), err
    assert message in lines[0], lines[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--json", "{x}", "--report", "{x}"], "--report {x}: the same file as --json {x}"),
        (["--json", "{x}", "--pprof", "{x}"], "--pprof {x}: the same file as --json {x}"),
    ],
    ids=["json=report", "json=pprof"],
)
def test_run_outputs_that_would_replace_each_other(
    capsys, tmp_path: Path, extra: list[str], message: str
) -> None:
    x = str(tmp_path / "x")
    one_error(capsys, [*RUN, *(a.format(x=x) for a in extra), "-f"], message.format(x=x))
    assert not Path(x).exists()  # refused before any work


def test_record_trace_and_json_in_one_file(capsys, tmp_path: Path) -> None:
    t = str(tmp_path / "t.trace")
    one_error(capsys, [*RECORD, "-o", t, "--json", t], f"-o {t}: the same file as --json {t}")
    assert not Path(t).exists()


def test_replay_never_writes_over_its_trace(capsys, tmp_path: Path) -> None:
    trace = tmp_path / "in.trace"
    assert main([*RECORD, "-o", str(trace)]) == 0
    capsys.readouterr()
    before = trace.read_bytes()
    for opt, force in (("--json", ["-f"]), ("--report", ["-f"]), ("--pprof", [])):
        one_error(  # with -f or without: that is not what is wrong
            capsys,
            ["replay", str(trace), opt, str(trace), *force],
            f"{opt} {trace}: the same file as the input TRACE {trace}",
        )
    assert trace.read_bytes() == before


def test_analyze_never_writes_over_its_profile(capsys, tmp_path: Path) -> None:
    profile = tmp_path / "heap.pb.gz"
    profile.write_bytes(PROFILE.read_bytes())
    one_error(
        capsys,
        ["analyze", str(profile), "--report", str(profile), "-f"],
        "the same file as the input PROFILE",
    )
    assert profile.read_bytes() == PROFILE.read_bytes()


def test_report_dash_is_stdout(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*RUN, "--report", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")  # no tables
    assert not (tmp_path / "-").exists()


def test_at_most_one_output_on_stdout(capsys) -> None:
    one_error(capsys, [*RECORD, "-o", "-", "--json", "-"], "only one output can go to standard")
    one_error(capsys, [*RUN, "--json", "-", "--report", "-"], "only one output can go to standard")


def test_record_to_stdout_still_writes_json_and_report(capsys, tmp_path: Path) -> None:
    js, html = tmp_path / "r.json", tmp_path / "r.html"
    argv = [*RECORD, "--format", "ndjson", "-o", "-", "--json", str(js), "--report", str(html)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(json.loads(line) for line in lines)  # the trace, and nothing else, on stdout
    assert json.loads(lines[-1])["ev"] == "end"
    assert json.loads(js.read_text())["trace"]["events"] > 0
    assert html.read_text().startswith("<!DOCTYPE html>")


def test_tables_to_a_full_stdout_are_one_error() -> None:
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [sys.executable, "-m", "goheap.cli", *RUN],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    assert p.returncode == 2
    assert p.stderr == "goheap: error: cannot write standard output: No space left on device\n"


def test_a_full_device_is_one_error(capsys) -> None:
    one_error(capsys, [*RUN, "--json", "/dev/full"], "cannot write /dev/full: No space left")
    one_error(capsys, [*RECORD, "-o", "/dev/full"], "cannot write /dev/full: No space left")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_an_unwritable_directory_is_refused_before_the_run(capsys, tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        one_error(capsys, [*RUN, "--report", str(tmp_path / "r.html")], "is not writable")
    finally:
        tmp_path.chmod(0o700)


def test_a_read_only_directory_is_refused_before_any_work(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    """As a non-root user sees it (root may write anywhere, so os.access says no here)."""
    import goheap.runner

    real_access = os.access

    def access(path: str, mode: int) -> bool:
        return False if Path(path) == tmp_path else real_access(path, mode)

    def no_run(*args: object, **kw: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(goheap.runner, "run_workload", no_run)
    one_error(capsys, [*RUN, "--json", str(tmp_path / "r.json")], "is not writable")


def _small_files() -> None:
    """In the child: files may not grow past 200 bytes, and a write past it fails (EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


@pytest.mark.parametrize("opt", ["--json", "--report", "--pprof", "-o"])
def test_a_failed_write_leaves_no_file_to_block_a_rerun(tmp_path: Path, opt: str) -> None:
    """As on a full disk: one error, no partial or empty file, and the rerun needs no -f."""
    path = tmp_path / "out"
    cmd = RECORD if opt == "-o" else RUN
    p = subprocess.run(
        [sys.executable, "-m", "goheap.cli", *cmd, opt, str(path)],
        capture_output=True, text=True, timeout=60, preexec_fn=_small_files,
    )  # fmt: skip
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    assert "cannot write" in p.stderr and "File too large" in p.stderr
    assert list(tmp_path.iterdir()) == []
    if opt == "-o":
        return  # a trace's failure is covered in test_trace_interrupts
    p = subprocess.run(
        [sys.executable, "-m", "goheap.cli", *cmd, opt, str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert path.stat().st_size > 200


def test_a_reader_that_stops_reading_stdout_is_no_error() -> None:
    """`goheap record ... -o - | head`: the pipe closes early; no error line, no traceback."""
    p = subprocess.Popen(
        [sys.executable, "-m", "goheap.cli", "record", "churn", "--format", "ndjson", "-o", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert p.stdout is not None and p.stderr is not None
    assert json.loads(p.stdout.readline())["goheap_trace"] == 3
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=60) in (0, 1)
    assert err == b""
