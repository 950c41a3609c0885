"""Linkers and C toolchains per target: zig (through cargo-zigbuild's ``zig cc``) or Debian's gcc.

Like cargo-zigbuild, the settings go into the child cargo's environment
(``CARGO_TARGET_<T>_LINKER``, ``CC_<t>``, ``AR_<t>``) and never into the
user's files; :mod:`tooling.cargo_config` can write the same values into
``.cargo/config.toml`` for people who run plain cargo.

zig wrappers are small shell scripts whose file name carries a hash of their
content, so a changed wrapper is a new path and cargo relinks.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tooling.errors import ToolMissing, UsageError
from tooling.matrix.targets import Target, macos_deployment_target
from tooling.util import proc


@dataclass(frozen=True)
class Script:
    """A small program crossmatrix writes before cargo runs (a zig wrapper): planned as its
    path and content, written by :meth:`write`. The path carries a hash of the content, so
    a changed wrapper is a new path and cargo relinks."""

    path: Path
    body: str

    def write(self) -> Path:
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(self.body)
            tmp.chmod(0o755)
            os.replace(tmp, self.path)
        return self.path


@dataclass(frozen=True, kw_only=True)
class LinkerPlan:
    kind: str  #: "zig" or "gcc"
    linker: str  #: program cargo links with
    cc: str
    ar: str
    rustflags: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()  #: Debian packages that provide it
    env: dict[str, str] = field(default_factory=dict)
    cxx: str | None = None  #: the C++ compiler beside ``cc``, when there is one
    scripts: tuple[Script, ...] = ()  #: wrappers to write before cargo runs (zig)

    def describe(self) -> str:
        return f"{self.kind} ({self.linker})"

    def cargo_env(self, target: Target) -> dict[str, str]:
        cxx = {f"CXX_{target.cc_key}": self.cxx} if self.cxx else {}
        return {
            f"CARGO_TARGET_{target.env_key}_LINKER": self.linker,
            f"CC_{target.cc_key}": self.cc,
            f"AR_{target.cc_key}": self.ar,
            **cxx,
            **self.env,
        }

    def present(self) -> bool:
        """The linker is installed (a planned wrapper counts: writing it is the executor's)."""
        if any(str(s.path) == self.linker for s in self.scripts):
            return True
        return proc.which(self.linker) is not None or Path(self.linker).is_file()

    def materialize(self) -> LinkerPlan:
        """Write the planned wrappers (the executor's part); returns this plan."""
        for script in self.scripts:
            script.write()
        return self


def bin_dir() -> Path:
    """This environment's scripts folder (the venv's bin/), however Python was started."""
    return Path(sys.prefix) / "bin"


def python() -> str:
    """One spelling of this environment's interpreter (python, python3 and python3.11 are
    the same program, but a different spelling would change the wrappers' content, their
    path, and so make cargo rebuild everything)."""
    return str(bin_dir() / "python3")


def cargo_zigbuild() -> str:
    """The cargo-zigbuild installed beside this Python (the project's own venv)."""
    beside = bin_dir() / "cargo-zigbuild"
    if beside.is_file():
        return str(beside)
    found = proc.which("cargo-zigbuild")
    if found is None:
        raise ToolMissing("cargo-zigbuild not found",
                          "install crossmatrix with its dependencies: pip install -e .")
    return found


def _zig_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("ziglang")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ToolMissing("the ziglang package is not installed",
                          "pip install ziglang (crossmatrix depends on it)") from exc


def wrapper(cache_dir: Path, stem: str, body: str) -> Script:
    """A content-addressed script under ``cache_dir/wrappers`` (planned, not written)."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    return Script(cache_dir / "wrappers" / f"{stem}-{digest}", body)


def _zig_script(tool: str, args: list[str]) -> str:
    # The same shape as cargo-zigbuild's own wrappers: naming zig's version and
    # command spares it probing zig on every compiler call.
    return (
        "#!/bin/sh\n"
        "# written by crossmatrix\n"
        f"export CARGO_ZIGBUILD_ZIG_VERSION={shlex.quote(_zig_version())}\n"
        f"export CARGO_ZIGBUILD_ZIG_COMMAND={shlex.quote(python())}\n"
        "export CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'\n"
        'if [ -n "$SDKROOT" ]; then export SDKROOT; fi\n'
        f"exec {shlex.quote(cargo_zigbuild())} zig {tool} -- {shlex.join(args)} \"$@\"\n"
    )


def zig_plan(target: Target, cache_dir: Path) -> LinkerPlan:
    args = ["-g", "-fno-sanitize=all", *target.arch.zig_flags, "-target", target.zig_target]
    cc = wrapper(cache_dir, f"zigcc-{target.triple}", _zig_script("cc", args))
    cxx = wrapper(cache_dir, f"zigcxx-{target.triple}", _zig_script("c++", args))
    ar = wrapper(cache_dir, "zigar", _zig_script("ar", []))
    # zig brings musl's crt objects; rustc's self-contained ones would clash.
    flags = ("-C", "link-self-contained=no") if target.libc == "musl" else ()
    env = {}
    if target.os == "macos":  # rustc, the cc crate and zig agree on the minimum macOS
        env["MACOSX_DEPLOYMENT_TARGET"] = macos_deployment_target(target)
    return LinkerPlan(kind="zig", linker=str(cc.path), cc=str(cc.path), ar=str(ar.path),
                      rustflags=flags, env=env, cxx=str(cxx.path), scripts=(cc, cxx, ar))


def _gxx(gcc: str) -> str | None:
    """The g++ beside a gcc, if installed (Debian's g++-<triplet> is a separate package)."""
    gxx = gcc[: -len("gcc")] + "g++"
    return gxx if proc.which(gxx) else None


def gcc_plan(target: Target) -> LinkerPlan:
    if target.os == "windows":
        prefix = target.tool_prefix
        return LinkerPlan(kind="gcc", linker=f"{prefix}-gcc", cc=f"{prefix}-gcc",
                          ar=f"{prefix}-ar", cxx=_gxx(f"{prefix}-gcc"),
                          packages=(f"gcc-mingw-w64-{target.arch.mingw_deb}-win32",))
    if target.os != "linux":
        raise UsageError(f"linker 'gcc' cannot link {target.name}",
                         f"use linker = \"zig\" in [tool.crossmatrix.target.{target.name}]")
    native = target.runs_natively()
    gcc = "gcc" if native and target.libc == "gnu" else target.gcc
    ar = "ar" if native and target.libc == "gnu" else f"{target.arch.gnu_prefix}-ar"
    packages: tuple[str, ...] = ("gcc",) if gcc == "gcc" else (
        f"gcc-{target.arch.gnu_prefix}", f"libc6-dev-{target.arch.deb_arch}-cross")
    return LinkerPlan(kind="gcc", linker=gcc, cc=gcc, ar=ar, packages=packages, cxx=_gxx(gcc))


def custom_plan(program: str) -> LinkerPlan:
    """A linker the user names (a vendor SDK's gcc, say): used as linker and C compiler."""
    ar = program[: -len("gcc")] + "ar" if program.endswith("gcc") else "ar"
    return LinkerPlan(kind="custom", linker=program, cc=program, ar=ar)


def plan(target: Target, kind: str, cache_dir: Path) -> LinkerPlan:
    """``kind`` is "zig", "gcc", or the name or path of a linker program."""
    if kind == "zig":
        return zig_plan(target, cache_dir)
    if kind == "gcc":
        return gcc_plan(target)
    return custom_plan(kind)
