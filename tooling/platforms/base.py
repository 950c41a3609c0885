"""What an operating system provides: the :class:`Platform` Protocol, and the small records
its functions return. Each OS is one module (linux, windows, macos) that satisfies it;
:func:`tooling.platforms.platform_of` picks the module for a target once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from tooling.matrix.host import Host
from tooling.matrix.targets import Os, Target
from tooling.util import proc

BinaryFormat = Literal["elf", "pe", "macho", "wasm"]


@dataclass(frozen=True, kw_only=True)
class ZigLink:
    """The OS's part of linking with ``zig cc``."""

    target: str  #: zig's ``-target``
    rustflags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  #: for cargo and the cc crate
    #: zig compiles C only, and rustc links with its own linker (the name said in records:
    #: ``rust-lld``); None: zig links too
    rustc_linker: str | None = None


@dataclass(frozen=True, kw_only=True)
class GccLink:
    """Debian's gcc for the target, and the packages that provide it."""

    gcc: str
    ar: str
    packages: tuple[str, ...]
    gxx: str  #: the g++ beside it (Debian packages it apart)
    gxx_packages: tuple[str, ...]
    ranlib: str
    #: where its C library and headers are (Debian's ``/usr/<triplet>``); None: the host's
    sysroot: str | None = None


@dataclass(frozen=True, kw_only=True)
class StripTools:
    programs: tuple[str, ...]  #: strip programs that read the target's binaries, best first
    package: str  #: the Debian package that installs the first
    library_flag: str  #: how a shared library is stripped (its exports must stay)
    program_flag: str = "--strip-all"  #: how a program is stripped
    subcommand: tuple[str, ...] = ()  #: before the flag (``wasm-tools strip``)


@dataclass(frozen=True, kw_only=True)
class TestRunner:
    """How cargo runs the target's test binaries here."""

    command: str | None  #: ``CARGO_TARGET_<T>_RUNNER`` (None: cargo runs them directly)
    describe: str
    env: Mapping[str, str] = field(default_factory=dict)  #: more for the tests' processes
    notes: tuple[str, ...] = ()  #: said before cargo starts


@dataclass(frozen=True, kw_only=True)
class Packages:
    """Debian packages a target needs on the build machine."""

    arches: tuple[str, ...] = ()  #: foreign Debian architectures to enable
    packages: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()  #: wanted for running only; setup goes on without them
    optional_arches: tuple[str, ...] = ()  #: architectures only the optional ones need
    #: Debian's std for the target (``libstd-rust-web-dev:<arch>``): one provider of several
    #: (rustup's std, build-std), so setup goes on without it unless the project forces it
    std: tuple[str, ...] = ()


@runtime_checkable
class Platform(Protocol):
    """What one operating system provides. Each function takes a target of that OS (a row
    of :mod:`tooling.matrix.targets`); callers never branch on ``target.os`` themselves."""

    # --- how it names and packages artifacts, and how they are verified
    @property
    def name(self) -> Os: ...
    @property
    def binary_format(self) -> BinaryFormat:
        """The parser :mod:`tooling.verify` dispatches to."""
    @property
    def exe_suffix(self) -> str: ...
    @property
    def archive_suffix(self) -> str: ...
    @property
    def module_suffix(self) -> str:
        """Of a Python extension module: ``.so``, ``.pyd``."""
    @property
    def links_python_dll(self) -> bool:
        """pyo3 links python3.dll through an import library, not libpython3."""

    # --- how it links
    def zig_target(self, target: Target) -> str: ...
    def zig_link(self, target: Target) -> ZigLink: ...
    def gcc_link(self, target: Target) -> GccLink:
        """Debian's gcc for it; UsageError when gcc cannot link this OS."""
    def rustflags(self, target: Target) -> tuple[str, ...]:
        """What every build of it needs, whatever links it."""
    def build_settings(self, target: Target) -> dict[str, str]:
        """OS settings its build depends on, as records name them (UsageError: a bad one)."""
    def cdylib_unsupported(self, target: Target, flags: Sequence[str]) -> str | None:
        """Why it builds no shared libraries with these rustflags (None: it does)."""
    def cmake_system(self, target: Target) -> tuple[str, str]:
        """``CMAKE_SYSTEM_NAME`` and ``CMAKE_SYSTEM_PROCESSOR``, as the cmake crate names
        them when it cross-compiles without a toolchain file."""
    def link_hint(self, target: Target, stderr: str, where: str) -> str | None:
        """The fix for a failed link this OS is known for (``where``: the target's table
        of settings, for a fix that is one)."""

    # --- how it strips
    def strip_tools(self, target: Target) -> StripTools: ...

    # --- how it runs
    def cannot_run(self, target: Target) -> str | None:
        """Why its binaries cannot run here at all: only what no package can fix."""
    def describe_runner(self, target: Target) -> str: ...
    def run_program(self, target: Target) -> str | None:
        """The program that must be installed to run its binaries (None: none)."""
    def cargo_runner(self, target: Target) -> list[str]:
        """The ``runner`` plain cargo gets in .cargo/config.toml (empty: none)."""
    def run(self, target: Target, binary: Path, args: Sequence[str],
            cache_dir: Path) -> proc.Result: ...
    def test_runner(self, target: Target, cache_dir: Path,
                    environ: Mapping[str, str]) -> TestRunner | None:
        """How cargo runs its test binaries here (None: see :meth:`cannot_run`);
        ToolMissing when the runner is not installed."""
    def python_mismatch(self, target: Target) -> str | None:
        """Why this Python, of the same OS and CPU, cannot import a module built for it."""

    # --- what it needs on the build machine, and where it installs
    def debian_libraries(self, target: Target) -> bool:
        """Debian's multiarch ``<pkg>-dev:<arch>`` libraries serve it."""
    def debian_packages(self, target: Target, linker: str) -> Packages:
        """What ``inv setup`` installs for it, linked with ``linker`` (zig, gcc, …)."""
    def fits_host(self, target: Target, host: Host,
                  highest_glibc: str | None) -> tuple[bool, str]:
        """Whether ``inv deploy`` may install its build on this (Linux) machine, and why."""
    def preference(self, target: Target, host: Host | None) -> tuple[bool, ...]:
        """Sort key among builds that fit ``host``, lowest first."""
    def scratch_image(self, target: Target) -> bool:
        """A ``FROM scratch`` container image can run its binaries."""


#: LLVM's strip, by the names Debian gives its versions: it reads ELF, PE (ARM64 too) and Mach-O
LLVM_STRIPS = ("llvm-strip", "llvm-strip-19", "llvm-strip-16", "llvm-strip-15", "llvm-strip-14")


def strip_programs(prefix: str | None, target: Target) -> tuple[str, ...]:
    """The binutils strip of a Debian cross toolchain, the host's own when the target runs
    here, then llvm-strip."""
    native = ("strip",) if target.runs_natively() else ()
    return (f"{prefix}-strip", *native, "llvm-strip")


def not_linux(name: str) -> tuple[bool, str]:
    return False, f"a {name} build; deploy installs on Linux"


# --- deploy for an OS whose builds are not installed on this (Linux) machine --------------

def never_fits(target: Target, host: Host, highest_glibc: str | None) -> tuple[bool, str]:
    return not_linux(target.os)


def no_preference(target: Target, host: Host | None) -> tuple[bool, ...]:
    return ()


def no_scratch_image(target: Target) -> bool:
    return False
