"""``dist/<module>-bin/build_info.json``: a Python extension module's builds, one per
platform-arch, as the loader beside it reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from tooling.records.codec import FileRecord, Record


@dataclass(frozen=True, kw_only=True)
class ModuleBuild(Record):
    """One build of the module: its file, the target it was built for, what verify and the
    import said."""

    file: str  #: in the layout folder: <platform-arch>/<module>.so (.pyd on Windows)
    target: str  #: the target's name in the table
    triple: str
    sha256: str
    size: int
    abi: str
    min_python: tuple[int, ...]  #: the oldest CPython that loads it: [major, minor]
    highest_glibc: str | None
    verified: bool
    imported: bool  #: a Python imported it and called it (here or under qemu)
    imported_by: str | None  #: that Python
    check: str  #: what the import said, or why it was not imported


@dataclass(frozen=True, kw_only=True)
class ModuleLayout(FileRecord):
    """A Python extension module's layout folder: every build by platform-arch
    (linux-x64, windows-x86, …)."""

    FILE: ClassVar[str] = "dist/<module>-bin/build_info.json"
    SCHEMA: ClassVar[str] = "module_build_info"
    HINT: ClassVar[str] = ("it was not made by this crossmatrix version: package those "
                           "targets again (`inv release`) with this one")

    schema_version: Literal[1] = 1  #: this file's schema: a reader refuses another
    module: str  #: the Python module's name (build_core)
    builds: dict[str, ModuleBuild]  #: by platform-arch
