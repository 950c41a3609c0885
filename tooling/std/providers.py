"""Compilers and std providers: where a target's standard library comes from.

Three providers, tried in this order unless the config forces one:

1. ``rustup`` — the target is installed in the active rustup toolchain, or
   ``rustup target add`` succeeds (skipped when the project is offline).
2. ``debian`` — a gnu target of a Debian architecture whose std Debian ships
   as ``libstd-rust-web-dev:<arch>``, used with Debian's ``rustc-web``.
3. ``build-std`` — std compiled from Debian's ``rust-web-src`` with Debian's
   ``rustc-web``, once, into a cached sysroot checked before each use (see
   :mod:`tooling.std.sysroot`).

One build uses one compiler; which one is printed and recorded. It has to meet the
highest ``rust-version`` of the built packages: when the first provider's is older,
another installed rustup toolchain or Debian's ``rustc-web`` serves, with a std that fits
it (see :func:`plan`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.matrix import rustc_data, workspace
from tooling.matrix.config import Project
from tooling.matrix.host import installs_with_apt
from tooling.matrix.targets import Target
from tooling.std import sysroot
from tooling.std.compiler import (
    Compiler,
    debian_compiler,
    has_std,
    rustup_compiler,
    rustup_toolchains,
    toolchain_pin,
)
from tooling.util import console, proc, versions
from tooling.util.digests import digest

Provider = Literal["rustup", "debian", "build-std"]


@dataclass(frozen=True)
class Requirement:
    """The highest ``rust-version`` of the workspace's members (or of the selected packages)."""

    version: str  #: "1.96"
    package: str

    def met_by(self, compiler: Compiler) -> bool:
        """As cargo compares: a pre-release (1.97.0-nightly) counts as its release."""
        want = versions.parse(self.version)
        have = versions.parse(compiler.release)
        return have + (0,) * (3 - len(have)) >= want + (0,) * (3 - len(want))

    def describe(self) -> str:
        return f"rust-version {self.version} ({self.package})"


class RustVersionUnmet(ToolMissing):
    """No compiler here (or none the settings allow) is as new as the rust-version: said
    before cargo runs, which would only fail with it."""


def requirement(project: Project) -> Requirement | None:
    found = workspace.metadata(project.workspace).rust_version(project.packages)
    return Requirement(found[1], found[0]) if found else None












@dataclass(frozen=True, kw_only=True)
class StdPlan:
    """The answer for one target: which provider, which compiler, which extra rustc flags."""

    provider: Provider
    compiler: Compiler
    sysroot: Path | None = None  #: the cached sysroot (build-std)
    ready: bool = True  #: False: install-targets still has to build or add it
    reason: str = ""
    #: why this compiler: the rust-version it meets, the pin it follows ("": the default)
    compiler_reason: str = ""

    @property
    def rustflags(self) -> tuple[str, ...]:
        return ("--sysroot", str(self.sysroot)) if self.sysroot is not None else ()

    def describe(self) -> str:
        text = f"{self.provider} ({self.compiler.kind} rustc {self.compiler.release})"
        return text if self.ready else text + ", not installed yet"


def _base_crate(target: Target) -> str:
    """The crate whose rlib says the target's standard library is there: core for a
    target without std (bare metal: rustup's rust-std ships core and alloc), else std."""
    return "core" if target.freestanding else "std"


def _rustup_installed(workspace: Path) -> set[str]:
    res = proc.run(["rustup", "target", "list", "--installed"], bound="tool", cwd=workspace,
                   check=False, echo=False)
    return set(res.stdout.split()) if res.ok else set()


def _rustup_plan(project: Project, target: Target) -> StdPlan | None:
    compiler = rustup_compiler(project.workspace)
    if compiler is None or not has_std(compiler, target.triple, crate=_base_crate(target)):
        return None
    return StdPlan(provider="rustup", compiler=compiler, reason="target installed in rustup")


def _rustup_add(project: Project, target: Target) -> bool:
    """``rustup target add`` (the executor's part); False, said in one line, when it fails."""
    from filelock import FileLock  # startup time: only a target being added needs it

    # one rustup at a time: two installs at once into one toolchain can leave its component
    # list without a target whose files are there ("detected conflict" ever after)
    home = Path(os.environ.get("RUSTUP_HOME", Path.home() / ".rustup"))
    locks = project.cache_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(locks / f"rustup-{digest(str(home))[:12]}.lock")):
            res = proc.run(["rustup", "target", "add", target.triple], bound="fetch",
                           cwd=project.workspace, check=False, what="rustup target add")
    except StepFailed as exc:  # timed out
        console.info(f"  rustup could not add {target.triple}: {exc.message}; "
                     "trying the offline providers")
        return False
    compiler = rustup_compiler(project.workspace)
    if res.ok and compiler is not None and has_std(compiler, target.triple,
                                                    crate=_base_crate(target)):
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


def source_std_gap(target: Target) -> str | None:
    """Why a std built from source cannot serve ``target`` (None: it can), from rustc's own
    target spec: rustc links it with C runtime objects that only rustup's std ships."""
    found = rustc_data.spec(target.triple)
    if found is None or not found.needs_shipped_crt:
        return None
    return (f"rustc links {target.triple} with the C runtime of rustup's std (its "
            "self-contained objects); a std built from Debian's source has none")


def _build_std_plan(project: Project, target: Target) -> StdPlan | None:
    compiler = debian_compiler()
    if compiler is None or sysroot.source_dir(compiler) is None or source_std_gap(target):
        return None
    entry = sysroot.entry_dir(project.cache_dir, compiler, target.triple,
                              features=project.std_features, panic=_panic(project),
                              crates=sysroot.crates_for(target))
    return StdPlan(provider="build-std", compiler=compiler, sysroot=entry,
                   ready=sysroot.is_ready(entry), reason=f"std from {sysroot.source_dir(compiler)}")


def _missing(target: Target, forced: str) -> ToolMissing:
    what = f"no std for {target.triple}"
    if forced != "auto":
        what += f" from provider {forced!r}"
    gap = source_std_gap(target)  # rustup's std is the only one that can serve it
    if gap or not installs_with_apt():  # (or no Debian std here: rustup's is the one)
        return ToolMissing(f"{what}: {gap}" if gap else what,
                           f"`rustup target add {target.triple}` (needs the network once), "
                           "or `crossmatrix setup` which runs it")
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


def _rustup_ships(target: Target) -> bool:
    """Whether rustup can have a std to add for ``target``: not for a tier-3 target (rustc's
    own target spec says the tier; rustup ships std only for tiers 1 and 2), so asking it
    would only fail before std is built. Unknown (no spec): asked."""
    found = rustc_data.spec(target.triple)
    return found is None or found.tier is None or found.tier < 3


def pending_action(project: Project, target: Target, chosen: StdPlan) -> str:
    """What :func:`ensure` would do before ``chosen`` (the plan without installing) is
    ready: ask rustup to add the target, or build std into the cache; "" for nothing."""
    compiler = rustup_compiler(project.workspace)
    if (_forced(project, target) in ("auto", "rustup") and chosen.provider != "rustup"
            and not project.offline and compiler is not None and _rustup_fits(project)
            and _rustup_ships(target)
            and target.triple not in _rustup_installed(project.workspace)):
        fallback = f"{chosen.provider} if that fails" if chosen.ready else (
            f"else build std into {chosen.sysroot}")
        return f"rustup target add {target.triple} ({fallback})"
    if chosen.provider == "build-std" and not chosen.ready:
        return f"build std into {chosen.sysroot}"
    return ""


def _first_fit(project: Project, target: Target, forced: str) -> StdPlan:
    """The first provider that can serve ``target`` now, whatever the rust-version."""
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


def _is_release(compiler: Compiler) -> bool:
    return "-" not in compiler.release  # not 1.97.0-nightly or -beta


def _fitting(project: Project, target: Target, forced: str, req: Requirement,
             today: StdPlan | None) -> StdPlan:
    """A provider whose compiler meets ``req``, with the std that fits that compiler:
    another installed rustup toolchain with the target (a release before a nightly), else
    Debian's rustc-web (its multiarch std, else build-std). A pinned toolchain is never
    swapped for another."""
    pin = toolchain_pin(project.workspace)
    active = rustup_compiler(project.workspace)
    rustup_allowed = forced in ("auto", "rustup")
    debian_allowed = forced != "rustup"
    older = today.compiler if today else active
    why = (f"{req.describe()}; {older.kind}'s rustc {older.release} is older" if older
           else req.describe())
    fits = sorted((c for c in rustup_toolchains() if req.met_by(c)),
                  key=lambda c: (not _is_release(c), versions.parse(c.release)))
    with_std = [c for c in fits if has_std(c, target.triple, crate=_base_crate(target))] \
        if rustup_allowed and not pin \
        else []
    candidates: list[StdPlan] = [
        StdPlan(provider="rustup", compiler=c, compiler_reason=why,
                reason=f"target installed in rustup toolchain {c.rustc.parent.parent.name}")
        for c in with_std if _is_release(c)]
    debian = debian_compiler()
    if debian_allowed and not pin and debian is not None and req.met_by(debian):
        found = (_debian_plan(target) if forced in ("auto", "debian") else None) or (
            _build_std_plan(project, target) if forced in ("auto", "build-std") else None)
        if found:
            candidates.append(replace(found, compiler_reason=why))
    candidates += [StdPlan(provider="rustup", compiler=c, compiler_reason=why,
                           reason=f"target installed in rustup toolchain "
                                  f"{c.rustc.parent.parent.name}")
                   for c in with_std if not _is_release(c)]
    if candidates:
        return candidates[0]
    raise _unmet(project, target, forced, req, pin, [c for c in fits if c not in with_std])


def _unmet(project: Project, target: Target, forced: str, req: Requirement, pin: str | None,
           without_target: list[Compiler]) -> RustVersionUnmet:
    """One line: the rust-version, the compilers here and their versions, the fix."""
    active, debian = rustup_compiler(project.workspace), debian_compiler()
    rustups = [f"rustup {c.rustc.parent.parent.name} {c.release}" for c in rustup_toolchains()]
    have = ", ".join(rustups + ([f"Debian's rustc-web {debian.release}"] if debian else []))
    need = f"{target.name}: {req.describe()} needs rustc {req.version} or newer"
    install = (f"`rustup toolchain install {req.version}`, or install a Debian rustc-web "
               f"{req.version} or newer")
    if pin is not None and active is not None and req.met_by(active):
        return RustVersionUnmet(f"{need}; the pinned rustup toolchain ({pin}) has no std for "
                                f"{target.triple}", f"`rustup target add {target.triple}`")
    if pin is not None and active is not None:
        return RustVersionUnmet(f"{need}, but {pin} pins rustc {active.release}",
                                f"pin {req.version} or newer there")
    if forced == "rustup":
        return RustVersionUnmet(f"{need}; std-provider 'rustup' allows only rustup's "
                                f"({', '.join(rustups) or 'none installed'})",
                                f"`rustup toolchain install {req.version}`, or remove "
                                "std-provider to use Debian's rustc-web")
    if forced in ("debian", "build-std"):
        return RustVersionUnmet(
            f"{need}; std-provider {forced!r} uses Debian's rustc-web "
            f"({debian.release if debian else 'not installed'})",
            f"install Debian's rustc-web {req.version} or newer, or remove std-provider")
    if without_target:
        name = without_target[0].rustc.parent.parent.name
        return RustVersionUnmet(f"{need}; rustup {name} has no std for {target.triple}",
                                f"`rustup target add --toolchain {name} {target.triple}`")
    return RustVersionUnmet(f"{need}; here: {have or 'none'}", install)


def plan(project: Project, target: Target) -> StdPlan:
    """The std provider for ``target`` with what is installed now (see :func:`ensure` for
    what providing it does). Runs no installer and writes nothing.

    The first provider that can serve, unless its compiler is older than the workspace's
    ``rust-version``: then one whose compiler meets it (:func:`_fitting`), or
    :class:`RustVersionUnmet`."""
    forced = _forced(project, target)
    req = requirement(project)
    if req is None:
        return _said_pin(project, _first_fit(project, target, forced), "")
    try:
        today: StdPlan | None = _first_fit(project, target, forced)
    except ToolMissing as exc:
        today, no_std = None, exc
    if today is not None and req.met_by(today.compiler):
        return _said_pin(project, today, f"meets {req.describe()}")
    try:
        return _fitting(project, target, forced, req, today)
    except RustVersionUnmet:
        if today is None:
            raise no_std from None  # no std at all: the first thing to fix
        raise


def _said_pin(project: Project, chosen: StdPlan, why: str) -> StdPlan:
    """``chosen`` with the toolchain pin it follows said, when it is rustup's pinned one."""
    pin = toolchain_pin(project.workspace) if chosen.compiler.kind == "rustup" else None
    why = "; ".join(part for part in (f"pinned by {pin}" if pin else "", why) if part)
    return replace(chosen, compiler_reason=why) if why else chosen


def _rustup_fits(project: Project) -> bool:
    """Whether rustup's active toolchain meets the rust-version (so adding a target to it
    helps)."""
    req = requirement(project)
    active = rustup_compiler(project.workspace)
    return req is None or (active is not None and req.met_by(active))


def ensure(project: Project, target: Target) -> StdPlan:
    """Make the target's std available (rustup add, or fill the sysroot cache) and say how:
    the executor of :func:`pending_action`."""
    try:
        chosen: StdPlan | None = plan(project, target)
    except ToolMissing:
        chosen = None
    rustup_wanted = (_forced(project, target) in ("auto", "rustup") and _rustup_fits(project)
                     and _rustup_ships(target))
    if rustup_wanted and (chosen is None or chosen.provider != "rustup") and (
            not project.offline and rustup_compiler(project.workspace) is not None
            and target.triple not in _rustup_installed(project.workspace)
            and _rustup_add(project, target)):
        added = StdPlan(provider="rustup", compiler=_rustup_compiler(project),
                        reason="rustup target add")
        req = requirement(project)
        return _said_pin(project, added, f"meets {req.describe()}" if req else "")
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
