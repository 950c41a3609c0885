"""The smoke test: run a target's binary here and check what it says. How it runs is its
platform's (natively, under qemu-user or wine); macOS binaries cannot run here, and that
is said, never passed off as a run."""

from __future__ import annotations

from pathlib import Path

from tooling.errors import StepFailed
from tooling.matrix.targets import Target
from tooling.platforms import platform_of

NOT_RUN = "verified structurally, not run"


def smoke(target: Target, binary: Path, args: tuple[str, ...], expect_triple: bool,
          cache_dir: Path) -> str:
    """Run ``binary args``; it must exit 0 and (by default) print its own target triple."""
    platform = platform_of(target)
    res = platform.run(target, binary, args, cache_dir)
    output = (res.stdout + res.stderr).strip()
    if not res.ok:
        raise StepFailed(f"{binary.name} exited with {res.returncode} under "
                         f"{platform.describe_runner(target)}: "
                         f"{output.splitlines()[-1] if output else ''}")
    if expect_triple and target.triple not in output:
        raise StepFailed(
            f"{binary.name} ran under {platform.describe_runner(target)} but did not print "
            f"{target.triple}: {output.splitlines()[0] if output else '(no output)'}",
            "set smoke-expect-triple = false in [tool.crossmatrix] for binaries that don't",
        )
    lines = [line for line in (res.stdout.strip() or output).splitlines() if line.strip()]
    return lines[0] if lines else ""
