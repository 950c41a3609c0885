"""Strip foreign binaries with a strip that reads their architecture (the platform's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tooling.errors import ToolMissing
from tooling.matrix.host import installs_with_apt
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.std.compiler import rustup_toolchains
from tooling.util import atomic, proc

#: LLVM's objcopy as rustup's rustc component ships it: it strips ELF,
#: PE and Mach-O alike, in place
RUST_OBJCOPY = "rust-objcopy"


def rustup_objcopy() -> str | None:
    """The first installed rustup toolchain's ``rust-objcopy`` (None: none has one)."""
    for compiler in rustup_toolchains():
        found = compiler.sysroot / "lib" / "rustlib" / compiler.host / "bin" / RUST_OBJCOPY
        if found.is_file():
            return str(found)
    return None


def find_strip(target: Target) -> str:
    """The platform's strip programs, best first; on a host without apt (where setup
    cannot install binutils) rustup's ``rust-objcopy`` after them."""
    tools = platform_of(target).strip_tools(target)
    if not target.arch.debian_cross:  # no Debian binutils: rustup's LLVM before the host's
        objcopy = rustup_objcopy()
        if objcopy is not None:
            return objcopy
    for name in tools.programs:
        if proc.which(name):
            return name
    apt = installs_with_apt()
    objcopy = None if apt else rustup_objcopy()
    if objcopy is not None:
        return objcopy
    fix = (f"run `inv setup --target {target.name}` (installs {tools.package})" if apt
           else f"install {tools.programs[0]} or llvm-strip (Debian's {tools.package})")
    raise ToolMissing(
        f"no strip for {target.arch.rust} binaries (tried {', '.join(tools.programs)})", fix)


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
        tools = platform_of(target).strip_tools(target)
        how = tools.library_flag if library else tools.program_flag
        argv, env = [tool, *tools.subcommand, how, "-o", str(tmp), str(tmp)], None
        if Path(tool).name == RUST_OBJCOPY:  # in place; its libLLVM is in the toolchain's lib
            lib = str(Path(tool).parents[3])
            argv, env = [tool, how, str(tmp)], proc.child_env(
                {"LD_LIBRARY_PATH": lib, "DYLD_FALLBACK_LIBRARY_PATH": lib})
        proc.run(argv, bound="tool", env=env, what=f"{Path(tool).name} {source.name}")
        tmp.chmod(0o755)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return source.stat().st_size, dest.stat().st_size
