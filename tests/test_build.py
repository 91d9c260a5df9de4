"""The optional compiled build: which build runs, staleness, and that it stays compilable."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import goheap
from goheap import _native, build
from goheap.cli import cli

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _fake_build(pkg: Path, sources: dict[str, str]) -> None:
    """A package dir with sources, an 'extension' per source and a manifest of their hashes."""
    records = {}
    for rel, text in sources.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
        (pkg / (rel[: -len(".py")] + SUFFIX)).write_bytes(b"\x7fELF")
        st = os.stat(pkg / rel)
        records[rel] = {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "sha256": _native.file_digest(str(pkg / rel)),
        }
    manifest = {
        "format": _native.MANIFEST_FORMAT,
        "ext_suffix": SUFFIX,
        "modules": [build.module_name(rel) for rel in sources],
        "extensions": [rel[: -len(".py")] + SUFFIX for rel in sources],
        "sources": records,
    }
    (pkg / _native.MANIFEST).write_text(json.dumps(manifest))


def test_version_says_which_build_runs() -> None:
    out = CliRunner().invoke(cli, ["--version"]).output
    assert out.startswith(f"goheap, version {goheap.__version__} (")
    status = goheap.build_status()
    assert ("compiled with mypyc" in out) == status.compiled
    if status.compiled:
        from goheap import heap

        assert heap.__file__ is not None and heap.__file__.endswith(SUFFIX)


def test_not_compiled_is_pure_without_a_warning(tmp_path: Path) -> None:
    (tmp_path / "heap.py").write_text("x = 1\n")
    d = _native.decide(str(tmp_path))
    assert not d.status.compiled and not d.use_sources and d.warning is None


def test_a_current_build_is_used(tmp_path: Path) -> None:
    _fake_build(tmp_path, {"heap.py": "x = 1\n", "runtime/go18/mspan.py": "y = 2\n"})
    d = _native.decide(str(tmp_path))
    assert d.status.compiled and not d.use_sources and d.warning is None
    assert d.status.modules == ("goheap.heap", "goheap.runtime.go18.mspan")
    # GOHEAP_PURE: the sources, quietly.
    d = _native.decide(str(tmp_path), pure=True)
    assert not d.status.compiled and d.use_sources and d.warning is None


def test_an_edited_source_makes_the_build_stale(tmp_path: Path) -> None:
    _fake_build(tmp_path, {"heap.py": "x = 1\n", "runtime/go18/mspan.py": "y = 2\n"})
    src = tmp_path / "runtime" / "go18" / "mspan.py"
    # Touched (a checkout, an editor saving unchanged text): the hash decides, still current.
    os.utime(src, ns=(1, 1))
    assert _native.decide(str(tmp_path)).status.compiled
    src.write_text("y = 3\n")
    d = _native.decide(str(tmp_path))
    assert not d.status.compiled and d.use_sources
    assert d.warning is not None and "runtime/go18/mspan.py changed" in d.warning
    src.unlink()
    assert "removed" in str(_native.decide(str(tmp_path)).warning)


def test_missing_or_foreign_extensions_are_not_used(tmp_path: Path) -> None:
    _fake_build(tmp_path, {"heap.py": "x = 1\n"})
    (tmp_path / ("heap" + SUFFIX)).unlink()
    assert "missing" in str(_native.decide(str(tmp_path)).warning)
    _fake_build(tmp_path, {"heap.py": "x = 1\n"})
    m = json.loads((tmp_path / _native.MANIFEST).read_text())
    m["ext_suffix"] = ".cpython-399-x86_64-linux-gnu.so"
    (tmp_path / _native.MANIFEST).write_text(json.dumps(m))
    assert "built for .cpython-399" in str(_native.decide(str(tmp_path)).warning)
    # Extension files and no manifest (an interrupted build): the sources, with a warning.
    (tmp_path / _native.MANIFEST).unlink()
    d = _native.decide(str(tmp_path))
    assert d.use_sources and d.warning is not None and "without _compiled.json" in d.warning


def test_the_source_finder_loads_py_files_only(tmp_path: Path) -> None:
    spec = _native._finder.find_spec("goheap.runtime.go18.mspan")
    assert spec is not None and spec.origin is not None and spec.origin.endswith("mspan.py")
    assert _native._finder.find_spec("goheap.runtime") is None  # packages: the usual finder
    assert _native._finder.find_spec("numpy") is None


def test_clean_removes_extensions_and_manifest(tmp_path: Path) -> None:
    _fake_build(tmp_path, {"heap.py": "x = 1\n", "runtime/go18/mspan.py": "y = 2\n"})
    removed = build.clean(str(tmp_path))
    assert removed[0] == _native.MANIFEST and len(removed) == 3
    assert not _native.extension_files(str(tmp_path))
    assert (tmp_path / "heap.py").exists()


def test_the_build_depends_on_every_source_it_imports() -> None:
    sources = build.compiled_sources()
    assert "heap.py" in sources and os.path.join("runtime", "go127", "malloc.py") in sources
    assert not any(os.path.basename(s) == "__init__.py" for s in sources)
    deps = build.dependencies(sources)
    # Final constants and types the compiled code was built against live here too.
    for rel in ("errors.py", "sizeclasses.py", os.path.join("profiles", "go127.py")):
        assert rel in deps
    assert "__init__.py" not in deps and "_native.py" not in deps and "cli.py" not in deps


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="needs mypy")
def test_the_compiled_modules_pass_mypy_strict(tmp_path: Path) -> None:
    """What `python -m goheap.build` compiles must type-check strictly (mypyc relies on it)."""
    from mypy import api

    pkg = Path(build.PACKAGE_DIR)
    paths = [str(pkg / rel) for rel in build.compiled_sources()]
    out, err, status = api.run(
        ["--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path), *paths]
    )
    assert status == 0, out + err


def test_an_uncompiled_install_says_once_that_a_fast_build_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(_native, "_status", _native.BuildStatus(False, "not compiled (...)"))
    first = _native.pure_build_notice(str(tmp_path / "pkg"))
    assert first is not None and "python -m goheap.build" in first and "once" in first
    assert _native.pure_build_notice(str(tmp_path / "pkg")) is None  # once per install
    assert _native.pure_build_notice(str(tmp_path / "other")) is not None  # another install
    # A choice (GOHEAP_PURE) or a stale build (which warns itself) gets no notice.
    for reason in ("GOHEAP_PURE is set", "the compiled build is out of date: x"):
        monkeypatch.setattr(_native, "_status", _native.BuildStatus(False, reason))
        assert _native.pure_build_notice(str(tmp_path / "third")) is None


def test_auto_build_without_tools_says_why_and_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's first command goes on to `goheap run` on a machine with no compiler."""

    def no_compiler() -> str:
        raise build.BuildError("no C compiler found (cc or gcc, or set CC)")

    monkeypatch.setattr(
        _native, "decide", lambda: _native.Decision(_native.BuildStatus(False, "x"), False)
    )
    monkeypatch.setattr(build, "_check_tools", no_compiler)
    monkeypatch.setattr(build, "build", lambda **kw: pytest.fail("must not compile"))
    assert build.main(["--auto"]) == 0
    out = capsys.readouterr().out
    assert "no C compiler found" in out and "pure-Python build" in out


def test_auto_build_of_a_current_build_does_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        _native, "decide", lambda: _native.Decision(_native.BuildStatus(True, "compiled"), False)
    )
    monkeypatch.setattr(build, "build", lambda **kw: pytest.fail("must not compile"))
    assert build.main(["--auto"]) == 0
    assert "current" in capsys.readouterr().out


def test_auto_build_that_fails_leaves_the_pure_build_and_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(**kw: object) -> dict[str, object]:
        raise build.BuildError("mypyc failed")

    monkeypatch.setattr(
        _native, "decide", lambda: _native.Decision(_native.BuildStatus(False, "x"), False)
    )
    monkeypatch.setattr(build, "_check_tools", lambda: "2.4")
    monkeypatch.setattr(build, "build", failing)
    assert build.main(["--auto"]) == 0
    assert "pure-Python build" in capsys.readouterr().out
    assert build.main([]) == 1  # asked for explicitly, a failed build is an error


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_jobs_is_one_error_line_and_exit_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        build.main(["-j", value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith(
        f"argument -j/--jobs: expected a positive number of jobs, got {value!r}"
    )
    assert "Traceback" not in err


def test_the_build_runs_one_c_file_per_module_on_every_cpu_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[dict[str, object]] = []

    def fake(**kw: object) -> dict[str, object]:
        asked.append(kw)
        raise build.BuildError("not this time")

    monkeypatch.setattr(build, "build", fake)
    assert build.main([]) == 1
    assert build.main(["--no-multi-file", "-j", "1", "--opt-level", "2"]) == 1
    assert [(kw["multi_file"], kw["jobs"], kw["opt_level"]) for kw in asked] == [
        (True, None, "3"),  # build() takes None as one compiler per CPU
        (False, 1, "2"),
    ]
    assert build.default_jobs() >= 1
