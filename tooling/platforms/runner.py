"""The smoke test: run a target's binary here and check what it says. How it runs is its
platform's (natively, under qemu-user or wine); macOS binaries cannot run here, and that
is said, never passed off as a run.

A program passes when it exits 0 with the smoke arguments. Whether its output names its
own target triple is always found out (``names_triple`` in the records); it is a condition
only where the caller makes it one (``smoke-expect-triple = true``, or a deploy of a
program that named its triple when it was released)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tooling.errors import StepFailed
from tooling.matrix.targets import Target
from tooling.platforms import platform_of

NOT_RUN = "verified structurally, not run"


@dataclass(frozen=True, kw_only=True)
class Smoke:
    """How one run went."""

    line: str  #: what the records keep: the first line of stdout (else of stderr)
    names_triple: bool  #: stdout or stderr names the target's triple
    runner: str  #: how it ran: natively, qemu-aarch64, wine …


def smoke(target: Target, binary: Path, args: tuple[str, ...], cache_dir: Path) -> Smoke:
    """Run ``binary args``; it must exit 0."""
    platform = platform_of(target)
    res = platform.run(target, binary, args, cache_dir)
    output = (res.stdout + res.stderr).strip()
    described = platform.describe_runner(target)
    if not res.ok:
        raise StepFailed(f"{binary.name} exited with {res.returncode} under {described}: "
                         f"{output.splitlines()[-1] if output else ''}")
    lines = [line for line in (res.stdout.strip() or output).splitlines() if line.strip()]
    return Smoke(line=lines[0] if lines else "", names_triple=target.triple in output,
                 runner=described)


def require_triple(result: Smoke, target: Target, binary: Path, hint: str) -> None:
    """Fail the smoke test of a program whose output did not name its target triple."""
    if not result.names_triple:
        raise StepFailed(f"{binary.name} ran under {result.runner} but did not print "
                         f"{target.triple}: {result.line or '(no output)'}", hint)
