"""The rallies package has no import cycles among its module-level imports (the style guide's rule)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rallies"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(current: str, is_package: bool, level: int, module: str | None) -> str:
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_graph(nested: bool = False) -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports at module level (or anywhere: nested)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree) if nested else tree.body:
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module) if node.level else node.module or ""
                targets.add(base)
                targets |= {f"{base}.{alias.name}" for alias in node.names}  # `from . import notices`
        deps = set()
        for target in targets:
            # Importing a.b.c runs a, a.b and a.b.c.
            parts = target.split(".")
            deps |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & files.keys()
        graph[name] = deps - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # A package importing its own submodules (or a submodule its parent package) is not a cycle
            # Python trips on; those edges are the package's structure, not a dependency knot.
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _is_view(name: str) -> bool:
    from rallies import VIEW_MODULES

    return name.removeprefix("rallies.") in VIEW_MODULES or name.endswith(".blueprint") or name == "rallies"


def test_services_dodge_no_cycle_with_function_level_imports():
    """Below the views, an import moved into a function must not hide a cycle either."""
    graph = {name: {d for d in deps if not _is_view(d)}
             for name, deps in import_graph(nested=True).items() if not _is_view(name)}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle through a function-level import: " + " -> ".join(cycle)


def test_the_checker_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_reads_relative_imports():
    graph = import_graph()
    assert "rallies.rallies.counters" in graph["rallies.rsvp.rsvps"]
    assert "rallies.extensions" in graph["rallies.database"]
