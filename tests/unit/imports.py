"""The first-party import graph, read from the source (no module is imported).

Every `import` counts: at the top, inside a function, under `if TYPE_CHECKING:`. An edge goes to
the module named; `from package import name` goes to `package.name` when that is a module. A
module also depends on the package `__init__` above it (it runs first), which matters only when
an `__init__` imports something.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = (ROOT / "src", ROOT / "connectors")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    kind: str  # "top", "lazy" (inside a function) or "type" (under TYPE_CHECKING)
    implicit: bool = False  # the package __init__ a module runs under


def module_files(dirs: Iterable[Path] = SOURCE_DIRS) -> dict[str, Path]:
    """Dotted module name -> file, for every first-party module."""
    found: dict[str, Path] = {}
    for base in dirs:
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and not any(p.startswith(".") or p == "__pycache__" for p in parts):
                found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: Mapping[str, Path]) -> None:
        self.module, self.is_package, self.known = module, is_package, known
        self.depth = 0  # functions
        self.type_only = 0
        self.edges: list[Edge] = []

    def _kind(self) -> str:
        return "type" if self.type_only else "lazy" if self.depth else "top"

    def _add(self, target: str, line: int) -> None:
        while target and target not in self.known:
            target = target.rpartition(".")[0]
        if target and target != self.module:
            self.edges.append(Edge(self.module, target, line, self._kind()))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.type_only += 1
            for child in node.body:
                self.visit(child)
            self.type_only -= 1
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module if self.is_package else self.module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(candidate if candidate in self.known else base, node.lineno)


def edges(known: Mapping[str, Path] | None = None) -> list[Edge]:
    known = module_files() if known is None else known
    out: list[Edge] = []
    for module, path in known.items():
        collector = _Collector(module, path.name == "__init__.py", known)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        out += collector.edges
        parent = module.rpartition(".")[0]
        if parent in known:
            out.append(Edge(module, parent, 0, "top", implicit=True))
    return out


def cycles(all_edges: Iterable[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted.

    A package `__init__` importing its own submodules is the normal shape of a package (its
    submodules run under it), not a cycle: those edges are left out. Everything else counts,
    the implicit edge to the `__init__` above included."""
    graph: dict[str, set[str]] = {}
    for e in all_edges:
        if e.target.startswith(e.source + "."):
            continue
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


_LAYER_LINE = re.compile(r"^\s{2,}L(\d)\s+(\S.*?)\s{2,}(.+)$")


def layers(package_doc: str) -> dict[str, int]:
    """Module prefix -> layer, from the layer table in `syncaudit/__init__.py`'s docstring.

    Lines look like `  L2  index and sync     index sync` (layer, what, module prefixes
    relative to `syncaudit`)."""
    table: dict[str, int] = {}
    for line in package_doc.splitlines():
        match = _LAYER_LINE.match(line)
        if match:
            for prefix in match.group(3).split():
                table[f"syncaudit.{prefix}"] = int(match.group(1))
    return table


def layer_of(module: str, table: Mapping[str, int]) -> int | None:
    """The layer of the longest prefix naming the module or a package above it."""
    best: tuple[int, int] | None = None
    for prefix, layer in table.items():
        covers = module == prefix or module.startswith(prefix + ".")
        if covers and (best is None or len(prefix) > best[0]):
            best = (len(prefix), layer)
    return None if best is None else best[1]
