"""``inv merge``: per-target ``dist/`` folders made on different machines → one release.

The inputs may come from CI jobs that built anyone's pull request, so nothing in them is
trusted before it is checked, and all of it is checked before anything is written: every
file of an input folder is listed in its ``SHA256SUMS`` and hashed from its real bytes
(nothing is followed: a symlink, a FIFO or a device is refused); what ``build_info.json``
claims (target name, triple, archive name and sha256, module layout) must be a target of
the table, the file names packaging gives it and the sha256 of those bytes. Two
different artifacts under one name are refused. Files are copied from the bytes that
are hashed while copying, so a file swapped after the check is not taken in. The output
(one folder per target, one ``SHA256SUMS``, one ``release.json``) is deterministic, made
beside ``--out`` and renamed into place whole; ``--out`` is replaced only when it is a
release merge made; a refusal leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.errors import SomeTargetsFailed, StepFailed, UsageError
from tooling.matrix.targets import recorded
from tooling.platforms import platform_of
from tooling.pymod import modules
from tooling.records.build_info import BuildInfo
from tooling.records.layout import ModuleLayout
from tooling.records.release import MergedRelease
from tooling.steps import manifest
from tooling.steps.manifest import Part, completeness
from tooling.util import archives, atomic, console

_REBUILD = ("that folder was changed or not made by `inv release`; build that target again "
            "(`inv release --target NAME`)")


@dataclass(frozen=True)
class _Checked:
    """A target folder that passed every check, with the bytes of its build_info.json."""

    part: Part
    info_bytes: bytes
    archive_sha: str  #: of the archive's real bytes (the same as listed and claimed)
    info_sha: str  #: of build_info.json's real bytes


def find_parts(inputs: Sequence[Path]) -> list[Part]:
    """Target folders (holding build_info.json) given directly or one level down."""
    return [checked.part for checked in _find(inputs)[0]]


def _find(inputs: Sequence[Path]) -> tuple[list[_Checked], list[tuple[Path, ModuleLayout]]]:
    """Target folders and Python module layouts, given directly or one level down, each
    checked whole (see the module's docstring)."""
    parts: list[_Checked] = []
    layouts: list[tuple[Path, ModuleLayout]] = []
    for given in inputs:
        if not given.is_dir():
            raise UsageError(f"merge input {str(given)!r} is not a folder",
                             "pass dist/ folders (or dist/<target> folders) made by `inv release`")
        folders = manifest.merge_candidates(Path(os.path.abspath(given)))
        if not folders:
            raise UsageError(f"no build_info.json in {given} or its sub-folders",
                             "pass dist/ folders made by `inv release` or `inv package`")
        for folder in folders:
            layout_named = folder.name.endswith(modules.LAYOUT_SUFFIX)
            contents = archives.check_folder(
                folder, modules.may_be_link_copy if layout_named else lambda name: False)
            if "build_info.json" not in contents.files:
                raise StepFailed(f"{folder}: build_info.json is not a regular file", _REBUILD)
            data = archives.read_checked(folder / "build_info.json",
                                         contents.files["build_info.json"])
            source = str(folder / "build_info.json")
            if _is_layout(data):
                layout = ModuleLayout.parse(data, source=source)
                modules.check_layout(folder, layout, contents)
                layouts.append((folder, layout))
            else:
                info = BuildInfo.parse(data, source=source)
                parts.append(_check_part(folder, info, data, contents))
    return parts, layouts


def _is_layout(data: bytes) -> bool:
    try:
        return modules.is_layout_data(json.loads(data))
    except ValueError:
        return False  # read as a target's, which says what is wrong with it


def _check_part(folder: Path, info: BuildInfo, data: bytes,
                contents: archives.Contents) -> _Checked:
    """A target folder is what packaging makes and nothing else: a folder named for a
    target of the table, holding its archive (named the way packaging names it, the
    sha256 build_info.json claims being the one listed and read), build_info.json and
    SHA256SUMS."""
    def refuse(problem: str) -> StepFailed:
        return StepFailed(f"{folder}: {problem}", _REBUILD)

    target = recorded(info.name, info.triple)
    if target is None:
        raise refuse(f"build_info.json: name {info.name!r} is not a target of the table")
    if folder.name != info.name:
        raise refuse(f"the folder of {info.name} must be named {info.name}, "
                     f"not {folder.name!r}")
    table = {"triple": target.triple, "os": target.os, "arch": target.arch.rust,
             "libc": target.libc, "linkage": target.linkage}
    for field, want in table.items():
        if getattr(info, field) != want:
            raise refuse(f"build_info.json: the {field} of {info.name} is {want!r}, "
                         f"not {getattr(info, field)!r}")
    archive = f"{info.project}-{info.version}-{info.name}{platform_of(target).archive_suffix}"
    if info.archive.file != archive:
        raise refuse(f"build_info.json: the archive of {info.name} is named {archive!r}, "
                     f"not {info.archive.file!r}")
    for name, points_at in sorted(contents.links.items()):
        raise refuse(f"{name!r} is a symlink (to {points_at!r})")
    for name in sorted(contents.unlisted):
        raise refuse(f"{name!r} is not listed in SHA256SUMS")
    for name in sorted(contents.dirs):
        raise refuse(f"{name!r} is a folder; a target's folder holds none")
    for name in sorted(set(contents.files) ^ {archive, "build_info.json"}):
        raise refuse(f"{name!r} is missing" if name == archive
                     else f"{name!r} is not a file packaging makes")
    if contents.files[archive] != info.archive.sha256:
        raise refuse(f"build_info.json claims sha256 {info.archive.sha256[:12]}… for "
                     f"{archive}; its bytes (as SHA256SUMS lists) are "
                     f"{contents.files[archive][:12]}…")
    return _Checked(Part(info.name, folder, info), data, contents.files[archive],
                    contents.files["build_info.json"])


def _unique(parts: list[_Checked]) -> list[_Checked]:
    chosen: dict[str, _Checked] = {}
    for part in parts:
        seen = chosen.get(part.part.name)
        if seen is None:
            chosen[part.part.name] = part
        elif seen.archive_sha != part.archive_sha:
            raise StepFailed(
                f"two different artifacts named {part.part.name}: {seen.part.folder} "
                f"(sha256 {seen.archive_sha[:12]}…) and {part.part.folder} "
                f"({part.archive_sha[:12]}…)",
                "merge only one build of each target")
        elif seen.info_sha != part.info_sha:
            raise StepFailed(
                f"two different builds named {part.part.name}: {seen.part.folder} and "
                f"{part.part.folder} hold the same archive but not the same build_info.json",
                "merge only one build of each target")
    return [chosen[name] for name in sorted(chosen)]


def _is_release(folder: Path) -> bool:
    """``folder`` holds the release.json merge writes (of this or another version)."""
    try:
        with archives.open_nofollow(folder / "release.json") as fh:
            data = json.loads(fh.read(64 << 20))
    except (StepFailed, ValueError):
        return False
    return isinstance(data, dict) and {"schema_version", "project", "targets"} <= data.keys()


def _inside(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def _check_out(out: Path, inputs: Sequence[Path]) -> Path:
    """``out`` made absolute; UsageError unless merge may write it: it does not exist yet,
    or it is a release merge made (which is replaced), and no input is in it or holds it."""
    given = out
    out = Path(os.path.abspath(out))
    if out.parent == out:
        raise UsageError(f"--out {str(given)!r} is not a folder merge can replace",
                         "give a new folder, e.g. --out release")
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"--out {str(given)!r} cannot be read: {exc.strerror}") from None
    if mode is not None and not (stat.S_ISDIR(mode) and _is_release(out)):
        what = ("a symlink" if stat.S_ISLNK(mode) else "a folder that is not a release "
                "made by `inv merge` (no release.json of one)" if stat.S_ISDIR(mode)
                else "a file")
        raise UsageError(f"--out {str(given)!r} is {what}; merge replaces its --out whole",
                         f"give a new folder to --out, or move {given} away yourself")
    real = Path(os.path.realpath(out))
    for folder in inputs:
        source = Path(os.path.realpath(folder))
        if _inside(real, source) or _inside(source, real):
            raise UsageError(f"--out {str(given)!r} and the input {str(folder)!r} overlap",
                             "write the release to a folder beside the dist folders")
    return out


def _missing_parents(path: Path) -> list[Path]:
    """The folders above ``path`` that do not exist yet, outermost first."""
    missing = []
    for parent in path.parents:
        if os.path.lexists(parent):
            break
        missing.append(parent)
    return missing[::-1]


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def merge(inputs: Sequence[Path], out: Path,
          expected: Sequence[str] = ()) -> MergedRelease:
    given_out = out
    out = _check_out(out, inputs)
    found, layouts = _find(inputs)
    parts = _unique(found)
    projects = sorted({(p.part.info.project, p.part.info.version) for p in parts})
    if len(projects) > 1:
        raise StepFailed(f"the inputs come from different projects or versions: {projects}",
                         "merge builds of one commit only")
    status = completeness([p.part for p in parts], expected or [p.part.name for p in parts])
    release = MergedRelease(
        project=projects[0][0] if projects else None,
        version=projects[0][1] if projects else None,
        targets=tuple(p.part.info for p in parts),
        expected=status.expected, missing=status.missing, failed=status.failed,
        complete=status.complete,
    )
    new = atomic.pid_sibling(out, "new")
    made = _missing_parents(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove(new)
        new.mkdir()
        listed = _write(new, parts, layouts, release)
        archives.write_sha256sums(new, listed)
        atomic.replace_dir(new, out)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            _remove(new)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):
            raise StepFailed(f"cannot write {given_out}: {exc.strerror or exc}",
                             "check that folder's permissions and free space") from None
        raise
    console.info(f"merge: {len(parts)} targets → {given_out}")
    if not release.complete:
        raise SomeTargetsFailed(
            f"{given_out} is not a complete release: missing {', '.join(release.missing)}",
            "build the missing targets (their CI jobs failed?) and merge again")
    return release


def _write(new: Path, parts: list[_Checked], layouts: list[tuple[Path, ModuleLayout]],
           release: MergedRelease) -> list[Path]:
    """The release in ``new``: each file copied from the bytes checked; the files its
    SHA256SUMS lists."""
    listed: list[Path] = []
    for checked in parts:
        part = checked.part
        dest = new / part.name
        dest.mkdir()
        archive = part.info.archive.file
        archives.copy_checked(part.folder / archive, dest / archive, checked.archive_sha, 0o644)
        atomic.write_bytes(dest / "build_info.json", checked.info_bytes, 0o644)
        archives.write_sha256sums(dest, [dest / archive, dest / "build_info.json"])
        listed += [dest / archive, dest / "build_info.json"]
    listed += modules.merge_layouts(layouts, new)
    release.write(new / "release.json")
    return [*listed, new / "release.json"]


def summary(release_dir: Path) -> str:
    """A markdown table of a merged release (or a dist/ folder): for CI job summaries."""
    path = release_dir / "release.json"
    if path.is_file():
        infos = list(MergedRelease.load(path).targets)
    else:
        infos = [p.info for p in find_parts([release_dir])]
    lines = ["| target | artifact | size | linkage | highest glibc | sha256 |",
             "|---|---|---:|---|---|---|"]
    for info in sorted(infos, key=lambda i: i.name):
        for art in info.artifacts:
            lines.append(
                f"| {info.name} | {art.name} | {art.size:,} | {art.linkage} | "
                f"{art.highest_glibc or '—'} | `{art.sha256[:16]}…` |")
    return "\n".join(lines) + "\n"
