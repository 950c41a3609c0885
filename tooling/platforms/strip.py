"""Strip foreign binaries with a strip that reads their architecture."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tooling.errors import ToolMissing
from tooling.matrix.targets import Target
from tooling.util import proc

#: llvm-strip re-signs the ad-hoc signature of arm64 Mach-O files it changes.
LLVM_STRIPS = ["llvm-strip", "llvm-strip-19", "llvm-strip-16", "llvm-strip-15", "llvm-strip-14"]


def candidates(target: Target) -> list[str]:
    if target.os == "macos":
        return LLVM_STRIPS
    native = ["strip"] if target.runs_natively() else []
    return [f"{target.tool_prefix}-strip", *native, "llvm-strip"]


def package_hint(target: Target) -> str:
    if target.os == "macos":
        return "llvm"
    if target.os == "windows":
        return f"binutils-mingw-w64-{target.arch.mingw_deb}"
    return f"binutils-{target.arch.gnu_prefix}"


def find_strip(target: Target) -> str:
    for name in candidates(target):
        if proc.which(name):
            return name
    raise ToolMissing(
        f"no strip for {target.arch.rust} binaries (tried {', '.join(candidates(target))})",
        f"run `inv setup --target {target.name}` (installs {package_hint(target)})",
    )


def strip_copy(target: Target, source: Path, dest: Path, *,
               library: bool = False) -> tuple[int, int]:
    """Copy ``source`` to ``dest`` stripped; return (size before, size after).

    A Mach-O library loses only its local symbols (``-x``): its exports are what the
    program loading it looks up (``--strip-all`` drops ``_PyInit_*`` from a dylib).

    The stripped file is made beside ``dest`` and renamed over it, so ``dest`` is
    either the old file or the whole new one.
    """
    tool = find_strip(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # made under its final name (a Mach-O signature records the file name) in a folder beside
    work = dest.with_name(f".{dest.name}.{os.getpid()}.strip")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    tmp = work / dest.name
    shutil.copyfile(source, tmp)
    try:
        how = "-x" if library and target.os == "macos" else "--strip-all"
        proc.run([tool, how, "-o", str(tmp), str(tmp)], what=f"{tool} {source.name}")
        tmp.chmod(0o755)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return source.stat().st_size, dest.stat().st_size
