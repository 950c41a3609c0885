"""The stage folder shared by strip, verify, run and package: whether its binaries are still
what the records say, reusing a step's record, and which staged file is a Python module.

Each step is skipped when its inputs (the previous step's outputs and its own
settings) are what it last ran on, and what it made is still on disk unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from tooling.records.steps import (
    StepRecord,
    Stripped,
    StrippedBinary,
    VerifiedBinary,
)
from tooling.steps.state import Build
from tooling.util import atomic, console

if TYPE_CHECKING:  # startup time: pyelftools loads only when a binary is verified
    pass

S = TypeVar("S", bound=StepRecord)


def staged_intact(build: Build, records: Mapping[str, StrippedBinary | VerifiedBinary]) -> bool:
    """Every staged binary is still the one recorded."""
    for name, info in records.items():
        path = build.stage / name
        if not path.is_file() or atomic.sha256_file(path) != info.sha256:
            return False
    return True


def reuse(build: Build, kind: type[S], what: str) -> S | None:
    """``kind``'s record when its step can be skipped (said so), else None."""
    record = build.reusable(kind)
    if record is None:
        return None
    if isinstance(record, Stripped) and not staged_intact(build, record.binaries):
        return None
    console.step(build.target.name,
                 f"{kind.STEP}: unchanged since the last run ({what}); skipped")
    return record


# --- strip -------------------------------------------------------------------------------



# --- verify ------------------------------------------------------------------------------

def python_module(build: Build, info: StrippedBinary) -> str | None:
    """The module name when this staged file is a Python extension module (a pyo3 cdylib)."""
    if info.kind != "cdylib" or info.package not in build.workspace.python_modules:
        return None
    return (info.target_name or info.package).replace("-", "_")








# --- run ---------------------------------------------------------------------------------



