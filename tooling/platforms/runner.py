"""Running target binaries: natively when the host can, else under qemu-user (Linux) or
wine (Windows). macOS binaries cannot run here; that is said, never passed off as a run."""

from __future__ import annotations

from pathlib import Path

from tooling.errors import StepFailed, ToolMissing
from tooling.matrix.targets import Target
from tooling.platforms import wine
from tooling.util import proc

NOT_RUN = "verified structurally, not run"


def prefix(target: Target) -> list[str]:
    """The command that runs a Linux binary of ``target`` here (empty: run it directly).

    Dynamic binaries get the cross sysroot's loader (``-L``) and, through
    ``LD_LIBRARY_PATH``, its libc too: without it the loader follows the host's
    ``/etc/ld.so.cache`` to a multiarch ``libc6:<arch>`` (installed beside Debian's
    ``libstd-rust-web-dev:<arch>``) of another build, and the mismatched pair hangs in
    ``pthread_create``, so every threaded program (every ``cargo test``) never finishes."""
    if target.runs_natively() and (target.libc == "musl" or Path(
            "/" + target.arch.gnu_loader).exists()):
        return []
    argv = [target.arch.qemu]
    if not target.is_static:
        argv += ["-L", target.gnu_sysroot, "-E", f"LD_LIBRARY_PATH={target.gnu_sysroot}/lib"]
    return argv


def program(target: Target) -> str | None:
    """The program that runs ``target``'s binaries here (None: they run directly, or not)."""
    if target.os == "windows":
        return "wine"
    if target.os != "linux":
        return None
    argv = prefix(target)
    return argv[0] if argv else None


def cannot_run(target: Target) -> str | None:
    """Why binaries of ``target`` cannot run on this machine at all, or None if they can.

    Only a reason no package can fix here counts: a missing qemu or wine is an error
    with an install hint instead (see :func:`smoke`)."""
    if target.os == "macos" and not target.runs_natively():
        return "no macOS here: nothing runs Mach-O programs on Linux"
    if target.os == "windows":
        try:
            wine.wine_program(target)
        except ToolMissing as missing:
            if proc.which("wine") is not None:  # wine is there, but not for this arch
                return f"{missing.message}; {missing.hint}"
    return None


def describe(target: Target) -> str:
    if target.os == "windows":
        return wine.describe(target)
    if target.os != "linux":
        return "none"
    argv = prefix(target)
    return " ".join(argv) if argv else "native"


def smoke(target: Target, binary: Path, args: tuple[str, ...], expect_triple: bool,
          cache_dir: Path) -> str:
    """Run ``binary args``; it must exit 0 and (by default) print its own target triple."""
    if target.os == "windows":
        res = wine.run(target, binary, args, cache_dir)
    else:
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
    lines = [line for line in (res.stdout.strip() or output).splitlines() if line.strip()]
    return lines[0] if lines else ""
