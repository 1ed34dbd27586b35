"""The package's import structure: destinations and the async queue never import the invoker,
and neither they, the invoker nor the moto bridge sit in an import circle (lazy and type-only
imports count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_lambda_async

PACKAGE = Path(pytest_lambda_async.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Every import of the package's own modules, wherever it stands in the file."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
                if node.module is None:
                    imported.update(f"{target}.{alias.name}" for alias in node.names)
                else:
                    imported.add(target)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "pytest_lambda_async"):
                imported.add(str(node.module))
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names
                                if a.name.startswith("pytest_lambda_async"))
        graph[name] = imported - {name}
    return {name: {d for d in deps if d in graph} for name, deps in graph.items()}


def cycles_through(graph: dict[str, set[str]], start: str) -> list[list[str]]:
    found, stack = [], [(start, [start])]
    while stack:
        node, path = stack.pop()
        for dep in sorted(graph[node]):
            if dep == start:
                found.append([*path, start])
            elif dep not in path:
                stack.append((dep, [*path, dep]))
    return found


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    graph = import_graph()
    assert "pytest_lambda_async.aws" in graph["pytest_lambda_async.plugin"]  # inside a function
    assert "pytest_lambda_async.invoker" in graph["pytest_lambda_async.aws.bridge"]  # TYPE_CHECKING


def test_destinations_never_import_the_invoker() -> None:
    assert "pytest_lambda_async.invoker" not in import_graph()["pytest_lambda_async.destinations"]


def test_the_async_queue_never_imports_the_invoker() -> None:
    assert "pytest_lambda_async.invoker" not in import_graph()["pytest_lambda_async.asyncqueue"]


def test_no_import_circle_through_invoker_queue_destinations_or_the_bridge() -> None:
    graph = import_graph()
    ours = ["pytest_lambda_async.invoker", "pytest_lambda_async.asyncqueue",
            "pytest_lambda_async.destinations",
            *sorted(m for m in graph if m.startswith("pytest_lambda_async.aws"))]
    assert len(ours) >= 8  # the bridge is a package: one module per concern
    assert {m: cycles_through(graph, m) for m in ours} == {m: [] for m in ours}


def test_the_bridge_keeps_its_public_import_path() -> None:
    from pytest_lambda_async import aws

    assert {"activate", "deactivate", "active", "Bridge"} <= set(aws.__all__)
    assert aws.active() is None
