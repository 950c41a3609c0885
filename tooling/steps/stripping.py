"""The strip step: each binary copied to the stage folder, stripped with the target's tools,
sizes before and after."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tooling.errors import StepFailed
from tooling.platforms import strip
from tooling.records.steps import (
    Compiled,
    Stripped,
    StrippedBinary,
)
from tooling.steps.staging import reuse
from tooling.steps.state import Build
from tooling.util import atomic, console

if TYPE_CHECKING:  # startup time: pyelftools loads only when a binary is verified
    pass


def strip_target(build: Build) -> Stripped:
    compiled = build.load(Compiled, "strip")
    inputs = build.next_inputs("strip", "strip")
    reused = reuse(build, Stripped, "same binaries from cargo")
    if reused is not None:
        return reused
    results: dict[str, StrippedBinary] = {}
    for artifact in compiled.artifacts:
        source = Path(artifact.path)
        if not source.is_file():
            raise StepFailed(f"{build.target.name}: {source} is gone",
                             f"run `inv compile --target {build.target.name}` again")
        dest = build.stage / artifact.name
        before, after = strip.strip_copy(build.target, source, dest,
                                         library=artifact.kind == "cdylib")
        results[artifact.name] = StrippedBinary(
            package=artifact.package, path=str(dest), kind=artifact.kind,
            target_name=artifact.target_name, size_unstripped=before, size=after,
            sha256=atomic.sha256_file(dest))
        console.step(build.target.name, f"strip {artifact.name}: {before:,} → {after:,} bytes")
    record = Stripped(binaries=results)
    build.save(record, inputs=inputs)
    return record
