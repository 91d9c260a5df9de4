"""goheap compare / run --list / --memlimit / output rules across commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from goheap.cli import main


def test_compare_runs_each_setting_in_order(capsys) -> None:
    rc = main(
        [
            "compare",
            "binarytrees",
            "--param",
            "depth=9",
            "--profile",
            "go1.8",
            "--gogc",
            "10,off",
            "-j",
            "2",
            "--json",
            "-",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    runs = json.loads(out)["runs"]
    assert [r["gogc"] for r in runs] == [10, -1]
    assert runs[0]["memstats"]["NumGC"] > 0 and runs[1]["memstats"]["NumGC"] == 0
    # The same program: the same allocations whatever GOGC is.
    assert runs[0]["memstats"]["Mallocs"] == runs[1]["memstats"]["Mallocs"]
    assert runs[0]["peak"]["HeapInuse"] < runs[1]["peak"]["HeapInuse"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "nosuch"], "unknown workload"),
        (["compare", "retain", "--gogc", "abc"], "GOGC"),
        (["compare", "retain", "--param", "size=0"], "size"),
        (["compare", "retain", "--executor", "ray"], "ray"),
        (["compare", "retain", "-j", "-1"], "-j"),
        (["run", "retain", "--memlimit", "lots"], "--memlimit"),
    ],
)
def test_compare_and_options_bad_input_one_line(
    capsys, monkeypatch, args: list[str], message: str
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed, installed or not
    rc = main(args)
    out, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("goheap: error:"), err
    assert message in lines[0]


def test_memlimit_is_recorded_with_a_note_for_go18(capsys) -> None:
    args = ["run", "retain", "--param", "count=10", "--profile", "go1.8", "--memlimit", "64MiB"]
    rc = main([*args, "--json", "-"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert json.loads(out)["memlimit"] == 64 << 20
    assert err == (
        "goheap: note: GOMEMLIMIT=64MiB is recorded but has no effect: go1.8 has no memory "
        "limit (Go added GOMEMLIMIT in 1.19)\n"
    )


def test_memlimit_is_said_to_be_applied_under_go127(capsys) -> None:
    args = ["run", "retain", "--param", "count=10", "--profile", "go1.27", "--memlimit", "64MiB"]
    assert main([*args, "--json", "-"]) == 0
    err = capsys.readouterr().err
    assert err == "goheap: GOMEMLIMIT=64MiB applied (the runtime's soft memory limit)\n"
    assert main(["compare", "retain", "--param", "count=10", "--memlimit", "1GiB,off",
                 "--profile", "go1.8,go1.27", "-j", "1", "--json", "-"]) == 0  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "GOMEMLIMIT=1GiB is recorded but has no effect: go1.8" in err[0]
    assert err[1] == "goheap: GOMEMLIMIT=1GiB applied (the runtime's soft memory limit)"


def test_every_file_written_is_named_once(capsys, tmp_path: Path) -> None:
    """goheap: wrote PATH on stderr for each output file; nothing for standard output."""
    trace, js, html, pb = (tmp_path / n for n in ("t.trace", "r.json", "r.html", "h.pb.gz"))
    small = ["retain", "--param", "count=10"]
    assert main(["record", *small, "-o", str(trace), "--json", str(js), "--report", str(html)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == sorted(f"goheap: wrote {p}" for p in (trace, js, html))
    assert main(["replay", str(trace), "--pprof", str(pb), "--json", "-", "-f"]) == 0
    out, err = capsys.readouterr()
    assert err == f"goheap: wrote {pb}\n" and json.loads(out)["memstats"]["Mallocs"] > 0
    assert main(["run", *small, "--json", "-"]) == 0
    assert capsys.readouterr().err == ""  # standard output is not a file written
    assert main(["analyze", str(pb), "--json", str(js), "--report", str(html), "-f"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == sorted(f"goheap: wrote {p}" for p in (js, html))
    assert main(["compare", *small, "--gogc", "50,100", "-j", "1", "--json", str(js), "-f"]) == 0
    assert capsys.readouterr().err == f"goheap: wrote {js}\n"


def test_analyze_verbose_takes_no_value(capsys, tmp_path: Path) -> None:
    rc = main(["analyze", str(tmp_path / "none.pb.gz"), "--verbose=yes"])
    _, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("goheap: error:") and "--verbose" in err


def test_run_list_names_every_workload(capsys) -> None:
    from goheap.workloads import WORKLOADS

    assert main(["run", "--list"]) == 0
    out = capsys.readouterr().out
    for name in WORKLOADS:
        assert name in out


def test_outputs_checked_before_work(capsys, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    report.write_text("keep me")
    rc = main(["compare", "retain", "--report", str(report)])
    _, err = capsys.readouterr()
    assert rc == 2 and "exists" in err
    assert report.read_text() == "keep me"
    rc = main(["run", "retain", "--json", str(tmp_path / "no" / "such" / "dir.json")])
    _, err = capsys.readouterr()
    assert rc == 2 and "does not exist" in err


def test_help_shows_examples(capsys) -> None:
    for cmd in ("run", "record", "replay", "compare", "sizeclasses"):
        assert main([cmd, "--help"]) == 0
        assert "Examples:" in capsys.readouterr().out


def _doc(path: Path) -> dict:
    doc = json.loads(path.read_text())
    doc["sim"].pop("wall_s")
    doc.pop("result")  # the workload's own result vs the replay's event count
    doc.pop("trace", None)  # record adds where it wrote the trace
    doc.pop("kind")  # record or replay
    return doc


@pytest.mark.parametrize("name", ["t.trace", "t.ndjson", "t.ndjson.gz"])
def test_record_then_replay_gives_the_runs_numbers(capsys, tmp_path: Path, name: str) -> None:
    trace = tmp_path / name
    rec, rep = tmp_path / "rec.json", tmp_path / "rep.json"
    args = ["--param", "k=50", "--param", "steps=3000", "--gogc", "25"]
    assert main(["record", "churn", *args, "-o", str(trace), "--json", str(rec)]) == 0
    head = trace.read_bytes()[:2]
    assert head == b"\x1f\x8b" if name.endswith(".gz") else True
    assert (trace.read_bytes()[:1] == b"{") == name.endswith(".ndjson")
    capsys.readouterr()
    assert main(["replay", str(trace), "--json", str(rep)]) == 0
    err = capsys.readouterr().err
    assert "--gogc 25" in err  # taken from the trace's header, and said so
    assert _doc(rec) == _doc(rep)
    assert _doc(rep)["memstats"]["NumGC"] > 0
    # An explicit setting wins over the header.
    assert main(["replay", str(trace), "--gogc", "off", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["memstats"]["NumGC"] == 0


def test_replay_of_a_bad_trace_writes_the_results_so_far(capsys, tmp_path: Path) -> None:
    trace = tmp_path / "t.ndjson"
    assert main(["record", "churn", "--param", "steps=200", "-o", str(trace)]) == 0
    lines = trace.read_text().splitlines()
    lines.insert(120, '{"ev": "alloc", "id": "x"}')
    trace.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    out = tmp_path / "partial.json"
    rc = main(["replay", str(trace), "--json", str(out)])
    _, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("goheap: error:") and "line 121" in line
    doc = json.loads(out.read_text())
    assert doc["result"]["events"] == 119  # everything before the bad line, applied
    assert "line 121" in doc["error"]
    assert doc["memstats"]["Mallocs"] > 0


def test_record_refuses_to_overwrite(capsys, tmp_path: Path) -> None:
    trace = tmp_path / "t.trace"
    trace.write_bytes(b"precious")
    rc = main(["record", "churn", "-o", str(trace)])
    assert rc == 2 and "exists" in capsys.readouterr().err
    assert trace.read_bytes() == b"precious"


@pytest.mark.parametrize(
    "args",
    [
        ["retain", "--param", "size=600", "--param", "count=300", "--param", "pointers=1"],
        ["churn", "--param", "steps=4000", "--param", "k=100", "--gogc", "25"],
        ["churn", "--param", "steps=20000", "--gogc", "off", "--memlimit", "8MiB"],
    ],
)
def test_record_and_replay_under_go127(capsys, tmp_path: Path, args: list[str]) -> None:
    # Pointerful objects over 512 B carry a malloc header: their address is slot + 8.
    trace, rec, rep = tmp_path / "t.trace", tmp_path / "rec.json", tmp_path / "rep.json"
    assert main(["record", *args, "--profile", "go1.27", "-o", str(trace), "--json", str(rec)]) == 0
    assert main(["replay", str(trace), "--json", str(rep)]) == 0
    capsys.readouterr()
    assert _doc(rec)["profile"] == "go1.27"
    assert _doc(rec) == _doc(rep)  # the settings, GOMEMLIMIT too, come from the header


def test_memlimit_reaches_the_go127_heap(capsys) -> None:
    args = ["run", "churn", "--param", "steps=20000", "--profile", "go1.27", "--gogc", "off"]
    assert main([*args, "--json", "-"]) == 0
    unlimited = json.loads(capsys.readouterr().out)
    assert main([*args, "--memlimit", "8MiB", "--json", "-"]) == 0
    limited = json.loads(capsys.readouterr().out)
    assert unlimited["memstats"]["NumGC"] == 0
    assert limited["memlimit"] == 8 << 20 and limited["memstats"]["NumGC"] > 0
    assert limited["peak"]["HeapInuse"] < unlimited["peak"]["HeapInuse"]


def test_go127_header_objects_survive_the_id_map_purges(tmp_path: Path) -> None:
    """Objects behind a malloc header (address = slot + 8) are not stale ids."""
    from goheap import Heap
    from goheap.trace import Replayer, TraceRecorder, TraceWriter, open_trace
    from goheap.workloads import get_workload

    w = get_workload("retain")
    params = {"size": 600, "count": 400, "pointers": 1}
    path = tmp_path / "t.trace"
    with Heap(profile="go1.27") as h:
        rec = TraceRecorder(TraceWriter(str(path)), purge_min=16)
        rec.attach(h)
        w.run(h, params)  # every store names an object recorded long before a purge
        assert rec.purges > 0
        rec.close()
        want = h.read_memstats().to_dict()
    with Heap(profile="go1.27") as h:
        r = Replayer(h, purge_min=16)
        r.replay(open_trace(path))
        assert r.purges > 0
        assert h.read_memstats().to_dict() == want
