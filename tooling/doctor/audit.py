"""``inv doctor``: what each dependency of the workspace needs beyond Rust, per target
(pure Rust; C code the target's C toolchain builds; a library or tool beyond that), whether
this machine has it now, and the fix: a table with a score per target, or ``--json``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tooling.doctor import depgraph, presence
from tooling.doctor.classify import PURE, TIER_NAMES, Context, Finding, classify
from tooling.errors import StepFailed
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.util import console, memo, proc


@dataclass(frozen=True, kw_only=True)
class TargetReport:
    target: Target
    findings: tuple[Finding, ...] = field(default=())

    @property
    def total(self) -> int:
        return len(self.findings)

    @property
    def ready(self) -> int:
        return sum(f.ready for f in self.findings)

    @property
    def score(self) -> int:
        return round(100 * self.ready / self.total) if self.total else 100

    def counts(self) -> dict[str, int]:
        return {name: sum(f.tier == tier for f in self.findings)
                for tier, name in TIER_NAMES.items()}


def audit(packages: Sequence[depgraph.Package], ctx: Context) -> TargetReport:
    return TargetReport(target=ctx.target, findings=tuple(classify(p, ctx) for p in packages))


def context_for(project: Project, target: Target,
                packages: Iterable[depgraph.Package]) -> Context:
    machine = presence.Machine(env={**proc.child_env(), **project.settings_for(target).env})
    return Context(target=target, machine=machine,
                   c_toolchain=presence.c_toolchain(project, target),
                   host_cc=presence.host_cc(machine), host=presence.host_target(),
                   pre_build=project.pre_build_for(target),
                   crates=frozenset(p.name for p in packages),
                   config_table=project.config_table)


@dataclass(frozen=True, kw_only=True)
class HostToolUse:
    """A program build scripts run on this machine, and who runs it for which targets."""

    tool: str
    what: str
    present: bool  #: here for every target that needs it
    crates: dict[str, list[str]]  #: crate -> targets it needs it for
    fix: str | None  #: when not present


def host_tools(reports: Sequence[TargetReport]) -> list[HostToolUse]:
    """The host tools (hosttools.TOOLS, pkg-config aside) the findings need."""
    found: dict[str, dict[str, Any]] = {}
    for report in reports:
        for finding in report.findings:
            for need in finding.needs:
                if need.tool is None or need.tool == "pkg-config":
                    continue
                entry = found.setdefault(need.tool, {"what": need.what, "present": True,
                                                     "crates": {}, "fix": None})
                entry["present"] = entry["present"] and need.ok
                targets = entry["crates"].setdefault(finding.crate, [])
                if report.target.name not in targets:
                    targets.append(report.target.name)
                if not need.ok and entry["fix"] is None:
                    entry["fix"] = need.fix
    return [HostToolUse(tool=name, what=e["what"], present=e["present"], crates=e["crates"],
                        fix=None if e["present"] else e["fix"])
            for name, e in sorted(found.items())]


def to_json(project: Project, reports: Sequence[TargetReport]) -> dict[str, Any]:
    return {
        "workspace": str(project.workspace),
        "ready": all(r.ready == r.total for r in reports),
        "host_tools": [{"tool": t.tool, "what": t.what, "present": t.present,
                        "crates": t.crates, "fix": t.fix} for t in host_tools(reports)],
        "targets": [{
            "name": r.target.name, "triple": r.target.triple, "score": r.score,
            "ready": r.ready, "total": r.total, "tiers": r.counts(),
            "dependencies": [{
                "crate": f.crate, "version": f.version, "tier": f.tier, "side": f.side,
                "needs": [n.what for n in f.needs], "present": f.present, "ready": f.ready,
                "missing": [n.what for n in f.missing],
                "pre_build": [n.what for n in f.needs if n.pre_build and not n.ok],
                "fix": f.fix, "note": f.note, "via": list(f.via),
            } for f in r.findings],
        } for r in reports],
    }


def _cell(finding: Finding | None) -> str:
    if finding is None:
        return "[dim]-[/]"
    if finding.tier == PURE:
        return "1"
    if finding.present:
        return f"{finding.tier} [green]✓[/]"
    if finding.ready:
        return f"{finding.tier} [yellow]✓ pre-build[/]"
    return f"{finding.tier} [red]✗[/]"


def print_report(project: Project, reports: Sequence[TargetReport]) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console.out()
    table = Table(title=escape(f"dependency audit of {project.workspace}"))
    table.add_column("crate")
    for report in reports:
        table.add_column(report.target.name, justify="center")
    found = [{(f.crate, f.version): f for f in r.findings} for r in reports]
    rows = sorted({k for by_key in found for k, f in by_key.items() if f.tier > PURE})
    for key in rows:
        side = {by_key[key].side for by_key in found if key in by_key}
        label = f"{key[0]} {key[1]}" + (" (build machine)" if side == {"host"} else "")
        table.add_row(escape(label), *[_cell(by_key.get(key)) for by_key in found],
                      end_section=key == rows[-1])
    table.add_row("pure Rust (tier 1)", *[str(r.counts()["pure-rust"]) for r in reports])
    table.add_row("ready", *[f"{r.ready}/{r.total} ({r.score})" for r in reports])
    out.print(table)
    out.print("tiers: 1 pure Rust · 2 C code built by the target's C toolchain · 3 needs a "
              "library or tool beyond it; ✓ present here, ✗ missing", markup=False)
    problems: dict[tuple[str, str], list[str]] = {}
    notes: dict[tuple[str, str], list[str]] = {}
    for report in reports:
        for f in report.findings:
            if not f.ready:
                what = ", ".join(n.what for n in f.missing)
                problems.setdefault((f.crate, f"needs {what}: {f.fix or '?'}"), []).append(
                    report.target.name)
            if f.note and f.tier > PURE:
                notes.setdefault((f.crate, f.note), []).append(report.target.name)
    used = host_tools(reports)
    if used:
        out.print("host tools (build scripts run them on this machine):", markup=False)
        for use in used:
            who = "; ".join(f"{crate} on {_targets(names, reports)}"
                            for crate, names in use.crates.items())
            state = "present" if use.present else f"MISSING: {use.fix}"
            out.print(f"  {use.what}: {who} — {state}", markup=False)
    if problems:
        out.print("fixes:", markup=False)
        for number, ((crate, text), names) in enumerate(problems.items(), 1):
            out.print(f"  {number}. {crate} on {_targets(names, reports)}: {text}", markup=False)
    if notes:
        out.print("notes:", markup=False)
        for (crate, text), names in notes.items():
            out.print(f"  - {crate} on {_targets(names, reports)}: {text}", markup=False)


def _targets(names: list[str], reports: Sequence[TargetReport]) -> str:
    return "every target" if len(names) == len(reports) > 1 else ", ".join(names)


def run(project: Project, targets: Sequence[Target], *, as_json: bool = False,
        strict: bool = False, dev: bool = False) -> list[TargetReport]:
    reports = []
    with memo.read_only():  # a report writes nothing, not even remembered probes
        for target in targets:
            packages = depgraph.packages_for(project, target, dev=dev)
            reports.append(audit(packages, context_for(project, target, packages)))
    if as_json:
        console.out().print(json.dumps(to_json(project, reports), indent=2), markup=False)
    else:
        print_report(project, reports)
    missing = [f"{f.crate} on {r.target.name}" for r in reports for f in r.findings
               if not f.ready]
    if strict and missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4
                                          else "")
        raise StepFailed(f"doctor --strict: {len(missing)} dependencies need something that "
                         f"is not installed here ({shown})")
    return reports
