"""Strip foreign binaries with a strip that reads their architecture (the platform's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tooling.errors import ToolMissing
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.util import atomic, proc


def find_strip(target: Target) -> str:
    tools = platform_of(target).strip_tools(target)
    for name in tools.programs:
        if proc.which(name):
            return name
    raise ToolMissing(
        f"no strip for {target.arch.rust} binaries (tried {', '.join(tools.programs)})",
        f"run `inv setup --target {target.name}` (installs {tools.package})",
    )


def strip_copy(target: Target, source: Path, dest: Path, *,
               library: bool = False) -> tuple[int, int]:
    """Copy ``source`` to ``dest`` stripped; return (size before, size after).

    A library is stripped as its platform says (a Mach-O one loses only its local
    symbols, ``-x``: its exports are what the program loading it looks up).

    The stripped file is made beside ``dest`` and renamed over it, so ``dest`` is
    either the old file or the whole new one.
    """
    tool = find_strip(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # made under its final name (a Mach-O signature records the file name) in a folder beside
    work = atomic.pid_sibling(dest, "strip")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    tmp = work / dest.name
    shutil.copyfile(source, tmp)
    try:
        how = platform_of(target).strip_tools(target).library_flag if library else "--strip-all"
        proc.run([tool, how, "-o", str(tmp), str(tmp)], bound="tool", what=f"{tool} {source.name}")
        tmp.chmod(0o755)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return source.stat().st_size, dest.stat().st_size
