"""dist/release.json: what a dist folder holds for the matrix, and whether that is all of it."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.errors import BadRecord, StepFailed
from tooling.pymod import modules
from tooling.records import release
from tooling.records.build_info import BuildInfo
from tooling.records.release import Completeness, DistManifest
from tooling.util import archives


def dist_folders(given: Path) -> tuple[list[Path], list[Path]]:
    """``given`` itself or its sub-folders holding a build_info.json, split into target
    folders (``dist/<target>``) and Python module layouts (``dist/<module>-bin``)."""
    folders = [given] if (given / "build_info.json").is_file() else sorted(
        p for p in given.iterdir() if (p / "build_info.json").is_file())
    layouts = [p for p in folders if modules.is_layout(p)]
    return [p for p in folders if p not in layouts], layouts


def merge_candidates(given: Path) -> list[Path]:
    """For ``inv merge``: ``given`` itself if it holds a build_info.json, else its
    sub-folders that do; nothing followed. Names starting with a dot (crossmatrix's locks
    and half-made folders) are passed by; a symlink, or an entry neither a regular file nor
    a folder, is refused (StepFailed)."""
    try:
        if os.path.lexists(given / "build_info.json"):
            return [given]
        entries = sorted(os.scandir(given), key=lambda e: e.name)
        found = []
        for entry in entries:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                what = "a symlink" if stat.S_ISLNK(mode) else "not a regular file or a folder"
                raise StepFailed(f"{given}: {entry.name!r} is {what}",
                                 "a dist folder holds only files and folders made by "
                                 "`inv release`; merge a copy without it")
            if entry.name.startswith("."):
                continue
            if stat.S_ISDIR(mode) and os.path.lexists(Path(entry.path) / "build_info.json"):
                found.append(Path(entry.path))
    except OSError as exc:
        raise StepFailed(f"{given}: cannot be read: {exc.strerror or exc}") from None
    return found


@dataclass(frozen=True)
class Part:
    name: str
    folder: Path
    info: BuildInfo

    @property
    def archive_sha(self) -> str:
        return self.info.archive.sha256


def completeness(parts: Sequence[Part], expected: Sequence[str],
                 failed: dict[str, str] | None = None) -> Completeness:
    """Which of the ``expected`` targets a release holds: complete only when all of them."""
    return release.completeness({p.name for p in parts}, expected, failed)


def dist_manifest(dist: Path, expected: Sequence[str], version: str,
                  failed: dict[str, str]) -> DistManifest:
    """``dist/release.json``: what this dist folder holds for the matrix, and whether that
    is all of it. A target counts when its folder checks out against its SHA256SUMS and was
    built from this version (by a crossmatrix that reads its build_info.json); one that
    failed in this run counts as failed, whatever an older run left."""
    parts = []
    for folder in sorted(dist.iterdir()) if dist.is_dir() else []:
        if folder.name in failed or not (folder / "build_info.json").is_file():
            continue
        if modules.is_layout(folder):
            continue
        if archives.check_sha256sums(folder):
            continue
        try:
            info = BuildInfo.load(folder / "build_info.json")
        except BadRecord:
            continue
        if info.version != version:
            continue
        parts.append(Part(folder.name, folder, info))
    status = completeness(parts, expected, failed)
    manifest = DistManifest(version=version, targets=tuple(sorted(p.name for p in parts)),
                            expected=status.expected, missing=status.missing,
                            failed=status.failed, complete=status.complete)
    dist.mkdir(parents=True, exist_ok=True)  # every target failed before making it
    manifest.write(dist / "release.json")
    return manifest
