"""The house reads top-down: shootout (the CLI) above reports above harness, and no loops.

Imports are read from the source, function-local and TYPE_CHECKING ones included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("harness", "reports", "shootout")  # each may import only those before it


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The project modules a file imports (a package's own parent is not counted)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    me = _name(path)
    return {m for m in found if m in MODULES and m != me and not me.startswith(m + ".")}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_and_those_below(name: str) -> None:
    allowed = LAYERS[: LAYERS.index(name.split(".")[0]) + 1]
    above = sorted(m for m in GRAPH[name] if m.split(".")[0] not in allowed)
    assert not above, f"{name} imports {above}"


def test_no_import_loops() -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            loop = " -> ".join((*path[path.index(name) :], name))
            pytest.fail(f"import loop: {loop}")
        if name in done:
            return
        for dependency in sorted(GRAPH[name]):
            visit(dependency, (*path, name))
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, ())


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_says_what_it_owns(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{name} has no module docstring"
