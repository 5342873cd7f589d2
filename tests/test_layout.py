"""The package's shape: no module over 500 lines, and no import cycles among ifverify's modules.

The import graph is read statically from the AST: every ``import`` and ``from ... import`` of an ifverify module,
at module level or inside a function (a lazy import is still a dependency), except under ``if TYPE_CHECKING:``
(never executed).  ``from package import name`` depends on ``package.name`` when that is a module, else on the
package.  A submodule's import of its parent package's ``__init__`` that Python performs implicitly is not an
edge; an explicit one is.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "ifverify"
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    """Every ifverify module by dotted name: Python sources, plus compiled extensions (known by their ``.pyi``
    stub or their ``.so``/``.pyd`` file), which import nothing of ours."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    for path in sorted([*PACKAGE.rglob("*.pyi"), *PACKAGE.rglob("*.so"), *PACKAGE.rglob("*.pyd")]):
        parts = path.relative_to(REPO).parts
        found.setdefault(".".join([*parts[:-1], path.name.split(".")[0]]), path)
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def _resolve(name: str, path: Path, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> set[str]:
    """The ifverify modules one import statement of module ``name`` depends on."""
    targets: set[str] = set()
    if isinstance(node, ast.Import):
        bases = [alias.name for alias in node.names]
        for base in bases:
            while base and base not in modules:
                base = base.rpartition(".")[0]
            if base:
                targets.add(base)
        return targets
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    if node.level:
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if not base.startswith("ifverify"):
        return targets
    for alias in node.names:
        if f"{base}.{alias.name}" in modules:
            targets.add(f"{base}.{alias.name}")
        elif base in modules:
            targets.add(base)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if path.suffix != ".py":
            graph[name] = set()
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges: set[str] = set()
        for node in _imports(tree):
            edges |= _resolve(name, path, node, modules)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def test_no_module_over_500_lines() -> None:
    long = {str(path.relative_to(REPO)): n for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_import_cycles_among_ifverify_modules() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_and_resolves_relative_imports(tmp_path: Path) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    modules = {"ifverify.x": tmp_path / "x.py", "ifverify.x.y": tmp_path / "y.py", "ifverify.z": tmp_path / "z.py"}
    node = ast.parse("from .x import y, w").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve("ifverify.z", tmp_path / "z.py", node, modules) == {"ifverify.x.y", "ifverify.x"}
    lazy = ast.parse("def f():\n    import ifverify.z\nif TYPE_CHECKING:\n    import ifverify.x\n")
    assert [type(n).__name__ for n in _imports(lazy)] == ["Import"]


def test_no_test_or_benchmark_reads_data_outside_the_repository() -> None:
    """Reference data is vendored under third_party/; nothing reaches for a folder beside the checkout."""
    import re

    outside = re.compile(r"""\.\./shared|/work/shared|parents\[\d+\]\.parent|REPO\.parent|["']shared["']\s*/""")
    found = [f"{path.relative_to(REPO)}:{n}" for folder in ("tests", "benchmarks", "scripts")
             for path in sorted((REPO / folder).rglob("*.py"))
             if path != Path(__file__).resolve()
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if outside.search(line)]
    assert found == []
