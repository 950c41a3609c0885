"""``inv targets``: for each target, where its std would come from and whether it is ready."""

from __future__ import annotations

from typing import Any

from tooling.compile import linkers
from tooling.errors import CrossmatrixError
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.platforms import platform_of, strip
from tooling.std import providers
from tooling.util import console, proc


def row(project: Project, target: Target) -> dict[str, Any]:
    missing: list[str] = []
    try:
        plan = providers.plan(project, target)
        std = plan.describe()
        if not plan.ready:
            missing.append("std (inv install-targets)")
    except CrossmatrixError as exc:
        std = "none"
        missing.append(f"std ({exc.message})")
    link = linkers.plan(target, project.linker_for(target), project.cache_dir)
    if not link.present():
        missing.append(f"linker {link.linker}")
    platform = platform_of(target)
    reason = platform.cannot_run(target)
    run_with = f"not run: {reason.split(':')[0]}" if reason else platform.describe_runner(target)
    program = platform.run_program(target)
    if not reason and program and not proc.which(program):
        missing.append(program)
    try:
        strip.find_strip(target)
    except CrossmatrixError:
        missing.append("strip")
    return {
        "name": target.name, "triple": target.triple, "linkage": target.linkage,
        "std": std, "linker": link.kind, "runner": run_with,
        "ready": not missing, "missing": missing, "tags": list(target.tags),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="crossmatrix targets")
    for column in ("name", "triple", "linkage", "std provider", "linker", "runner", "ready"):
        table.add_column(column)
    for r in rows:
        ready = "[green]yes[/]" if r["ready"] else "[red]no[/]: " + "; ".join(r["missing"])
        table.add_row(r["name"], r["triple"], r["linkage"], r["std"], r["linker"], r["runner"],
                      ready)
    console.out().print(table)
