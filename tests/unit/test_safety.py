"""No shell strings: every program crossmatrix starts goes through tooling/proc.py as an
argument list; nothing in tooling/ asks a shell to parse a command built from values."""

from __future__ import annotations

import ast
from pathlib import Path

TOOLING = Path(__file__).resolve().parents[2] / "tooling"


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_no_shell_true_os_system_or_popen() -> None:
    offenders = []
    for path in sorted(TOOLING.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for call in _calls(tree):
            for keyword in call.keywords:
                if keyword.arg == "shell" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    offenders.append(f"{path.name}:{call.lineno} shell=")
            func = call.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
                    func.value.id == "os" and func.attr in ("system", "popen")):
                offenders.append(f"{path.name}:{call.lineno} os.{func.attr}")
    assert offenders == []


def test_only_proc_starts_programs() -> None:
    importers = []
    for path in sorted(TOOLING.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if "subprocess" in names and path.name != "proc.py":
                importers.append(path.name)
    assert importers == []
