"""`goheap validate --profile go1.8` against a live Go 1.8 (goheap.validate.go18).

How the toolchain is found (--go, the cached build, a build from the source
tarball, else one error line), and, with a Go 1.8 at hand (marked
``gotoolchain``; skipped without one), that the go1.8 path really runs the
Go 1.8 twins of tests/oracle/go18 on Go 1.8.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from goheap.errors import GoheapError
from goheap.validate import go18, render, toolchain
from goheap.validate.cases import QUICK
from goheap.validate.toolchain import PROGRAMS, Toolchain, default_cache_dir
from goheap.workloads import get_workload


@pytest.fixture
def no_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither $GOHEAP_GO18_SRC nor a ../shared/go1.8 beside the checkout."""
    monkeypatch.delenv(go18.SRC_ENV, raising=False)
    monkeypatch.setattr(go18, "_checkout_tarball", lambda: tmp_path / "none" / go18.TARBALL)


def fake_go(path: Path, version: str) -> Path:
    """A script that answers `go version` like a toolchain of that version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho 'go version {version} linux/amd64'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_is_go18() -> None:
    assert go18.is_go18("go1.8") and go18.is_go18("go1.8.7")
    assert not any(map(go18.is_go18, ["go1.27.3", "go1.18", "go1.80", "go1.8rc1", "1.8"]))


def test_source_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tarball = tmp_path / go18.TARBALL
    tarball.write_bytes(b"")
    monkeypatch.setenv(go18.SRC_ENV, str(tmp_path))  # the directory holding it
    assert go18.find_source() == tarball
    monkeypatch.setenv(go18.SRC_ENV, str(tarball))  # or the file itself
    assert go18.find_source() == tarball
    monkeypatch.setenv(go18.SRC_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(GoheapError, match=r"GOHEAP_GO18_SRC=.*elsewhere: no go1.8.src.tar.gz"):
        go18.find_source()


def test_the_cached_build_is_used(tmp_path: Path, no_source: None) -> None:
    cached = fake_go(tmp_path / "go1.8" / "go" / "bin" / "go", "go1.8")
    assert go18.find_go18(None, tmp_path) == cached


def test_a_broken_cached_build_without_source_is_one_error(tmp_path: Path, no_source: None) -> None:
    fake_go(tmp_path / "go1.8" / "go" / "bin" / "go", "go1.27.3")
    said: list[str] = []
    with pytest.raises(GoheapError, match=r"no Go 1\.8 toolchain: pass --go PATH"):
        go18.find_go18(None, tmp_path, log=said.append)
    assert said and "not a working Go 1.8 (go1.27.3)" in said[0]


def test_explicit_go_wins(tmp_path: Path, no_source: None) -> None:
    go = fake_go(tmp_path / "mine" / "bin" / "go", "go1.8.3")
    assert go18.find_go18(str(go), tmp_path / "cache") == go.resolve()


def test_not_go18_source_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "go").mkdir()
    (tmp_path / "go" / "VERSION").write_text("go1.9")
    src = tmp_path / go18.TARBALL
    with tarfile.open(src, "w:gz") as tar:
        tar.add(tmp_path / "go", arcname="go")
    boot = Toolchain(tmp_path / "boot", "go1.27.3", tmp_path, "linux", "amd64")
    monkeypatch.setattr(go18, "probe_toolchain", lambda go: boot)
    with pytest.raises(GoheapError, match=r"not the Go 1\.8 source"):
        go18.build_toolchain(src, tmp_path / "cache" / "go1.8", tmp_path / "boot")
    assert not (tmp_path / "cache" / "go1.8").exists()
    assert os.listdir(tmp_path / "cache") == []  # nothing half-built is left behind


def test_no_go18_is_one_line_and_status_2(
    goheap: Any, tmp_path: Path, no_source: None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["validate", "--quick", "--profile", "go1.8", "--cache-dir", str(tmp_path)]
    assert goheap(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("goheap: error: --profile go1.8: no Go 1.8")
    assert "--go PATH" in err and go18.SRC_ENV in err and str(tmp_path / "go1.8") in err


def test_bad_source_variable_is_one_line_and_status_2(
    goheap: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(go18.SRC_ENV, str(tmp_path / "nothing-here"))
    args = ["validate", "--quick", "--profile", "go1.8", "--cache-dir", str(tmp_path)]
    assert goheap(args) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"goheap: error: ${go18.SRC_ENV}={tmp_path / 'nothing-here'}: no {go18.TARBALL} there\n"
    )


def test_ci_helper_says_why_it_skips(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != go18.SRC_ENV}
    env["GOHEAP_CACHE_DIR"] = str(tmp_path)
    env[go18.SRC_ENV] = str(tmp_path / "missing")
    proc = subprocess.run(
        [sys.executable, "-m", "goheap.validate.go18"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("go1.8: error: $GOHEAP_GO18_SRC=")


# --- with a live Go 1.8 ----------------------------------------------------------------


def live_go18() -> Path | None:
    """A Go 1.8 already built: $GOHEAP_GO18 (a go binary), else the default cache's."""
    env = os.environ.get("GOHEAP_GO18")
    path = Path(env) if env else default_cache_dir() / "go1.8" / "go" / "bin" / "go"
    return path if path.is_file() else None


GO18 = live_go18()
NO_GO18 = "no Go 1.8 built (python -m goheap.validate.go18, or set GOHEAP_GO18)"


@pytest.mark.gotoolchain
@pytest.mark.skipif(GO18 is None, reason=NO_GO18)
def test_go18_profile_runs_the_go18_twins_on_go18(goheap: Any, tmp_path: Path) -> None:
    assert GO18 is not None
    out = tmp_path / "v.json"
    args = ["validate", "--quick", "retain", "--runs", "1", "--profile", "go1.8"]
    args += ["--go", str(GO18), "--cache-dir", str(tmp_path / "cache"), "--json", str(out)]
    assert goheap(args) == 0
    report = json.loads(out.read_text())
    assert report["go"]["version"] == "go1.8" and report["profile"] == "go1.8"
    assert Path(report["programs"]["bin"]).name.startswith("go1.8-")
    (case,) = report["cases"]
    assert case["real"]["go_version"] == "go1.8"  # the twin's own runtime.Version()
    # The program's own allocations: the slice and count objects, nothing of the runtime's.
    by = {r["metric"]: r for r in case["rows"]}
    assert by["Mallocs"]["real_values"] == [QUICK["retain"]["count"] + 1]
    assert by["Mallocs"]["verdict"] == "exact"


@pytest.mark.gotoolchain
@pytest.mark.skipif(GO18 is None, reason=NO_GO18)
def test_go18_twins_take_the_models_parameters(tmp_path: Path) -> None:
    assert GO18 is not None
    tc = go18.probe(GO18)
    oracle = Path(__file__).resolve().parent / "oracle"
    programs = go18.build_programs(tc, oracle, tmp_path)
    for name in PROGRAMS:
        proc = subprocess.run(
            [str(programs.path(name)), "-h"], capture_output=True, text=True, timeout=60
        )
        flags = dict.fromkeys(re.findall(r"^  -([\w-]+)", proc.stderr, re.M), "0")
        for flag, default in re.findall(r"^  -([\w-]+).*\n.*\(default (\S+)\)$", proc.stderr, re.M):
            flags[flag] = default
        assert flags.pop("sample") == "1000" and flags.pop("warmup") == "true", name
        assert flags.pop("memstats-mb") == "0" and flags.pop("series") == "0", name
        if name == "fragmentation":
            assert flags.pop("nelems") == "0"
        model = {k: str(v) for k, v in get_workload(name).defaults().items()}
        assert flags == model, name


def test_each_profile_has_its_own_generated_section() -> None:
    report = {
        "go": {"version": "go1.8", "target": "linux/amd64"},
        "profile": "go1.8",
        "gogc": "100",
        "memlimit": None,
        "runs": 3,
        "quick": True,
        "widen": 0.05,
        "cases": [],
        "summary": {"ok": 0, "miss": 0, "unavailable": 0},
    }
    begin, end = render.markers("go1.8")
    assert "--profile go1.8" in begin and "--profile go1.8" in end
    assert render.markers("go1.27") == (render.BEGIN, render.END)
    doc = f"{render.BEGIN}\ngo1.27 table\n{render.END}\n\n{begin}\nold\n{end}\n"
    new = render.refresh_doc(doc, report)
    assert "go1.27 table" in new and "old" not in new
    assert "real: go1.8 linux/amd64, 3 run(s) each" in new and new.endswith(f"{end}\n")
    with pytest.raises(ValueError, match=r"--profile go1\.8: begin"):
        render.refresh_doc(f"{render.BEGIN}\n{render.END}\n", report)


def test_each_set_of_twins_is_hashed_apart(tmp_path: Path) -> None:
    oracle = tmp_path / "oracle"
    for rel in ("go.mod", "churn/main.go", "go18/churn/main.go", "probe/x/main.go"):
        (oracle / rel).parent.mkdir(parents=True, exist_ok=True)
        (oracle / rel).write_text(rel)
    modern, old = toolchain.source_hash(oracle), go18.source_hash(oracle / "go18")
    (oracle / "go18" / "churn" / "main.go").write_text("changed")
    assert toolchain.source_hash(oracle) == modern  # go1.27's runs stay cached
    # A calibration probe, new or changed, is not a twin: the runs stay cached.
    (oracle / "calibrate" / "sysmon").mkdir(parents=True)
    (oracle / "calibrate" / "sysmon" / "main.go").write_text("probe")
    assert toolchain.source_hash(oracle) == modern
    assert go18.source_hash(oracle / "go18") != old
    (oracle / "churn" / "main.go").write_text("changed")
    assert toolchain.source_hash(oracle) != modern


@pytest.mark.gotoolchain
@pytest.mark.skipif(GO18 is None, reason=NO_GO18)
def test_go18_quick_set_counts_are_go18s(goheap: Any, tmp_path: Path) -> None:
    """Every twin allocates what its model does, on Go 1.8's size classes, draw for draw."""
    assert GO18 is not None
    out = tmp_path / "v.json"
    args = ["validate", "--quick", "--runs", "1", "--profile", "go1.8", "--go", str(GO18)]
    assert goheap([*args, "--cache-dir", str(tmp_path / "cache"), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [c["workload"] for c in report["cases"]] == list(PROGRAMS)
    for case in report["cases"]:
        name = case["workload"]
        (real,) = case["real"]["figures"]
        sim = case["sim"]["figures"]
        frame = 1 if name == "finalizers" else 0  # Go 1.8's runFinalizers frame, 16 B
        assert real["Mallocs"] == sim["Mallocs"] + frame, name
        assert real["TotalAlloc"] == sim["TotalAlloc"] + 16 * frame, name
        real_classes = {size: m for size, m, _ in real["BySize"] if m}
        sim_classes = {size: m for size, m, _ in sim["BySize"] if m}
        if frame:
            sim_classes[16] = sim_classes.get(16, 0) + 1
        assert real_classes == sim_classes, name
        if name in ("churn", "large", "service"):  # the same xorshift64 draws
            assert case["real"]["result"] == case["sim"]["result"], name
    finalizers = next(c for c in report["cases"] if c["workload"] == "finalizers")
    after = finalizers["real"]["result"]["after_gc"]
    count = QUICK["finalizers"]["count"]
    assert [a["finalizers_run"] for a in after] == [count] * 3
    assert after[0]["HeapObjects"] - after[1]["HeapObjects"] == count  # freed by the 2nd GC
