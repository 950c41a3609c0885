"""``dist/release.json`` (what a dist folder holds for the matrix) and the merged
``release.json`` of ``inv merge`` (every target's build_info.json in one file)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from tooling.records.build_info import BuildInfo
from tooling.records.codec import FileRecord, Record


@dataclass(frozen=True, kw_only=True)
class Completeness(Record):
    """Which of the expected targets a release holds: complete only when all of them, and
    none failed."""

    expected: tuple[str, ...]  #: the targets of the matrix
    missing: tuple[str, ...]  #: expected targets the release lacks
    failed: dict[str, str]  #: targets that failed in this run, with their error
    complete: bool


def completeness(have: Collection[str], expected: Sequence[str],
                 failed: Mapping[str, str] | None = None) -> Completeness:
    """How complete a release holding the targets ``have`` is."""
    missing = tuple(name for name in expected if name not in have)
    return Completeness(expected=tuple(expected), missing=missing, failed=dict(failed or {}),
                        complete=not missing and not failed)


@dataclass(frozen=True, kw_only=True)
class DistManifest(Completeness, FileRecord):
    """A dist folder's targets that check out against their SHA256SUMS and were built from
    this version, and whether that is the whole matrix."""

    FILE: ClassVar[str] = "dist/release.json"
    SCHEMA: ClassVar[str] = "dist_release"

    schema_version: Literal[1] = 1  #: this file's schema: a reader refuses another
    version: str  #: the workspace's version
    targets: tuple[str, ...]  #: the targets the dist folder holds


@dataclass(frozen=True, kw_only=True)
class MergedRelease(Completeness, FileRecord):
    """A release merged from per-target dist folders: every target's build_info.json."""

    FILE: ClassVar[str] = "release.json (inv merge)"
    SCHEMA: ClassVar[str] = "merged_release"
    HINT: ClassVar[str] = ("it was not made by this crossmatrix version: merge the dist "
                           "folders again (`inv merge`) with this one")

    schema_version: Literal[1] = 1  #: this file's schema: a reader refuses another
    project: str | None  #: None: nothing was merged
    version: str | None
    targets: tuple[BuildInfo, ...]  #: each target's build_info.json
