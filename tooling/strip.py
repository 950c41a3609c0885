"""Strip foreign binaries with a strip that reads their architecture."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tooling import proc
from tooling.errors import ToolMissing
from tooling.targets import Target


def candidates(target: Target) -> list[str]:
    native = ["strip"] if target.runs_natively() else []
    return [f"{target.arch.gnu_prefix}-strip", *native, "llvm-strip"]


def find_strip(target: Target) -> str:
    for name in candidates(target):
        if proc.which(name):
            return name
    raise ToolMissing(
        f"no strip for {target.arch.rust} binaries (tried {', '.join(candidates(target))})",
        f"run `inv setup --target {target.name}` (installs binutils-{target.arch.gnu_prefix})",
    )


def strip_copy(target: Target, source: Path, dest: Path) -> tuple[int, int]:
    """Copy ``source`` to ``dest`` stripped; return (size before, size after).

    The stripped file is made beside ``dest`` and renamed over it, so ``dest`` is
    either the old file or the whole new one.
    """
    tool = find_strip(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    try:
        proc.run([tool, "--strip-all", "-o", str(tmp), str(tmp)], what=f"{tool} {source.name}")
        tmp.chmod(0o755)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return source.stat().st_size, dest.stat().st_size
