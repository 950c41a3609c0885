"""What this machine has for ``inv doctor``: programs, libraries for a target (their
pkg-config files), the target's C toolchain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling.compile import syslibs
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


def host_target() -> Target | None:
    return next((t for t in TABLE
                 if platform_of(t).debian_libraries(t) and t.runs_natively()), None)


_TOOL_FIX = {
    "protoc": "install Debian's protobuf-compiler (`inv setup` does), or set "
              "PROTOC=/path/to/protoc",
    "cmake": "install Debian's cmake",
    "libclang": "install Debian's libclang-dev, or set LIBCLANG_PATH to the folder with "
                "libclang.so",
}
_TOOL_WHAT = {"protoc": "protoc (protobuf compiler)", "libclang": "libclang (bindgen)"}


def _libclang(machine: Machine) -> bool:
    folders = [Path(machine.env["LIBCLANG_PATH"])] if machine.env.get("LIBCLANG_PATH") else []
    found = [f for d in folders for f in d.glob("libclang*.so*")]
    found += machine.path("/usr/lib").glob("llvm-*/lib/libclang*.so*")
    found += machine.path("/usr/lib").glob("*-linux-gnu/libclang*.so*")
    # libclang-cpp is LLVM's C++ library, not the C API bindgen loads
    return any(not f.name.startswith("libclang-cpp") for f in found)


def tool_need(name: str, machine: Machine, crates: Iterable[str] = ()) -> Need:
    tool = syslibs.tool(name)
    ok = (any(machine.named_file(v) for v in tool.env)
          or any(machine.which(p) for p in tool.programs)
          or bool(set(crates) & set(tool.provided_by))
          or (name == "libclang" and _libclang(machine)))
    return Need(what=_TOOL_WHAT.get(name, name), ok=ok,
                fix=_TOOL_FIX.get(name, f"install Debian's {tool.deb}"))


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
    name = "zig cc" if plan.kind == "zig" else Path(plan.cc).name
    fix = (f"run `inv setup --target {target.name}` (installs {' '.join(plan.packages)})"
           if plan.packages else f"install {plan.cc}")
    return Need(what=f"{what} ({name})", ok=plan.present(), fix=fix)


def host_cc(machine: Machine) -> Need:
    return Need(what="the build machine's C compiler (cc)",
                ok=machine.which("cc") or machine.which("gcc"), fix="install Debian's gcc")
