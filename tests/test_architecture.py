"""The layers stay layers: the import graph of `app` has no circle, no lower layer imports a
higher one, and routes reach collaborators only through their dependencies.

Every import counts, also those inside functions and under TYPE_CHECKING: a circle hidden in a
function is still a circle a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

# What each layer may never import (by package prefix).
FORBIDDEN = {
    "app.ml": ("app.db", "app.services", "app.api", "app.transport", "app.runtime", "app.compute", "app.schemas",
               "app.metrics"),
    "app.domain": ("app.db", "app.services", "app.api", "app.transport", "app.runtime", "app.ml", "app.schemas",
                   "app.metrics"),
    "app.kit": ("app.db", "app.services", "app.api", "app.transport", "app.runtime", "app.ml", "app.metrics"),
    "app.db": ("app.services", "app.api", "app.transport", "app.runtime", "app.compute", "app.schemas",
               "app.metrics"),
    "app.schemas": ("app.db", "app.services", "app.api", "app.transport", "app.runtime", "app.metrics"),
    # The metric definitions: updated by services, transports and the API; they know none of them.
    "app.metrics": ("app.",),
    "app.services": ("app.api", "app.transport", "app.runtime", "app.compute", "app.main", "app.cli"),
    "app.transport": ("app.api", "app.runtime", "app.main"),
    "app.compute": ("app.api", "app.db", "app.runtime", "app.transport"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every `app.*` module a file imports, resolved to modules (not names inside them)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("app")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in APP.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        edges[name] = {target for target in imports_of(path) if target in modules and target != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_circle():
    assert cycles(graph()) == []


def test_cycle_detection_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_a_higher_one(layer):
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph().items() if module == layer or module.startswith(layer + ".")
        for target in targets if target.startswith(FORBIDDEN[layer])
    ]
    assert wrong == []


ROUTE_MODULES = sorted(p for p in (APP / "api").glob("*.py") if p.name not in ("__init__.py", "deps.py"))


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda p: p.name)
def test_route_modules_use_dependencies_and_services_only(path):
    source = path.read_text()
    assert "app.state" not in source, "routes get collaborators through app/api/deps.py"
    assert not [t for t in imports_of(path) if t == "app.db" or t.startswith("app.db.")], "routes call services"
    assert not [t for t in imports_of(path) if t.startswith(("app.transport", "app.runtime"))]
