"""The target table: defined once, read by the tasks, the nox sessions and the CI matrix.

A target is a row of data; code asks the row (``target.arch.qemu``,
``target.glibc_loader``) instead of branching on names, and what an operating system
does (link, strip, run, name, package) is its platform module's
(:func:`tooling.platforms.platform_of`). A raw Rust triple is accepted wherever a
name is: a triple of a table row resolves to that row, any other Linux triple of a
known architecture becomes an ad-hoc target, and so does a FreeBSD or NetBSD triple, or a
Windows gnullvm one (Windows on ARM), of a known architecture (zig links them all).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import platform
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from tooling.errors import UsageError
from tooling.matrix import rustc_data
from tooling.util import memo

Os = Literal["linux", "windows", "macos", "freebsd", "netbsd", "wasi",
             "none"]  #: none: bare metal (rustc's target_os)
#: musl/gnu: Linux; mingw: windows-gnu (msvcrt through MinGW-w64); darwin: macOS's libSystem;
#: bsd: the base system's libc of FreeBSD or NetBSD (rustc's target_env "");
#: wasi: wasi-libc (rustc's self-contained copy), in a WebAssembly module;
#: none: no C library at all (bare metal: core and alloc)
Libc = Literal["musl", "gnu", "mingw", "darwin", "bsd", "wasi", "none"]
Linkage = Literal["static", "dynamic"]
LinkerKind = Literal["zig", "gcc", "rust-lld"]  #: rust-lld: rustc's own lld (bare metal)


@dataclass(frozen=True, kw_only=True)
class Arch:
    """What one CPU architecture means to each tool that touches it: only what rustc cannot
    say (``rustc --print cfg`` gives its target_arch, endian, pointer width and abi)."""

    rust: str  #: the architecture part of the Rust triple (armv7, i586, thumbv7neon)
    cfg_arch: str  #: rustc's ``target_arch``: x86 for i686, arm for armv7
    #: rustc's ``target_abi`` this row is for (None: any): arm's float ABI, ppc64's ELF ABI
    abi: str | None = None
    deb_arch: str | None  #: Debian's name (dpkg --add-architecture, pkg:arch); None: no port
    gnu_prefix: str  #: prefix of GNU's cross gcc and binutils, and /usr/<prefix> sysroot
    multiarch: str  #: Debian's multiarch triplet (/usr/lib/<multiarch>): i386-linux-gnu for i686
    qemu: str  #: qemu-user binary
    elf_machine: str  #: pyelftools' e_machine name
    elf_class: Literal[32, 64]
    endian: Literal["little", "big"]
    float_abi: str | None  #: "hard"/"soft" (ARM EABI) or "double" (RISC-V LP64D)
    #: the ELF ABI e_flags name: "o32"/"n64" (MIPS: EF_MIPS_ABI2 clear), "elfv1"/"elfv2" (PPC64)
    elf_abi: str | None = None
    zig_arch: str
    zig_flags: tuple[str, ...] = ()  #: what cargo-zigbuild passes for this arch
    gnu_loader: str  #: the glibc dynamic loader, relative to the sysroot
    host_machines: tuple[str, ...] = ()  #: platform.machine() values that run it natively
    mingw_prefix: str | None = None  #: prefix of Debian's MinGW-w64 gcc and binutils
    mingw_deb: str | None = None  #: that gcc's Debian package suffix (gcc-mingw-w64-<x>)
    pe_machine: str | None = None  #: pefile's MACHINE_TYPE name
    macho_cpu: str | None = None  #: lief's MachO CPU_TYPE name
    docker_arch: str | None = None  #: Docker's architecture name (None: the Rust one)
    #: Debian 12's archive has this port's cross gcc and glibc (gcc-<gnu_prefix>,
    #: libc6-dev-<deb_arch>-cross); without them a gnu triple links with zig's glibc and
    #: cannot run here (no glibc for qemu)
    debian_cross: bool = True

    @property
    def target_arch(self) -> str:
        """What build scripts read in ``CARGO_CFG_TARGET_ARCH``: x86 for i686, arm for armv7."""
        return self.cfg_arch

    @property
    def deb(self) -> str:
        """``deb_arch``, where a step needs Debian's port (its glibc, std or Python)."""
        if self.deb_arch is None:
            raise UsageError(f"Debian has no port for {self.rust} ({self.gnu_prefix})",
                             "use a musl triple of it: zig links those with no Debian package")
        return self.deb_arch


def _arm(rust: str, abi: str, flags: tuple[str, ...]) -> Arch:
    """An ARM EABI row: its float ABI, Debian port and loader follow rustc's target_abi."""
    hard = abi == "eabihf"
    gnu = "arm-linux-gnueabihf" if hard else "arm-linux-gnueabi"
    return Arch(
        rust=rust, cfg_arch="arm", abi=abi, deb_arch="armhf" if hard else "armel",
        gnu_prefix=gnu, multiarch=gnu, qemu="qemu-arm", docker_arch="arm",
        elf_machine="EM_ARM", elf_class=32, endian="little",
        float_abi="hard" if hard else "soft", zig_arch="arm", zig_flags=flags,
        gnu_loader="lib/ld-linux-armhf.so.3" if hard else "lib/ld-linux.so.3",
        host_machines=("armv7l",) if rust == "armv7" and hard else (),
    )


def _plain(rust: str, cfg_arch: str, deb_arch: str | None, gnu_prefix: str, qemu: str,
           elf_machine: str, elf_class: Literal[32, 64], endian: Literal["little", "big"],
           gnu_loader: str, *, abi: str | None = None, elf_abi: str | None = None,
           zig_arch: str | None = None, zig_flags: tuple[str, ...] = (),
           host_machines: tuple[str, ...] = (), docker_arch: str | None = None,
           debian_cross: bool = True) -> Arch:
    return Arch(rust=rust, cfg_arch=cfg_arch, abi=abi, deb_arch=deb_arch,
                gnu_prefix=gnu_prefix, multiarch=gnu_prefix, qemu=qemu,
                elf_machine=elf_machine, elf_class=elf_class, endian=endian, float_abi=None,
                elf_abi=elf_abi, zig_arch=zig_arch or rust, zig_flags=zig_flags,
                gnu_loader=gnu_loader, host_machines=host_machines, docker_arch=docker_arch,
                debian_cross=debian_cross and deb_arch is not None)


#: One row per architecture (and per rustc target_abi where the ABI changes what the
#: tools are called). A triple's row: rustc's target_arch, endian, pointer width and
#: target_abi, and the triple's CPU part (see :func:`arch_for`).
ARCHES: tuple[Arch, ...] = (
    Arch(
        rust="x86_64", cfg_arch="x86_64", deb_arch="amd64", gnu_prefix="x86_64-linux-gnu",
        qemu="qemu-x86_64", multiarch="x86_64-linux-gnu", docker_arch="amd64",
        elf_machine="EM_X86_64", elf_class=64, endian="little", float_abi=None,
        zig_arch="x86_64", gnu_loader="lib64/ld-linux-x86-64.so.2",
        host_machines=("x86_64", "amd64"), mingw_prefix="x86_64-w64-mingw32",
        mingw_deb="x86-64", pe_machine="IMAGE_FILE_MACHINE_AMD64", macho_cpu="X86_64",
    ),
    Arch(
        rust="aarch64", cfg_arch="aarch64", deb_arch="arm64", gnu_prefix="aarch64-linux-gnu",
        qemu="qemu-aarch64", multiarch="aarch64-linux-gnu", docker_arch="arm64",
        elf_machine="EM_AARCH64", elf_class=64, endian="little", float_abi=None,
        zig_arch="aarch64", gnu_loader="lib/ld-linux-aarch64.so.1",
        host_machines=("aarch64", "arm64"), macho_cpu="ARM64",
        pe_machine="IMAGE_FILE_MACHINE_ARM64",
    ),
    _arm("armv7", "eabihf", ("-mcpu=generic+v7a+vfp3-d32+thumb2-neon",)),
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
    Arch(
        rust="i586", deb_arch="i386", gnu_prefix="i686-linux-gnu", qemu="qemu-i386",
        multiarch="i386-linux-gnu", cfg_arch="x86",
        elf_machine="EM_386", elf_class=32, endian="little", float_abi=None,
        zig_arch="x86", zig_flags=("-mcpu=pentium",), gnu_loader="lib/ld-linux.so.2",
    ),
    _plain("aarch64_be", "aarch64", None, "aarch64_be-linux-gnu", "qemu-aarch64_be",
           "EM_AARCH64", 64, "big", "lib/ld-linux-aarch64_be.so.1"),
    _arm("armv7", "eabi", ("-mcpu=generic+v7a+thumb2+soft_float-neon",)),
    _arm("arm", "eabi", ("-mcpu=generic+v6+strict_align",)),
    _arm("arm", "eabihf", ("-mcpu=generic+v6+strict_align+vfp2-d32",)),
    _arm("thumbv7neon", "eabihf", ("-mcpu=generic+v7a+vfp3+thumb2+neon", "-mthumb")),
    _plain("mips", "mips", "mips", "mips-linux-gnu", "qemu-mips", "EM_MIPS", 32, "big",
           "lib/ld.so.1", elf_abi="o32"),
    _plain("mipsel", "mips", "mipsel", "mipsel-linux-gnu", "qemu-mipsel", "EM_MIPS", 32,
           "little", "lib/ld.so.1", elf_abi="o32"),
    _plain("mips64", "mips64", "mips64", "mips64-linux-gnuabi64", "qemu-mips64", "EM_MIPS",
           64, "big", "lib64/ld.so.1", abi="abi64", elf_abi="n64"),
    _plain("mips64el", "mips64", "mips64el", "mips64el-linux-gnuabi64", "qemu-mips64el",
           "EM_MIPS", 64, "little", "lib64/ld.so.1", abi="abi64", elf_abi="n64"),
    _plain("powerpc", "powerpc", "powerpc", "powerpc-linux-gnu", "qemu-ppc", "EM_PPC", 32,
           "big", "lib/ld.so.1", abi=""),
    _plain("powerpc64", "powerpc64", "ppc64", "powerpc64-linux-gnu", "qemu-ppc64", "EM_PPC64",
           64, "big", "lib64/ld64.so.1", abi="elfv1", elf_abi="elfv1"),
    _plain("powerpc64", "powerpc64", None, "powerpc64-linux-gnu", "qemu-ppc64", "EM_PPC64",
           64, "big", "lib64/ld64.so.2", abi="elfv2", elf_abi="elfv2"),
    _plain("powerpc64le", "powerpc64", "ppc64el", "powerpc64le-linux-gnu", "qemu-ppc64le",
           "EM_PPC64", 64, "little", "lib64/ld64.so.2", abi="elfv2", elf_abi="elfv2",
           host_machines=("ppc64le",), docker_arch="ppc64le"),
    _plain("s390x", "s390x", "s390x", "s390x-linux-gnu", "qemu-s390x", "EM_S390", 64, "big",
           "lib/ld64.so.1", host_machines=("s390x",), docker_arch="s390x"),
    _plain("loongarch64", "loongarch64", "loong64", "loongarch64-linux-gnu", "qemu-loongarch64",
           "EM_LOONGARCH", 64, "little", "lib64/ld-linux-loongarch-lp64d.so.1",
           host_machines=("loongarch64",), docker_arch="loong64", debian_cross=False),
    _plain("sparc64", "sparc64", "sparc64", "sparc64-linux-gnu", "qemu-sparc64", "EM_SPARCV9",
           64, "big", "lib64/ld-linux.so.2", host_machines=("sparc64",)),
    # WebAssembly (WASI): no Debian port, qemu, ELF or loader; zig compiles its C
    Arch(rust="wasm32", cfg_arch="wasm32", deb_arch=None, gnu_prefix="wasm32-wasi",
         multiarch="wasm32-wasi", qemu="", elf_machine="", elf_class=32, endian="little",
         float_abi=None, zig_arch="wasm32", gnu_loader=""),
)


def arch_row(rust: str, abi: str | None = None) -> Arch:
    """The row of the table's own triples (by CPU part, and abi where there are several)."""
    return next(a for a in ARCHES if a.rust == rust and (abi is None or a.abi in (None, abi)))


def arch_for(facts: rustc_data.Facts) -> Arch | None:
    """The row of a triple rustc knows: its target_arch, endian, pointer width and
    target_abi, and the CPU part of the triple (armv7 and arm share target_arch arm)."""
    return next((a for a in ARCHES if a.cfg_arch == facts.arch and a.endian == facts.endian
                 and a.elf_class == facts.pointer_width and a.abi in (None, facts.abi)
                 and a.rust == facts.cpu), None)


@dataclass(frozen=True)
class Machine:
    """What rustc cannot say about a bare-metal ``target_arch``: the ELF machine its images
    carry, the ABI e_flags name (MIPS o32), the qemu-system that emulates such boards."""

    elf_machine: str  #: pyelftools' e_machine name
    qemu_system: str | None = None
    elf_abi: str | None = None
    #: the little-endian machines' own qemu-system, where they have one (MIPS: …-mipsel)
    qemu_system_little: str | None = None


#: Bare metal (target_os none) by rustc's target_arch: only the architectures whose
#: targets rustc links itself with its lld into ELF images (target-spec-json's
#: linker-flavor gnu-lld); the rest (avr, msp430, xtensa, m68k, sparc, bpf) name a vendor's
#: gcc or linker instead.
BARE_MACHINES: dict[str, Machine] = {
    "arm": Machine("EM_ARM", "qemu-system-arm"),
    "aarch64": Machine("EM_AARCH64", "qemu-system-aarch64"),
    "riscv32": Machine("EM_RISCV", "qemu-system-riscv32"),
    "riscv64": Machine("EM_RISCV", "qemu-system-riscv64"),
    "x86_64": Machine("EM_X86_64", "qemu-system-x86_64"),
    "loongarch32": Machine("EM_LOONGARCH"),
    "loongarch64": Machine("EM_LOONGARCH", "qemu-system-loongarch64"),
    "mips": Machine("EM_MIPS", "qemu-system-mips", elf_abi="o32",
                    qemu_system_little="qemu-system-mipsel"),
    "s390x": Machine("EM_S390", "qemu-system-s390x"),
    "hexagon": Machine("EM_QDSP6"),
}

#: RISC-V's psABI float ABI by the last letter of rustc's llvm-abiname (ilp32f, lp64d)
_RISCV_FLOAT = {"f": "single", "d": "double", "q": "quad"}


def bare_float_abi(facts: rustc_data.Facts, spec: rustc_data.Spec) -> str | None:
    """The float ABI a bare-metal image's e_flags record, from rustc's spec: ARM's
    llvm-floatabi (else target_abi eabihf), RISC-V's llvm-abiname (ilp32 soft, ilp32f
    single, lp64d double); None where verify reads none from e_flags."""
    if facts.arch == "arm":
        return spec.llvm_floatabi or ("hard" if facts.abi == "eabihf" else "soft")
    if facts.arch in ("riscv32", "riscv64"):
        return _RISCV_FLOAT.get((spec.llvm_abiname or "")[-1:], "soft")  # ilp32, lp64, ilp32e
    return None


def bare_arch(facts: rustc_data.Facts, spec: rustc_data.Spec) -> Arch | None:
    """The architecture row of a bare-metal triple: rustc's facts (target_arch, endian,
    pointer width, float ABI from its spec) and the :data:`BARE_MACHINES` row of its
    target_arch; None: no row. No Debian port, gnu prefix, loader or qemu-user: nothing of
    Linux applies."""
    machine = BARE_MACHINES.get(facts.arch)
    if machine is None or facts.pointer_width not in (32, 64) or facts.endian not in (
            "little", "big"):
        return None
    little = facts.endian == "little"
    qemu = (little and machine.qemu_system_little) or machine.qemu_system or ""
    return Arch(rust=facts.cpu, cfg_arch=facts.arch, abi=facts.abi, deb_arch=None,
                gnu_prefix="", multiarch="", qemu=qemu,
                elf_machine=machine.elf_machine,
                elf_class=32 if facts.pointer_width == 32 else 64,
                endian="little" if little else "big",
                float_abi=bare_float_abi(facts, spec), elf_abi=machine.elf_abi,
                zig_arch=facts.arch, gnu_loader="")


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
    #: a row of the project's settings (``[tool.crossmatrix.target.<name>] triple = …``)
    configured: bool = False
    abi: str = ""  #: rustc's target_abi where it picks the toolchain ("llvm": windows-gnullvm)

    @property
    def is_linux(self) -> bool:
        return self.os == "linux"

    @property
    def freestanding(self) -> bool:
        """No operating system and no C library: core and alloc, no std (bare metal)."""
        return self.libc == "none"

    @property
    def is_glibc(self) -> bool:
        return self.libc == "gnu"

    def other_c_compiler(self, kind: str) -> str | None:
        """The linker kind besides ``kind`` that also links this target and compiles its C:
        zig for a target gcc serves (Linux gnu, MinGW), Debian's gcc for a Linux gnu target
        zig serves; None for the rest (musl, macOS, BSDs, WASI: zig alone here)."""
        if kind == "gcc":
            return "zig"
        return "gcc" if kind == "zig" and self.is_linux and self.is_glibc else None

    @property
    def glibc_loader(self) -> str | None:
        """The interpreter its dynamic executables name: glibc's loader (None: no glibc)."""
        return f"/{self.arch.gnu_loader}" if self.libc == "gnu" else None

    @property
    def needs_rtstartup(self) -> bool:
        """windows-gnu links rustc's ``rsbegin.o``/``rsend.o``, which build-std leaves out
        (windows-gnullvm does not: LLVM's libunwind needs no frame registration)."""
        return self.libc == "mingw" and self.abi != "llvm"

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
        """Prefix of the Debian cross gcc/binutils for this target (none for macOS, the BSDs
        and Windows on ARM: Debian has no such toolchain)."""
        if self.os == "windows":
            return self.arch.mingw_prefix
        if self.os != "linux":
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
                                "macos": "macos", "freebsd": "freebsd", "netbsd": "netbsd"}


def _row(name: str, triple: str, libc: Libc, linker: LinkerKind, *extra_tags: str,
         os: Os = "linux", abi: str | None = None) -> Target:
    arch = arch_row(triple.split("-", 1)[0], abi)
    linkage: Linkage = "static" if libc == "musl" else "dynamic"
    tags = (os, libc, linkage, arch.rust, *extra_tags)
    return Target(name=name, triple=triple, arch=arch, libc=libc, linkage=linkage,
                  linker=linker, tags=tags, os=os)


#: The matrix. Session names, task arguments and CI matrices all come from here.
TABLE: tuple[Target, ...] = (
    _row("linux-x86_64", "x86_64-unknown-linux-musl", "musl", "zig"),
    _row("linux-aarch64", "aarch64-unknown-linux-musl", "musl", "zig"),
    _row("linux-armv7", "armv7-unknown-linux-musleabihf", "musl", "zig", abi="eabihf"),
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

#: rustc's target_env of the Linux C libraries crossmatrix links
_LIBCS: dict[str, Libc] = {"gnu": "gnu", "musl": "musl"}
#: rustc's target_env of the WASI versions crossmatrix builds: preview 1 (core modules) and
#: preview 2 (components)
_WASI_ENVS = ("p1", "p2")


@dataclass(frozen=True)
class _Kind:
    """How crossmatrix builds the triples of one rustc (target_os, target_env, target_abi)."""

    libc: Libc
    linkage: Linkage
    linker: LinkerKind


#: (target_os, target_env, target_abi; None: any) → its C library, linkage and linker. FreeBSD
#: and NetBSD (target_env "") and Windows gnullvm (Windows on ARM) link with zig.
_KINDS: dict[tuple[str, str, str | None], _Kind] = {
    **{("linux", env, None): _Kind(libc, "static" if libc == "musl" else "dynamic",
                                   "zig" if libc == "musl" else "gcc")
       for env, libc in _LIBCS.items()},
    ("freebsd", "", None): _Kind("bsd", "dynamic", "zig"),
    ("netbsd", "", None): _Kind("bsd", "dynamic", "zig"),
    ("windows", "gnu", "llvm"): _Kind("mingw", "dynamic", "zig"),
}


def _kind(facts: rustc_data.Facts) -> _Kind | None:
    return _KINDS.get((facts.os, facts.env, facts.abi)) or _KINDS.get(
        (facts.os, facts.env, None))


class NotSupportedYet(UsageError):
    """A triple rustc knows that crossmatrix does not build yet: which step, and why."""

    def __init__(self, facts: rustc_data.Facts, step: str, why: str) -> None:
        super().__init__(
            f"{facts.triple} (known to {facts.describe()}) is not supported yet: {step}: {why}",
            "`crossmatrix targets` lists the table; Linux gnu/musl, FreeBSD, NetBSD and "
            "Windows gnullvm triples of the "
            "architecture table work too")
        self.facts = facts
        self.step = step
        self.why = why


@functools.cache
def by_name() -> dict[str, Target]:
    return {t.name: t for t in TABLE}


def _unsupported(facts: rustc_data.Facts) -> tuple[str, str] | None:
    """(step, why) when crossmatrix cannot build ``facts``'s triple; None: it can."""
    if facts.os == "none":
        return _bare_unsupported(facts)
    if facts.os not in get_args(Os):
        what = f"target_os {facts.os}"
        return "compile", (f"no platform module for {what}: how it links, strips, runs "
                           "and verifies is not written yet")
    if facts.os == "wasi":
        return _wasi_unsupported(facts)
    if _kind(facts) is None and facts.os != "linux":
        rows = ", ".join([t.triple for t in TABLE if t.os == facts.os]
                         + [f"target_env {env!r} with target_abi {abi!r}"
                            for os, env, abi in _KINDS if os == facts.os and abi])
        return "compile", (f"only the table's {facts.os} triples ({rows}) are set up; "
                           f"target_env {facts.env!r}, target_abi {facts.abi!r} needs another "
                           "linker and C library")
    if _kind(facts) is None:
        return "compile", (f"target_env {facts.env!r} is not a C library crossmatrix links "
                           "(gnu and musl are)")
    if arch_for(facts) is None:
        return "compile", (f"no row for {facts.cpu} (target_arch {facts.arch}, target_abi "
                           f"{facts.abi!r}, {facts.endian}-endian, {facts.pointer_width}-bit) "
                           "in the architecture table (qemu, ELF, Debian and zig names)")
    return None


def _wasi_unsupported(facts: rustc_data.Facts) -> tuple[str, str] | None:
    if facts.env not in _WASI_ENVS:
        return "compile", (f"target_env {facts.env!r} of WASI is not built yet (preview 1 "
                           "and 2 are: wasm32-wasip1, wasm32-wasip2); the Wasmtime crossmatrix "
                           "runs modules with has no WASI of that version")
    if arch_for(facts) is None:
        return "compile", f"no row for {facts.cpu} (target_arch {facts.arch}) of WASI"
    spec = rustc_data.spec(facts.triple)  # --print cfg says nothing of threads
    if spec is not None and spec.singlethread is not True:
        return "compile", ("WASI with threads (wasi-threads: a shared memory the module "
                           "imports) is not built yet: the Wasmtime crossmatrix runs it "
                           "with has no wasi-threads")
    return None


def _bare_unsupported(facts: rustc_data.Facts) -> tuple[str, str] | None:
    """(step, why) for a bare-metal triple crossmatrix cannot build; None: it can (rustc
    links it with its own lld, and the machine table has its target_arch)."""
    spec = rustc_data.spec(facts.triple)
    if spec is None:
        return "compile", "rustc gives no target spec for it"
    if not spec.links_elf_with_lld:
        linker = spec.linker or "the platform's cc"
        return "compile", (f"rustc links it with {linker} (linker-flavor "
                           f"{spec.linker_flavor}); crossmatrix builds the bare-metal targets "
                           "rustc's own lld links into ELF (gnu-lld)")
    if bare_arch(facts, spec) is None:
        return "compile", (f"no bare-metal row for target_arch {facts.arch} "
                           f"({facts.pointer_width}-bit) in the machine table (its ELF machine)")
    return None


def _bare(facts: rustc_data.Facts) -> Target:
    """A bare-metal target: static ELF, no C library, linked by rustc's rust-lld."""
    spec = rustc_data.spec(facts.triple)
    assert spec is not None  # _bare_unsupported said so
    arch = bare_arch(facts, spec)
    assert arch is not None
    return Target(name=facts.triple, triple=facts.triple, arch=arch, libc="none",
                  linkage="static", linker="rust-lld", os="none", in_table=False,
                  tags=("none", "bare-metal", "static", arch.rust))


def _from_rustc(triple: str) -> Target | NotSupportedYet | None:
    """rustc's target for ``triple``; its answers are remembered only when crossmatrix
    builds it (an unknown or unsupported triple leaves nothing in the cache)."""
    with memo.held() as keep:
        found = _adhoc(triple)
        if isinstance(found, Target):
            keep()
    return found


def _adhoc(triple: str) -> Target | NotSupportedYet | None:
    facts = rustc_data.facts(triple)
    if facts is None:
        return None
    gap = _unsupported(facts)
    if gap is not None:
        return NotSupportedYet(facts, *gap)
    if facts.os == "none":
        return _bare(facts)
    if facts.os == "wasi":  # one module, wasi-libc inside; zig compiles C for it
        arch = arch_for(facts)
        assert arch is not None  # _unsupported said so
        return Target(name=triple, triple=triple, arch=arch, libc="wasi", linkage="static",
                      linker="zig", tags=("wasi", "static", arch.rust),
                      in_table=False, os="wasi")
    arch, kind = arch_for(facts), _kind(facts)
    assert arch is not None and kind is not None  # _unsupported said so
    os: Os = next(o for o in get_args(Os) if o == facts.os)
    # gnu: Debian's cross gcc and glibc where the archive has them, else zig (and its glibc)
    linker: LinkerKind = ("zig" if kind.linker == "gcc" and not arch.debian_cross
                          else kind.linker)
    return Target(name=triple, triple=triple, arch=arch, libc=kind.libc, linkage=kind.linkage,
                  linker=linker, tags=(os, kind.libc, kind.linkage, arch.rust),
                  in_table=False, os=os, abi=facts.abi)


def from_triple(triple: str) -> Target | None:
    """A table row with this triple, or an ad-hoc target for a triple rustc knows
    (its facts from ``rustc --print cfg``: asked only for triples outside the table)."""
    for t in TABLE:
        if t.triple == triple:
            return t
    found = _from_rustc(triple) if _looks_like_triple(triple) else None
    return found if isinstance(found, Target) else None


def _looks_like_triple(text: str) -> bool:
    """Worth asking rustc about: a word with a dash and no glob, path or space in it."""
    return "-" in text and not any(ch in text for ch in "*?[/ \\\0") and text == text.strip()


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


def resolve(spec: str, extra: Sequence[Target] = ()) -> list[Target]:
    """One ``--target`` value: a name, a triple, a glob over names, or ``tag:NAME``;
    a name or triple may end in a glibc floor: ``linux-aarch64-gnu.2.17``. ``extra``: the
    project's own named rows (``[tool.crossmatrix.target.<name>] triple = …``), beside the
    table's. A triple of no row is rustc's to describe (:func:`from_triple`)."""
    spec = spec.strip()
    rows = (*TABLE, *extra)
    floor = _FLOOR.match(spec)
    if floor and not any(ch in spec for ch in "*?[") and not spec.startswith("tag:"):
        return [with_floor(t, floor["version"], rename=True)
                for t in resolve(floor["base"], extra)]
    named_here = {t.name: t for t in rows}
    if spec in named_here:
        return [named_here[spec]]
    if spec.startswith("tag:"):
        tag = spec[4:]
        found = [t for t in rows if tag in t.tags]
        if found:
            return found
        tags = sorted({tag for t in rows for tag in t.tags})
        raise UsageError(f"no target has tag {tag!r}", f"known tags: {', '.join(tags)}")
    if any(ch in spec for ch in "*?["):
        found = [t for t in rows if fnmatch.fnmatchcase(t.name, spec)]
        if found:
            return found
        raise UsageError(f"target pattern {spec!r} matches no target",
                         f"known targets: {', '.join(t.name for t in rows)}")
    for t in rows:
        if t.triple == spec:
            return [t]
    adhoc = _from_rustc(spec) if _looks_like_triple(spec) else None
    if isinstance(adhoc, NotSupportedYet):
        raise adhoc
    if adhoc is not None:
        return [adhoc]
    candidates = [*known_names(), *(t.name for t in extra)]
    if _looks_like_triple(spec):  # the closest of the table's names and rustc's triples
        with memo.held():  # bad input: nothing it asked is kept
            candidates += sorted(rustc_data.known_triples() - set(candidates))
    close = difflib.get_close_matches(spec, candidates, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}?" if close else ""
    hint += (" " if hint else "") + ("`inv targets` lists the table; a triple of "
                                     "`rustc --print target-list` also works")
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


#: the name of a project's own row: a nox session's and a dist folder's too
ROW_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def named_row(name: str, triple: str) -> Target | None:
    """A project's named row (``[….target.<name>] triple = …``) as its build records name
    it: a name of that shape no table row has, and a triple crossmatrix builds that is no
    table row's (that row has a name already)."""
    if not ROW_NAME.fullmatch(name) or name in known_names() or triple in known_names():
        return None
    base = from_triple(triple)
    if base is None:
        return None
    return replace(base, name=name, in_table=False, configured=True, glibc=None)


def recorded(name: str, triple: str) -> Target | None:
    """The target a build record (build_info.json) names: a target called ``name``
    (:func:`named`), else a project's named row of ``triple``."""
    return named(name) or named_row(name, triple)


def select(specs: Sequence[str] | None, default: Iterable[str] | None = None,
           extra: Sequence[Target] = (),
           unsupported: list[NotSupportedYet] | None = None) -> list[Target]:
    """Resolve repeated ``--target`` values (or the default list) to unique targets, in order.
    With ``unsupported``, triples crossmatrix cannot build yet are noted there, not raised."""
    chosen = list(specs) if specs else list(default or (t.name for t in TABLE))
    result: list[Target] = []
    for spec in chosen:
        try:
            found = resolve(spec, extra)
        except NotSupportedYet as gap:
            if unsupported is None:
                raise
            if all(g.facts.triple != gap.facts.triple for g in unsupported):
                unsupported.append(gap)
            continue
        for target in found:
            if target not in result:
                result.append(target)
    return result
