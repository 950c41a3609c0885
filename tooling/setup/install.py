"""``inv setup``: the Debian packages the selected targets need, installed idempotently."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tooling.compile import buildenv, hosttools
from tooling.errors import StepFailed, ToolMissing
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.host import installs_with_apt
from tooling.matrix.targets import Target
from tooling.plan import planner
from tooling.platforms import platform_of
from tooling.pymod import roots
from tooling.std import providers
from tooling.std.compiler import Compiler, default_compiler
from tooling.util import console, proc

#: The offline std providers: Debian's compiler, and std's source for build-std.
STD_PACKAGES = ("rustc-web", "cargo-web", "rust-web-src")


@dataclass(frozen=True)
class Needs:
    arches: tuple[str, ...]  #: foreign Debian architectures to enable
    packages: tuple[str, ...]
    #: wanted, but a build does not depend on them (only running it does): when the
    #: archive cannot install them, setup says so in one line and goes on
    optional: tuple[str, ...] = ()
    #: foreign architectures only the optional packages need
    optional_arches: tuple[str, ...] = ()
    #: Debian's std of a target that another provider serves too (rustup's std, build-std
    #: from rust-web-src): installed one by one, and one the archive cannot serve is skipped
    #: with a line saying so; package -> the targets it is for
    std: dict[str, tuple[str, ...]] = field(default_factory=dict)


def needs(targets: Sequence[Target], project: Project) -> Needs:
    arches: list[str] = []
    optional_arches: list[str] = []
    # pkg-config: build scripts find the target's system libraries with it
    packages: list[str] = ["file", "binutils", "pkg-config", *STD_PACKAGES]
    if buildenv.protoc_users(project.workspace) and not os.environ.get("PROTOC"):
        packages.append("protobuf-compiler")
    # cmake, nasm, libclang, go … for the lock file's crates that run them for these targets
    packages += hosttools.debian_packages(project, targets)
    if project.sccache:
        packages.append("sccache")
    optional: list[str] = []
    std: dict[str, tuple[str, ...]] = {}
    for target in targets:
        wanted = platform_of(target).debian_packages(target, project.linker_for(target))
        arches += wanted.arches
        packages += wanted.packages
        optional += wanted.optional
        optional_arches += wanted.optional_arches
        if project.std_provider_for(target) == "debian":  # the only std it may use
            packages += wanted.std
        else:
            for package in wanted.std:
                std[package] = (*std.get(package, ()), target.triple)
    required = tuple(dict.fromkeys(packages))
    return Needs(tuple(dict.fromkeys(arches)), required, tuple(dict.fromkeys(optional)),
                 tuple(a for a in dict.fromkeys(optional_arches) if a not in arches),
                 {p: triples for p, triples in std.items() if p not in required})


def _compiler(project: Project) -> Compiler:

    compiler = default_compiler(project.workspace)
    if compiler is None:
        raise ToolMissing("no cargo to fetch the crates with", "install rustup, or run setup")
    return compiler


def can_fetch(project: Project) -> bool:
    """Whether a cargo is here to fetch the crates with (before setup installs Debian's)."""
    return default_compiler(project.workspace) is not None


def fetch_crates(project: Project) -> None:
    """Download every crate the workspace's Cargo.lock names, so that builds need no network
    afterwards (they are proven to work with it cut: tests/integration/test_offline.py)."""
    compiler = _compiler(project)
    locked = ["--locked"] if (project.workspace / "Cargo.lock").is_file() else []
    res = proc.run([str(compiler.cargo), "fetch", *locked], bound="fetch",
                   cwd=project.workspace, env=proc.child_env(compiler.env()),
                   what="cargo fetch", check=False)
    if not res.ok:
        if res.tail():
            console.info(res.tail())
        raise StepFailed(f"cargo fetch failed with exit code {res.returncode}",
                         _fetch_hint(res.stderr))
    console.info("setup: every crate of Cargo.lock is on this machine (cargo fetch)")


#: cargo finding no release in the registry for what Cargo.lock pins
_NOT_IN_REGISTRY = re.compile(r"failed to select a version for the requirement `([\w.+-]+) = "
                              r"\"[^\"]*\"` \(locked to ([\w.+-]+)\)")


def _fetch_hint(stderr: str) -> str:
    gone = _NOT_IN_REGISTRY.search(stderr)
    if gone:
        return (f"the registry here has no {gone[1]} {gone[2]}, which Cargo.lock pins (a "
                f"mirror behind crates.io, or a release taken down): `cargo update -p "
                f"{gone[1]}` to a version it has, or use a registry that has it")
    return "cargo could not download the crates; setup needs the network once"


def is_installed(package: str) -> bool:
    res = proc.run(["dpkg-query", "-W", "-f=${Status}", package], bound="tool", check=False,
                   echo=False)
    return res.ok and "install ok installed" in res.stdout


def foreign_arches() -> set[str]:
    res = proc.run(["dpkg", "--print-foreign-architectures"], bound="tool", check=False,
                   echo=False)
    return set(res.stdout.split())


def _sudo() -> list[str]:
    """``sudo -n``: a child runs in a process group of its own, where a password prompt on
    the terminal would stop it; asked for a password, sudo says so and fails instead (run
    ``sudo -v`` first to enter it)."""
    if os.geteuid() == 0:
        return []
    if proc.which("sudo"):
        return ["sudo", "-n"]
    raise ToolMissing("installing packages needs root", "run `inv setup` as root or install sudo")


#: another apt or dpkg at work (a second setup, unattended-upgrades) is waited for, not a failure
_APT_INSTALL = ("apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq",
                "--no-install-recommends")

_SUDO_HINT = "if sudo asked for a password: run `sudo -v`, then inv setup again"


def setup(targets: Sequence[Target], project: Project, *, dry_run: bool = False) -> list[str]:
    """Enable architectures and install what is missing; return what was (or would be) done."""
    wanted = needs(targets, project)
    if not installs_with_apt():
        return without_apt(targets, project, wanted, dry_run=dry_run)
    done: list[str] = []
    new_arches = [a for a in wanted.arches if a not in foreign_arches()]
    missing = [p for p in wanted.packages if not is_installed(p)]
    optional = [p for p in wanted.optional if not is_installed(p)]
    std = [p for p in wanted.std if not is_installed(p)]
    if not new_arches and not missing and not optional and not std:
        console.info(f"setup: all {len(wanted.packages) + len(wanted.std)} packages already "
                     "installed")
        return done
    for arch in new_arches:
        done.append(f"dpkg --add-architecture {arch}")
    if missing:
        done.append("apt-get install " + " ".join(missing))
    for package in std:
        done.append(f"apt-get install {package} (Debian's std; rustup's or build-std serve "
                    f"{', '.join(wanted.std[package])} without it)")
    if optional:
        done.append("apt-get install " + " ".join(optional) + " (optional)")
    for line in done:
        console.info(f"setup: {line}")
    if dry_run:
        return done
    sudo = _sudo()
    env = proc.child_env({"DEBIAN_FRONTEND": "noninteractive"})
    for arch in new_arches:
        proc.run([*sudo, "dpkg", "--add-architecture", arch], bound="tool", hint=_SUDO_HINT)
    _update(sudo, env)
    if missing:
        proc.run([*sudo, *_APT_INSTALL, *missing], bound="fetch", env=env,
                 what="apt-get install", capture=False, hint=_SUDO_HINT)
    for package in std:
        _install_std(sudo, env, package, wanted.std[package])
    if optional:
        _install_optional(sudo, env, wanted, optional)
    return done


def _apt_error(res: proc.Result) -> str:
    said = [line for line in (res.stderr + res.stdout).splitlines() if line.startswith("E:")]
    return said[-1] if said else "apt failed"


def _install_std(sudo: list[str], env: dict[str, str], package: str,
                 triples: tuple[str, ...]) -> None:
    """Debian's std of a target, on its own: the archive cannot always serve it (seen:
    ``libstd-rust-web-dev:i386`` and ``:armhf`` "held broken packages"), and those targets
    then take rustup's std or build std from rust-web-src (the plan says which)."""
    res = proc.run([*sudo, *_APT_INSTALL, package], bound="fetch", env=env,
                   what=f"apt-get install {package}", check=False)
    if not res.ok:
        console.warn(f"setup: skipped {package}: the archive cannot install it "
                     f"({_apt_error(res)}); {', '.join(triples)} "
                     f"take{'s' if len(triples) == 1 else ''} rustup's std or build-std "
                     "instead (std-provider = \"debian\" would need it)")


def debian_commands(wanted: Needs) -> list[str]:
    """What setup runs on a Debian system with nothing installed yet."""
    lines = [f"dpkg --add-architecture {arch}" for arch in wanted.arches]
    lines.append("apt-get install " + " ".join(wanted.packages))
    lines += [f"apt-get install {package} (Debian's std, if the archive serves it)"
              for package in wanted.std]
    if wanted.optional:
        lines.append("apt-get install " + " ".join(wanted.optional) + " (optional)")
    return lines


def without_apt(targets: Sequence[Target], project: Project, wanted: Needs, *,
                dry_run: bool = False) -> list[str]:
    """A host where setup cannot install Debian packages (macOS, Fedora, no root): say what
    it would install on Debian, add the rustup targets whose std is missing (unless
    offline), and say what to install here, read from the plan — what a build needs (an
    error when anything is missing), then what only running needs (its binaries are
    recorded "not run" without it)."""
    console.info("setup: no apt here (apt-get, dpkg-query, and root or sudo); builds use "
                 "rustup's std and zig")
    for line in debian_commands(wanted):
        console.info(f"setup: on Debian it would run: {line}")
    for target in targets if not dry_run and not project.offline else ():
        try:
            providers.plan(project, target)
        except ToolMissing:
            with contextlib.suppress(ToolMissing):  # still missing: listed below, with its fix
                providers.ensure(project, target)  # rustup target add, said in one line
    chosen = planner.plan(project, targets)
    here = [f"{p.target.name}: {m.what} ({m.step}): {m.fix}" for p in chosen.targets
            for m in p.missing]
    for line in here:
        console.info(f"setup: here, install: {line}")
    for p in chosen.targets:
        if p.cannot_run:
            console.info(f"setup: here, to run {p.target.name} too: {p.cannot_run}")
    if here:
        raise ToolMissing(f"{len(here)} thing{'s' if len(here) > 1 else ''} the selected "
                          "targets need are not here (listed above)",
                          "install them, then run setup again")
    console.info(f"setup: nothing missing here to build {', '.join(t.name for t in targets)}")
    return here


def _update(sudo: list[str], env: dict[str, str]) -> bool:
    res = proc.run([*sudo, "apt-get", "update", "-qq"], bound="fetch", env=env,
                   what="apt-get update", check=False)
    if not res.ok:
        console.warn(f"apt-get update: {res.tail(1) or 'failed'}; going on with the lists it got")
    return res.ok


def _install_optional(sudo: list[str], env: dict[str, str], wanted: Needs,
                      optional: list[str]) -> None:
    """Optional packages may need an architecture of their own (wine32 needs i386). One
    broken index of that architecture (seen: bookworm-security's i386 list mid-sync) makes
    apt drop *every* new list of that suite, the required architectures' included; so an
    optional architecture whose lists do not update is removed again."""
    added = [a for a in wanted.optional_arches if a not in foreign_arches()]
    for arch in added:
        proc.run([*sudo, "dpkg", "--add-architecture", arch], bound="tool", hint=_SUDO_HINT)
    if added and not _update(sudo, env):
        for arch in added:
            proc.run([*sudo, "dpkg", "--remove-architecture", arch], bound="tool", check=False)
        _update(sudo, env)
        console.warn(f"setup: the archive's lists for {', '.join(added)} do not update; "
                     f"{' '.join(optional)} not installed — builds go on, but those programs "
                     "will not run")
        return
    for package in optional:
        res = proc.run([*sudo, *_APT_INSTALL, package], bound="fetch", env=env,
                       what=f"apt-get install {package}", check=False)
        if not res.ok:
            console.warn(f"setup: {package} cannot be installed here ({_apt_error(res)}); "
                         "builds go on, but its programs will not run")


def python_roots(targets: Sequence[Target], project: Project) -> None:
    """When the workspace builds Python modules: a Debian Python for each foreign glibc
    target's architecture, so the run step really imports those modules (under qemu).
    Optional: builds do not depend on it, so a failure is said in one line."""
    if not workspace.metadata(project.workspace, str(_compiler(project).cargo)).python_modules:
        return
    arches: dict[str, Target] = {}
    for target in targets:
        if roots.wanted(target):
            arches.setdefault(target.arch.deb, target)
    for deb_arch, target in arches.items():
        try:
            roots.make(project.cache_dir, target)
        except (StepFailed, ToolMissing) as exc:
            console.warn(f"setup: no {deb_arch} Python ({exc.message}); {target.name}'s "
                         "Python modules will be checked structurally, not imported")

