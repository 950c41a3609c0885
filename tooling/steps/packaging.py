"""Package: one target's verified, smoke-tested binaries into ``dist/<name>/``.

A deterministic ``.tar.gz``, ``SHA256SUMS`` and ``build_info.json``, made in a
folder beside and renamed into place whole; skipped when its inputs and the
commit time are unchanged and the folder still checks out against SHA256SUMS.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tooling import __version__
from tooling.errors import BadRecord, StepFailed
from tooling.platforms import platform_of
from tooling.pymod import modules
from tooling.records.build_info import ArchiveInfo, ArtifactInfo, BuildInfo, CompilerInfo, RunInfo
from tooling.records.steps import Compiled, Packaged, Ran, Stripped, Verified
from tooling.steps import staging
from tooling.steps.state import Build
from tooling.util import archives, atomic, console, versions


def package_target(build: Build) -> Path:
    target, ws = build.target, build.workspace
    compiled = build.load(Compiled, "package")
    stripped = build.load(Stripped, "package")
    verified = build.load(Verified, "package")
    ran = build.load(Ran, "package")
    inputs = build.next_inputs("package", "package")
    if not all(v.ok for v in verified.binaries.values()):
        raise StepFailed(f"{target.name}: verify failed; not packaging it")
    if not staging.staged_intact(build, stripped.binaries):
        raise StepFailed(f"{target.name}: a staged binary changed since it was verified",
                         f"run `inv release --target {target.name}` again")
    mtime = archives.source_date_epoch(build.project.root)
    previous = build.reusable(Packaged)
    if (previous is not None and previous.source_date_epoch == mtime
            and (build.dist / "SHA256SUMS").is_file()
            and not archives.check_sha256sums(build.dist)
            and _readable(build.dist / "build_info.json")):
        console.step(target.name, f"package: {build.dist} is up to date; skipped")
        _python_modules(build, stripped, verified, ran)
        return build.dist
    top = f"{build.project.name or ws.name}-{ws.version}-{target.name}"
    build.project.dist.mkdir(parents=True, exist_ok=True)
    atomic.clean_dead_leftovers(build.dist)  # from a run killed mid-swap
    new = atomic.pid_sibling(build.dist, "new")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    archive = new / f"{top}{platform_of(target).archive_suffix}"
    members = [(name, build.stage / name, 0o755) for name in sorted(stripped.binaries)]
    archive_sha = archives.write_archive(archive, members, top_dir=top, mtime=mtime)
    artifacts = []
    for name in sorted(stripped.binaries):
        s, v, r = stripped.binaries[name], verified.binaries[name], ran.binaries[name]
        artifacts.append(ArtifactInfo(
            name=name, package=s.package, path=f"{top}/{name}", kind=s.kind,
            # not the unstripped size: on windows-gnu the symbol table names rustc's own
            # temporary folders (raw-dylib import libraries), which would make
            # build_info.json differ between two identical builds
            size=s.size, sha256=v.sha256,
            linkage=v.linkage, interpreter=v.interpreter, needed=v.needed,
            highest_glibc=v.highest_glibc, machine=v.machine, stripped=v.stripped,
            min_os=v.min_os, signature=v.signature, subsystem=v.subsystem,
            run=RunInfo(ran=r.ran, runner=r.runner, output=r.output,
                        names_triple=r.names_triple),
        ))
    info = BuildInfo(
        name=target.name, triple=target.triple,
        project=build.project.name or ws.name, version=ws.version,
        os=target.os, arch=target.arch.rust, libc=target.libc, linkage=target.linkage,
        compiler=CompilerInfo(version=compiled.compiler, kind=compiled.compiler_kind,
                              commit=compiled.compiler_commit),
        glibc_floor=target.glibc,
        highest_glibc=max((a.highest_glibc for a in artifacts if a.highest_glibc),
                          key=versions.parse, default=None),
        std_provider=compiled.std_provider, std_source=compiled.std_reason,
        std_sysroot=compiled.sysroot,
        linker=compiled.linker, linker_program=compiled.linker_program,
        profile=compiled.profile, rustflags=compiled.rustflags,
        source_date_epoch=mtime,
        ran=all(a.run.ran for a in artifacts if a.kind == "bin"),
        archive=ArchiveInfo(file=archive.name, sha256=archive_sha),
        artifacts=tuple(artifacts),
        crossmatrix=__version__,
    )
    info.write(new / "build_info.json")
    archives.write_sha256sums(new, [archive, new / "build_info.json"])
    atomic.replace_dir(new, build.dist)
    size = (build.dist / archive.name).stat().st_size
    console.step(target.name, f"package: {build.dist / archive.name} ({size:,} bytes)")
    _python_modules(build, stripped, verified, ran)
    build.save(Packaged(archive=str(build.dist / archive.name), sha256=archive_sha,
                        source_date_epoch=mtime), inputs=inputs)
    return build.dist


def _readable(path: Path) -> bool:
    """A build_info.json this crossmatrix reads (one from another version is remade)."""
    try:
        BuildInfo.load(path)
    except BadRecord:
        return False
    return True


def _python_modules(build: Build, stripped: Stripped, verified: Verified, ran: Ran) -> None:
    """Python extension modules also go to ``dist/<module>-bin/<platform-arch>/``."""
    for name, info in sorted(stripped.binaries.items()):
        module = staging.python_module(build, info)
        if module is None:
            continue
        dest = modules.lay_out(build.project.dist, module, build.target, build.stage / name,
                               verified.binaries[name], ran.binaries[name])
        console.step(build.target.name, f"package: {dest}")


