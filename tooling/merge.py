"""``inv merge``: per-target ``dist/`` folders made on different machines → one release.

Every input's ``SHA256SUMS`` is checked before anything is copied; two different
artifacts under one name are refused; the output (one folder per target, one
``SHA256SUMS``, one ``release.json``) is deterministic and renamed into place whole.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling import atomic, console, package, pymodules
from tooling.errors import SomeTargetsFailed, StepFailed, UsageError


@dataclass(frozen=True)
class Part:
    name: str
    folder: Path
    info: dict[str, Any]

    @property
    def archive_sha(self) -> str:
        return str(self.info["archive"]["sha256"])


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
        folders, found_layouts = package.dist_folders(given)
        layouts += found_layouts
        if not folders and not found_layouts:
            raise UsageError(f"no build_info.json in {given} or its sub-folders",
                             "pass dist/ folders made by `inv release` or `inv package`")
        for folder in folders:
            package.require_intact(folder)
            info = json.loads((folder / "build_info.json").read_text())
            parts.append(Part(str(info["name"]), folder, info))
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


def completeness(parts: Sequence[Part], expected: Sequence[str],
                 failed: dict[str, str] | None = None) -> dict[str, Any]:
    """Which of the ``expected`` targets a release holds: complete only when all of them."""
    have = {p.name for p in parts}
    missing = [name for name in expected if name not in have]
    return {"expected": list(expected), "missing": missing, "failed": dict(failed or {}),
            "complete": not missing and not failed}


def merge(inputs: Sequence[Path], out: Path,
          expected: Sequence[str] = ()) -> dict[str, Any]:
    found, layouts = _find(inputs)
    parts = _unique(found)
    projects = sorted({(str(p.info["project"]), str(p.info["version"])) for p in parts})
    if len(projects) > 1:
        raise StepFailed(f"the inputs come from different projects or versions: {projects}",
                         "merge builds of one commit only")
    new = out.with_name(f".{out.name}.{os.getpid()}.new")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    listed: list[Path] = []
    for part in parts:
        dest = new / part.name
        dest.mkdir()
        for name in ("build_info.json", str(part.info["archive"]["file"]), "SHA256SUMS"):
            atomic.copy_file(part.folder / name, dest / name, 0o644)
        listed += [dest / str(part.info["archive"]["file"]), dest / "build_info.json"]
    listed += pymodules.merge_layouts(layouts, new)
    release = {
        "project": projects[0][0] if projects else None,
        "version": projects[0][1] if projects else None,
        "targets": [p.info for p in parts],
        **completeness(parts, expected or [p.name for p in parts]),
    }
    atomic.write_json(new / "release.json", release)
    package.write_sha256sums(new, [*listed, new / "release.json"])
    atomic.replace_dir(new, out)
    console.info(f"merge: {len(parts)} targets → {out}")
    if not release["complete"]:
        raise SomeTargetsFailed(
            f"{out} is not a complete release: missing {', '.join(release['missing'])}",
            "build the missing targets (their CI jobs failed?) and merge again")
    return release


def dist_manifest(dist: Path, expected: Sequence[str], version: str,
                  failed: dict[str, str]) -> dict[str, Any]:
    """``dist/release.json``: what this dist folder holds for the matrix, and whether that
    is all of it. A target counts when its folder checks out against its SHA256SUMS and was
    built from this version; one that failed in this run counts as failed, whatever an
    older run left."""
    parts = []
    for folder in sorted(dist.iterdir()) if dist.is_dir() else []:
        if folder.name in failed or not (folder / "build_info.json").is_file():
            continue
        if pymodules.is_layout(folder):
            continue
        if package.check_sha256sums(folder):
            continue
        info = json.loads((folder / "build_info.json").read_text())
        if str(info.get("version")) != version:
            continue
        parts.append(Part(folder.name, folder, info))
    manifest = {"version": version, "targets": sorted(p.name for p in parts),
                **completeness(parts, expected, failed)}
    atomic.write_json(dist / "release.json", manifest)
    return manifest


def summary(release_dir: Path) -> str:
    """A markdown table of a merged release (or a dist/ folder): for CI job summaries."""
    path = release_dir / "release.json"
    if path.is_file():
        infos = json.loads(path.read_text())["targets"]
    else:
        infos = [p.info for p in find_parts([release_dir])]
    lines = ["| target | artifact | size | linkage | highest glibc | sha256 |",
             "|---|---|---:|---|---|---|"]
    for info in sorted(infos, key=lambda i: str(i["name"])):
        for art in info["artifacts"]:
            lines.append(
                f"| {info['name']} | {art['name']} | {art['size']:,} | {art['linkage']} | "
                f"{art['highest_glibc'] or '—'} | `{art['sha256'][:16]}…` |")
    return "\n".join(lines) + "\n"
