"""A target without std (bare metal): the crates built for it must be ``#![no_std]``. Said
before cargo runs, in one line naming the package and its file, when a selected member's
binary or library does not declare it; cargo's own "can't find crate for `std`" (a
dependency that needs std) gets the same fix from the platform (:func:`link_hint`)."""

from __future__ import annotations

import re
from pathlib import Path

from tooling.errors import UsageError
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import Target

#: ``#![no_std]``, or ``#![cfg_attr(<anything>, no_std)]`` (std as a feature: cargo decides)
NO_STD = re.compile(r"#!\[\s*no_std\s*\]|#!\[\s*cfg_attr\s*\([^\]]*\bno_std\b")


def declares_no_std(source: str) -> bool:
    return NO_STD.search(source) is not None


def std_users(project: Project) -> list[tuple[str, Path]]:
    """The selected members' crate roots that do not declare ``#![no_std]``: the binaries
    cargo builds (``--bins``) and the library of their package; a file that cannot be read
    is cargo's to report."""
    meta = workspace.metadata(project.workspace)
    with_bins = {package for package, _ in meta.binaries}
    chosen = set(project.packages) if project.packages else with_bins
    found = []
    for package, _kind, path in meta.crate_roots:
        if package not in chosen or package not in with_bins:
            continue
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not declares_no_std(source):
            found.append((package, path))
    return found


def problem(project: Project, target: Target) -> tuple[str, str] | None:
    """(what, fix) when ``target`` has no std and a selected crate needs it; None: fine."""
    if not target.freestanding:
        return None
    users = std_users(project)
    if not users:
        return None
    package, path = users[0]
    try:
        shown = path.relative_to(project.workspace)
    except ValueError:
        shown = path
    more = f" (and {len(users) - 1} more)" if len(users) > 1 else ""
    return (f"{target.name}: {package} ({shown}) does not declare #![no_std]{more}, and "
            f"{target.triple} (bare metal) has only core and alloc",
            "make it #![no_std] (a program also #![no_main] and a #[panic_handler]), or "
            "select only no_std packages (`packages` in the project's settings)")


def check(project: Project, target: Target) -> None:
    """UsageError (one line) when ``target`` has no std and a selected crate needs it."""
    found = problem(project, target)
    if found is not None:
        raise UsageError(*found)
