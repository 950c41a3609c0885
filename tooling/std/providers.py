"""Compilers and std providers: where a target's standard library comes from.

Three providers, tried in this order unless the config forces one:

1. ``rustup`` — the target is installed in the active rustup toolchain, or
   ``rustup target add`` succeeds (skipped when the project is offline).
2. ``debian`` — a gnu target of a Debian architecture whose std Debian ships
   as ``libstd-rust-web-dev:<arch>``, used with Debian's ``rustc-web``.
3. ``build-std`` — std compiled from Debian's ``rust-web-src`` with Debian's
   ``rustc-web``, once, into a cached sysroot checked before each use (see
   :mod:`tooling.std.sysroot`).

One build uses one compiler; which one is printed and recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.std import sysroot
from tooling.std.compiler import Compiler, debian_compiler, has_std, rustup_compiler
from tooling.util import console, proc

Provider = Literal["rustup", "debian", "build-std"]












@dataclass(frozen=True, kw_only=True)
class StdPlan:
    """The answer for one target: which provider, which compiler, which extra rustc flags."""

    provider: Provider
    compiler: Compiler
    sysroot: Path | None = None  #: the cached sysroot (build-std)
    ready: bool = True  #: False: install-targets still has to build or add it
    reason: str = ""

    @property
    def rustflags(self) -> tuple[str, ...]:
        return ("--sysroot", str(self.sysroot)) if self.sysroot is not None else ()

    def describe(self) -> str:
        text = f"{self.provider} ({self.compiler.kind} rustc {self.compiler.release})"
        return text if self.ready else text + ", not installed yet"


def _rustup_installed(workspace: Path) -> set[str]:
    res = proc.run(["rustup", "target", "list", "--installed"], bound="tool", cwd=workspace,
                   check=False, echo=False)
    return set(res.stdout.split()) if res.ok else set()


def _rustup_plan(project: Project, target: Target) -> StdPlan | None:
    compiler = rustup_compiler(project.workspace)
    if compiler is None or not has_std(compiler, target.triple):
        return None
    return StdPlan(provider="rustup", compiler=compiler, reason="target installed in rustup")


def _rustup_add(project: Project, target: Target) -> bool:
    """``rustup target add`` (the executor's part); False, said in one line, when it fails."""
    try:
        res = proc.run(["rustup", "target", "add", target.triple], bound="fetch",
                       cwd=project.workspace, check=False, what="rustup target add")
    except StepFailed as exc:  # timed out
        console.info(f"  rustup could not add {target.triple}: {exc.message}; "
                     "trying the offline providers")
        return False
    compiler = rustup_compiler(project.workspace)
    if res.ok and compiler is not None and has_std(compiler, target.triple):
        return True
    said = [line.strip() for line in (res.stderr + res.stdout).splitlines()
            if "error" in line.lower()]
    console.info(f"  rustup could not add {target.triple}: "
                 f"{said[0] if said else res.tail(1) or 'no output'}; "
                 "trying the offline providers")
    return False


def _debian_plan(target: Target) -> StdPlan | None:
    compiler = debian_compiler()
    if compiler is None or not target.debian_std_possible:
        return None
    if has_std(compiler, target.triple):
        return StdPlan(provider="debian", compiler=compiler,
                       reason=f"libstd-rust-web-dev:{target.arch.deb_arch}")
    return None


def _panic(project: Project) -> str:
    return workspace.profile_panic(project.workspace, project.profile)


def _build_std_plan(project: Project, target: Target) -> StdPlan | None:
    compiler = debian_compiler()
    if compiler is None or sysroot.source_dir(compiler) is None:
        return None
    entry = sysroot.entry_dir(project.cache_dir, compiler, target.triple,
                              features=project.std_features, panic=_panic(project))
    return StdPlan(provider="build-std", compiler=compiler, sysroot=entry,
                   ready=sysroot.is_ready(entry), reason=f"std from {sysroot.source_dir(compiler)}")


def _missing(target: Target, forced: str) -> ToolMissing:
    what = f"no std for {target.triple}"
    if forced != "auto":
        what += f" from provider {forced!r}"
    return ToolMissing(
        what,
        f"run `inv setup --target {target.name}` (installs Debian's rustc-web and rust-web-src "
        f"for build-std) or `rustup target add {target.triple}` where the network allows",
    )


def _forced(project: Project, target: Target) -> str:
    """The provider the settings ask for ("auto": the first that can serve)."""
    forced = project.std_provider_for(target)
    if project.std_features:
        # only a std built from source can have other features than the shipped one
        if forced not in ("auto", "build-std"):
            raise UsageError(
                f"std-features {list(project.std_features)} need std-provider 'build-std', "
                f"not {forced!r}", "remove std-provider, or the std-features")
        forced = "build-std"
    return forced


def pending_action(project: Project, target: Target, chosen: StdPlan) -> str:
    """What :func:`ensure` would do before ``chosen`` (the plan without installing) is
    ready: ask rustup to add the target, or build std into the cache; "" for nothing."""
    compiler = rustup_compiler(project.workspace)
    if (_forced(project, target) in ("auto", "rustup") and chosen.provider != "rustup"
            and not project.offline and compiler is not None
            and target.triple not in _rustup_installed(project.workspace)):
        fallback = f"{chosen.provider} if that fails" if chosen.ready else (
            f"else build std into {chosen.sysroot}")
        return f"rustup target add {target.triple} ({fallback})"
    if chosen.provider == "build-std" and not chosen.ready:
        return f"build std into {chosen.sysroot}"
    return ""


def plan(project: Project, target: Target) -> StdPlan:
    """The std provider for ``target`` with what is installed now (see :func:`ensure` for
    what providing it does). Runs no installer and writes nothing."""
    forced = _forced(project, target)
    if forced in ("auto", "rustup"):
        found = _rustup_plan(project, target)
        if found or forced == "rustup":
            if found:
                return found
            raise _missing(target, forced)
    if forced in ("auto", "debian"):
        found = _debian_plan(target)
        if found:
            return found
        if forced == "debian":
            if not target.debian_std_possible:
                raise UsageError(
                    f"std-provider 'debian' cannot serve {target.triple}",
                    "Debian ships std only for gnu targets of its architectures; use build-std",
                )
            raise _missing(target, forced)
    found = _build_std_plan(project, target)
    if found:
        return found
    raise _missing(target, forced)


def ensure(project: Project, target: Target) -> StdPlan:
    """Make the target's std available (rustup add, or fill the sysroot cache) and say how:
    the executor of :func:`pending_action`."""
    try:
        chosen: StdPlan | None = plan(project, target)
    except ToolMissing:
        chosen = None
    rustup_wanted = _forced(project, target) in ("auto", "rustup")
    if rustup_wanted and (chosen is None or chosen.provider != "rustup") and (
            not project.offline and rustup_compiler(project.workspace) is not None
            and target.triple not in _rustup_installed(project.workspace)
            and _rustup_add(project, target)):
        return StdPlan(provider="rustup", compiler=_rustup_compiler(project),
                       reason="rustup target add")
    chosen = plan(project, target) if chosen is None else chosen
    if chosen.provider == "build-std":  # built when missing, checked (hashes) when there
        assert chosen.sysroot is not None
        sysroot.build(chosen.compiler, target, chosen.sysroot, project.cache_dir,
                      features=project.std_features, panic=_panic(project))
        chosen = plan(project, target)
        if not chosen.ready:
            raise StepFailed(f"the std build for {target.triple} left no usable sysroot")
    return chosen


def _rustup_compiler(project: Project) -> Compiler:
    compiler = rustup_compiler(project.workspace)
    assert compiler is not None  # checked by the caller
    return compiler
