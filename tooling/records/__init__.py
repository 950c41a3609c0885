"""Typed, versioned records: what the steps record, and the files crossmatrix writes for
others to read (build_info.json, release.json), each with a JSON Schema in ``schemas/``.

Records may import only :mod:`tooling.errors`, :mod:`tooling.util` and
:mod:`tooling.matrix`.
"""

from __future__ import annotations

from pathlib import Path

from tooling.records.build_info import BuildInfo
from tooling.records.codec import FileRecord
from tooling.records.layout import ModuleLayout
from tooling.records.release import DistManifest, MergedRelease

#: every file record, each with its schema in schemas/<SCHEMA>.schema.json
FILES: tuple[type[FileRecord], ...] = (BuildInfo, DistManifest, MergedRelease, ModuleLayout)

SCHEMAS = Path(__file__).with_name("schemas")


def schema_path(record: type[FileRecord]) -> Path:
    """Where ``record``'s JSON Schema is (shipped in the package)."""
    return SCHEMAS / f"{record.SCHEMA}.schema.json"
