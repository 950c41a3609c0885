"""Strip, verify and run the built binaries of one target.

Each step is skipped when its inputs (the previous step's outputs and its own
settings) are what it last ran on, and what it made is still on disk unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tooling.errors import StepFailed
from tooling.platforms import platform_of, runner, strip
from tooling.pymod import modules
from tooling.records.steps import (
    CheckResult,
    Compiled,
    Ran,
    RanBinary,
    StepRecord,
    Stripped,
    StrippedBinary,
    Verified,
    VerifiedBinary,
)
from tooling.steps.state import Build
from tooling.util import atomic, console

if TYPE_CHECKING:  # startup time: pyelftools loads only when a binary is verified
    from tooling.verify import inspection

S = TypeVar("S", bound=StepRecord)


def staged_intact(build: Build, records: Mapping[str, StrippedBinary | VerifiedBinary]) -> bool:
    """Every staged binary is still the one recorded."""
    for name, info in records.items():
        path = build.stage / name
        if not path.is_file() or atomic.sha256_file(path) != info.sha256:
            return False
    return True


def _reuse(build: Build, kind: type[S], what: str) -> S | None:
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

def strip_target(build: Build) -> Stripped:
    compiled = build.load(Compiled, "strip")
    inputs = build.next_inputs("strip", "strip")
    reused = _reuse(build, Stripped, "same binaries from cargo")
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


# --- verify ------------------------------------------------------------------------------

def python_module(build: Build, info: StrippedBinary) -> str | None:
    """The module name when this staged file is a Python extension module (a pyo3 cdylib)."""
    if info.kind != "cdylib" or info.package not in build.workspace.python_modules:
        return None
    return (info.target_name or info.package).replace("-", "_")


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
    reused = None if ad_hoc else _reuse(build, Verified, "same stripped binaries")
    if reused is not None:
        return _raise_if_failed(build, reused)
    results: dict[str, VerifiedBinary] = {}
    allowed = build.project.allowed_libraries(build.target)
    for name, info in stripped.binaries.items():
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
            console.info(f"    {line}")
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


# --- run ---------------------------------------------------------------------------------

def run_target(build: Build) -> Ran:
    verified = build.load(Verified, "run")
    inputs = build.next_inputs("run", "run")
    failed = [name for name, info in verified.binaries.items() if not info.ok]
    if failed:
        raise StepFailed(f"{build.target.name}: {', '.join(failed)} failed verify; not running it",
                         f"fix the build, then `inv verify --target {build.target.name}`")
    if not staged_intact(build, verified.binaries):
        raise StepFailed(f"{build.target.name}: a staged binary changed since `verify`",
                         f"run `inv strip --target {build.target.name}` and verify again")
    platform = platform_of(build.target)
    reason = platform.cannot_run(build.target)
    if reason:  # said on every run, also when the record below is reused
        console.warn(f"{build.target.name}: {runner.NOT_RUN}: {reason}")
    reused = _reuse(build, Ran, "same verified binaries")
    if reused is not None:
        return reused
    results: dict[str, RanBinary] = {}
    stripped = build.load(Stripped, "run").binaries
    for name, info in verified.binaries.items():
        staged = stripped.get(name)
        if staged is not None and staged.kind == "cdylib":
            results[name] = _load_library(build, name, staged)
            continue
        if reason:
            results[name] = RanBinary(sha256=info.sha256, ran=False, runner=None,
                                      output=f"{runner.NOT_RUN} ({reason})")
            continue
        line = runner.smoke(build.target, build.stage / name, build.project.smoke_args,
                            build.project.smoke_expect_triple, build.project.cache_dir)
        described = platform.describe_runner(build.target)
        results[name] = RanBinary(sha256=info.sha256, ran=True, runner=described, output=line)
        console.step(build.target.name, f"run {name} ({described}): {line}")
    record = Ran(binaries=results)
    build.save(record, inputs=inputs)
    return record


def _load_library(build: Build, name: str, info: StrippedBinary) -> RanBinary:
    """A cdylib is not a program: a Python extension module for this very machine is
    imported by this Python and called; any other library was verified, not loaded."""
    module = python_module(build, info)
    python = modules.importer(build.target, build.project.cache_dir) if module else None
    if module is None or python is None:
        why = modules.cannot_import(build.target, build.project.cache_dir) if module \
            else "a library, not a program"
        detail = f"exports PyInit_{module}; " if module else ""
        output = f"{runner.NOT_RUN} ({detail}{why})"
        console.step(build.target.name, f"run {name}: {output}")
        return RanBinary(sha256=info.sha256, ran=False, runner=None, output=output)
    argv, who = python
    line = modules.import_and_call(build.stage / name, module, build.target, argv)
    console.step(build.target.name, f"run {name} (imported by {who}): {line}")
    return RanBinary(sha256=info.sha256, ran=True, runner=f"imported by {who}", output=line)
