"""What FreeBSD and NetBSD share: dynamic ELF programs against the base system's libc, linked by
zig (which brings each system's crt objects, libc stubs and headers), stripped by llvm-strip,
and never run here (nothing on Linux runs them): verified structurally, not run.

The :mod:`~tooling.platforms.freebsd` and :mod:`~tooling.platforms.netbsd` modules are these
functions with their own :class:`System`: the ELF brand the kernel looks for and the loader.
What a real zig-linked program has (checked with readelf): FreeBSD's carries the ABI note
(``.note.tag``, owner "FreeBSD", NT_FREEBSD_ABI_TAG with ``__FreeBSD_version``) and leaves
EI_OSABI at SYSV, although rustc's objects say FreeBSD; the kernel takes either as the
brand. NetBSD's carries ``.note.netbsd.ident`` (owner "NetBSD", NT_NETBSD_IDENT) and EI_OSABI
SYSV, as NetBSD's own programs do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.errors import StepFailed, UsageError
from tooling.matrix.targets import Os, Target
from tooling.platforms.base import LLVM_STRIPS, GccLink, Packages, StripTools, TestRunner, ZigLink
from tooling.util import proc


@dataclass(frozen=True, kw_only=True)
class System:
    """One BSD: its names and what its programs' ELF headers must say."""

    os: Os
    title: str  #: "FreeBSD": for messages, and CMake's CMAKE_SYSTEM_NAME
    zig_os: str  #: zig's OS part of ``-target``
    #: pyelftools' EI_OSABI name the kernel brands by (None: the note alone brands)
    osabi: str | None
    note_owner: str  #: the owner of the brand note
    note_type: int  #: its type: NT_FREEBSD_ABI_TAG / NT_NETBSD_IDENT (both 1)
    note_kind: str  #: what the system calls that note
    #: the note's version number: major * ``major_unit`` + minor * ``minor_unit`` + …
    major_unit: int
    minor_unit: int
    #: PT_INTERP of a dynamic program: the system's runtime linker (any of them)
    loaders: tuple[str, ...]

    def version(self, number: int) -> str:
        """``1400500`` → ``14.0 (1400500)`` (FreeBSD), ``1001000000`` → ``10.1`` (NetBSD)."""
        return (f"{number // self.major_unit}.{number // self.minor_unit % 100} "
                f"({number})")


FREEBSD = System(os="freebsd", title="FreeBSD", zig_os="freebsd", osabi="ELFOSABI_FREEBSD",
                 note_owner="FreeBSD", note_type=1, note_kind="ABI tag",
                 major_unit=100_000, minor_unit=1_000, loaders=("/libexec/ld-elf.so.1",))
#: NetBSD has its runtime linker in /libexec (for the root file system) and /usr/libexec;
#: zig names the first, NetBSD's own toolchain the second
NETBSD = System(os="netbsd", title="NetBSD", zig_os="netbsd", osabi=None, note_owner="NetBSD",
                note_type=1, note_kind="ident", major_unit=100_000_000, minor_unit=1_000_000,
                loaders=("/libexec/ld.elf_so", "/usr/libexec/ld.elf_so"))
SYSTEMS: dict[Os, System] = {s.os: s for s in (FREEBSD, NETBSD)}


def system(target: Target) -> System | None:
    """The BSD ``target`` is for (None: another OS)."""
    return SYSTEMS.get(target.os)


def _system(target: Target) -> System:
    found = system(target)
    if found is None:
        raise UsageError(f"{target.name} is not a FreeBSD or NetBSD target")
    return found


# --- linking ---------------------------------------------------------------------------

def zig_target(target: Target) -> str:
    """``x86_64-freebsd``: zig's default version of the system (its oldest supported)."""
    return f"{target.arch.zig_arch}-{_system(target).zig_os}"


def zig_link(target: Target) -> ZigLink:
    return ZigLink(target=zig_target(target))


def gcc_link(target: Target) -> GccLink:
    title = _system(target).title
    raise UsageError(f"linker 'gcc' cannot link {target.name}: Debian has no {title} gcc",
                     f"remove its linker setting: {title} targets link with zig")


def rustflags(target: Target) -> tuple[str, ...]:
    return ()


def build_settings(target: Target) -> dict[str, str]:
    return {}


def cdylib_unsupported(target: Target, flags: Sequence[str]) -> str | None:
    return None


def cmake_system(target: Target) -> tuple[str, str]:
    return _system(target).title, target.arch.target_arch


def link_hint(target: Target, stderr: str, where: str) -> str | None:
    return None


def strip_tools(target: Target) -> StripTools:
    """llvm-strip reads every ELF and leaves its headers and notes as they were."""
    return StripTools(programs=LLVM_STRIPS, package="llvm", library_flag="--strip-all")


# --- running ---------------------------------------------------------------------------

def cannot_run(target: Target) -> str | None:
    if target.runs_natively():
        return None
    title = _system(target).title
    return f"no {title} emulator here: nothing on Linux runs {title} programs"


def describe_runner(target: Target) -> str:
    return "native" if target.runs_natively() else "none"


def run_program(target: Target) -> str | None:
    return None


def cargo_runner(target: Target) -> list[str]:
    return []


def run(target: Target, binary: Path, args: Sequence[str], cache_dir: Path) -> proc.Result:
    reason = cannot_run(target)
    if reason:
        raise StepFailed(f"{binary.name} cannot run here: {reason}")
    return proc.run([str(binary), *args], bound="run", check=False,
                    what=f"running {binary.name}")


def test_runner(target: Target, cache_dir: Path,
                environ: Mapping[str, str]) -> TestRunner | None:
    return None if cannot_run(target) else TestRunner(command=None, describe="native")


def python_mismatch(target: Target) -> str | None:
    return None


# --- the build machine and installing ------------------------------------------------------

def debian_libraries(target: Target) -> bool:
    return False


def debian_packages(target: Target, linker: str) -> Packages:
    return Packages(packages=("llvm",))  # llvm-strip; zig (from PyPI) brings the rest
