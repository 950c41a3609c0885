"""What each step of one target's build recorded: the ``data`` of its entry in
``<target dir>/crossmatrix/<name>/state.json`` (see :mod:`tooling.steps.state`).

Strip, verify and run record one entry per binary, keyed by its file name; on disk each
of those records is that mapping itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from tooling.matrix.targets import Linkage
from tooling.records.codec import ABSENT, Absent, Record
from tooling.util import digests


class StepRecord(Record):
    """A step's record; ``STEP`` is the step's name in state.json."""

    STEP: ClassVar[str]

    def outputs(self) -> str:
        """The digest of what the step put out: what the next step's inputs are made from."""
        return digests.digest(self.to_json())


# --- compile -------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CompiledArtifact(Record):
    """One file cargo built: a program or a cdylib, where cargo put it."""

    package: str
    name: str  #: the file's name (``fleet-report.exe``)
    path: str
    kind: str  #: "bin" or "cdylib"
    target_name: str  #: the bin or lib target's name in Cargo.toml
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Compiled(StepRecord):
    """What ``cargo build`` made for a target and with what: compiler, std, linker, flags."""

    STEP: ClassVar[str] = "compile"

    artifacts: tuple[CompiledArtifact, ...]
    compiler: str  #: rustc -vV's first line
    compiler_kind: str  #: "rustup" or "debian"
    compiler_commit: str
    std_provider: str  #: "rustup", "debian" or "build-std"
    std_reason: str
    sysroot: str | None  #: the build-std sysroot's folder name
    linker: str  #: "zig" or "gcc"
    linker_program: str
    profile: str
    rustflags: tuple[str, ...]  #: absolute paths by their last part

    def outputs(self) -> str:
        """The binaries, the compiler and the linker (not how std was provided). The
        artifacts sorted: cargo reports them in whatever order its jobs finish, and that
        order must not make the later steps run again."""
        data = self.to_json()
        artifacts = sorted(data["artifacts"], key=lambda a: json.dumps(a, sort_keys=True))
        return digests.digest(artifacts, data["compiler"], data["linker"])


# --- strip ---------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class StrippedBinary(Record):
    """One binary stripped into the stage folder."""

    package: str
    path: str  #: the staged, stripped file
    kind: str
    target_name: str
    size_unstripped: int
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Stripped(StepRecord):
    """The strip step: each binary by file name."""

    STEP: ClassVar[str] = "strip"
    FLAT: ClassVar[str | None] = "binaries"

    binaries: dict[str, StrippedBinary]

    def outputs(self) -> str:
        """The stripped files' contents."""
        return digests.digest({name: b.sha256 for name, b in self.binaries.items()})


# --- verify --------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CheckResult(Record):
    """One check of a binary against its target."""

    ok: bool
    expected: str
    actual: str


@dataclass(frozen=True, kw_only=True)
class VerifiedBinary(Record):
    """What a staged binary's headers say and how each check went. ``subsystem`` is a PE
    file's, ``min_os`` and ``signature`` a Mach-O file's: other formats leave them out."""

    sha256: str
    ok: bool
    machine: str
    linkage: Linkage
    static_pie: bool
    interpreter: str | None
    needed: tuple[str, ...]
    highest_glibc: str | None
    stripped: bool
    subsystem: str | Absent = ABSENT
    min_os: str | Absent | None = ABSENT
    signature: str | Absent = ABSENT
    checks: dict[str, CheckResult]


@dataclass(frozen=True, kw_only=True)
class Verified(StepRecord):
    """The verify step: each binary by file name."""

    STEP: ClassVar[str] = "verify"
    FLAT: ClassVar[str | None] = "binaries"

    binaries: dict[str, VerifiedBinary]

    def problems(self) -> list[str]:
        """``name: check expected X, got Y`` for each failed check."""
        return [f"{name}: {check} expected {c.expected}, got {c.actual}"
                for name, info in self.binaries.items()
                for check, c in info.checks.items() if not c.ok]


# --- run -----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RanBinary(Record):
    """How a binary's smoke test went: run (or imported, a Python module) and what it said,
    or why it was not run."""

    sha256: str
    ran: bool
    runner: str | None
    output: str
    #: the whole output (stdout and stderr) named the target triple; null: not run
    names_triple: bool | None


@dataclass(frozen=True, kw_only=True)
class Ran(StepRecord):
    """The run step: each binary by file name."""

    STEP: ClassVar[str] = "run"
    FLAT: ClassVar[str | None] = "binaries"

    binaries: dict[str, RanBinary]


# --- package -------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Packaged(StepRecord):
    """The package step: the archive written into dist/<target>/."""

    STEP: ClassVar[str] = "package"

    archive: str
    sha256: str
    source_date_epoch: int

    def outputs(self) -> str:
        return self.sha256
