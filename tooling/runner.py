"""Running target binaries: natively when the host can, else under qemu-user."""

from __future__ import annotations

from pathlib import Path

from tooling import proc
from tooling.errors import StepFailed
from tooling.targets import Target


def prefix(target: Target) -> list[str]:
    """The command that runs a binary of ``target`` here (empty: run it directly)."""
    if target.runs_natively() and (target.libc == "musl" or Path(
            "/" + target.arch.gnu_loader).exists()):
        return []
    argv = [target.arch.qemu]
    if not target.is_static:
        argv += ["-L", target.gnu_sysroot]
    return argv


def describe(target: Target) -> str:
    argv = prefix(target)
    return " ".join(argv) if argv else "native"


def smoke(target: Target, binary: Path, args: tuple[str, ...], expect_triple: bool) -> str:
    """Run ``binary args``; it must exit 0 and (by default) print its own target triple."""
    argv = [*prefix(target), str(binary), *args]
    hint = None
    if argv[0] == target.arch.qemu and proc.which(argv[0]) is None:
        hint = f"run `inv setup --target {target.name}` (installs qemu-user)"
    res = proc.run(argv, check=False, timeout=120, what=f"running {binary.name}", hint=hint)
    output = (res.stdout + res.stderr).strip()
    if not res.ok:
        raise StepFailed(f"{binary.name} exited with {res.returncode} under "
                         f"{describe(target)}: {output.splitlines()[-1] if output else ''}")
    if expect_triple and target.triple not in output:
        raise StepFailed(
            f"{binary.name} ran under {describe(target)} but did not print {target.triple}: "
            f"{output.splitlines()[0] if output else '(no output)'}",
            "set smoke-expect-triple = false in [tool.crossmatrix] for binaries that don't",
        )
    return output.splitlines()[0] if output else ""
