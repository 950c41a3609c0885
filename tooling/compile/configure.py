"""``inv configure``: the linker, runner and rustflags of each target in ``.cargo/config.toml``,
so plain ``cargo build/run/test --target T`` works too. Builds by crossmatrix do not
need it: they pass the same settings in the child cargo's environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tooling.compile import cargo_config, linkers
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.util import console


def settings(project: Project, target: Target) -> dict[str, Any]:
    link = linkers.plan(target, project.linker_for(target), project.cache_dir)
    keys: dict[str, Any] = {"linker": link.linker}
    if run_with := platform_of(target).cargo_runner(target):
        keys["runner"] = run_with
    flags = [*link.rustflags, *project.settings_for(target).rustflags]
    if flags:
        keys["rustflags"] = flags
    return keys


def write(project: Project, targets: Sequence[Target]) -> list[str]:
    path = project.root / ".cargo" / "config.toml"
    changes = cargo_config.update(path, {t.triple: settings(project, t) for t in targets})
    if changes:
        for change in changes:
            console.info(f"configure: {path}: {change}")
    else:
        console.info(f"configure: {path} already up to date")
    return changes
