"""``dist/<target>/build_info.json``: what one target's release folder holds, how it was
built, and what verify and the smoke test found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from tooling.matrix.targets import Libc, Linkage, Os
from tooling.records.codec import ABSENT, Absent, FileRecord, Record


@dataclass(frozen=True, kw_only=True)
class CompilerInfo(Record):
    """The Rust compiler that built the target."""

    version: str  #: rustc -vV's first line
    kind: str  #: "rustup" or "debian"
    commit: str


@dataclass(frozen=True, kw_only=True)
class ArchiveInfo(Record):
    """The release archive in the same folder."""

    file: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class RunInfo(Record):
    """The smoke test of one binary."""

    ran: bool
    runner: str | None
    output: str  #: the output's first line, or why it was not run
    #: its whole output named the target triple (null: not run; left out by crossmatrix
    #: versions before it was recorded)
    names_triple: bool | Absent | None = ABSENT


@dataclass(frozen=True, kw_only=True)
class ArtifactInfo(Record):
    """One binary in the archive: its stripped size and sha256, what verify read from its
    headers and what its smoke test said."""

    name: str  #: the file's name
    package: str
    path: str  #: the member of the archive
    kind: str  #: "bin" or "cdylib"
    #: stripped (the unstripped size differs between two identical windows-gnu builds: the
    #: symbol table names rustc's temporary folders)
    size: int
    sha256: str
    linkage: Linkage
    interpreter: str | None  #: PT_INTERP, for dynamic ELF files
    needed: tuple[str, ...]  #: the libraries or DLLs it loads
    highest_glibc: str | None  #: the highest GLIBC_x.y it needs
    machine: str  #: e_machine (ELF), the machine type (PE) or the CPU type (Mach-O)
    stripped: bool
    min_os: str | Absent | None = ABSENT  #: Mach-O files only: the oldest macOS
    signature: str | Absent = ABSENT  #: Mach-O files only: the ad-hoc code signature
    subsystem: str | Absent = ABSENT  #: PE files only
    run: RunInfo


@dataclass(frozen=True, kw_only=True)
class BuildInfo(FileRecord):
    """One target's release folder: the target, the toolchain that built it, the archive
    and every binary in it."""

    FILE: ClassVar[str] = "dist/<target>/build_info.json"
    SCHEMA: ClassVar[str] = "build_info"
    HINT: ClassVar[str] = ("it was not made by this crossmatrix version: package that "
                           "target again (`inv release --target NAME`) with this one")
    schema_version: Literal[1] = 1  #: this file's schema: a reader refuses another
    name: str  #: the target's name in the table (linux-aarch64-gnu.2.17 with a glibc floor)
    triple: str
    project: str
    version: str  #: the workspace's version
    os: Os
    arch: str  #: the architecture part of the triple
    libc: Libc
    linkage: Linkage
    compiler: CompilerInfo
    glibc_floor: str | None  #: the glibc the target was linked and verified against
    highest_glibc: str | None  #: the highest GLIBC_x.y any binary needs
    std_provider: str  #: "rustup", "debian" or "build-std"
    std_source: str  #: why that std provider
    std_sysroot: str | None  #: the build-std sysroot's folder in the cache
    linker: str  #: "zig" or "gcc"
    linker_program: str
    profile: str
    rustflags: tuple[str, ...]  #: the target's own, absolute paths by their last part
    source_date_epoch: int  #: the archive's timestamps
    ran: bool  #: every program's smoke test ran (libraries are loaded, not run)
    archive: ArchiveInfo
    artifacts: tuple[ArtifactInfo, ...]
    crossmatrix: str  #: the version of crossmatrix that made it
