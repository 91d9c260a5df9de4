"""Compile goheap's hot modules with mypyc, in place -- or remove the compiled build.

    python -m goheap.build              compile (needs mypy and a C compiler)
    python -m goheap.build --clean      remove the compiled modules: pure Python again
    python -m goheap.build --status     say which build `import goheap` uses, and why
    python -m goheap.build --list       the modules that are compiled
    python -m goheap.build --auto       compile if this install can and is not compiled
                                        yet (the README's first command); never fails

Compiling is optional: goheap is plain, fully typed Python and runs as it is.
Compiled, the same source runs several times faster (benchmarks/RESULTS.md),
with the same numbers. What is compiled: ``heap``, ``mutator``, ``xorshift``,
every module of ``runtime/`` (both versions) and ``workloads/`` -- the code a
simulated allocation runs through -- except package ``__init__`` files and
the versions' constants (``profile.py``); and the trace replayer's per-event
loop and reader (``trace/replay.py``, ``trace/reader.py``).

Each module becomes a C file of its own (``--multi-file``, the default) and
``--jobs`` C compilers (one per CPU) compile them at once: that takes about
a third less CPU time than one C file for everything, spread over the
cores, and the result runs as fast (benchmarks/RESULTS.md).
``--no-multi-file -j 1`` is the one-file build.

The build type-checks those modules with mypy, turns them into C with mypyc
and compiles that, all in a temporary directory; only when everything
succeeded are the extension modules moved next to their sources (each by an
atomic rename) and ``_compiled.json`` written: the modules, and a hash of
every goheap source the build depended on. ``import goheap`` uses the
compiled modules only while all those sources are unchanged; after an edit
it runs pure Python and warns until you compile again (or clean). A failed
build changes nothing. ``GOHEAP_PURE=1`` runs pure Python regardless.

It works wherever the package's files are writable: an editable install
(``pip install -e .``, files in ``src/goheap``) or a regular one.
"""

from __future__ import annotations

import argparse
import ast
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

from goheap import _native
from goheap.runtime.common import wordmem

PACKAGE_DIR = _native.PACKAGE_DIR

#: Which modules are compiled: these, and everything below these directories.
COMPILED_FILES = (
    "heap.py",
    "mutator.py",
    "xorshift.py",
    os.path.join("trace", "replay.py"),  # the replay loop: a call into the heap per event
    os.path.join("trace", "reader.py"),  # ... and the reader's per-record checks
    os.path.join("trace", "scan.py"),  # ... and its scanners, a loop over bytes
)
COMPILED_DIRS = ("runtime", "workloads")
#: Modules below those directories that stay Python: a version's constants
#: (``runtime/*/profile.py``), frozen dataclasses read once at start-up, and
#: the native kernel's Python side (``wordmem.py``: compiled code calls its C).
UNCOMPILED_NAMES = ("__init__.py", "profile.py", "wordmem.py")

# Runs in a subprocess, in the directory holding the goheap package: mypyc's
# and setuptools' global state stay out of the caller's process.
_BUILD_SCRIPT = """
import json, os, sys, time
from concurrent.futures import ThreadPoolExecutor
from setuptools import setup
from mypyc.build import mypycify

a = json.loads(sys.argv[1])
kernel = False
try:  # goheap's native kernel (runtime/common/wordmem.py): calls become inline C
    from mypyc.ir.deps import HeaderDep
    from mypyc.ir.ops import ERR_MAGIC
    from mypyc.ir.rtypes import c_int_rprimitive, int_rprimitive, object_rprimitive
    from mypyc.primitives.registry import ERR_NEG_INT, function_op

    dep = HeaderDep(a["kernel_header"], internal=False)
    for name, cname in a["kernel"].items():
        store = name.startswith("store")
        # bit(x, i) and setbit(x, i) take two ints, ctz64(x) one; the others a
        # memoryview first.
        if name == "ctz64":
            args = [int_rprimitive]
        elif name in ("bit", "setbit"):
            args = [int_rprimitive, int_rprimitive]
        else:
            args = [object_rprimitive, int_rprimitive] + [int_rprimitive] * store
        function_op(
            name=f"{a['kernel_module']}.{name}",
            arg_types=args,
            return_type=c_int_rprimitive if store else int_rprimitive,
            c_function_name=cname,
            error_kind=ERR_NEG_INT if store else ERR_MAGIC,
            dependencies=[dep],
        )
    kernel = True
except (ImportError, TypeError) as e:  # another mypyc: plain calls, the same results
    print(f"goheap.build: mypyc took no native kernel ({e})", file=sys.stderr)

def compile_at_once(self, sources, output_dir=None, macros=None, include_dirs=None, debug=0,
                    extra_preargs=None, extra_postargs=None, depends=None):
    # CCompiler.compile with `jobs` compilers at once (mypyc's C files, --multi-file).
    macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
        output_dir, macros, include_dirs, sources, depends, extra_postargs
    )
    cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)
    todo = sorted(  # the largest first: the last to finish is a small one
        ((o, *build[o]) for o in objects if o in build), key=lambda t: -os.path.getsize(t[1])
    )
    with ThreadPoolExecutor(a["jobs"]) as pool:
        for f in [
            pool.submit(self._compile, o, src, ext, cc_args, extra_postargs, pp_opts)
            for o, src, ext in todo
        ]:
            f.result()
    return objects


if a["jobs"] > 1:  # setuptools compiles one extension's C files one after another
    import importlib
    # "distutils" (what build_ext uses) and "setuptools._distutils" can be two
    # copies of the same module, each with its own CCompiler: patch both.
    for name in ("distutils.ccompiler", "setuptools._distutils.ccompiler"):
        try:
            importlib.import_module(name).CCompiler.compile = compile_at_once
        except ImportError:  # that one is not there: one file at a time, the same build
            pass
t0 = time.perf_counter()
exts = mypycify(
    ["--config-file", a["config"], *a["paths"]],
    opt_level=a["opt_level"],
    group_name=a["group"],
    target_dir=a["cdir"],
    multi_file=a["multi_file"],
)
# mypyc writes a dotted group's headers below its package directory but
# includes them from the module files at the top (--multi-file): look there too.
for ext in exts:
    ext.include_dirs.append(os.path.join(a["cdir"], *a["group"].split(".")[:-1]))
t1 = time.perf_counter()
setup(
    name="goheap-compiled",
    ext_modules=exts,
    script_args=["build_ext", "--build-lib", a["lib"], "--build-temp", a["tmp"]]
    + (["--parallel", str(a["jobs"])] if a["jobs"] > 1 else []),
)
with open(a["times"], "w") as f:
    json.dump({"mypyc": t1 - t0, "cc": time.perf_counter() - t1, "kernel": kernel}, f)
"""

#: The native kernel's C (wordmem.h), hashed with the sources: an edit makes the build stale.
KERNEL_HEADER = os.path.join("runtime", "common", wordmem.HEADER)

_MYPY_CONFIG = """[mypy]
follow_imports = silent
ignore_missing_imports = True
cache_dir = {cache}
"""


class BuildError(Exception):
    """The compiled build could not be made (nothing was changed)."""


class InstallError(Exception):
    """The compiled modules were made but could not all be installed."""


def compiled_sources(pkg_dir: str = PACKAGE_DIR) -> list[str]:
    """The source files that are compiled, relative to the package directory."""
    out = [f for f in COMPILED_FILES if os.path.isfile(os.path.join(pkg_dir, f))]
    for top in COMPILED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(pkg_dir, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py") and name not in UNCOMPILED_NAMES:
                    out.append(os.path.relpath(os.path.join(dirpath, name), pkg_dir))
    return out


def module_name(rel: str) -> str:
    """goheap's module of a source path relative to the package directory."""
    parts = rel[: -len(".py")].split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["goheap", *parts])


def _module_file(name: str, pkg_dir: str) -> str | None:
    """The source of goheap module name (relative to the package), if it is one."""
    parts = name.split(".")[1:]
    for rel in (
        (os.path.join(*parts, "__init__.py"), os.path.join(*parts) + ".py")
        if parts
        else ("__init__.py",)
    ):
        if os.path.isfile(os.path.join(pkg_dir, rel)):
            return rel
    return None


def _imports(rel: str, pkg_dir: str) -> set[str]:
    """goheap sources that rel imports anywhere (top level, functions, TYPE_CHECKING)."""
    with open(os.path.join(pkg_dir, rel)) as f:
        tree = ast.parse(f.read(), rel)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    out: set[str] = set()
    for name in names:
        if name != "goheap" and not name.startswith("goheap."):
            continue
        # A package's __init__ runs whenever one of its modules is imported.
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            found = _module_file(".".join(parts[:i]), pkg_dir)
            if found is not None:
                out.add(found)
    return out


def dependencies(sources: list[str], pkg_dir: str = PACKAGE_DIR) -> list[str]:
    """The compiled sources and every goheap source they import, transitively.

    Not the package's ``__init__`` and ``_native``: they choose the build and
    import no compiled module's names into one.
    """
    seen: set[str] = {"__init__.py", "_native.py"}
    todo = list(sources)
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        todo.extend(_imports(rel, pkg_dir) - seen)
    return sorted(seen - {"__init__.py", "_native.py"})


def _file_record(path: str) -> dict[str, object]:
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _native.file_digest(path)}


def _check_tools() -> str:
    """mypy's version, or BuildError saying what is missing."""
    try:
        import mypy.version
        import mypyc.build  # noqa: F401
    except ImportError:
        raise BuildError("mypy (with mypyc) is not installed: pip install mypy") from None
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        raise BuildError("no C compiler found (cc or gcc, or set CC)")
    return str(mypy.version.__version__)


def _install(src: str, dst: str) -> None:
    """Copy src over dst atomically (a running process keeps the old file it mapped)."""
    tmp = f"{dst}.tmp{os.getpid()}"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def default_jobs() -> int:
    """C compilers to run at once: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _jobs(text: str) -> int:
    """-j's value: a positive number (argparse reports anything else and exits 2)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of jobs, got {text!r}")
    return n


def clean(pkg_dir: str = PACKAGE_DIR) -> list[str]:
    """Remove the compiled modules and the manifest; returns what was removed."""
    removed: list[str] = []
    manifest = os.path.join(pkg_dir, _native.MANIFEST)
    if os.path.exists(manifest):
        os.remove(manifest)  # first: a half-removed build is never taken as current
        removed.append(_native.MANIFEST)
    for rel in _native.extension_files(pkg_dir):
        os.remove(os.path.join(pkg_dir, rel))
        removed.append(rel)
    return removed


def build(
    *,
    pkg_dir: str = PACKAGE_DIR,
    opt_level: str = "3",
    jobs: int | None = None,
    multi_file: bool = True,
    verbose: bool = False,
    keep: bool = False,
    say: Callable[[str], None] = print,
) -> dict[str, object]:
    """Compile in a temporary directory, then install; returns the manifest written.

    ``jobs`` C compilers run at once (None: one per CPU); ``multi_file``
    gives each module its own C file, which is what lets them run at once.
    """
    mypy_version = _check_tools()
    jobs = default_jobs() if jobs is None else max(1, jobs)
    sources = compiled_sources(pkg_dir)
    say(f"compiling {len(sources)} modules with mypyc ({jobs} at a time; a minute or two)...")
    # Hash before compiling: an edit made while the build runs makes it stale at once.
    records = {
        rel: _file_record(os.path.join(pkg_dir, rel))
        for rel in [*dependencies(sources, pkg_dir), KERNEL_HEADER]
    }
    work = tempfile.mkdtemp(prefix="goheap-build-")
    try:
        seconds, times = _compile(
            work, os.path.dirname(pkg_dir), sources, opt_level, jobs, multi_file, verbose
        )
        built_dir = os.path.join(work, "lib", "goheap")
        built = _built_extensions(built_dir, sources)
        manifest_path = os.path.join(pkg_dir, _native.MANIFEST)
        _install_extensions(built_dir, built, pkg_dir, manifest_path)
        manifest: dict[str, object] = {
            "format": _native.MANIFEST_FORMAT,
            "built": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": sys.version.split()[0],
            "ext_suffix": importlib.machinery.EXTENSION_SUFFIXES[0],
            "mypy": mypy_version,
            "opt_level": opt_level,
            "multi_file": multi_file,
            "jobs": jobs,
            "build_seconds": round(seconds, 1),
            "mypyc_seconds": round(times["mypyc"], 1),  # type-check and generate C
            "cc_seconds": round(times["cc"], 1),  # compile and link
            "native_kernel": bool(times.get("kernel")),  # wordmem's calls compiled to C
            "modules": [module_name(rel) for rel in sources],
            "extensions": built,
            "sources": records,
        }
        _write_manifest(manifest_path, manifest)
        return manifest
    finally:
        if keep:
            print(f"build directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _compile(
    work: str,
    root: str,
    sources: list[str],
    opt_level: str,
    jobs: int,
    multi_file: bool,
    verbose: bool,
) -> tuple[float, dict[str, float]]:
    """mypyc and the C compiler, in a subprocess, into work/lib: (seconds, times by step)."""
    config = os.path.join(work, "mypy.ini")
    with open(config, "w") as f:
        f.write(_MYPY_CONFIG.format(cache=os.path.join(work, "mypy_cache")))
    args = {
        "config": config,
        "paths": [os.path.join("goheap", rel) for rel in sources],
        "opt_level": opt_level,
        "group": _native.GROUP_NAME,
        "cdir": os.path.join(work, "c"),
        "lib": os.path.join(work, "lib"),
        "tmp": os.path.join(work, "tmp"),
        "multi_file": multi_file,
        "jobs": jobs,
        "times": os.path.join(work, "times.json"),
        "kernel": wordmem.PRIMITIVES,
        "kernel_module": wordmem.__name__,
        "kernel_header": os.path.join(os.path.abspath(root), "goheap", KERNEL_HEADER),
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _BUILD_SCRIPT, json.dumps(args)],
        cwd=root,
        capture_output=not verbose,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        log = os.path.join(tempfile.gettempdir(), "goheap-build.log")
        with open(log, "w") as f:
            f.write((proc.stdout or "") + (proc.stderr or ""))
        tail = [ln for ln in (proc.stdout or "").splitlines() if ": error:" in ln][:10]
        detail = ("\n  " + "\n  ".join(tail)) if tail else ""
        raise BuildError(f"the build failed (nothing was changed; full log: {log}){detail}")
    with open(os.path.join(work, "times.json")) as f:
        times: dict[str, float] = json.load(f)
    return seconds, times


def _built_extensions(built_dir: str, sources: list[str]) -> list[str]:
    """The extension modules the build made; a BuildError if one of sources has none."""
    built = _native.extension_files(built_dir)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    expected = {rel[: -len(".py")] + suffix for rel in sources}
    missing = expected - set(built)
    if missing:
        raise BuildError(f"the build made no {', '.join(sorted(missing))} (nothing was changed)")
    return built


def _install_extensions(built_dir: str, built: list[str], pkg_dir: str, manifest_path: str) -> None:
    """Move the built modules beside their sources, the old manifest removed first.

    The manifest is written last (by the caller), so an interrupted install
    is never taken as current.
    """
    try:
        if os.path.exists(manifest_path):
            os.remove(manifest_path)
        for rel in built:
            _install(os.path.join(built_dir, rel), os.path.join(pkg_dir, rel))
        for rel in _native.extension_files(pkg_dir):
            if rel not in built:  # left over from an earlier build of other modules
                os.remove(os.path.join(pkg_dir, rel))
    except OSError as e:
        raise InstallError(str(e)) from None


def _write_manifest(manifest_path: str, manifest: dict[str, object]) -> None:
    """Write the manifest by an atomic rename: the build is current from that moment."""
    tmp_manifest = f"{manifest_path}.tmp{os.getpid()}"
    try:
        with open(tmp_manifest, "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp_manifest, manifest_path)
    except OSError as e:
        raise InstallError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m goheap.build",
        description="Compile goheap's hot modules with mypyc, in place (optional).",
    )
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--clean", action="store_true", help="remove the compiled modules")
    what.add_argument("--status", action="store_true", help="which build import goheap uses")
    what.add_argument("--list", action="store_true", help="the modules that are compiled")
    what.add_argument(
        "--auto",
        action="store_true",
        help="compile only if needed and possible; otherwise say why and exit 0",
    )
    ap.add_argument("--opt-level", default="3", choices="0123", help="C optimisation (-O)")
    ap.add_argument(
        "-j", "--jobs", type=_jobs, default=None, help="C compilers at once (default: one per CPU)"
    )
    ap.add_argument(
        "--multi-file",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one C file per module (the default; --no-multi-file: one file for all)",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="show mypyc's and cc's output")
    ap.add_argument("--keep", action="store_true", help="keep the temporary build directory")
    a = ap.parse_args(argv)
    if a.list:
        for rel in compiled_sources():
            print(module_name(rel))
        return 0
    if a.status:
        st = _native.status()
        print(f"goheap {st.describe()}")
        return 0 if st.compiled else 1
    if a.clean:
        try:
            removed = clean()
        except OSError as e:
            print(f"goheap.build: cannot remove the compiled modules: {e}", file=sys.stderr)
            return 1
        print(
            f"removed {len(removed)} files; goheap is pure Python"
            if removed
            else "nothing to remove"
        )
        return 0
    if a.auto:
        if _native.decide().status.compiled:  # a current build on disk (GOHEAP_PURE aside)
            print("goheap: the compiled build is current; nothing to do")
            return 0
        try:
            _check_tools()
        except BuildError as e:
            print(f"goheap: {e}: goheap runs the pure-Python build (slower, the same numbers)")
            return 0
    code = _build_and_report(a)
    if code and a.auto:
        print("goheap: the build failed (above); goheap runs the pure-Python build")
        return 0
    return code


def _build_and_report(a: argparse.Namespace) -> int:
    """Compile as the command line asks; print the outcome; 0 if compiled."""
    try:
        m = build(
            opt_level=a.opt_level,
            jobs=a.jobs,
            multi_file=a.multi_file,
            verbose=a.verbose,
            keep=a.keep,
            say=lambda line: print(line, flush=True),
        )
    except BuildError as e:
        print(f"goheap.build: {e}", file=sys.stderr)
        print(f"goheap is unchanged: {_native.status().describe()}", file=sys.stderr)
        return 1
    except InstallError as e:  # e.g. the package directory is read-only
        print(f"goheap.build: cannot install the compiled modules: {e}", file=sys.stderr)
        print("goheap runs pure Python until a build or --clean succeeds", file=sys.stderr)
        return 1
    print(
        f"compiled {len(compiled_sources())} modules in {m['build_seconds']} s "
        f"(mypyc {m['mypyc_seconds']} s, C compiler {m['cc_seconds']} s; mypy {m['mypy']}, "
        f"-O{m['opt_level']}); `import goheap` now uses them"
    )
    if not m["native_kernel"]:
        print("note: this mypyc took no native kernel (wordmem.h): slower, the same numbers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
