"""The commands and their helpers import downward: no cycles, nothing imports the CLI.

The graph is read from the source with ``ast`` (every import, including
those inside functions and under ``TYPE_CHECKING``), so an import moved
into a function to dodge a cycle still counts. It covers the packages
above the model; the runtime's own layering has a test of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "goheap"

# The packages and top-level modules this test holds to one-way imports.
COMMANDS_AND_HELPERS = frozenset(
    "goheap." + name
    for name in (
        "cli",
        "calibrate",
        "costs",
        "runner",
        "pprof",
        "validate",
        "report",
        "trace",
        "workloads",
        "compare",
        "timeline",
        "heapcensus",
        "outputs",
        "interrupts",
        "options",
        "cliopts",
        "document",
        "parallel",
        "xorshift",
    )
)
# Helpers at the bottom: they may import goheap.errors and nothing else of goheap.
BOTTOM_HELPERS = (
    "goheap.outputs",
    "goheap.options",
    "goheap.document",
    "goheap.parallel",
    "goheap.xorshift",
    "goheap.interrupts",
)


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted import name lands in (``a.b.func`` -> ``a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, path: Path) -> set[str]:
    """The dotted names module imports, anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            names.add(source)  # the package's __init__ runs too
            names.update(f"{source}.{a.name}" for a in node.names)
    return {n for n in names if n == "goheap" or n.startswith("goheap.")}


def module_graph() -> dict[str, set[str]]:
    """goheap module -> the goheap modules it imports."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        targets = {_resolve(n, modules) for n in _imported_names(module, path)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def _unit(module: str) -> str:
    """The package or top-level module a module belongs to: goheap.pprof.reader -> goheap.pprof."""
    return ".".join(module.split(".")[:2])


def unit_graph() -> dict[str, set[str]]:
    """The module graph folded onto top-level packages and modules."""
    out: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        edges = out.setdefault(_unit(module), set())
        edges.update(_unit(t) for t in targets if _unit(t) != _unit(module))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = module_graph()
    assert "goheap.pprof.writer" in graph["goheap.runner"]  # imported in Session.write_pprof
    assert "goheap.heap" in graph["goheap.pprof.whatif"]  # imported in run_setting


def test_cycles_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_touches_the_commands_or_their_helpers() -> None:
    tangled = [c for c in cycles(unit_graph()) if COMMANDS_AND_HELPERS & set(c)]
    assert tangled == []


def test_nothing_in_the_package_imports_the_cli() -> None:
    importers = sorted(m for m, targets in module_graph().items() if "goheap.cli" in targets)
    assert importers == []


def test_the_bottom_helpers_import_only_goheap_errors() -> None:
    graph = module_graph()
    for helper in BOTTOM_HELPERS:
        assert graph[helper] <= {"goheap", "goheap.errors"}, helper
