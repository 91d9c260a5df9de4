"""The package rules of goheap.runtime (see its docstring), checked on the source.

Every import counts: at module level, inside functions and under
``TYPE_CHECKING``. A type-only import runs nowhere, but it is still a
dependency a reader and mypy follow: a runtime typed against the facade
above it could not be read, or checked, without it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import goheap

SRC = Path(goheap.__file__).resolve().parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, imported module, names) for every import statement in the file."""
    tree = ast.parse(path.read_text(), str(path))
    pkg = _module_name(path)
    if path.name != "__init__.py":
        pkg = pkg.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [a.name for a in node.names]
            yield node.lineno, mod, names
            for n in names:  # "from goheap.runtime import mspan" imports a module
                yield node.lineno, f"{mod}.{n}", []


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _under(mod: str, pkg: str) -> bool:
    return mod == pkg or mod.startswith(pkg + ".")


def _violations(src_pkg: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for name, path in _modules().items():
        if not _under(name, src_pkg):
            continue
        for line, mod, _ in _imports(path):
            if any(_under(mod, f) for f in forbidden):
                out.append(f"{path.relative_to(SRC.parent)}:{line}: imports {mod}")
    return out


def test_go18_never_imports_go127() -> None:
    assert _violations("goheap.runtime.go18", ("goheap.runtime.go127",)) == []


def test_go127_never_imports_go18() -> None:
    assert _violations("goheap.runtime.go127", ("goheap.runtime.go18",)) == []


def test_common_imports_neither_version() -> None:
    forbidden = ("goheap.runtime.go18", "goheap.runtime.go127")
    assert _violations("goheap.runtime.common", forbidden) == []


def test_no_private_name_imported_across_runtime_modules() -> None:
    """A Go ``_`` name another module uses is spelled without the underscore."""
    out = []
    for name, path in _modules().items():
        if not _under(name, "goheap.runtime"):
            continue
        for line, mod, names in _imports(path):
            if not mod.startswith("goheap"):
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    out.append(f"{path.relative_to(SRC.parent)}:{line}: {n} from {mod}")
    assert out == []


#: What sits above the runtime: the facade, the profiles that build it, and
#: everything that drives or reports on a heap.
ABOVE_RUNTIME = (
    "goheap.heap",
    "goheap.mutator",
    "goheap.profiles",
    "goheap.cli",
    "goheap.report",
    "goheap.runner",
    "goheap.inspect",
    "goheap.timeline",
    "goheap.pprof",
    "goheap.validate",
    "goheap.trace",
    "goheap.workloads",
    "goheap.compare",
    "goheap.calibrate",
    "goheap.costs",
)


def test_runtime_never_imports_the_layers_above() -> None:
    assert _violations("goheap.runtime", ABOVE_RUNTIME) == []


#: The three parts that must import one way only: heap -> profiles -> runtime.
PARTS = {
    "heap": ("goheap.heap", "goheap.mutator"),
    "profiles": ("goheap.profiles",),
    "runtime": ("goheap.runtime",),
}


def _part(mod: str) -> str | None:
    for part, pkgs in PARTS.items():
        if any(_under(mod, p) for p in pkgs):
            return part
    return None


def test_no_import_cycle_among_heap_profiles_runtime() -> None:
    edges: dict[str, set[str]] = {p: set() for p in PARTS}
    where: dict[tuple[str, str], str] = {}
    for name, path in _modules().items():
        src = _part(name)
        if src is None:
            continue
        for line, mod, _ in _imports(path):
            dst = _part(mod)
            if dst is not None and dst != src:
                edges[src].add(dst)
                where.setdefault((src, dst), f"{path.relative_to(SRC.parent)}:{line}")
    # Kahn: repeatedly drop the parts nothing left imports.
    left = dict(edges)
    while True:
        free = [p for p in left if not any(p in deps for q, deps in left.items() if q != p)]
        if not free:
            break
        for p in free:
            del left[p]
    cycle = {(a, b): where[(a, b)] for a in left for b in edges[a] if b in left}
    assert cycle == {}
    assert edges == {"heap": {"profiles", "runtime"}, "profiles": {"runtime"}, "runtime": set()}


def test_only_the_profiles_import_a_version_package() -> None:
    """Shared code (heap, reports, commands) reaches a version only through its profile."""
    versions = ("goheap.runtime.go18", "goheap.runtime.go127")
    out = []
    for name, path in _modules().items():
        if _under(name, "goheap.runtime") or _under(name, "goheap.profiles"):
            continue
        for line, mod, _ in _imports(path):
            if any(_under(mod, v) for v in versions):
                out.append(f"{path.relative_to(SRC.parent)}:{line}: imports {mod}")
    assert out == []
