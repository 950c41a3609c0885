"""Committed snapshots: text files a test makes, compared with their copies in a folder.

With ``CROSSMATRIX_UPDATE_SNAPSHOTS=1`` the test writes what it made instead (and removes
copies it no longer makes); review ``git diff`` and commit them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

UPDATE = "CROSSMATRIX_UPDATE_SNAPSHOTS"


def check(made: Mapping[str, str], folder: Path) -> None:
    """``made`` (relative path → text) equals the files under ``folder``, or the test
    fails with a diff of each difference (or, updating, ``folder`` becomes ``made``)."""
    committed = {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
                 if p.is_file()} if folder.is_dir() else {}
    if os.environ.get(UPDATE) == "1":
        for rel, text in made.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, encoding="utf-8")
        for rel, path in committed.items():
            if rel not in made:
                path.unlink()
        return
    problems = []
    for rel in sorted(made.keys() | committed.keys()):
        if rel not in committed:
            problems.append(f"{folder / rel}: no snapshot")
        elif rel not in made:
            problems.append(f"{folder / rel}: no longer made")
        else:
            old = committed[rel].read_text(encoding="utf-8")
            if old != made[rel]:
                problems.append("".join(difflib.unified_diff(
                    old.splitlines(keepends=True), made[rel].splitlines(keepends=True),
                    f"{rel} (committed)", f"{rel} (made now)")))
    if problems:
        pytest.fail("\n".join(problems) + f"\nsnapshots differ: if that is intended, run the "
                    f"test with {UPDATE}=1 and commit the files", pytrace=False)
