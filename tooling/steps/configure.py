"""``inv configure``: the linker, runner and rustflags of each target in ``.cargo/config.toml``,
so plain ``cargo build/run/test --target T`` works too. Builds by crossmatrix do not
need it: they pass the same settings in the child cargo's environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tooling.compile import cargo_config
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.plan import planner
from tooling.platforms import platform_of
from tooling.util import console


def settings(plan: planner.TargetPlan, project: Project) -> dict[str, Any]:
    """The keys of ``[target.<triple>]`` for one target's plan."""
    # rustc's own linker (WASI's rust-lld) is rustc's default: nothing to write
    keys: dict[str, Any] = {} if plan.link.rustc_linker else {"linker": plan.link.linker}
    if run_with := platform_of(plan.target).cargo_runner(plan.target):
        keys["runner"] = run_with
    flags = [*plan.link.rustflags, *project.settings_for(plan.target).rustflags]
    if flags:
        keys["rustflags"] = flags
    return keys


def write(project: Project, targets: Sequence[Target]) -> list[str]:
    plan = planner.plan(project, targets)
    path = project.root / ".cargo" / "config.toml"
    cargo_config.check(path)  # a file it would refuse: refused before anything is written
    for target_plan in plan.targets:
        target_plan.link.materialize()  # the config names the wrappers: they must exist
    changes = cargo_config.update(path, {p.target.triple: settings(p, project)
                                         for p in plan.targets})
    if changes:
        for change in changes:
            console.info(f"configure: {path}: {change}")
    else:
        console.info(f"configure: {path} already up to date")
    return changes
