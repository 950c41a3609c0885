"""What this machine has for ``inv doctor``: programs, libraries for a target (their
pkg-config files), the target's C toolchain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling.compile import hosttools
from tooling.errors import CrossmatrixError
from tooling.matrix.config import Project
from tooling.matrix.targets import TABLE, Target
from tooling.plan import cargo_call
from tooling.platforms import platform_of
from tooling.util import proc


@dataclass(frozen=True, kw_only=True)
class Machine:
    """Programs on PATH, files under ``root`` and the environment build scripts will see."""

    env: Mapping[str, str]
    root: Path = Path("/")

    def which(self, program: str) -> bool:
        return proc.which(program, path=self.env.get("PATH")) is not None

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def named_file(self, variable: str) -> bool:
        value = self.env.get(variable)
        return bool(value) and Path(str(value)).exists()


@dataclass(frozen=True, kw_only=True)
class Need:
    what: str
    ok: bool  #: satisfied on this machine now
    fix: str | None = None
    pre_build: bool = False  #: the project's pre-build commands install it before the build
    tool: str | None = None  #: the host tool it is (hosttools.TOOLS), if it is one


def host_target() -> Target | None:
    return next((t for t in TABLE
                 if platform_of(t).debian_libraries(t) and t.runs_natively()), None)


def tool_need(name: str, machine: Machine, crates: Iterable[str] = (),
              fix: str | None = None) -> Need:
    """A program build scripts run here, found as they find it (``fix``: the tool's own
    fix and the other ways out the crate gives)."""
    tool = hosttools.tool(name)
    ok = hosttools.present(tool, machine.env, root=machine.root, crates=crates)
    return Need(what=tool.what, ok=ok, fix=fix or tool.fix, tool=name)


def pkgconfig_dirs(target: Target, machine: Machine, host: Target | None) -> list[Path]:
    """Where pkg-config looks for ``target``'s libraries: the variables for that target,
    then Debian's multiarch folders (gnu targets only: Debian's libraries are glibc's)."""
    names = [f"PKG_CONFIG_{kind}_{t}" for kind in ("LIBDIR", "PATH")
             for t in (target.triple, target.cc_key)]
    is_host = host is not None and target.triple == host.triple
    if is_host:
        names += ["PKG_CONFIG_LIBDIR", "PKG_CONFIG_PATH"]
    dirs = [Path(d) for n in names for d in machine.env.get(n, "").split(":") if d]
    if platform_of(target).debian_libraries(target):
        dirs += [machine.path(f"/usr/lib/{target.arch.gnu_prefix}/pkgconfig"),
                 machine.path("/usr/share/pkgconfig")]
        if is_host:
            dirs.append(machine.path("/usr/lib/pkgconfig"))
    return dirs


def c_toolchain(project: Project, target: Target) -> Need:
    """The target's configured C compiler (the one ``inv compile`` gives build scripts)."""
    what = f"C compiler for {target.name}"
    try:
        plan = cargo_call.link_plan(project, target)
    except CrossmatrixError as exc:
        return Need(what=what, ok=False, fix=exc.hint or exc.message)
    if not plan.cc:  # rust-lld links bare metal and brings no C compiler
        return Need(what=f"{what} (none: {plan.kind} links it and no C compiler is set up)",
                    ok=False, fix=f"C code cannot be built for {target.name} by crossmatrix")
    name = "zig cc" if plan.kind == "zig" else Path(plan.cc).name
    fix = (f"run `inv setup --target {target.name}` (installs {' '.join(plan.packages)})"
           if plan.packages else f"install {plan.cc}")
    return Need(what=f"{what} ({name})", ok=plan.present(), fix=fix)


def host_cc(machine: Machine) -> Need:
    return Need(what="the build machine's C compiler (cc)",
                ok=machine.which("cc") or machine.which("gcc"), fix="install Debian's gcc")
