"""dist/release.json: what a dist folder holds for the matrix, and whether that is all of it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.pymod import modules
from tooling.util import archives, atomic


def dist_folders(given: Path) -> tuple[list[Path], list[Path]]:
    """``given`` itself or its sub-folders holding a build_info.json, split into target
    folders (``dist/<target>``) and Python module layouts (``dist/<module>-bin``)."""
    folders = [given] if (given / "build_info.json").is_file() else sorted(
        p for p in given.iterdir() if (p / "build_info.json").is_file())
    layouts = [p for p in folders if modules.is_layout(p)]
    return [p for p in folders if p not in layouts], layouts


@dataclass(frozen=True)
class Part:
    name: str
    folder: Path
    info: dict[str, Any]

    @property
    def archive_sha(self) -> str:
        return str(self.info["archive"]["sha256"])


def completeness(parts: Sequence[Part], expected: Sequence[str],
                 failed: dict[str, str] | None = None) -> dict[str, Any]:
    """Which of the ``expected`` targets a release holds: complete only when all of them."""
    have = {p.name for p in parts}
    missing = [name for name in expected if name not in have]
    return {"expected": list(expected), "missing": missing, "failed": dict(failed or {}),
            "complete": not missing and not failed}


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
        if modules.is_layout(folder):
            continue
        if archives.check_sha256sums(folder):
            continue
        info = json.loads((folder / "build_info.json").read_text())
        if str(info.get("version")) != version:
            continue
        parts.append(Part(folder.name, folder, info))
    manifest = {"version": version, "targets": sorted(p.name for p in parts),
                **completeness(parts, expected, failed)}
    atomic.write_json(dist / "release.json", manifest)
    return manifest
