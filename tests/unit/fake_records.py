"""Small, complete records for unit tests that make release folders by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tooling.matrix.targets import by_name
from tooling.records.build_info import ArchiveInfo, ArtifactInfo, BuildInfo, CompilerInfo, RunInfo
from tooling.records.steps import RanBinary, VerifiedBinary

NO_SHA = "0" * 64


def verified(**changes: Any) -> VerifiedBinary:
    """A verify record of one binary that passed."""
    record = VerifiedBinary(sha256=NO_SHA, ok=True, machine="EM_X86_64", linkage="dynamic",
                            static_pie=False, interpreter=None, needed=(), highest_glibc=None,
                            stripped=True, checks={})
    return replace(record, **changes)


def ran(**changes: Any) -> RanBinary:
    """A run record of one binary that was not run."""
    return replace(RanBinary(sha256=NO_SHA, ran=False, runner=None, output="not run",
                             names_triple=None), **changes)


def artifact(name: str, *, sha256: str, size: int = 0, **changes: Any) -> ArtifactInfo:
    """One binary of a build_info.json (a static program unless told otherwise)."""
    record = ArtifactInfo(name=name, package=name, path=f"top/{name}", kind="bin", size=size,
                          sha256=sha256, linkage="static", interpreter=None, needed=(),
                          highest_glibc=None, machine="EM_X86_64", stripped=True,
                          run=RunInfo(ran=False, runner=None, output="not run",
                                      names_triple=None))
    return replace(record, **changes)


def build_info(name: str, *, archive: str, archive_sha: str,
               artifacts: tuple[ArtifactInfo, ...] = (), **changes: Any) -> BuildInfo:
    """The build_info.json of target ``name`` (its os, libc and linkage from the table)."""
    target = by_name()[name]
    record = BuildInfo(
        name=name, triple=target.triple, project="demo", version="0.1.0", os=target.os,
        arch=target.arch.rust, libc=target.libc, linkage=target.linkage,
        compiler=CompilerInfo(version="rustc 1.0.0 (fake)", kind="rustup", commit="fake"),
        glibc_floor=None, highest_glibc=None, std_provider="rustup", std_source="fake",
        std_sysroot=None, linker=target.linker, linker_program=target.linker, profile="release",
        rustflags=(), source_date_epoch=0, ran=False,
        archive=ArchiveInfo(file=archive, sha256=archive_sha), artifacts=artifacts,
        crossmatrix="0.1.0")
    return replace(record, **changes)
