"""``inv targets``: for each target, where its std would come from and whether it is ready —
read from the plan, so it says what ``compile`` will do."""

from __future__ import annotations

from typing import Any

from tooling.matrix.targets import NotSupportedYet
from tooling.plan import planner
from tooling.util import console


def row(plan: planner.TargetPlan) -> dict[str, Any]:
    target = plan.target
    std = plan.std.describe() if plan.std else "none"
    missing = []
    for need in plan.missing:
        if need.step == "compile" and need.what.startswith("no std"):
            missing.append(f"std ({need.what})")
        elif need.step == "strip":
            missing.append("strip")
        else:
            missing.append(need.what)
    if plan.std and not plan.std.ready:
        missing.insert(0, "std (inv install-targets)")
    run_with = (f"not run: {plan.cannot_run.split(':')[0]}" if plan.cannot_run
                else plan.runner)
    return {
        "name": target.name, "triple": target.triple, "linkage": target.linkage,
        "std": std, "linker": plan.link.kind, "runner": run_with,
        "ready": not missing, "missing": missing, "tags": list(target.tags),
        "supported": True,
    }


def unsupported_row(gap: NotSupportedYet) -> dict[str, Any]:
    """A triple rustc knows and crossmatrix does not build yet: the step, and why."""
    return {
        "name": gap.facts.triple, "triple": gap.facts.triple, "linkage": "-", "std": "-",
        "linker": "-", "runner": "-", "ready": False,
        "missing": [f"not supported yet: {gap.step}: {gap.why}"], "tags": [],
        "supported": False, "known_by": list(gap.facts.known_by),
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
