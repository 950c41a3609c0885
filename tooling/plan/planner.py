"""``plan(project, targets) -> Plan``: per target the compiler, std provider (and what
providing it would do), linker and C toolchain, the cargo calls with the environment they
add, the steps and what each needs, what is missing and its fix.

Planning runs no build and writes nothing — not the project, not the cache (remembered
probes are read, never stored). ``inv plan`` prints it; ``inv targets``, ``inv doctor``,
``configure``, ``compile`` and ``test`` read the same plan, and the executors in
:mod:`tooling.steps` are the only code that writes.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tooling.compile import hosttools, linkers, nostd
from tooling.errors import CrossmatrixError, ToolMissing, UsageError
from tooling.matrix.config import Project
from tooling.matrix.targets import NotSupportedYet, Target
from tooling.plan import cargo_call
from tooling.plan.cargo_call import Invocation
from tooling.platforms import platform_of, runner, strip
from tooling.std import providers
from tooling.util import memo, proc

#: bumped when the JSON of ``inv plan --json`` changes shape
SCHEMA_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Missing:
    """Something a step needs that is not here, and the one thing to do about it."""

    step: str
    what: str
    fix: str


@dataclass(frozen=True, kw_only=True)
class Step:
    name: str
    needs: tuple[str, ...] = ()  #: programs or files it uses
    note: str = ""  #: e.g. why ``run`` only records "not run"


@dataclass(frozen=True, kw_only=True)
class TargetPlan:
    target: Target
    std: providers.StdPlan | None
    #: what providing std does first: "rustup target add …", "build std into …", or ""
    std_action: str
    link: linkers.LinkerPlan
    call: Invocation | None  #: None when no compiler is found at all
    strip: str | None  #: the strip program
    runner: str  #: "native", "qemu-aarch64 -L …", "wine (x86_64) …", or "none"
    cannot_run: str | None  #: why nothing runs its binaries here
    steps: tuple[Step, ...]
    missing: tuple[Missing, ...]
    #: the highest rust-version of the built packages, when one declares it
    rust_version: str | None = None

    @property
    def ready(self) -> bool:
        return not self.missing

    def to_json(self) -> dict[str, Any]:
        t, call = self.target, self.call
        return {
            "name": t.name, "triple": t.triple, "os": t.os, "libc": t.libc,
            "linkage": t.linkage, "glibc_floor": t.glibc, "tags": list(t.tags),
            "compiler": None if call is None else {
                "kind": call.compiler.kind, "release": call.compiler.release,
                "commit": call.compiler.commit_hash, "rustc": str(call.compiler.rustc),
                "cargo": str(call.compiler.cargo),
                "reason": self.std.compiler_reason if self.std else "",
                "rust_version": self.rust_version},
            "std": None if self.std is None else {
                "provider": self.std.provider, "ready": self.std.ready,
                "reason": self.std.reason, "action": self.std_action,
                "sysroot": str(self.std.sysroot) if self.std.sysroot else None},
            "linker": {"kind": self.link.kind, "linker": self.link.linker, "cc": self.link.cc,
                       "cxx": self.link.cxx, "ar": self.link.ar,
                       "packages": list(self.link.packages),
                       "writes": [str(s.path) for s in self.link.scripts]},
            "rustflags": [] if call is None else call.flags,
            "cargo": None if call is None else {
                "build": call.argv, "test": call.test_argv(no_run=False),
                "env": dict(sorted(call.added.items())), "env_removed": list(call.removed),
                "notes": list(call.notes),
                "writes": [str(s.path) for s in call.scripts]},
            "strip": self.strip, "runner": self.runner, "cannot_run": self.cannot_run,
            "steps": [{"name": s.name, "needs": list(s.needs), "note": s.note}
                      for s in self.steps],
            "missing": [{"step": m.step, "what": m.what, "fix": m.fix} for m in self.missing],
            "ready": self.ready,
        }


@dataclass(frozen=True, kw_only=True)
class Plan:
    project: Project
    targets: tuple[TargetPlan, ...]
    #: triples rustc knows that crossmatrix cannot build yet: which step, and why
    unsupported: tuple[NotSupportedYet, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "project": self.project.name,
                "workspace": str(self.project.workspace), "dist": str(self.project.dist),
                "targets": [p.to_json() for p in self.targets],
                "unsupported": [unsupported_json(gap) for gap in self.unsupported]}


def unsupported_json(gap: NotSupportedYet) -> dict[str, Any]:
    return {"triple": gap.facts.triple, "step": gap.step, "why": gap.why,
            "known_by": list(gap.facts.known_by)}


def _std(project: Project, target: Target) -> tuple[providers.StdPlan | None, str, Missing | None]:
    try:
        std = providers.plan(project, target)
    except UsageError:
        raise
    except CrossmatrixError as exc:
        return None, "", Missing(step="compile", what=exc.message, fix=exc.hint or "")
    action = providers.pending_action(project, target, std)
    return std, action, None


def plan_target(project: Project, target: Target) -> TargetPlan:
    """One target's plan (see the module's docstring). Bad settings raise UsageError;
    anything not installed is listed in ``missing``."""
    missing: list[Missing] = []
    std, action, no_std = _std(project, target)
    if no_std:
        missing.append(no_std)
    link = cargo_call.link_plan(project, target)
    if not link.present():
        fix = (f"run `inv setup --target {target.name}` (installs {' '.join(link.packages)})"
               if link.packages else f"install {link.linker}, or change `linker` in "
               f"{project.table('target', target.name)}")
        missing.append(Missing(step="compile", what=f"linker {link.linker}", fix=fix))
    call = None
    try:
        call = cargo_call.derive(project, target, std)
    except ToolMissing as exc:
        missing.append(Missing(step="compile", what=exc.message, fix=exc.hint or ""))
    missing += [Missing(step="compile", what=gap.what, fix=gap.fix)  # cmake, nasm, libclang …
                for gap in hosttools.missing_for(project, target)]
    needs_std = nostd.problem(project, target)  # a crate that needs std, on bare metal
    if needs_std is not None:
        missing.append(Missing(step="compile", what=needs_std[0], fix=needs_std[1]))
    strip_program = None
    try:
        strip_program = strip.find_strip(target)
    except CrossmatrixError as exc:
        missing.append(Missing(step="strip", what="strip", fix=exc.hint or exc.message))
    platform = platform_of(target)
    cannot = platform.cannot_run(target)
    program = platform.run_program(target)
    if not cannot and program and not proc.which(program):
        missing.append(Missing(step="run", what=program,
                               fix=f"run `inv setup --target {target.name}`"))
    compile_needs = tuple(n for n in (
        call and str(call.compiler.cargo), link.linker, link.cc,
        call and call.added.get("PROTOC"), call and call.added.get("RUSTC_WRAPPER")) if n)
    steps = (
        Step(name="compile", needs=tuple(dict.fromkeys(compile_needs)),
             note=f"std: {action}" if action else ""),
        Step(name="strip", needs=(strip_program,) if strip_program else ()),
        Step(name="verify", needs=("file",)),
        Step(name="run", needs=(program,) if program and not cannot else (),
             note=f"{runner.NOT_RUN}: {cannot}" if cannot else ""),
        Step(name="package"),
    )
    req = providers.requirement(project)
    return TargetPlan(target=target, std=std, std_action=action, link=link, call=call,
                      strip=strip_program, runner=platform.describe_runner(target),
                      cannot_run=cannot, steps=steps, missing=tuple(missing),
                      rust_version=req.version if req else None)


def plan(project: Project, targets: Sequence[Target],
         unsupported: Sequence[NotSupportedYet] = ()) -> Plan:
    """The whole matrix's plan. Writes nothing, not even remembered probes."""
    with memo.read_only():
        return Plan(project=project, targets=tuple(plan_target(project, t) for t in targets),
                    unsupported=tuple(unsupported))



def describe(plan: Plan) -> list[str]:
    """The plan as text, a few lines per target (``inv plan``)."""
    lines: list[str] = []
    for p in plan.targets:
        t, call = p.target, p.call
        lines.append(f"{t.name} ({t.triple})" + ("" if p.ready else "  — not ready"))
        std = p.std.describe() + (f" — {p.std.reason}" if p.std.reason else "") if p.std \
            else "none"
        lines.append(f"  std        {std}" + (f"; first: {p.std_action}" if p.std_action else ""))
        if call is not None:
            why = p.std.compiler_reason if p.std else ""
            lines.append(f"  compiler   {call.compiler.describe()}" + (f" — {why}" if why else ""))
        files = call.writes if call is not None else p.link.scripts
        writes = f"; writes {len(files)} file{'s' if len(files) > 1 else ''}" if files else ""
        cxx = f", C++: {p.link.cxx}" if p.link.cxx else ""
        c = p.link.cc or "none set up"  # rust-lld (bare metal) brings no C compiler
        lines.append(f"  linker     {p.link.describe()}, C: {c}{cxx}{writes}")
        if call is not None:
            lines.append(f"  rustflags  {' '.join(call.flags) or '(none)'}")
            lines.append(f"  cargo      {shlex.join(call.argv)}")
            for key, value in sorted(call.added.items()):
                if key != "PATH":
                    lines.append(f"  env        {key}={value}")
            lines.extend(f"  note       {note}" for note in call.notes)
        steps = " → ".join(s.name + (f" ({', '.join(s.needs)})" if s.needs and s.name != "compile"
                                     else "") for s in p.steps)
        lines.append(f"  steps      {steps}")
        if p.cannot_run:
            lines.append(f"  run        {runner.NOT_RUN}: {p.cannot_run}")
        lines.extend(f"  missing    {m.what} ({m.step}): {m.fix}" for m in p.missing)
    for gap in plan.unsupported:
        lines.append(f"{gap.facts.triple}  — not supported yet (known to {gap.facts.describe()})")
        lines.append(f"  {gap.step:<10} {gap.why}")
    return lines
