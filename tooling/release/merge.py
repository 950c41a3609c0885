"""``inv merge``: per-target ``dist/`` folders made on different machines → one release.

Every input's ``SHA256SUMS`` is checked before anything is copied; two different
artifacts under one name are refused; the output (one folder per target, one
``SHA256SUMS``, one ``release.json``) is deterministic and renamed into place whole.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from tooling.errors import SomeTargetsFailed, StepFailed, UsageError
from tooling.pymod import modules
from tooling.records.build_info import BuildInfo
from tooling.records.release import MergedRelease
from tooling.steps import manifest
from tooling.steps.manifest import Part, completeness
from tooling.util import archives, atomic, console


def find_parts(inputs: Sequence[Path]) -> list[Part]:
    """Target folders (holding build_info.json) given directly or one level down."""
    return _find(inputs)[0]


def _find(inputs: Sequence[Path]) -> tuple[list[Part], list[Path]]:
    """Target folders and Python module layouts, given directly or one level down."""
    parts: list[Part] = []
    layouts: list[Path] = []
    for given in inputs:
        if not given.is_dir():
            raise UsageError(f"merge input {str(given)!r} is not a folder",
                             "pass dist/ folders (or dist/<target> folders) made by `inv release`")
        folders, found_layouts = manifest.dist_folders(given)
        layouts += found_layouts
        if not folders and not found_layouts:
            raise UsageError(f"no build_info.json in {given} or its sub-folders",
                             "pass dist/ folders made by `inv release` or `inv package`")
        for folder in folders:
            archives.require_intact(folder)
            info = BuildInfo.load(folder / "build_info.json")
            parts.append(Part(info.name, folder, info))
    return parts, layouts


def _unique(parts: list[Part]) -> list[Part]:
    chosen: dict[str, Part] = {}
    for part in parts:
        seen = chosen.get(part.name)
        if seen is None:
            chosen[part.name] = part
        elif seen.archive_sha != part.archive_sha:
            raise StepFailed(
                f"two different artifacts named {part.name}: {seen.folder} "
                f"(sha256 {seen.archive_sha[:12]}…) and {part.folder} ({part.archive_sha[:12]}…)",
                "merge only one build of each target",
            )
    return [chosen[name] for name in sorted(chosen)]




def merge(inputs: Sequence[Path], out: Path,
          expected: Sequence[str] = ()) -> MergedRelease:
    found, layouts = _find(inputs)
    parts = _unique(found)
    projects = sorted({(p.info.project, p.info.version) for p in parts})
    if len(projects) > 1:
        raise StepFailed(f"the inputs come from different projects or versions: {projects}",
                         "merge builds of one commit only")
    new = atomic.pid_sibling(out, "new")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    listed: list[Path] = []
    for part in parts:
        dest = new / part.name
        dest.mkdir()
        for name in ("build_info.json", part.info.archive.file, "SHA256SUMS"):
            atomic.copy_file(part.folder / name, dest / name, 0o644)
        listed += [dest / part.info.archive.file, dest / "build_info.json"]
    listed += modules.merge_layouts(layouts, new)
    status = completeness(parts, expected or [p.name for p in parts])
    release = MergedRelease(
        project=projects[0][0] if projects else None,
        version=projects[0][1] if projects else None,
        targets=tuple(p.info for p in parts),
        expected=status.expected, missing=status.missing, failed=status.failed,
        complete=status.complete,
    )
    release.write(new / "release.json")
    archives.write_sha256sums(new, [*listed, new / "release.json"])
    atomic.replace_dir(new, out)
    console.info(f"merge: {len(parts)} targets → {out}")
    if not release.complete:
        raise SomeTargetsFailed(
            f"{out} is not a complete release: missing {', '.join(release.missing)}",
            "build the missing targets (their CI jobs failed?) and merge again")
    return release




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
