"""The package structure holds: no import cycle of any kind, no import up a layer.

The layer table is the one in `syncaudit/__init__.py`'s docstring, which newcomers read.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from . import imports

PACKAGE_DOC = ast.get_docstring(
    ast.parse((imports.ROOT / "src" / "syncaudit" / "__init__.py").read_text(encoding="utf-8"))
)
assert PACKAGE_DOC is not None
TABLE = imports.layers(PACKAGE_DOC)
PLUGIN_API = {prefix for prefix, layer in TABLE.items() if layer == 0}


def _where(edge: imports.Edge) -> str:
    kind = "implicit (package __init__)" if edge.implicit else edge.kind
    return f"{edge.source} -> {edge.target} (line {edge.line}, {kind})"


def test_no_import_cycle_of_any_kind() -> None:
    found = imports.cycles(imports.edges())
    assert found == [], "import cycles (top-level, lazy and TYPE_CHECKING imports alike): " + (
        "; ".join(" <-> ".join(c) for c in found)
    )


def test_every_core_module_has_a_layer() -> None:
    core = [m for m in imports.module_files() if m.startswith("syncaudit.")]
    assert [m for m in core if imports.layer_of(m, TABLE) is None] == []


def test_no_core_module_imports_up_a_layer() -> None:
    upward = []
    for edge in imports.edges():
        if edge.implicit or not edge.source.startswith("syncaudit."):
            continue
        if not edge.target.startswith("syncaudit."):
            continue
        source, target = imports.layer_of(edge.source, TABLE), imports.layer_of(edge.target, TABLE)
        assert source is not None and target is not None
        if target > source:
            upward.append(f"L{source} {_where(edge)} is L{target}")
    assert upward == []


def test_connectors_import_the_plugin_api_only_and_not_each_other() -> None:
    wrong = []
    for edge in imports.edges():
        package = edge.source.split(".")[0]
        if not package.startswith("syncaudit_") or edge.implicit:
            continue
        target_package = edge.target.split(".")[0]
        if target_package == "syncaudit":
            if imports.layer_of(edge.target, TABLE) != 0 or edge.target not in PLUGIN_API:
                wrong.append(_where(edge))
        elif target_package.startswith("syncaudit_") and target_package != package:
            wrong.append(_where(edge))
    assert wrong == []


def test_only_the_contract_suite_imports_pytest() -> None:
    importers = sorted(
        module
        for module, path in imports.module_files().items()
        if "pytest" in _imported_roots(path)
    )
    assert importers == ["syncaudit.testing.contract"]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


PLANTED = {
    "pkg/__init__.py": "",
    "pkg/low.py": """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from pkg.high import High
    """,
    "pkg/high.py": """
        def make():
            from pkg import low
            return low
    """,
    "pkg/leaf.py": "import pkg.low\n",
}


@pytest.mark.parametrize(
    "kind", [("type",), ("lazy",), ("type", "lazy")], ids=["type", "lazy", "both"]
)
def test_the_check_catches_a_planted_cycle(tmp_path: Path, kind: tuple[str, ...]) -> None:
    """A cycle hidden in TYPE_CHECKING and a function-local import is found, whichever edge
    kinds close it; a package __init__ importing its own modules is not a cycle."""
    for name, text in PLANTED.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (tmp_path / "pkg" / "__init__.py").write_text("from pkg import leaf\n", encoding="utf-8")
    found = imports.edges(imports.module_files([tmp_path]))
    kinds = {e.kind for e in found if e.source == "pkg.low"} | {
        e.kind for e in found if e.source == "pkg.high"
    }
    assert {"type", "lazy"} <= kinds
    cycle = imports.cycles(found)
    assert cycle == [["pkg.high", "pkg.low"]]
    assert imports.cycles([e for e in found if e.kind not in kind or e.kind == "top"]) == []


def test_the_layer_table_is_read_from_the_package_docstring() -> None:
    assert imports.layer_of("syncaudit.rights.settings", TABLE) == 1
    assert imports.layer_of("syncaudit.rights.objection", TABLE) == 4
    assert imports.layer_of("syncaudit.cli.core", TABLE) == max(TABLE.values())
    assert "syncaudit.contract" in PLUGIN_API
