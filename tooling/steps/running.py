"""The run step: each binary run here (natively, qemu, wine) or recorded as not run, with the
reason; Python modules imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tooling.errors import StepFailed
from tooling.platforms import platform_of, runner
from tooling.pymod import modules
from tooling.records.steps import (
    Ran,
    RanBinary,
    Stripped,
    StrippedBinary,
    Verified,
)
from tooling.steps.staging import python_module, reuse, staged_intact
from tooling.steps.state import Build
from tooling.util import console

if TYPE_CHECKING:  # startup time: pyelftools loads only when a binary is verified
    pass


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
    reused = reuse(build, Ran, "same verified binaries")
    if reused is not None:
        return reused
    results: dict[str, RanBinary] = {}
    stripped = build.load(Stripped, "run").binaries
    earlier = build.earlier(Ran)
    for name, info in verified.binaries.items():
        before = earlier.binaries.get(name) if earlier else None
        if before is not None and before.sha256 == info.sha256 and before.ran:
            # the same bytes, run the same way (arguments, runner, importer are the
            # step's settings) and it passed: not run again
            results[name] = before
            console.step(build.target.name, f"run {name}: unchanged; ran before ({before.runner})")
            continue
        staged = stripped.get(name)
        if staged is not None and staged.kind == "cdylib":
            results[name] = _load_library(build, name, staged)
            continue
        if reason:
            results[name] = RanBinary(sha256=info.sha256, ran=False, runner=None,
                                      output=f"{runner.NOT_RUN} ({reason})", names_triple=None)
            continue
        binary = build.stage / name
        smoke = runner.smoke(build.target, binary, build.project.smoke_args,
                             build.project.cache_dir)
        if build.project.smoke_expect_triple:
            runner.require_triple(smoke, build.target, binary, (
                f"smoke-expect-triple = true in {build.project.table()} asks for it; remove "
                "that line for a program that does not print it (exit 0 is enough then)"))
        results[name] = RanBinary(sha256=info.sha256, ran=True, runner=smoke.runner,
                                  output=smoke.line, names_triple=smoke.names_triple)
        console.step(build.target.name, f"run {name} ({smoke.runner}): {smoke.line}")
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
        return RanBinary(sha256=info.sha256, ran=False, runner=None, output=output,
                         names_triple=None)
    argv, who = python
    line = modules.import_and_call(build.stage / name, module, build.target, argv)
    console.step(build.target.name, f"run {name} (imported by {who}): {line}")
    return RanBinary(sha256=info.sha256, ran=True, runner=f"imported by {who}", output=line,
                     names_triple=build.target.triple in line)
