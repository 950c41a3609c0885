"""No shell strings: every program crossmatrix starts goes through tooling/util/proc.py as an
argument list; nothing in tooling/ (any subpackage) asks a shell to parse a command built
from values."""

from __future__ import annotations

import ast
from pathlib import Path

TOOLING = Path(__file__).resolve().parents[2] / "tooling"
PROC = TOOLING / "util" / "proc.py"


def _modules() -> list[Path]:
    found = sorted(TOOLING.rglob("*.py"))
    assert len(found) > 40 and PROC in found  # the walk reaches every subpackage
    return found


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_no_shell_true_os_system_or_popen() -> None:
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for call in _calls(tree):
            for keyword in call.keywords:
                if keyword.arg == "shell" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    offenders.append(f"{path.relative_to(TOOLING)}:{call.lineno} shell=")
            func = call.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
                    func.value.id == "os" and func.attr in ("system", "popen")):
                offenders.append(f"{path.relative_to(TOOLING)}:{call.lineno} os.{func.attr}")
    assert offenders == []


def test_only_proc_starts_programs() -> None:
    importers = []
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if "subprocess" in names and path != PROC:
                importers.append(str(path.relative_to(TOOLING)))
    assert importers == []
