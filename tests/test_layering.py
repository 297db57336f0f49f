"""The package's structure: subpackages import only from layers below them, never in a cycle.

Module-level imports only (a function may import lazily, e.g. an optional dependency; one
does so on purpose: building a model card in ``samples`` asks ``unlearn.synthetic_card`` how
far the method moves the model, a measurement of the layer above).
Layers, lowest first; a module may import from its own layer or any lower one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import workbench

PACKAGE = Path(workbench.__file__).resolve().parent
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    # foundations: no workbench imports beyond this layer
    {"errors", "hashing", "atomic", "deprecation", "device", "schema", "encoders", "intake", "auc",
     "labels", "progress"},
    # data and models
    {"records", "record_sets", "record_query", "card", "models", "training", "neighbours",
     "metrics", "margin_features", "executor", "samples"},
    {"unlearn"},   # the methods
    {"audit"},     # judges unlearned models against the gold standard
    {"plots"},     # result -> figure
    {"evidence"},  # records, reports, ledger, keys
    {"pipeline"},  # one request end to end
    # front ends
    {"commands", "cli", "cli_lifecycle", "cli_pack", "cli_verify", "widgets", "__init__"},
))


def _unit(path: Path) -> str:
    """The first component under the package: a subpackage or a top-level module."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_units(path: Path) -> set[str]:
    units = set()
    for node in ast.parse(path.read_text()).body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "workbench":
                names += [f"workbench.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "workbench" and len(parts) > 1 and (
                    (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").exists()):
                units.add(parts[1])
    return units


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        unit = _unit(path)
        edges.setdefault(unit, set()).update(_imported_units(path) - {unit})
    return edges


def _layer(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"workbench/{unit} is in no layer: add it to LAYERS")


def test_every_import_points_down_the_layers() -> None:
    upward = sorted(f"{a} -> {b}" for a, targets in _edges().items() for b in targets
                    if _layer(b) > _layer(a))
    assert not upward, f"imports from a higher layer: {upward}"


def test_no_import_cycle_between_subpackages() -> None:
    edges = _edges()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            unit = todo.pop()
            if unit == goal:
                return True
            if unit not in seen:
                seen.add(unit)
                todo.extend(edges.get(unit, ()))
        return False

    cycles = sorted(f"{a} <-> {b}" for a, targets in edges.items() for b in targets
                    if reaches(b, a))
    assert not cycles, f"import cycles: {cycles}"


def test_the_walk_sees_imports() -> None:
    """The walk finds imports at all: the audit imports the methods (one layer down)."""
    assert "unlearn" in _edges()["audit"]
    assert _layer("audit") > _layer("unlearn")
