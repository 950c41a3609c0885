"""The verify step: each staged binary's headers read and checked against the target (see
tooling.verify)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tooling.errors import StepFailed
from tooling.records.steps import (
    CheckResult,
    Stripped,
    Verified,
    VerifiedBinary,
)
from tooling.steps.staging import python_module, reuse, staged_intact
from tooling.steps.state import Build
from tooling.util import console

if TYPE_CHECKING:  # startup time: pyelftools loads only when a binary is verified
    from tooling.verify import inspection


def verify_target(build: Build, *, glibc_floor: str | None = None) -> Verified:
    """Check the stripped binaries; ``glibc_floor`` (default: the target's) bounds GLIBC_x.y.

    A floor other than the target's is a one-off check: its result is not recorded.
    """
    ad_hoc = glibc_floor is not None and glibc_floor != build.target.glibc
    glibc_floor = glibc_floor or build.target.glibc
    stripped = build.load(Stripped, "verify")
    inputs = build.next_inputs("verify", "verify")
    if not staged_intact(build, stripped.binaries):
        raise StepFailed(f"{build.target.name}: a staged binary changed since `strip`",
                         f"run `inv strip --target {build.target.name}` again")
    reused = None if ad_hoc else reuse(build, Verified, "same stripped binaries")
    if reused is not None:
        return _raise_if_failed(build, reused)
    results: dict[str, VerifiedBinary] = {}
    allowed = build.project.allowed_libraries(build.target)
    earlier = None if ad_hoc else build.earlier(Verified)
    for name, info in stripped.binaries.items():
        before = earlier.binaries.get(name) if earlier else None
        if before is not None and before.sha256 == info.sha256:
            results[name] = before  # the same bytes under the same rules: the same verdict
            console.step(build.target.name, f"verify {name}: unchanged; checked before")
            continue
        path = Path(info.path)
        module = python_module(build, info)
        # startup time: pyelftools loads only when a binary is verified
        from tooling.verify import elf, inspection

        seen = inspection.inspect(
            path, build.target, glibc_floor=glibc_floor,
            # an extension module is loaded by Python: it imports python3.dll on Windows
            allowed=allowed | {"python3.dll"} if module else allowed,
            exports=(f"PyInit_{module}",) if module else ())
        console.step(build.target.name, f"verify {name}")
        for line in [*elf.render(seen.checks), *seen.notes]:
            console.detail(f"    {line}")
        results[name] = _verified(info.sha256, seen)
    record = Verified(binaries=results)
    if not ad_hoc:
        build.save(record, inputs=inputs)
    return _raise_if_failed(build, record)


def _verified(sha256: str, seen: inspection.Inspection) -> VerifiedBinary:
    """The record of one inspected binary: what its headers say (only a PE file has a
    subsystem, only a Mach-O file a minimum OS and a signature) and each check."""
    facts = seen.summary
    formats = {key: facts[key] for key in ("subsystem", "min_os", "signature") if key in facts}
    return VerifiedBinary(
        sha256=sha256, ok=all(c.ok for c in seen.checks),
        machine=facts["machine"], linkage=facts["linkage"], static_pie=facts["static_pie"],
        interpreter=facts["interpreter"], needed=tuple(facts["needed"]),
        highest_glibc=facts["highest_glibc"], stripped=facts["stripped"], **formats,
        checks={c.name: CheckResult(ok=c.ok, expected=c.expected, actual=c.actual)
                for c in seen.checks})


def _raise_if_failed(build: Build, results: Verified) -> Verified:
    problems = results.problems()
    if problems:
        raise StepFailed(f"{build.target.name}: verify failed: {'; '.join(problems)}",
                         "the binary is not what the target promises; see the checks above")
    return results
