"""Linkers and C toolchains per target: zig (through cargo-zigbuild's ``zig cc``) or Debian's gcc.

Like cargo-zigbuild, the settings go into the child cargo's environment
(``CARGO_TARGET_<T>_LINKER``, ``CC_<t>``, ``AR_<t>``) and never into the
user's files; :mod:`tooling.cargo_config` can write the same values into
``.cargo/config.toml`` for people who run plain cargo.

zig wrappers are small shell scripts whose file name carries a hash of their
content, so a changed wrapper is a new path and cargo relinks. What differs per
operating system (zig's target, MinGW-w64's gcc, musl's flags) is the platform's.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

from tooling.errors import ToolMissing
from tooling.matrix.config import Project
from tooling.matrix.host import installs_with_apt
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.std.compiler import RUST_LLD, rust_lld
from tooling.util import proc, scripts
from tooling.util.scripts import Script


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
    cxx_packages: tuple[str, ...] = ()  #: Debian packages that provide ``cxx`` (gcc's g++)
    ranlib: str | None = None
    sysroot: str | None = None  #: the target's C library and headers (Debian's /usr/<triplet>)
    zig_target: str | None = None  #: zig's ``-target`` (zig only)
    scripts: tuple[Script, ...] = ()  #: wrappers to write before cargo runs (zig)
    #: why this linker and not the target's default ("": the default, or configured)
    instead: str = ""
    #: ``linker`` is rustc's own (rust-lld from its sysroot, as the target spec says):
    #: cargo gets no ``CARGO_TARGET_<T>_LINKER`` and it is there wherever rustc is
    rustc_linker: bool = False

    def describe(self) -> str:
        text = (f"{self.linker} (rustc's own), C by {self.kind}" if self.rustc_linker
                else f"{self.kind} ({self.linker})")
        return f"{text}, {self.instead}" if self.instead else text

    def cargo_env(self, target: Target) -> dict[str, str]:
        """The linker, and the C toolchain where there is one (rust-lld brings none): C and
        C++ compilers, ar and ranlib."""
        cxx = {f"CXX_{target.cc_key}": self.cxx} if self.cxx else {}
        linker = {} if self.rustc_linker else {
            f"CARGO_TARGET_{target.env_key}_LINKER": self.linker}
        c = {f"CC_{target.cc_key}": self.cc, f"AR_{target.cc_key}": self.ar} if self.cc else {}
        # cc-rs, and openssl-src's make through it, index archives with RANLIB_<t>; without
        # it they run the host's ranlib, which calls a Mach-O archive "malformed"
        ranlib = {f"RANLIB_{target.cc_key}": self.ranlib} if self.cc and self.ranlib else {}
        return {
            **linker,
            **c,
            **ranlib,
            **cxx,
            **self.env,
        }

    def cxx_present(self) -> bool:
        """The C++ compiler is installed (zig's planned wrapper counts)."""
        if self.cxx is None:
            return False
        if any(str(s.path) == self.cxx for s in self.scripts):
            return True
        return proc.which(self.cxx) is not None or Path(self.cxx).is_file()

    def present(self) -> bool:
        """The linker is installed (a planned wrapper counts: writing it is the executor's)."""
        if self.rustc_linker:
            return True
        if any(str(s.path) == self.linker for s in self.scripts):
            return True
        return proc.which(self.linker) is not None or Path(self.linker).is_file()

    def materialize(self) -> LinkerPlan:
        """Write the planned wrappers (the executor's part); returns this plan."""
        for script in self.scripts:
            script.write()
        return self


def cargo_zigbuild() -> str:
    """The cargo-zigbuild installed beside this Python (the project's own venv)."""
    beside = scripts.bin_dir() / "cargo-zigbuild"
    if beside.is_file():
        return str(beside)
    found = proc.which("cargo-zigbuild")
    if found is None:
        raise ToolMissing("cargo-zigbuild not found",
                          "install crossmatrix with its dependencies (pipx install, uv tool "
                          "install or pip install; pip install -e . in a checkout)")
    return found


def _zig_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("ziglang")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ToolMissing("the ziglang package is not installed",
                          "pip install ziglang (crossmatrix depends on it)") from exc


def _zig_script(tool: str, args: list[str]) -> str:
    # The same shape as cargo-zigbuild's own wrappers: naming zig's version and
    # command spares it probing zig on every compiler call.
    return (
        "#!/bin/sh\n"
        "# written by crossmatrix\n"
        f"export CARGO_ZIGBUILD_ZIG_VERSION={shlex.quote(_zig_version())}\n"
        f"export CARGO_ZIGBUILD_ZIG_COMMAND={shlex.quote(scripts.python())}\n"
        "export CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'\n"
        'if [ -n "$SDKROOT" ]; then export SDKROOT; fi\n'
        f"exec {shlex.quote(cargo_zigbuild())} zig {tool} -- {shlex.join(args)} \"$@\"\n"
    )


def zig_plan(target: Target, cache_dir: Path) -> LinkerPlan:
    zig = platform_of(target).zig_link(target)
    args = ["-g", "-fno-sanitize=all", *target.arch.zig_flags, "-target", zig.target]
    cc = scripts.wrapper(cache_dir, f"zigcc-{target.triple}", _zig_script("cc", args))
    cxx = scripts.wrapper(cache_dir, f"zigcxx-{target.triple}", _zig_script("c++", args))
    ar = scripts.wrapper(cache_dir, "zigar", _zig_script("ar", []))
    ranlib = scripts.wrapper(cache_dir, "zigranlib", _zig_script("ranlib", []))
    return LinkerPlan(kind="zig", linker=zig.rustc_linker or str(cc.path), cc=str(cc.path),
                      ar=str(ar.path), rustc_linker=zig.rustc_linker is not None,
                      rustflags=zig.rustflags, env=dict(zig.env), cxx=str(cxx.path),
                      ranlib=str(ranlib.path), zig_target=zig.target,
                      scripts=(cc, cxx, ar, ranlib))


def gcc_plan(target: Target) -> LinkerPlan:
    """Debian's gcc, and its g++ (``CXX_<t>`` names it whether or not it is installed: a
    build that compiles C++ is stopped before cargo runs when it is not, see
    :func:`tooling.compile.hosttools.missing_for`)."""
    gcc = platform_of(target).gcc_link(target)
    return LinkerPlan(kind="gcc", linker=gcc.gcc, cc=gcc.gcc, ar=gcc.ar, ranlib=gcc.ranlib,
                      packages=gcc.packages, cxx=gcc.gxx, cxx_packages=gcc.gxx_packages,
                      sysroot=gcc.sysroot)


def rust_lld_plan(target: Target, workspace: Path | None = None) -> LinkerPlan:
    """rustc's own lld, as its bare-metal targets' specs name it (linker-flavor gnu-lld).
    No C compiler: C code of build scripts (the cc crate) is not set up for bare metal,
    and cc-rs falls back to its own guess (``arm-none-eabi-gcc``)."""
    found = rust_lld(workspace)
    return LinkerPlan(kind="rust-lld", linker=found or RUST_LLD, cc="", ar="",
                      packages=() if found else ("lld",))


def _gxx(program: str) -> str | None:
    """The g++ beside a user's gcc, if installed."""
    gxx = program[: -len("gcc")] + "g++"
    return gxx if program.endswith("gcc") and (proc.which(gxx) or Path(gxx).is_file()) else None


def custom_plan(program: str) -> LinkerPlan:
    """A linker the user names (a vendor SDK's gcc, say): used as linker and C compiler."""
    ar = program[: -len("gcc")] + "ar" if program.endswith("gcc") else "ar"
    return LinkerPlan(kind="custom", linker=program, cc=program, ar=ar, cxx=_gxx(program))


def plan(target: Target, kind: str, cache_dir: Path,
         workspace: Path | None = None) -> LinkerPlan:
    """``kind`` is "zig", "gcc", "rust-lld", or the name or path of a linker program."""
    if kind == "zig":
        return zig_plan(target, cache_dir)
    if kind == "gcc":
        return gcc_plan(target)
    if kind == RUST_LLD:
        return rust_lld_plan(target, workspace)
    return custom_plan(kind)


def for_project(project: Project, target: Target) -> LinkerPlan:
    """The target's linker as the project configures it. On a host without apt (where
    setup cannot install Debian's cross gcc or MinGW-w64), a target whose default linker
    is gcc links with zig when that gcc is not here and no linker is configured: zig
    links every OS of the table (a 32-bit Windows program links, but is not run by tests)."""
    found = plan(target, project.linker_for(target), project.cache_dir, project.workspace)
    if (found.kind != "gcc" or project.settings_for(target).linker is not None
            or found.present() or installs_with_apt()):
        return found
    return replace(zig_plan(target, cache_dir=project.cache_dir),
                   instead=f"as {found.linker} is not here (and no apt to install it)")
