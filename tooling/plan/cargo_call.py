"""The cargo calls of one target, as data: ``cargo build`` for compile and ``cargo test`` for
``inv test`` are made from the same parts (target, ``--config``, packages, features,
``--locked``), and the environment the child cargo gets on top of this process's.

Linker, ``CC_<t>``, ``AR_<t>`` and rustflags go into that environment (and ``--config``),
never into the user's files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tooling.compile import buildenv, crossenv, linkers
from tooling.errors import ToolMissing
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import Target, from_triple
from tooling.platforms import platform_of
from tooling.std import providers
from tooling.std.compiler import Compiler, default_compiler
from tooling.util import proc, scripts
from tooling.util.scripts import Script


def _rustflags_env(flags: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Our rustflags appended to the user's RUSTFLAGS when they set it (cargo then ignores
    target rustflags, so ``--config`` would not apply); else nothing: see _config_args."""
    user = environ.get("CARGO_ENCODED_RUSTFLAGS")
    if user is None and environ.get("RUSTFLAGS"):
        user = "\x1f".join(environ["RUSTFLAGS"].split())
    if user is not None:
        merged = [f for f in user.split("\x1f") if f] + list(flags)
        return {"CARGO_ENCODED_RUSTFLAGS": "\x1f".join(merged)}
    return {}


def _config_args(target: Target, flags: Sequence[str]) -> list[str]:
    if not flags:
        return []
    return ["--config", f"target.{target.triple}.rustflags={json.dumps(list(flags))}"]


def _remaps(project: Project) -> list[tuple[Path, str]]:
    """Paths that differ between machines and checkouts, and what binaries say instead:
    cargo's home (the registry sources) "/cargo", the workspace ".", the target folder
    "/target". Most specific last: rustc applies the last prefix that matches."""
    home = workspace.cargo_home()
    return [(home.resolve(), "/cargo"), (project.workspace.resolve(), "."),
            (workspace.metadata(project.workspace).target_dir.resolve(), "/target")]


def remap_flags(project: Project) -> list[str]:
    """For rustc: panic locations and file!() the same in every checkout."""
    flags: list[str] = []
    for source, dest in _remaps(project):
        flags += ["--remap-path-prefix", f"{source}={dest}"]
    return flags


def remap_cflags(project: Project, target: Target) -> dict[str, str]:
    """For C compiled by build scripts (gcc and zig's clang both read -ffile-prefix-map):
    appended to the user's own ``CFLAGS_<target>``."""
    return _remap_cflags(project, target.cc_key)


def _remap_cflags(project: Project, cc_key: str) -> dict[str, str]:
    key = f"CFLAGS_{cc_key}"
    # gcc takes the first matching map, clang the last: no nesting, so the target
    # folder's is only added when it is outside the workspace
    maps = [(s, d) for s, d in _remaps(project)
            if d != "/target" or not s.is_relative_to(project.workspace.resolve())]
    flags = [f"-ffile-prefix-map={source}={dest}" for source, dest in maps]
    return {key: " ".join([os.environ.get(key, ""), *flags]).strip()}


def cdylib_packages(project: Project) -> list[str]:
    """Selected packages with a cdylib (a Python extension module, a plugin)."""
    cdylibs = {package for package, _ in workspace.metadata(project.workspace).cdylibs}
    return sorted(cdylibs & set(project.packages) if project.packages else cdylibs)


@dataclass(frozen=True)
class Invocation:
    """The cargo calls that build (and test) a target, and everything they were derived
    from. ``env`` is the whole child environment; ``added`` what it adds to this
    process's, ``removed`` what it takes away."""

    argv: list[str]
    env: dict[str, str]
    compiler: Compiler
    plan: providers.StdPlan | None
    link: linkers.LinkerPlan
    flags: list[str]
    added: dict[str, str] = field(default_factory=dict)
    removed: tuple[str, ...] = ()
    config_args: tuple[str, ...] = ()
    selection: tuple[str, ...] = ()  #: ``-p a -p b`` or ``--workspace``
    tail: tuple[str, ...] = ()  #: features and ``--locked``, shared by build and test
    notes: tuple[str, ...] = ()  #: what the build leaves out, and why
    scripts: tuple[Script, ...] = ()  #: files the environment names besides the linker's

    @property
    def writes(self) -> tuple[Script, ...]:
        """Every file to write before cargo runs: the linker wrappers, the toolchain file."""
        return (*self.link.scripts, *self.scripts)

    def materialize(self) -> Invocation:
        """Write the planned files (the executor's part); returns this call."""
        for script in self.writes:
            script.write()
        return self

    def test_argv(self, *, no_run: bool, args: Sequence[str] = ()) -> list[str]:
        """``cargo test`` of the same target, ``--config``, packages, features and
        ``--locked``, in cargo's test profile; ``--no-fail-fast`` so every failing test is
        counted (``--no-run`` only builds them)."""
        argv = [str(self.compiler.cargo), "test", "--target", self.argv[3],
                *self.config_args, *self.selection, *self.tail]
        argv += ["--no-run"] if no_run else ["--no-fail-fast"]
        if args and not no_run:
            argv += ["--", *args]
        return argv


def link_plan(project: Project, target: Target) -> linkers.LinkerPlan:
    """The target's linker and C toolchain as the project configures them: the one place
    every command (plan, targets, doctor, configure, compile, test) gets it from."""
    return linkers.for_project(project, target)


def host_c_env(project: Project, compiler: Compiler) -> dict[str, str]:
    """The C toolchain of the host's own triple, the same in every target's call.

    Build scripts and proc-macros are host units, shared by every target built with one
    compiler; whatever they see must not change from one target's call to the next, or
    each switch rebuilds them and everything that depends on them (seen: 62 crates after a
    one-line edit, for want of the host triple's linker in the other calls). So the host
    target's linker goes in as a target rustflag (which host units never get when
    ``--target`` is passed; ``CARGO_TARGET_<HOST>_LINKER`` they would), and its C compiler
    and flags, which cc-rs reads for host units too, are given to every call alike. Where
    the host's own link plan needs wrapper scripts, only the flags are shared."""
    cc_key = compiler.host.replace("-", "_")
    env = _remap_cflags(project, cc_key)
    host = from_triple(compiler.host)
    if host is not None:
        plan = link_plan(project, host)
        if not plan.scripts:
            env = {**{k: v for k, v in plan.cargo_env(host).items()
                      if k.startswith(("CC_", "CXX_", "AR_", "RANLIB_"))}, **env}
    return env


def derive(project: Project, target: Target, std: providers.StdPlan | None,
           *, std_missing: ToolMissing | None = None) -> Invocation:
    """The cargo call for ``target`` with ``std`` (None: no std provider yet, said in the
    notes). Pure: it asks tools what they are and writes nothing."""
    link = link_plan(project, target)
    compiler = std.compiler if std else default_compiler(project.workspace)
    if compiler is None:
        raise ToolMissing("no Rust compiler found", "install rustup, or run `inv setup`")
    settings = project.settings_for(target)
    std_flags = std.rustflags if std else ()
    platform = platform_of(target)
    link_env = link.cargo_env(target)
    own_linker: list[str] = []
    if target.triple == compiler.host:
        own_linker = ["-C", f"linker={link_env.pop(f'CARGO_TARGET_{target.env_key}_LINKER')}"]
    flags = [*own_linker, *platform.rustflags(target), *link.rustflags, *std_flags,
             *settings.rustflags]
    all_flags = [*flags, *remap_flags(project)]
    extra_env = _rustflags_env(all_flags, os.environ)
    config_args = [] if extra_env else _config_args(target, all_flags)
    path = os.pathsep.join([str(scripts.bin_dir()), os.environ.get("PATH", "")])
    wrapper = {}
    if project.sccache:
        sccache = proc.which("sccache")
        if sccache is None:
            raise ToolMissing("sccache = true, but sccache is not installed",
                              f"run `inv setup --target {target.name}` (installs Debian's sccache)")
        wrapper = {"RUSTC_WRAPPER": sccache}
    cross = crossenv.plan(target, link, project.cache_dir, {**os.environ, **settings.env},
                          compiler.host)  # CMake's toolchain file, bindgen's clang args
    added = {**host_c_env(project, compiler), **compiler.env(), **link_env,
             **cross.env, **remap_cflags(project, target),
             **buildenv.pkg_config_env(target), **buildenv.protoc_env(project.workspace),
             **settings.env, **extra_env, **wrapper, "PATH": path}
    removed = ("CARGO_BUILD_TARGET", "RUSTFLAGS") if extra_env else ("CARGO_BUILD_TARGET",)
    env = proc.child_env(added, remove=removed)
    selection = tuple(arg for package in project.packages for arg in ("-p", package)) \
        if project.packages else ("--workspace",)
    tail = (*(["--features", ",".join(project.features)] if project.features else []),
            *(["--locked"] if (project.workspace / "Cargo.lock").is_file() else []))
    argv = [str(compiler.cargo), "build", "--target", target.triple,
            "--message-format=json-render-diagnostics", *config_args]
    argv += ["--release"] if project.profile == "release" else ["--profile", project.profile]
    argv += [*selection, "--bins"]
    notes = [f"{target.name}: {std_missing.message}"] if std_missing else []
    libraries = cdylib_packages(project)
    if libraries:
        why_not = platform.cdylib_unsupported(target, flags)
        if why_not is None:
            argv.append("--lib")
        else:
            notes.append(f"{', '.join(libraries)}: no cdylib for this target ({why_not})")
    argv += tail
    return Invocation(argv, env, compiler, std, link, flags, added=added, removed=removed,
                      config_args=tuple(config_args), selection=selection, tail=tail,
                      notes=tuple(notes), scripts=cross.scripts)
