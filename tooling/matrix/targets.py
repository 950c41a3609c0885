"""The target table: defined once, read by the tasks, the nox sessions and the CI matrix.

A target is a row of data; code asks the row (``target.arch.qemu``,
``target.glibc_loader``) instead of branching on names, and what an operating system
does (link, strip, run, name, package) is its platform module's
(:func:`tooling.platforms.platform_of`). A raw Rust triple is accepted wherever a
name is: a triple of a table row resolves to that row, any other Linux triple of a
known architecture becomes an ad-hoc target.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import platform
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from tooling.errors import UsageError

Os = Literal["linux", "windows", "macos"]
#: musl/gnu: Linux; mingw: windows-gnu (msvcrt through MinGW-w64); darwin: macOS's libSystem
Libc = Literal["musl", "gnu", "mingw", "darwin"]
Linkage = Literal["static", "dynamic"]
LinkerKind = Literal["zig", "gcc"]


@dataclass(frozen=True, kw_only=True)
class Arch:
    """What one CPU architecture means to each tool that touches it."""

    rust: str  #: the architecture part of the Rust triple
    deb_arch: str  #: Debian's name (dpkg --add-architecture, pkg:arch)
    gnu_prefix: str  #: prefix of Debian's cross gcc and binutils, and /usr/<prefix> sysroot
    multiarch: str  #: Debian's multiarch triplet (/usr/lib/<multiarch>): i386-linux-gnu for i686
    qemu: str  #: qemu-user binary
    elf_machine: str  #: pyelftools' e_machine name
    elf_class: Literal[32, 64]
    endian: Literal["little", "big"]
    float_abi: str | None  #: "hard" (ARM EABI hard-float) or "double" (RISC-V LP64D)
    zig_arch: str
    zig_flags: tuple[str, ...] = ()  #: what cargo-zigbuild passes for this arch
    gnu_loader: str  #: the glibc dynamic loader, relative to the sysroot
    host_machines: tuple[str, ...] = ()  #: platform.machine() values that run it natively
    mingw_prefix: str | None = None  #: prefix of Debian's MinGW-w64 gcc and binutils
    mingw_deb: str | None = None  #: that gcc's Debian package suffix (gcc-mingw-w64-<x>)
    pe_machine: str | None = None  #: pefile's MACHINE_TYPE name
    macho_cpu: str | None = None  #: lief's MachO CPU_TYPE name
    docker_arch: str | None = None  #: Docker's architecture name (None: the Rust one)
    cfg_arch: str | None = None  #: cargo's ``target_arch`` (None: the Rust one)

    @property
    def target_arch(self) -> str:
        """What build scripts read in ``CARGO_CFG_TARGET_ARCH``: x86 for i686, arm for armv7."""
        return self.cfg_arch or self.rust


ARCHES: dict[str, Arch] = {
    a.rust: a
    for a in (
        Arch(
            rust="x86_64", deb_arch="amd64", gnu_prefix="x86_64-linux-gnu", qemu="qemu-x86_64",
            multiarch="x86_64-linux-gnu", docker_arch="amd64",
            elf_machine="EM_X86_64", elf_class=64, endian="little", float_abi=None,
            zig_arch="x86_64", gnu_loader="lib64/ld-linux-x86-64.so.2",
            host_machines=("x86_64", "amd64"), mingw_prefix="x86_64-w64-mingw32",
            mingw_deb="x86-64", pe_machine="IMAGE_FILE_MACHINE_AMD64", macho_cpu="X86_64",
        ),
        Arch(
            rust="aarch64", deb_arch="arm64", gnu_prefix="aarch64-linux-gnu", qemu="qemu-aarch64",
            multiarch="aarch64-linux-gnu", docker_arch="arm64",
            elf_machine="EM_AARCH64", elf_class=64, endian="little", float_abi=None,
            zig_arch="aarch64", gnu_loader="lib/ld-linux-aarch64.so.1",
            host_machines=("aarch64", "arm64"), macho_cpu="ARM64",
        ),
        Arch(
            rust="armv7", deb_arch="armhf", gnu_prefix="arm-linux-gnueabihf", qemu="qemu-arm",
            multiarch="arm-linux-gnueabihf", docker_arch="arm", cfg_arch="arm",
            elf_machine="EM_ARM", elf_class=32, endian="little", float_abi="hard",
            zig_arch="arm", zig_flags=("-mcpu=generic+v7a+vfp3-d32+thumb2-neon",),
            gnu_loader="lib/ld-linux-armhf.so.3", host_machines=("armv7l",),
        ),
        Arch(
            rust="riscv64gc", deb_arch="riscv64", gnu_prefix="riscv64-linux-gnu",
            multiarch="riscv64-linux-gnu", docker_arch="riscv64", cfg_arch="riscv64",
            qemu="qemu-riscv64", elf_machine="EM_RISCV", elf_class=64, endian="little",
            float_abi="double", zig_arch="riscv64", zig_flags=("-mcpu=generic_rv64+m+a+f+d+c",),
            gnu_loader="lib/ld-linux-riscv64-lp64d.so.1", host_machines=("riscv64",),
        ),
        Arch(
            rust="i686", deb_arch="i386", gnu_prefix="i686-linux-gnu", qemu="qemu-i386",
            multiarch="i386-linux-gnu", cfg_arch="x86",
            elf_machine="EM_386", elf_class=32, endian="little", float_abi=None,
            zig_arch="x86", gnu_loader="lib/ld-linux.so.2", host_machines=("i686", "i386"),
            mingw_prefix="i686-w64-mingw32", mingw_deb="i686",
            pe_machine="IMAGE_FILE_MACHINE_I386",
        ),
    )
}

#: Debian architectures whose ``libstd-rust-web-dev:<arch>`` the archive carries
#: (Debian 12's release architectures; riscv64 is not one of them).
DEBIAN_STD_ARCHES = frozenset({"amd64", "arm64", "armhf", "armel", "i386", "ppc64el", "s390x"})


@dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    triple: str
    arch: Arch
    libc: Libc
    linkage: Linkage
    linker: LinkerKind  #: default linker; config may override
    tags: tuple[str, ...] = field(default=())
    in_table: bool = True
    glibc: str | None = None  #: glibc floor ("2.17"): link against that version, verify it held
    os: Os = "linux"

    @property
    def is_linux(self) -> bool:
        return self.os == "linux"

    @property
    def is_glibc(self) -> bool:
        return self.libc == "gnu"

    @property
    def glibc_loader(self) -> str | None:
        """The interpreter its dynamic executables name: glibc's loader (None: no glibc)."""
        return f"/{self.arch.gnu_loader}" if self.libc == "gnu" else None

    @property
    def needs_rtstartup(self) -> bool:
        """windows-gnu links rustc's ``rsbegin.o``/``rsend.o``, which build-std leaves out."""
        return self.libc == "mingw"

    @property
    def platform_arch(self) -> str:
        """The name other tools use for this platform: linux-x64, windows-x86, macos-aarch64."""
        arch = {"x86_64": "x64", "i686": "x86", "riscv64gc": "riscv64"}.get(
            self.arch.rust, self.arch.rust)
        return f"{self.os}-{arch}"

    @property
    def is_static(self) -> bool:
        return self.linkage == "static"

    @property
    def env_key(self) -> str:
        """The triple as cargo spells it in ``CARGO_TARGET_<T>_*`` variables."""
        return self.triple.upper().replace("-", "_").replace(".", "_")

    @property
    def cc_key(self) -> str:
        """The triple as the ``cc`` crate reads it in ``CC_<t>`` variables."""
        return self.triple.replace("-", "_")

    @property
    def abi_suffix(self) -> str:
        """gnu / gnueabihf / musl / musleabihf: the last part of the triple."""
        return self.triple.rsplit("-", 1)[-1]

    @property
    def tool_prefix(self) -> str | None:
        """Prefix of the Debian cross gcc/binutils for this target (none for macOS)."""
        if self.os == "windows":
            return self.arch.mingw_prefix
        if self.os == "macos":
            return None
        return self.arch.gnu_prefix

    @property
    def gcc(self) -> str:
        return f"{self.tool_prefix}-gcc"

    @property
    def gnu_sysroot(self) -> str:
        """Where Debian's ``libc6-dev-<arch>-cross`` puts the target's glibc."""
        return f"/usr/{self.arch.gnu_prefix}"

    @property
    def debian_std_possible(self) -> bool:
        return self.is_glibc and self.arch.deb_arch in DEBIAN_STD_ARCHES

    def runs_natively(self, machine: str | None = None, system: str | None = None) -> bool:
        # platform.system(): "Linux", "Windows", "Darwin" (macOS)
        if _OS_OF_SYSTEM.get((system or platform.system()).lower()) != self.os:
            return False
        return (machine or platform.machine()).lower() in self.arch.host_machines


_OS_OF_SYSTEM: dict[str, Os] = {"linux": "linux", "windows": "windows", "darwin": "macos",
                                "macos": "macos"}


def _row(name: str, triple: str, libc: Libc, linker: LinkerKind, *extra_tags: str,
         os: Os = "linux") -> Target:
    arch = ARCHES[triple.split("-", 1)[0]]
    linkage: Linkage = "static" if libc == "musl" else "dynamic"
    tags = (os, libc, linkage, arch.rust, *extra_tags)
    return Target(name=name, triple=triple, arch=arch, libc=libc, linkage=linkage,
                  linker=linker, tags=tags, os=os)


#: The matrix. Session names, task arguments and CI matrices all come from here.
TABLE: tuple[Target, ...] = (
    _row("linux-x86_64", "x86_64-unknown-linux-musl", "musl", "zig"),
    _row("linux-aarch64", "aarch64-unknown-linux-musl", "musl", "zig"),
    _row("linux-armv7", "armv7-unknown-linux-musleabihf", "musl", "zig"),
    _row("linux-x86_64-gnu", "x86_64-unknown-linux-gnu", "gnu", "gcc"),
    _row("linux-aarch64-gnu", "aarch64-unknown-linux-gnu", "gnu", "gcc"),
    _row("linux-riscv64-gnu", "riscv64gc-unknown-linux-gnu", "gnu", "gcc"),
    # Debian's MinGW-w64 gcc links Windows; zig fails there on ssp_nonshared.
    _row("windows-x86_64", "x86_64-pc-windows-gnu", "mingw", "gcc", os="windows"),
    _row("windows-x86", "i686-pc-windows-gnu", "mingw", "gcc", os="windows"),
    # zig brings libSystem's stubs; code that links Apple frameworks needs SDKROOT.
    _row("macos-x86_64", "x86_64-apple-darwin", "darwin", "zig", os="macos"),
    _row("macos-aarch64", "aarch64-apple-darwin", "darwin", "zig", os="macos"),
)

_ABIS: dict[str, Libc] = {"gnu": "gnu", "gnueabihf": "gnu", "musl": "musl", "musleabihf": "musl"}


@functools.cache
def by_name() -> dict[str, Target]:
    return {t.name: t for t in TABLE}


def from_triple(triple: str) -> Target | None:
    """A table row with this triple, or an ad-hoc target for a known Linux triple."""
    for t in TABLE:
        if t.triple == triple:
            return t
    parts = triple.split("-")
    if len(parts) != 4 or parts[1] != "unknown" or parts[2] != "linux":
        return None
    arch = ARCHES.get(parts[0])
    libc = _ABIS.get(parts[3])
    if arch is None or libc is None:
        return None
    if (parts[3].endswith("eabihf")) != (arch.float_abi == "hard"):
        return None
    linker: LinkerKind = "zig" if libc == "musl" else "gcc"
    linkage: Linkage = "static" if libc == "musl" else "dynamic"
    return Target(name=triple, triple=triple, arch=arch, libc=libc, linkage=linkage,
                  linker=linker, tags=("linux", libc, linkage, arch.rust), in_table=False)


def known_names() -> list[str]:
    return [t.name for t in TABLE] + [t.triple for t in TABLE]


#: Rust's std needs at least this glibc (since Rust 1.64).
MIN_GLIBC = (2, 17)
_FLOOR = re.compile(r"^(?P<base>.+)\.(?P<version>\d+\.\d+)$")


def glibc_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)", text)
    if match is None:
        raise UsageError(f"glibc floor {text!r} is not a version like 2.17")
    major, minor = int(match[1]), int(match[2])
    if (major, minor) < MIN_GLIBC or major != 2:
        raise UsageError(f"glibc floor {text} is below what Rust's std needs",
                         "use 2.17 or newer (Rust's std needs glibc 2.17)")
    return major, minor


def with_floor(target: Target, floor: str, *, rename: bool) -> Target:
    """``target`` linked against glibc ``floor`` (gnu targets only)."""
    if target.libc != "gnu":
        raise UsageError(f"a glibc floor ({floor}) applies to gnu targets, not {target.name}",
                         "musl targets are static and need no glibc at all")
    glibc_version(floor)
    name = f"{target.name}.{floor}" if rename else target.name
    return replace(target, name=name, glibc=floor, linker="zig",
                   tags=(*[t for t in target.tags if not t.startswith("glibc")], f"glibc{floor}"))


def resolve(spec: str) -> list[Target]:
    """One ``--target`` value: a name, a triple, a glob over names, or ``tag:NAME``;
    a name or triple may end in a glibc floor: ``linux-aarch64-gnu.2.17``."""
    spec = spec.strip()
    floor = _FLOOR.match(spec)
    if floor and not any(ch in spec for ch in "*?[") and not spec.startswith("tag:"):
        return [with_floor(t, floor["version"], rename=True) for t in resolve(floor["base"])]
    if spec in by_name():
        return [by_name()[spec]]
    if spec.startswith("tag:"):
        tag = spec[4:]
        found = [t for t in TABLE if tag in t.tags]
        if found:
            return found
        tags = sorted({tag for t in TABLE for tag in t.tags})
        raise UsageError(f"no target has tag {tag!r}", f"known tags: {', '.join(tags)}")
    if any(ch in spec for ch in "*?["):
        found = [t for t in TABLE if fnmatch.fnmatchcase(t.name, spec)]
        if found:
            return found
        raise UsageError(f"target pattern {spec!r} matches no target",
                         f"known targets: {', '.join(t.name for t in TABLE)}")
    adhoc = from_triple(spec)
    if adhoc is not None:
        return [adhoc]
    close = difflib.get_close_matches(spec, known_names(), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}?" if close else ""
    hint += (" " if hint else "") + "`inv targets` lists the table; a Linux Rust triple also works"
    raise UsageError(f"unknown target {spec!r}", hint)


def named(name: str) -> Target | None:
    """The target called exactly ``name``: a row of the table, a row with a glibc floor in
    its name (``linux-aarch64-gnu.2.17``) or an ad-hoc Linux triple. None for anything
    else: a glob, a tag, the triple of a row (that row has a name), a path."""
    try:
        found = resolve(name)
    except UsageError:
        return None
    return found[0] if len(found) == 1 and found[0].name == name else None


def select(specs: Sequence[str] | None, default: Iterable[str] | None = None) -> list[Target]:
    """Resolve repeated ``--target`` values (or the default list) to unique targets, in order."""
    chosen = list(specs) if specs else list(default or (t.name for t in TABLE))
    result: list[Target] = []
    for spec in chosen:
        for target in resolve(spec):
            if target not in result:
                result.append(target)
    return result
