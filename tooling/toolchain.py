"""Compilers and std providers: where a target's standard library comes from.

Three providers, tried in this order unless the config forces one:

1. ``rustup`` — the target is installed in the active rustup toolchain, or
   ``rustup target add`` succeeds (skipped when the project is offline).
2. ``debian`` — a gnu target of a Debian architecture whose std Debian ships
   as ``libstd-rust-web-dev:<arch>``, used with Debian's ``rustc-web``.
3. ``build-std`` — std compiled from Debian's ``rust-web-src`` with Debian's
   ``rustc-web``, once, into a cached sysroot (see :mod:`tooling.sysroot`).

One build uses one compiler; which one is printed and recorded.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tooling import console, memo, proc, sysroot
from tooling.config import Project
from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.targets import Target

Provider = Literal["rustup", "debian", "build-std"]

DEBIAN_RUSTC = Path("/usr/bin/rustc")
DEBIAN_CARGO = Path("/usr/bin/cargo")
RUSTUP_ADD_TIMEOUT = 120.0


@dataclass(frozen=True, kw_only=True)
class Compiler:
    kind: Literal["rustup", "debian"]
    rustc: Path
    cargo: Path
    release: str  #: "1.96.0"
    commit_hash: str
    host: str
    sysroot: Path
    verbose_version: str = field(repr=False)

    @property
    def version_line(self) -> str:
        return self.verbose_version.splitlines()[0].strip()

    def describe(self) -> str:
        return f"{self.version_line} [{self.kind}: {self.rustc}]"

    def env(self) -> dict[str, str]:
        """What the child cargo needs so that this exact compiler is used."""
        return {"RUSTC": str(self.rustc)}


def _parse_vv(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _compiler(kind: Literal["rustup", "debian"], rustc: Path, cargo: Path) -> Compiler:
    def probe() -> tuple[list[str], list[Path]]:
        vv = proc.run([str(rustc), "-vV"], echo=False, what=f"{rustc} -vV").stdout
        root = proc.run([str(rustc), "--print", "sysroot"], echo=False).stdout.strip()
        return [vv, root], []

    vv, root = memo.remember("rustc", [str(rustc)], [rustc], probe)
    fields = _parse_vv(vv)
    return Compiler(kind=kind, rustc=rustc, cargo=cargo, release=fields.get("release", "?"),
                    commit_hash=fields.get("commit-hash", "unknown"),
                    host=fields.get("host", "?"), sysroot=Path(root), verbose_version=vv)


@functools.cache
def rustup_compiler(workspace: Path) -> Compiler | None:
    """The rustup toolchain active for ``workspace`` (honours rust-toolchain files)."""
    rustup = proc.which("rustup")
    if rustup is None:
        return None
    home = Path(os.environ.get("RUSTUP_HOME", Path.home() / ".rustup"))

    def which() -> tuple[list[str] | None, list[Path]]:
        paths = []
        for tool in ("rustc", "cargo"):
            res = proc.run(["rustup", "which", tool], cwd=workspace, check=False, echo=False)
            if not res.ok:
                return None, []
            paths.append(res.stdout.strip())
        return paths, [Path(p) for p in paths]

    files = [Path(rustup), home / "settings.toml", home / "toolchains",
             *memo.ancestors_files(workspace, ("rust-toolchain", "rust-toolchain.toml"))]
    found = memo.remember("rustup-which", [str(workspace)], files, which)
    if found is None:
        return None
    return _compiler("rustup", Path(found[0]), Path(found[1]))


@functools.cache
def debian_compiler() -> Compiler | None:
    if not (DEBIAN_RUSTC.is_file() and DEBIAN_CARGO.is_file()):
        return None
    return _compiler("debian", DEBIAN_RUSTC, DEBIAN_CARGO)


def has_std(compiler: Compiler, triple: str, sysroot_dir: Path | None = None) -> bool:
    lib = (sysroot_dir or compiler.sysroot) / "lib" / "rustlib" / triple / "lib"
    return any(lib.glob("libstd-*.rlib"))


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
    res = proc.run(["rustup", "target", "list", "--installed"], cwd=workspace, check=False,
                   echo=False)
    return set(res.stdout.split()) if res.ok else set()


def _rustup_plan(project: Project, target: Target, install: bool) -> StdPlan | None:
    compiler = rustup_compiler(project.workspace)
    if compiler is None:
        return None
    if has_std(compiler, target.triple):
        return StdPlan(provider="rustup", compiler=compiler, reason="target installed in rustup")
    if target.triple not in _rustup_installed(project.workspace) and install and (
        not project.offline
    ):
        res = proc.run(["rustup", "target", "add", target.triple], cwd=project.workspace,
                       check=False, timeout=RUSTUP_ADD_TIMEOUT, what="rustup target add")
        if res.ok and has_std(compiler, target.triple):
            return StdPlan(provider="rustup", compiler=compiler, reason="rustup target add")
        said = [line.strip() for line in (res.stderr + res.stdout).splitlines()
                if "error" in line.lower()]
        console.info(f"  rustup could not add {target.triple}: "
                     f"{said[0] if said else res.tail(1) or 'no output'}; "
                     "trying the offline providers")
    return None


def _debian_plan(target: Target) -> StdPlan | None:
    compiler = debian_compiler()
    if compiler is None or not target.debian_std_possible:
        return None
    if has_std(compiler, target.triple):
        return StdPlan(provider="debian", compiler=compiler,
                       reason=f"libstd-rust-web-dev:{target.arch.deb_arch}")
    return None


def _panic(project: Project) -> str:
    from tooling import cargo

    return cargo.profile_panic(project.workspace, project.profile)


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


def plan(project: Project, target: Target, *, install: bool = False) -> StdPlan:
    """Pick the std provider for ``target``; with ``install``, rustup may download it."""
    forced = project.std_provider_for(target)
    if project.std_features:
        # only a std built from source can have other features than the shipped one
        if forced not in ("auto", "build-std"):
            raise UsageError(
                f"std-features {list(project.std_features)} need std-provider 'build-std', "
                f"not {forced!r}", "remove std-provider, or the std-features")
        forced = "build-std"
    if forced in ("auto", "rustup"):
        found = _rustup_plan(project, target, install)
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
    """Make the target's std available (rustup add, or fill the sysroot cache) and say how."""
    chosen = plan(project, target, install=True)
    if chosen.provider == "build-std" and not chosen.ready:
        assert chosen.sysroot is not None
        sysroot.build(chosen.compiler, target, chosen.sysroot, project.cache_dir,
                      features=project.std_features, panic=_panic(project))
        chosen = plan(project, target)
        if not chosen.ready:
            raise StepFailed(f"the std build for {target.triple} left no usable sysroot")
    return chosen
