"""Which build of goheap's runtime is imported: the compiled one (mypyc) or pure Python.

``python -m goheap.build`` compiles goheap's hot modules (``heap``,
``mutator``, ``runtime/``, ``workloads/``, the trace replayer) with mypyc into extension modules
next to their sources, and writes ``_compiled.json``: which modules it
compiled and a hash of every source the build read. Python's import system
prefers an extension module to a ``.py`` file of the same name, so a stale
extension would silently shadow newer source. ``select()``, run by
``goheap/__init__`` before anything else of goheap is imported, prevents
that: it uses the compiled modules only if every source still matches its
hash (a size and mtime check first, the hash only when they differ), and
otherwise makes the imports load the ``.py`` files instead and warns once,
saying how to rebuild or clean. ``GOHEAP_PURE=1`` asks for pure Python
whatever is compiled. ``status()`` says which build is running and why;
``goheap --version`` prints it.

This module is never compiled itself (it decides what is).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from dataclasses import dataclass
from types import ModuleType

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
MANIFEST = "_compiled.json"
MANIFEST_FORMAT = 1
#: mypyc's shared library of the build (every compiled module's code is in it).
GROUP_NAME = "goheap._compiled"
ENV_PURE = "GOHEAP_PURE"


class CompiledBuildWarning(UserWarning):
    """The compiled build is present but not used (out of date, or failed to load)."""


@dataclass(frozen=True)
class BuildStatus:
    """What ``import goheap`` chose: ``compiled`` modules are in use, or pure Python and why."""

    compiled: bool
    reason: str
    modules: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.compiled:
            return f"compiled with mypyc ({len(self.modules)} modules)"
        return f"pure Python: {self.reason}"


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Loads goheap's modules from their .py files, never from extension modules."""

    def find_spec(
        self,
        fullname: str,
        path: object = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("goheap."):
            return None
        parts = fullname.split(".")[1:]
        source = os.path.join(PACKAGE_DIR, *parts) + ".py"
        if not os.path.isfile(source):
            return None  # a package (its __init__.py is never compiled) or no such module
        return importlib.util.spec_from_file_location(fullname, source)


_finder = _SourceFinder()
_status = BuildStatus(False, "not decided yet")


def extension_files(pkg_dir: str = PACKAGE_DIR) -> list[str]:
    """Every extension module under the package (paths relative to it)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(pkg_dir):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if any(name.endswith(sfx) for sfx in importlib.machinery.EXTENSION_SUFFIXES):
                out.append(os.path.relpath(os.path.join(dirpath, name), pkg_dir))
    return sorted(out)


def file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_manifest(pkg_dir: str = PACKAGE_DIR) -> dict[str, object] | None:
    try:
        with open(os.path.join(pkg_dir, MANIFEST)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stale_reason(manifest: dict[str, object], pkg_dir: str) -> str | None:
    """Why the compiled build must not be used, or None if it is current."""
    if manifest.get("format") != MANIFEST_FORMAT:
        return "its manifest is of another format"
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    if manifest.get("ext_suffix") != suffix:
        return f"it was built for {manifest.get('ext_suffix')}, this Python loads {suffix}"
    extensions = manifest.get("extensions")
    sources = manifest.get("sources")
    if not isinstance(extensions, list) or not isinstance(sources, dict):
        return "its manifest is incomplete"
    for rel in extensions:
        if not os.path.isfile(os.path.join(pkg_dir, str(rel))):
            return f"{rel} is missing"
    for rel, rec in sources.items():
        path = os.path.join(pkg_dir, rel)
        try:
            st = os.stat(path)
        except OSError:
            return f"{rel} was removed since it was compiled"
        if st.st_size == rec["size"] and st.st_mtime_ns == rec["mtime_ns"]:
            continue
        if file_digest(path) != rec["sha256"]:
            return f"{rel} changed since it was compiled"
    return None


def _use_sources() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def _warn(message: str) -> None:
    argv = getattr(sys, "orig_argv", ())
    if "goheap.build" in argv:  # python -m goheap.build: about to rebuild or clean
        return
    warnings.warn(
        f"goheap: {message}; running pure Python. Recompile with `python -m goheap.build`, "
        "or remove the compiled modules with `python -m goheap.build --clean`.",
        CompiledBuildWarning,
        stacklevel=3,
    )


@dataclass(frozen=True)
class Decision:
    """What ``select`` does: the status, whether to load the sources, what to warn."""

    status: BuildStatus
    use_sources: bool
    warning: str | None = None


def decide(pkg_dir: str = PACKAGE_DIR, pure: bool = False) -> Decision:
    """Which build to load from pkg_dir (no side effects; ``select`` applies it)."""
    manifest = read_manifest(pkg_dir)
    if manifest is None:
        if extension_files(pkg_dir):
            return Decision(
                BuildStatus(False, "compiled files without a manifest"),
                True,
                "compiled modules without _compiled.json (an interrupted build?)",
            )
        return Decision(
            BuildStatus(False, "not compiled (`python -m goheap.build` compiles it)"), False
        )
    modules = manifest.get("modules")
    names = tuple(str(m) for m in modules) if isinstance(modules, list) else ()
    if pure:
        return Decision(BuildStatus(False, f"{ENV_PURE} is set", names), True)
    reason = _stale_reason(manifest, pkg_dir)
    if reason is not None:
        return Decision(
            BuildStatus(False, f"the compiled build is out of date: {reason}", names),
            True,
            f"the compiled build is out of date ({reason})",
        )
    return Decision(BuildStatus(True, "compiled", names), False)


def select(pkg_dir: str = PACKAGE_DIR) -> BuildStatus:
    """Decide which build the imports of goheap's modules load (see the module doc)."""
    global _status
    d = decide(pkg_dir, pure=os.environ.get(ENV_PURE, "") not in ("", "0"))
    _status = d.status
    if d.use_sources:
        _use_sources()
    if d.warning is not None:
        _warn(d.warning)
    return _status


def fall_back(error: BaseException) -> None:
    """The compiled modules failed to import: forget them and use the sources."""
    global _status
    keep = (__name__, "goheap.errors")  # imported before, and GoheapError must stay one class
    for name in list(sys.modules):
        if name.startswith("goheap.") and name not in keep:
            del sys.modules[name]
    _use_sources()
    _status = BuildStatus(False, f"the compiled modules failed to import: {error}", _status.modules)
    _warn(f"the compiled modules failed to import ({error})")


#: What the one-time notice of a pure-Python install says (``pure_build_notice``).
PURE_NOTICE = (
    "goheap: running the pure-Python build, several times slower than the compiled one "
    "(the same numbers). For the fast build: pip install -e '.[compile]' && "
    "python -m goheap.build (needs a C compiler). This note is shown once."
)


def _notice_marker(pkg_dir: str) -> str:
    """Where the notice is recorded as shown: the user's cache, one file per install."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.sha256(os.path.abspath(pkg_dir).encode()).hexdigest()[:16]
    return os.path.join(cache, "goheap", f"pure-build-noticed-{key}")


def pure_build_notice(pkg_dir: str = PACKAGE_DIR) -> str | None:
    """The notice to show, once per install, when goheap runs pure Python uncompiled.

    Only when nothing is compiled at all (an out-of-date build warns on its
    own, and ``GOHEAP_PURE`` is a choice); None once it has been shown, or
    when its marker cannot be written (then it would show every time).
    """
    if _status.compiled or not _status.reason.startswith("not compiled"):
        return None
    marker = _notice_marker(pkg_dir)
    if os.path.exists(marker):
        return None
    try:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker, "w") as f:
            f.write(f"{os.path.abspath(pkg_dir)}\n")
    except OSError:
        return None
    return PURE_NOTICE


def selected_compiled() -> bool:
    return _status.compiled


def status() -> BuildStatus:
    """Which build is running: compiled only if the compiled modules are the ones imported."""
    if not _status.compiled:
        return _status
    loaded = [
        m
        for m in _status.modules
        if m in sys.modules
        and str(getattr(sys.modules[m], "__file__", "")).endswith(
            tuple(importlib.machinery.EXTENSION_SUFFIXES)
        )
    ]
    if not loaded:
        return BuildStatus(False, "compiled modules present but none was imported", _status.modules)
    return _status
