"""``inv deploy``: pick, check and install the right artifact for this machine, safely.

Layout under ``--dest``::

    releases/<target>-<sha12>/   one folder per installed artifact (extracted archive)
    current  -> releases/…       what runs
    previous -> releases/…       what ran before (for --rollback)

An archive is installed only if its sha256 matches ``SHA256SUMS``; its members are
checked before extraction (no absolute paths, no ``..``, no links leaving the folder,
no devices); it is extracted beside and renamed into place; ``current`` is switched by
renaming a new symlink over it; then the smoke test runs, and a failure switches back.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tooling.errors import BadRecord, StepFailed, UsageError
from tooling.matrix import host
from tooling.matrix.targets import Target, resolve
from tooling.platforms import platform_of, runner
from tooling.records.build_info import BuildInfo
from tooling.steps import manifest
from tooling.util import archives, atomic, console


@dataclass(frozen=True)
class Artifact:
    name: str
    target: Target
    archive: Path
    sha256: str
    info: BuildInfo

    @property
    def built(self) -> str:
        epoch = self.info.source_date_epoch
        if not epoch:
            return "?"
        return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def find(source: Path) -> list[Artifact]:
    """Artifacts in a dist/ or merged release folder, one target folder, or a folder of
    archives with a SHA256SUMS (and their build_info.json, if any)."""
    if not source.exists():
        raise UsageError(f"--from {str(source)!r} does not exist",
                         "point --from at a dist/ folder made by `inv release`")
    folders, _ = manifest.dist_folders(source)
    found: list[Artifact] = []
    for folder in folders:
        info = BuildInfo.load(folder / "build_info.json")
        archive = folder / info.archive.file
        expected = archives.read_sha256sums(folder).get(archive.name)
        if expected is None:
            raise StepFailed(f"{folder}: {archive.name} is not listed in SHA256SUMS",
                             "an artifact without a checksum is never installed")
        found.append(Artifact(info.name, resolve(info.name)[0], archive, expected, info))
    if not found:
        raise UsageError(f"no artifacts in {source}",
                         "expected target folders with build_info.json (dist/ of `inv release`)")
    return found


def fits(artifact: Artifact, host: host.Host) -> tuple[bool, str]:
    target = artifact.target
    return platform_of(target).fits_host(target, host, artifact.info.highest_glibc)


def _preferred(artifact: Artifact, host: host.Host | None) -> tuple[tuple[bool, ...], str]:
    target = artifact.target
    return platform_of(target).preference(target, host), artifact.name


def choose(artifacts: list[Artifact], host: host.Host) -> Artifact:
    """The best fit: a build for this userland's libc first, then a static one."""
    fitting = [a for a in artifacts if fits(a, host)[0]]
    if not fitting:
        reasons = "; ".join(f"{a.name}: {fits(a, host)[1]}" for a in artifacts)
        raise StepFailed(f"no artifact fits this machine ({host.describe()}): {reasons}",
                         "use --force-arch NAME to install one anyway")
    fitting.sort(key=lambda a: _preferred(a, host))
    return fitting[0]


def by_name(artifacts: list[Artifact], name: str) -> Artifact:
    for artifact in artifacts:
        if name in (artifact.name, artifact.target.triple):
            return artifact
    # "linux-x64" style names, as the target table spells them: the static build first
    matches = sorted((a for a in artifacts if a.target.platform_arch == name),
                     key=lambda a: _preferred(a, None))
    if matches:
        return matches[0]
    raise UsageError(f"no artifact named {name!r}",
                     f"available: {', '.join(sorted(a.name for a in artifacts))}")


# --- checks and extraction --------------------------------------------------------------

def check_sha(artifact: Artifact) -> None:
    if not artifact.archive.is_file():
        raise StepFailed(f"{artifact.archive} is missing")
    actual = atomic.sha256_file(artifact.archive)
    if actual != artifact.sha256:
        raise StepFailed(
            f"{artifact.archive.name}: sha256 {actual[:16]}… does not match SHA256SUMS "
            f"({artifact.sha256[:16]}…); refusing to install it",
            "the archive was changed or damaged after release; fetch it again")


def _check_members(tar: tarfile.TarFile, archive: Path) -> None:
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        bad = None
        if path.is_absolute():
            bad = "an absolute path"
        elif ".." in path.parts:
            bad = "a path with .."
        elif member.isdev() or member.isfifo():
            bad = "a device or fifo"
        elif member.issym() or member.islnk():
            link = PurePosixPath(member.linkname)
            joined = link if link.is_absolute() else path.parent / link
            if link.is_absolute() or ".." in PurePosixPath(os.path.normpath(joined)).parts:
                bad = f"a link to {member.linkname}"
        if bad:
            raise StepFailed(f"{archive.name}: member {member.name!r} is {bad}; refusing to "
                             "extract it", "the archive is not one crossmatrix made")


def extract(archive: Path, into: Path) -> Path:
    """Extract into a new folder beside ``into`` and rename it into place."""
    tmp = into.with_name(f".{into.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(archive) as tar:
            _check_members(tar, archive)
            tar.extractall(tmp, filter="data")
        if into.exists():
            shutil.rmtree(into)
        os.replace(tmp, into)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return into


def _point(link: Path, target: Path) -> None:
    """Make ``link`` point at ``target`` with a relative link, atomically."""
    atomic.point_link(link, os.path.relpath(target, link.parent))


# --- install, smoke test, rollback --------------------------------------------------------

def _binaries(release: Path) -> list[Path]:
    tops = [p for p in release.iterdir() if p.is_dir()]
    root = tops[0] if len(tops) == 1 else release
    return sorted(p for p in root.iterdir() if p.is_file() and os.access(p, os.X_OK))


def smoke(dest: Path) -> list[str]:
    """Run every installed binary with --version; each must print its own triple."""
    current = dest / "current"
    if not current.exists():
        raise StepFailed(f"nothing is installed at {dest}", "run `inv deploy --dest DIR` first")
    info = _installed(current / ".crossmatrix.json")
    target = resolve(info.name)[0]
    # programs only: a cdylib (a Python module) is loaded by its program, not run
    programs = {a.name for a in info.artifacts if a.kind == "bin"}
    lines = []
    for binary in _binaries(current.resolve()):
        if programs and binary.name not in programs:
            continue
        lines.append(runner.smoke(target, binary, ("--version",), True, dest))
    return lines


def _installed(path: Path) -> BuildInfo:
    """What ``install`` wrote: the artifact's build_info.json and the archive's sha256."""
    hint = "install it again with this crossmatrix (`inv deploy --dest DIR`)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadRecord(f"{path}: cannot be read ({exc})", hint) from None
    if isinstance(data, dict):
        data.pop("sha256", None)
    try:
        return BuildInfo.from_json(data, source=str(path))
    except BadRecord as bad:
        raise BadRecord(bad.message, hint) from None


def install(artifact: Artifact, dest: Path, *, can_run: bool) -> Path:
    check_sha(artifact)
    dest.mkdir(parents=True, exist_ok=True)
    release = dest / "releases" / f"{artifact.name}-{artifact.sha256[:12]}"
    extract(artifact.archive, release)
    atomic.write_json(release / ".crossmatrix.json",
                      {**artifact.info.to_json(), "sha256": artifact.sha256})
    current, previous = dest / "current", dest / "previous"
    old = current.resolve() if current.is_symlink() else None
    if old is not None and old != release.resolve():
        _point(previous, old)
    _point(current, release)
    console.info(f"deploy: {artifact.name} → {current} ({release.name})")
    if not can_run:
        console.warn(f"{artifact.name} cannot run on this machine; smoke test skipped")
        return release
    try:
        for line in smoke(dest):
            console.info(f"deploy: smoke test: {line}")
    except StepFailed as failed:
        if old is not None and old != release.resolve():
            _point(current, old)
            console.info(f"deploy: rolled back to {old.name}")
        else:
            current.unlink()
        raise StepFailed(f"smoke test of {artifact.name} failed: {failed.message}; "
                         + ("the previous version is back" if old else "nothing is installed"),
                         failed.hint) from None
    return release


def rollback(dest: Path) -> Path:
    current, previous = dest / "current", dest / "previous"
    if not previous.is_symlink() or not previous.resolve().exists():
        raise StepFailed(f"no previous version at {dest}", "nothing to roll back to")
    now, before = current.resolve(), previous.resolve()
    _point(current, before)
    _point(previous, now)
    console.info(f"deploy: {current} → {before.name} (was {now.name})")
    return before


def list_rows(artifacts: list[Artifact], host: host.Host) -> list[dict[str, Any]]:
    rows = []
    for a in sorted(artifacts, key=lambda x: x.name):
        ok, why = fits(a, host)
        rows.append({"name": a.name, "target": a.target.triple,
                     "size": a.archive.stat().st_size if a.archive.is_file() else 0,
                     "sha256": a.sha256, "built": a.built, "fits": ok, "why": why})
    return rows


def print_list(rows: list[dict[str, Any]], host: host.Host) -> None:
    from rich.table import Table

    table = Table(title=f"artifacts (this machine: {host.describe()})")
    for col in ("name", "target", "size", "sha256", "built", "fits here"):
        table.add_column(col)
    for r in rows:
        fit = "[green]yes[/]" if r["fits"] else f"[red]no[/]: {r['why']}"
        table.add_row(r["name"], r["target"], f"{r['size']:,}", r["sha256"][:16] + "…",
                      r["built"], fit)
    console.out().print(table)
