"""The shape of tooling/: subpackages by stage, imports only downward, no cycles.

Every module of tooling/ (recursively) is parsed. A module may import from its own
subpackage and from subpackages of a lower layer; peers of one layer do not import each
other. Imports of tooling inside functions are allowed only with a comment saying they
are kept for startup time (heavy third-party imports behind them, or a task's own code).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TOOLING = Path(__file__).resolve().parents[2] / "tooling"

#: lowest first; a subpackage may import only from its own and lower layers' packages
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("util",),
    ("matrix",),
    ("records",),
    ("std",),
    ("platforms",),
    ("verify", "compile", "pymod"),
    ("plan",),
    ("steps", "doctor", "setup"),
    ("release", "scaffold"),
    ("cli",),
    ("__main__",),  # python -m tooling: the console script's entry point
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
#: the comment a function-local import of tooling carries
STARTUP = "startup time"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(TOOLING.rglob("*.py")):
        parts = path.relative_to(TOOLING).with_suffix("").parts
        name = ".".join(("tooling", *parts)).removesuffix(".__init__")
        found[name] = path
    assert len(found) > 40
    return found


def _imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported tooling module, line, inside a function) for each import of tooling."""
    tree = ast.parse(path.read_text(), filename=str(path))
    local: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            local.update(id(n) for n in ast.walk(node) if n is not node)
    modules = _modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "tooling" or node.module.startswith("tooling.")):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield (full if full in modules else node.module), node.lineno, id(node) in local
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tooling"):
                    yield alias.name, node.lineno, id(node) in local


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {imp for imp, _, _ in _imports(path) if imp in modules and imp != name}
            for name, path in modules.items()}


def test_every_subpackage_has_a_layer() -> None:
    packages = {_package(m) for m in _modules()} - {""}
    assert packages - RANK.keys() == set()


def test_imports_go_only_downward() -> None:
    wrong = []
    for name, path in _modules().items():
        here = _package(name)
        if here not in RANK:
            continue
        for imported, line, _ in _imports(path):
            there = _package(imported)
            if there in ("", here) or there not in RANK:
                continue
            if RANK[there] >= RANK[here]:
                wrong.append(f"{path.relative_to(TOOLING)}:{line} imports {imported}")
    assert wrong == []


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_function_local_imports_say_why() -> None:
    unexplained = []
    for path in _modules().values():
        lines = path.read_text().splitlines()
        for imported, line, local in _imports(path):
            context = " ".join(lines[max(0, line - 3):line])
            if local and STARTUP not in context:
                unexplained.append(f"{path.relative_to(TOOLING)}:{line} {imported}")
    assert unexplained == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The parser really sees imports, local ones included (a walk that saw nothing
    would pass every test above)."""
    source = tmp_path / "probe.py"
    source.write_text("from tooling.util import proc\n\ndef f():\n    from tooling import cli\n")
    assert list(_imports(source)) == [("tooling.util.proc", 1, False), ("tooling.cli", 4, True)]
    assert sum(len(v) for v in _graph().values()) > 100
